"""Boston Housing as Keras ships it: 506 districts of the Boston suburbs in
the late 1970s, 13 numeric attributes each, and the median home value (in
k$) to predict.

    >>> from glassnet.keras.datasets import boston_housing
    >>> (x_train, y_train), (x_test, y_test) = boston_housing.load_data()  # doctest: +SKIP

Keras warns that one attribute ("B") encodes an assumption about race; use
the set to illustrate regression (and that ethical problem), not as a model
of house prices.

``load_data`` has Keras's arguments and semantics exactly: the rows are
shuffled with ``np.random.RandomState(seed)``, then the first
``1 - test_split`` of them are the training set. The file is Keras's own
``boston_housing.npz`` (arrays ``x``, ``y``), found as
:mod:`glassnet.datasets.keras_cache` describes, or downloaded with Keras's
SHA-256.
"""

from __future__ import annotations

import numpy as np

from glassnet.datasets import keras_cache
from glassnet.datasets.npz import load_npz

__all__ = ["load_data", "FILES"]

ORIGIN = None  # None: Keras's (keras_cache.ORIGIN); tests point it elsewhere
FILES = {"boston_housing.npz":
         "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"}


def load_data(path="boston_housing.npz", test_split=0.2, seed=113):
    """((x_train, y_train), (x_test, y_test)): float64 attributes of shape
    (n, 13) and float64 prices of shape (n,), as Keras returns them."""
    if isinstance(test_split, bool) or not isinstance(test_split, (int, float, np.number)) \
            or not 0 <= test_split < 1:
        raise ValueError(f"boston_housing.load_data: test_split must be a number in [0, 1); "
                         f"received {test_split!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"boston_housing.load_data: seed must be an integer; received "
                         f"{seed!r}")
    name = "boston_housing.npz"
    file = keras_cache.find("Boston Housing", "boston_housing", name, FILES[name],
                            path=None if path == name else path, origin=ORIGIN)
    arrays = load_npz(file)
    if "x" not in arrays or "y" not in arrays or len(arrays["x"]) != len(arrays["y"]):
        raise ValueError(f"{file}: not Keras's boston_housing.npz (arrays x and y, one row "
                         f"of x per value of y)")
    x, y = arrays["x"], arrays["y"]

    rng = np.random.RandomState(seed)  # Keras's shuffle, draw for draw
    indices = np.arange(len(x))
    rng.shuffle(indices)
    x = x[indices]
    y = y[indices]

    split = int(len(x) * (1 - test_split))
    return (np.array(x[:split]), np.array(y[:split])), (np.array(x[split:]), np.array(y[split:]))
