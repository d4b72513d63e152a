"""keras.activations: the activation functions (Keras's signatures), get,
serialize, deserialize."""

import numpy as np

from glassnet import activations as _a
from glassnet.activations import (elu, exponential, hard_sigmoid, linear, log_softmax, mish,
                                  relu6, selu, sigmoid, silu, softmax, softplus, softsign,
                                  swish, tanh)


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """max(x, 0), with Keras's options (see keras.layers.ReLU)."""
    if negative_slope == 0 and max_value is None and threshold == 0:
        return _a.relu(x)
    from glassnet.layers import ReLU

    x = _a.as_float_array(x, "relu")
    return ReLU(max_value=max_value, negative_slope=negative_slope,
                threshold=threshold).function(np.asarray(x))


def leaky_relu(x, negative_slope=0.2):
    return _a.leaky_relu(x, negative_slope)


def gelu(x, approximate=False):
    """Keras 3's default is the exact x·Φ(x); ``approximate=True`` is the tanh
    approximation (keras/src/activations/activations.py: ``approximate=False``)."""
    return _a.gelu(x, approximate=approximate)


def get(identifier):
    return _a.get(identifier)


def serialize(activation):
    return _a.get(activation).name


def deserialize(config):
    return _a.get(config)


__all__ = ["relu", "sigmoid", "softmax", "log_softmax", "tanh", "elu", "selu", "gelu", "silu",
           "swish", "softplus", "softsign", "hard_sigmoid", "relu6", "mish", "leaky_relu",
           "linear", "exponential", "get", "serialize", "deserialize"]
