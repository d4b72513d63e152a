"""keras.backend: the few helpers Keras code calls (clear_session, floatx,
epsilon, set_value, get_value). glassnet's backend is NumPy."""

import numpy as np

from glassnet import utils


def clear_session(free_memory=True):
    """Start layer names afresh (dense, dense_1, ... again), as Keras does."""
    utils._name_counts.clear()


def backend():
    return "numpy"


def floatx():
    return "float32"


def epsilon():
    return 1e-7


def get_value(x):
    return np.array(x)


def set_value(x, value):
    """Write ``value`` into a Variable (e.g. ``model.optimizer.learning_rate``)."""
    x.assign(value)


__all__ = ["clear_session", "backend", "floatx", "epsilon", "get_value", "set_value"]
