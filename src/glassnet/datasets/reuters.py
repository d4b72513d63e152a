"""Reuters newswires as Keras ships them: 11,228 newswires labelled over 46
topics, each a list of word ids ranked by frequency (id i = the i-th most
common word).

    >>> from glassnet.keras.datasets import reuters
    >>> (x_train, y_train), (x_test, y_test) = reuters.load_data(num_words=10000)  # doctest: +SKIP

``load_data`` has Keras's arguments and semantics exactly: the same shuffle
(``np.random.RandomState(seed)``) of all newswires before the
``test_split``, ``start_char`` at the front, ids shifted by ``index_from``,
newswires of ``maxlen`` or more words dropped, words outside
[skip_top, num_words) replaced by ``oov_char`` (or removed when it is None).
The file is Keras's own ``reuters.npz``, found as
:mod:`glassnet.datasets.keras_cache` describes (``path``, ``$GLASSNET_DATA``,
glassnet's cache, Keras's ``~/.keras/datasets``, or a download with Keras's
SHA-256). Its newswires are pickled object arrays; glassnet reads them
without unpickling (:mod:`glassnet.datasets.npz`).
"""

from __future__ import annotations


import numpy as np

from glassnet.datasets import keras_cache
from glassnet.datasets.npz import load_npz

__all__ = ["load_data", "get_word_index", "get_label_names", "FILES"]

ORIGIN = None  # None: Keras's (keras_cache.ORIGIN); tests point it elsewhere
# Keras's own checksums: SHA-256 of reuters.npz, MD5 of the word index
FILES = {"reuters.npz": "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916",
         "reuters_word_index.json": "4d44cc38712099c9e383dc6e5f11a921"}

LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply",
    "coffee", "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas",
    "cpi", "money-fx", "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin",
    "strategic-metal", "livestock", "retail", "ipi", "iron-steel", "rubber", "heat", "jobs",
    "lei", "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog", "lead")


def _find(name, path):
    return keras_cache.find("Reuters", "reuters", name, FILES[name],
                            path=None if path == name else path, origin=ORIGIN)






def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2,
              seed=113, start_char=1, oov_char=2, index_from=3):
    """((x_train, y_train), (x_test, y_test)): newswires as 1-D object arrays
    of lists of word ids, topics (0-45) as int64, exactly as Keras returns them."""
    for name, value in (("num_words", num_words), ("maxlen", maxlen),
                        ("start_char", start_char), ("oov_char", oov_char)):
        keras_cache.check_int(value, name, "reuters.load_data")
    for name, value in (("skip_top", skip_top), ("seed", seed), ("index_from", index_from)):
        keras_cache.check_int(value, name, "reuters.load_data", allow_none=False)
    if isinstance(test_split, bool) or not isinstance(test_split, (int, float, np.number)):
        raise ValueError(f"reuters.load_data: test_split must be a number between 0 and 1; "
                         f"received {test_split!r}")
    file = _find("reuters.npz", path)
    arrays = load_npz(file)
    missing = [k for k in ("x", "y") if k not in arrays]
    if missing:
        raise ValueError(f"{file}: not Keras's reuters.npz (no {', '.join(missing)})")
    xs, labels = arrays["x"], arrays["y"]
    if xs.dtype != object or len(xs) != len(labels):
        raise ValueError(f"{file}: not Keras's reuters.npz (x must be an object array of "
                         f"word-id lists, one per label in y)")

    rng = np.random.RandomState(seed)  # Keras's shuffle, draw for draw
    indices = np.arange(len(xs))
    rng.shuffle(indices)
    xs = xs[indices]
    labels = labels[indices]

    if start_char is not None:
        xs = [[start_char] + [w + index_from for w in x] for x in xs]
    elif index_from:
        xs = [[w + index_from for w in x] for x in xs]
    else:
        xs = [list(x) for x in xs]

    if maxlen:  # Keras keeps the newswires shorter than maxlen
        kept = [(x, y) for x, y in zip(xs, labels) if len(x) < maxlen]
        xs, labels = [x for x, _ in kept], [y for _, y in kept]
        if not xs:
            raise ValueError(f"After filtering for sequences shorter than maxlen={maxlen}, no "
                             f"sequence was kept. Increase maxlen.")

    if not num_words:
        num_words = max(max(x) for x in xs)
    if oov_char is not None:
        xs = [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    else:
        xs = [[w for w in x if skip_top <= w < num_words] for x in xs]

    idx = int(len(xs) * (1 - test_split))
    labels = np.asarray(labels, dtype=arrays["y"].dtype)
    return (keras_cache.objects(xs[:idx]), np.array(labels[:idx])), \
        (keras_cache.objects(xs[idx:]), np.array(labels[idx:]))


def get_word_index(path="reuters_word_index.json"):
    """{word: rank} (1 = the most common word), Keras's ``reuters_word_index.json``.
    A newswire's id i is the word of rank i - index_from (3 by default)."""
    file = _find("reuters_word_index.json", path)
    return keras_cache.read_word_index(file)


def get_label_names():
    """The 46 topic names, in label order (Keras's ``get_label_names``)."""
    return LABEL_NAMES
