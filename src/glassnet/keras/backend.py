"""keras.backend: the few helpers Keras code calls (clear_session, floatx,
set_floatx, epsilon, image_data_format, set_value, get_value), and the
Keras 2 functions that TensorFlow 2's guides still call (random_normal,
random_uniform, mean, std, sum, square, sqrt), which Keras 3 removed: each is
the op of the same meaning, recorded on a tape. glassnet's backend is NumPy."""

import numpy as np

from glassnet import utils
from glassnet.utils import floatx, set_floatx


def clear_session(free_memory=True):
    """Start layer names afresh (dense, dense_1, ... again), as Keras does."""
    utils._name_counts.clear()


def backend():
    return "numpy"


def epsilon():
    return 1e-7


def image_data_format():
    """glassnet's images are channels-last (batch, height, width, channels)."""
    return "channels_last"


def get_value(x):
    return np.array(x)


def set_value(x, value):
    """Write ``value`` into a Variable (e.g. ``model.optimizer.learning_rate``)."""
    x.assign(value)


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Keras 2's ``K.random_normal``: samples of N(mean, stddev²)."""
    from glassnet.ops import random_ops
    return random_ops.normal(shape, mean, stddev, dtype=dtype or floatx(), seed=seed)


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Keras 2's ``K.random_uniform``: samples of U[minval, maxval)."""
    from glassnet.ops import random_ops
    return random_ops.uniform(shape, minval, maxval, dtype=dtype or floatx(), seed=seed)


def mean(x, axis=None, keepdims=False):
    """Keras 2's ``K.mean``: (1/n) Σ x over ``axis``."""
    from glassnet.ops import math_ops
    return math_ops.reduce_mean(x, axis=axis, keepdims=keepdims)


def sum(x, axis=None, keepdims=False):  # noqa: A001 (Keras's name)
    """Keras 2's ``K.sum``: Σ x over ``axis``."""
    from glassnet.ops import math_ops
    return math_ops.reduce_sum(x, axis=axis, keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    """Keras 2's ``K.std``: √(mean((x − mean x)²)) over ``axis``."""
    from glassnet.ops import math_ops
    return math_ops.reduce_std(x, axis=axis, keepdims=keepdims)


def square(x):
    """Keras 2's ``K.square``: x²."""
    from glassnet.ops import math_ops
    return math_ops.square(x)


def sqrt(x):
    """Keras 2's ``K.sqrt``: √x."""
    from glassnet.ops import math_ops
    return math_ops.sqrt(x)


__all__ = ["clear_session", "backend", "floatx", "set_floatx", "epsilon", "image_data_format",
           "get_value", "set_value", "random_normal", "random_uniform", "mean", "sum", "std",
           "square", "sqrt"]
