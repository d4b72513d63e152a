"""keras.utils: to_categorical, normalize, set_random_seed."""

import numpy as np

from glassnet.utils import set_random_seed


def to_categorical(x, num_classes=None):
    """One-hot rows for integer class labels, as Keras returns them: float64,
    shape x.shape + (num_classes,) (a trailing axis of 1 is dropped first).

        >>> to_categorical([0, 2], 3)
        array([[1., 0., 0.],
               [0., 0., 1.]])
    """
    x = np.array(x)
    if x.dtype.kind == "f" and np.any(x != np.round(x)):
        raise ValueError("to_categorical takes integer class labels; received non-integer "
                         "values")
    x = x.astype(np.int64)
    shape = x.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    x = x.reshape(-1)
    if x.size and x.min() < 0:
        raise ValueError(f"to_categorical: labels must be >= 0; received {x.min()}")
    if not num_classes:
        num_classes = int(np.max(x)) + 1 if x.size else 0
    if x.size and x.max() >= num_classes:
        raise ValueError(f"to_categorical: label {x.max()} does not fit num_classes="
                         f"{num_classes}")
    categorical = np.zeros((x.shape[0], num_classes))
    categorical[np.arange(x.shape[0]), x] = 1
    return categorical.reshape(shape + (num_classes,))


def normalize(x, axis=-1, order=2):
    """x divided by its L-``order`` norm along ``axis`` (0 norms left alone)."""
    x = np.asarray(x, dtype=np.float64 if np.asarray(x).dtype.kind != "f" else None)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)


__all__ = ["to_categorical", "normalize", "set_random_seed"]
