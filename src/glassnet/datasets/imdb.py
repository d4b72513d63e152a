"""IMDB movie reviews (Maas et al., 2011), as Keras ships them: 25,000
training and 25,000 test reviews labelled positive (1) or negative (0), each
a list of word ids ranked by frequency (id i = the i-th most common word).

    >>> from glassnet.keras.datasets import imdb
    >>> (x_train, y_train), (x_test, y_test) = imdb.load_data(num_words=10000)  # doctest: +SKIP

``load_data`` has Keras's arguments and semantics exactly: the same shuffle
(``np.random.RandomState(seed)``), ``start_char`` at the front, ids shifted by
``index_from``, reviews of ``maxlen`` or more words dropped, words outside
[skip_top, num_words) replaced by ``oov_char`` (or removed when it is None).
The file is Keras's own ``imdb.npz``, found in ``path``, ``$GLASSNET_DATA``
(or its ``imdb/``), glassnet's cache, Keras's cache (``~/.keras/datasets``),
or downloaded into glassnet's cache with its SHA-256 checked. Its reviews are
pickled object arrays; glassnet reads them without unpickling
(:mod:`glassnet.datasets.npz`).
"""

from __future__ import annotations


import numpy as np

from glassnet.datasets import keras_cache
from glassnet.datasets.npz import load_npz

__all__ = ["load_data", "get_word_index", "ORIGIN", "FILES"]

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
# Keras's own checksums: SHA-256 of imdb.npz, MD5 of the word index
FILES = {"imdb.npz": "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f",
         "imdb_word_index.json": "bfafd718b763782e994055a2d397834f"}


def _find(name, path, download=True):
    """Keras's file ``name`` from the usual places, or downloaded with its checksum."""
    return keras_cache.find("IMDB", "imdb", name, FILES[name], path=path, origin=ORIGIN,
                            download=download)





def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113,
              start_char=1, oov_char=2, index_from=3, **kwargs):
    """((x_train, y_train), (x_test, y_test)): reviews as 1-D object arrays
    of lists of word ids, labels as int64 0/1, exactly as Keras returns them."""
    if kwargs:
        raise TypeError(f"imdb.load_data: unexpected arguments {sorted(kwargs)}")
    for name, value in (("num_words", num_words), ("maxlen", maxlen),
                        ("start_char", start_char), ("oov_char", oov_char)):
        keras_cache.check_int(value, name, "imdb.load_data")
    for name, value in (("skip_top", skip_top), ("seed", seed), ("index_from", index_from)):
        keras_cache.check_int(value, name, "imdb.load_data", allow_none=False)
    file = _find("imdb.npz", None if path == "imdb.npz" else path)
    arrays = load_npz(file)
    missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in arrays]
    if missing:
        raise ValueError(f"{file}: not Keras's imdb.npz (no {', '.join(missing)})")
    x_train, labels_train = arrays["x_train"], arrays["y_train"]
    x_test, labels_test = arrays["x_test"], arrays["y_test"]

    rng = np.random.RandomState(seed)  # Keras's shuffle, draw for draw
    indices = np.arange(len(x_train))
    rng.shuffle(indices)
    x_train, labels_train = x_train[indices], labels_train[indices]
    indices = np.arange(len(x_test))
    rng.shuffle(indices)
    x_test, labels_test = x_test[indices], labels_test[indices]

    if start_char is not None:
        x_train = [[start_char] + [w + index_from for w in x] for x in x_train]
        x_test = [[start_char] + [w + index_from for w in x] for x in x_test]
    elif index_from:
        x_train = [[w + index_from for w in x] for x in x_train]
        x_test = [[w + index_from for w in x] for x in x_test]
    else:
        x_train = [list(x) for x in x_train]
        x_test = [list(x) for x in x_test]

    if maxlen:  # Keras keeps the reviews shorter than maxlen
        kept = [(x, y) for x, y in zip(x_train, labels_train) if len(x) < maxlen]
        x_train, labels_train = [x for x, _ in kept], [y for _, y in kept]
        kept = [(x, y) for x, y in zip(x_test, labels_test) if len(x) < maxlen]
        x_test, labels_test = [x for x, _ in kept], [y for _, y in kept]
        if not x_train or not x_test:
            raise ValueError(f"After filtering for sequences shorter than maxlen={maxlen}, no "
                             f"sequence was kept. Increase maxlen.")

    xs = x_train + x_test
    labels = np.concatenate([np.asarray(labels_train, dtype=arrays["y_train"].dtype),
                             np.asarray(labels_test, dtype=arrays["y_test"].dtype)])
    if not num_words:
        num_words = max(max(x) for x in xs if x)
    if oov_char is not None:
        xs = [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    else:
        xs = [[w for w in x if skip_top <= w < num_words] for x in xs]

    split = len(x_train)
    return (keras_cache.objects(xs[:split]), labels[:split]), \
        (keras_cache.objects(xs[split:]), labels[split:])




def get_word_index(path="imdb_word_index.json"):
    """{word: rank} (1 = the most common word), Keras's ``imdb_word_index.json``.
    A review's id i is the word of rank i - index_from (3 by default)."""
    file = _find("imdb_word_index.json", None if path == "imdb_word_index.json" else path)
    return keras_cache.read_word_index(file)
