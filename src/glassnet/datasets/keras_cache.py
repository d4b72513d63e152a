"""Finding one of Keras's own data files (``reuters.npz``, ``boston_housing.npz``,
a word index), in the order :mod:`glassnet.datasets.imdb` uses:

1. an explicit ``path`` (anything with a folder separator, or an existing file);
2. ``$GLASSNET_DATA/<file>`` and ``$GLASSNET_DATA/<data set>/<file>``;
3. glassnet's cache, ``<cache>/<data set>/<file>`` (see
   :func:`glassnet.datasets.source.cache_dir`);
4. Keras's cache, ``$KERAS_HOME/datasets/<file>`` or ``~/.keras/datasets/<file>``;
5. a download of Keras's file into glassnet's cache, its checksum (Keras's
   own: SHA-256, or MD5 for the word indexes) checked before it is kept.

When all fail, the error lists every place tried and says where to put the file.
"""

from __future__ import annotations

import json
import os
import urllib.error

import numpy as np

from glassnet.datasets.files import keras_home
from glassnet.datasets.source import DatasetNotFoundError, _download, cache_dir

__all__ = ["ORIGIN", "places", "find"]

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


def places(folder, name, path=None):
    """(label, file) in search order; ``path`` is an explicit file, or
    (without a folder separator, as Keras's ``path=``) another file name."""
    if path is not None and (os.sep in os.fspath(path) or os.path.exists(path)):
        yield "path", os.fspath(path)
        return
    name = os.fspath(path) if path is not None else name
    data = os.environ.get("GLASSNET_DATA")
    if data:
        yield "$GLASSNET_DATA", os.path.join(data, name)
        yield "$GLASSNET_DATA", os.path.join(data, folder, name)
    yield "cache", os.path.join(cache_dir(), folder, name)
    yield "Keras's cache", os.path.join(keras_home(), "datasets", name)


def find(title, folder, name, checksum, path=None, origin=None, download=True):
    """The path of ``name`` (Keras's file of data set ``title``), from the
    first place that has it, else downloaded from ``origin`` + ``name``."""
    origin = ORIGIN if origin is None else origin
    tried = []
    for label, place in places(folder, name, path):
        if os.path.isfile(place):
            return place
        tried.append(f"{place} ({label})")
        if label == "path":
            raise DatasetNotFoundError(f"{title}: no file at path={place!r}")
    url = origin.rstrip("/") + "/" + name
    target = os.path.join(cache_dir(), folder, os.fspath(path) if path is not None else name)
    failure = "downloads disabled"
    if download:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        try:
            _download(url, target, checksum,
                      algorithm="sha256" if len(checksum) == 64 else "md5")
            return target
        except (OSError, ValueError, urllib.error.URLError) as error:
            failure = str(error)
        if not os.listdir(os.path.dirname(target)):
            os.rmdir(os.path.dirname(target))  # leave no trace of a failed download
    raise DatasetNotFoundError(
        f"{title}'s {name} was not found. Looked in:\n"
        + "".join(f"  - {t}\n" for t in tried)
        + f"Downloading {url} failed: {failure}\n"
        f"Put Keras's {name} (from {url}) in one of those places, or pass path= (the "
        f"file's path).")


def check_int(value, name, owner, allow_none=True):
    """``value`` must be an integer (or None): the loaders' arguments."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{owner}: {name} must be an integer"
                         f"{' or None' if allow_none else ''}; received {value!r}")


def objects(lists):
    """Keras's result: a 1-D object array of Python lists (token ids)."""
    out = np.empty(len(lists), dtype=object)
    out[:] = lists
    return out


def read_word_index(file):
    """{word: rank} from Keras's ``*_word_index.json``, checked."""
    try:
        with open(file, encoding="utf-8") as f:
            index = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{file}: not a readable word index ({error})") from None
    if not isinstance(index, dict) or not all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
            for k, v in index.items()):
        raise ValueError(f"{file}: a word index maps words to integer ranks")
    return index
