"""keras.backend: the few helpers Keras code calls (clear_session, floatx,
set_floatx, epsilon, image_data_format, set_value, get_value). glassnet's
backend is NumPy."""

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


__all__ = ["clear_session", "backend", "floatx", "set_floatx", "epsilon", "image_data_format",
           "get_value", "set_value"]
