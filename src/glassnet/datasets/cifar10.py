"""CIFAR-10 (Krizhevsky, 2009), as Keras returns it: 50,000 training and
10,000 test colour images of 32x32 pixels in 10 classes.

    >>> from glassnet.keras.datasets import cifar10
    >>> (x_train, y_train), (x_test, y_test) = cifar10.load_data()  # doctest: +SKIP
    >>> x_train.shape, y_train.shape                                   # doctest: +SKIP
    ((50000, 32, 32, 3), (50000, 1))

Images are uint8 (batch, 32, 32, 3), channels last; labels uint8 of shape
(n, 1), as Keras's. The data can be either of the two official releases:

* the Python version, ``cifar-10-python.tar.gz`` (Keras's own download, its
  batches ``data_batch_1``..``data_batch_5`` and ``test_batch`` in
  ``cifar-10-batches-py/``). Its batches are pickled dicts; glassnet never
  unpickles: it reads the stream opcode by opcode and accepts only a dict
  holding a uint8 array and a list of integer labels
  (:func:`glassnet.datasets.npz.parse_pickle`); anything else, e.g. a name
  other than NumPy's array-rebuilding ones, is a ValueError naming the file;
* the binary version, ``cifar-10-binary.tar.gz`` (``cifar-10-batches-bin/``,
  ``data_batch_1.bin``..``test_batch.bin``: records of one label byte and
  3,072 pixel bytes).

Either may be an archive or its unpacked folder, found (first hit wins) at
``path=``, in ``$GLASSNET_DATA`` (or its ``cifar10/``), in glassnet's cache
(``<cache>/cifar10``), or in Keras's cache (``~/.keras/datasets``, where
Keras 2 and 3 leave ``cifar-10-batches-py/`` or
``cifar-10-batches-py-target/``). Otherwise the Python version is downloaded
into glassnet's cache from Keras's address, with Keras's SHA-256 checked.
"""

from __future__ import annotations

import os
import tarfile
import urllib.error

import numpy as np

from glassnet.datasets.files import keras_home
from glassnet.datasets.npz import _Call, parse_pickle
from glassnet.datasets.source import DatasetNotFoundError, _download, cache_dir

__all__ = ["load_data", "CLASS_NAMES", "ORIGIN", "SHA256"]

CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck")
ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"  # Keras's
BINARY = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"

_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
_TEST = "test_batch"
_PIXELS = 3 * 32 * 32
_MAX_MEMBER = 64 << 20  # a batch is 30 MiB
# where the batches may sit, relative to a place searched
_FOLDERS = ("", "cifar-10-batches-py", "cifar-10-batches-bin",
            os.path.join("cifar-10-batches-py-target", "cifar-10-batches-py"),  # Keras 3
            os.path.join("cifar-10-batches-py", "cifar-10-batches-py"))
_ARCHIVES = ("cifar-10-python.tar.gz", "cifar-10-binary.tar.gz",
             "cifar-10-batches-py-target_archive", "cifar-10-batches-py_archive",
             "cifar-10-batches-py.tar.gz")


# ------------------------------------------------------------ reading a batch
def read_batch(raw, where):
    """(data (n, 3, 32, 32) uint8, labels list) of a pickled Python-version
    batch, read without unpickling."""
    def fail(message):
        raise ValueError(f"{where}: {message}; not a CIFAR-10 batch (glassnet never "
                         f"unpickles: it reads only a dict of a uint8 array and integer "
                         f"labels from a pickle stream)")

    value = parse_pickle(raw, fail)
    if not isinstance(value, dict):
        fail("the stream does not describe a dict")
    d = {k.decode("utf8") if isinstance(k, bytes) else k: v for k, v in value.items()}
    if "data" not in d or "labels" not in d:
        fail(f"no 'data' and 'labels' (keys: {sorted(map(str, d))})")
    labels = d["labels"]
    if type(labels) is not list or not all(type(v) is int and 0 <= v < 10 for v in labels):
        fail("labels that are not a list of integers 0-9")
    data = _uint8_array(d["data"], fail)
    if data.ndim != 2 or data.shape[1] != _PIXELS or len(data) != len(labels):
        fail(f"data of shape {data.shape}, not (number of labels, 3072)")
    return data.reshape(data.shape[0], 3, 32, 32), labels


def _uint8_array(value, fail):
    """The uint8 array that NumPy's ``_reconstruct`` call + state describes."""
    if not (isinstance(value, _Call) and value.function.name == "_reconstruct"):
        fail("'data' is not a NumPy array")
    state = value.state
    if not (isinstance(state, tuple) and len(state) == 5):
        fail("an array without its state")
    _, shape, dtype, fortran, raw = state
    if not (isinstance(dtype, _Call) and dtype.function.name == "dtype" and dtype.args
            and dtype.args[0] in ("u1", b"u1")):
        fail("'data' is not of dtype uint8")
    if isinstance(raw, str):
        raw = raw.encode("latin-1")  # Python 2's str, read as latin-1 text
    if not isinstance(raw, bytes) or fortran not in (False, 0) or not (
            isinstance(shape, tuple) and all(type(n) is int and n >= 0 for n in shape)):
        fail("an array whose state is not plain bytes of a C-ordered shape")
    if len(raw) != int(np.prod(shape, dtype=np.int64)):
        fail(f"{len(raw)} bytes of data for shape {shape}")
    return np.frombuffer(raw, dtype=np.uint8).reshape(shape)


def read_binary_batch(raw, where):
    """(data (n, 3, 32, 32) uint8, labels uint8) of a binary-version batch."""
    if not raw or len(raw) % (_PIXELS + 1):
        raise ValueError(f"{where}: {len(raw)} bytes, not a whole number of CIFAR-10 records "
                         f"of {_PIXELS + 1} bytes")
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, _PIXELS + 1)
    labels = records[:, 0]
    if labels.max() >= 10:
        raise ValueError(f"{where}: label {labels.max()}; CIFAR-10's are 0-9")
    return records[:, 1:].reshape(-1, 3, 32, 32), labels


# ------------------------------------------------------------ finding the data
def _folder_batches(folder):
    """{name: path} of a folder of batches (Python or binary version), or None."""
    for suffix in ("", ".bin"):
        names = [n + suffix for n in _TRAIN + (_TEST,)]
        if all(os.path.isfile(os.path.join(folder, n)) for n in names):
            return {n[:len(n) - len(suffix)]: os.path.join(folder, n) for n in names}, \
                bool(suffix)
    return None


def _read_folder(folder):
    batches, binary = _folder_batches(folder)
    out = {}
    for name, path in batches.items():
        with open(path, "rb") as f:
            raw = f.read(_MAX_MEMBER + 1)
        if len(raw) > _MAX_MEMBER:
            raise ValueError(f"{path}: more than {_MAX_MEMBER} bytes; not a CIFAR-10 batch")
        out[name] = (read_binary_batch if binary else read_batch)(raw, path)
    return out


def _read_archive(path):
    try:
        with tarfile.open(path, "r:*") as archive:
            members = {}
            for member in archive.getmembers():
                base = os.path.basename(member.name)
                if member.isfile():
                    members.setdefault(base, member)
            for suffix, reader in (("", read_batch), (".bin", read_binary_batch)):
                names = [n + suffix for n in _TRAIN + (_TEST,)]
                if not all(n in members for n in names):
                    continue
                out = {}
                for name in names:
                    member = members[name]
                    where = f"{path} ({member.name})"
                    if member.size > _MAX_MEMBER:
                        raise ValueError(f"{where}: {member.size} bytes; not a CIFAR-10 batch")
                    raw = archive.extractfile(member).read(_MAX_MEMBER + 1)
                    out[name[:len(name) - len(suffix)]] = reader(raw, where)
                return out
    except (tarfile.TarError, EOFError, OSError) as error:
        raise ValueError(f"{path}: not a readable CIFAR-10 archive ({error})") from None
    raise ValueError(f"{path}: the archive holds no CIFAR-10 batches (data_batch_1..5 and "
                     f"test_batch, or their .bin versions)")


def _locate(place):
    """A reader for the data at ``place`` (an archive or a folder), or None."""
    if os.path.isfile(place):
        return lambda: _read_archive(place)
    if not os.path.isdir(place):
        return None
    for sub in _FOLDERS:
        folder = os.path.join(place, sub)
        if _folder_batches(folder):
            return lambda: _read_folder(folder)
    for name in _ARCHIVES:
        archive = os.path.join(place, name)
        if os.path.isfile(archive):
            return lambda: _read_archive(archive)
    return None


def _places(path):
    if path is not None:
        yield "path", os.fspath(path)
        return
    data = os.environ.get("GLASSNET_DATA")
    if data:
        yield "$GLASSNET_DATA", os.path.join(data, "cifar10")
        yield "$GLASSNET_DATA", data
    yield "cache", os.path.join(cache_dir(), "cifar10")
    yield "Keras's cache", os.path.join(keras_home(), "datasets")


def _find(path, download=True):
    tried = []
    for label, place in _places(path):
        reader = _locate(place)
        if reader:
            return reader
        tried.append(f"{place} ({label})")
        if label == "path":
            raise DatasetNotFoundError(
                f"CIFAR-10: nothing at path={place!r}: expected cifar-10-python.tar.gz, "
                f"cifar-10-binary.tar.gz, or a folder holding data_batch_1..5 and test_batch "
                f"(or their .bin versions)")
    target = os.path.join(cache_dir(), "cifar10", "cifar-10-python.tar.gz")
    failure = "downloads disabled"
    if download:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        try:
            _download(ORIGIN, target, SHA256, timeout=60)
            return lambda: _read_archive(target)
        except (OSError, ValueError, urllib.error.URLError) as error:
            failure = str(error)
        if not os.listdir(os.path.dirname(target)):
            os.rmdir(os.path.dirname(target))
    raise DatasetNotFoundError(
        "CIFAR-10 was not found. Looked in:\n"
        + "".join(f"  - {t}\n" for t in tried)
        + f"Downloading {ORIGIN} failed: {failure}\n"
        f"Get the data in one of these ways:\n"
        f"  - put Keras's cifar-10-python.tar.gz ({ORIGIN}, SHA-256 {SHA256}) in one of "
        f"those places (as is, or unpacked: its cifar-10-batches-py/ folder)\n"
        f"  - or the binary version, cifar-10-binary.tar.gz ({BINARY}), or its "
        f"cifar-10-batches-bin/ folder\n"
        f"  - or pass path= (or set $GLASSNET_DATA to) the archive or the folder")


def load_data(path=None):
    """((x_train, y_train), (x_test, y_test)), exactly as Keras's
    ``cifar10.load_data()``: uint8 images (n, 32, 32, 3), uint8 labels (n, 1).
    ``path`` (glassnet's addition) names the archive or folder to read."""
    batches = _find(path)()
    x_train = np.concatenate([batches[name][0] for name in _TRAIN])
    y_train = np.concatenate([np.asarray(batches[name][1], dtype=np.uint8)
                              for name in _TRAIN])
    x_test, y_test = batches[_TEST]
    y_train = np.reshape(y_train, (len(y_train), 1))
    y_test = np.reshape(np.asarray(y_test, dtype=np.uint8), (len(y_test), 1))
    # Keras's channels-last view of the (n, 3, 32, 32) batches
    return (x_train.transpose(0, 2, 3, 1), y_train), \
        (np.array(x_test, dtype=np.uint8).transpose(0, 2, 3, 1), y_test)
