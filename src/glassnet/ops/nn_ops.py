"""Neural-network ops: ``tf.nn`` (activations, softmax, cross-entropies,
dropout). Each is its formula, its gradient written with ops beside it."""

from __future__ import annotations

import numpy as np

from glassnet.ops import array_ops, math_ops
from glassnet.ops.function import Op, value_of
from glassnet.ops.math_ops import _axes, _Unary
from glassnet.tensor import Tensor


class Relu(_Unary):
    """y = max(x, 0);  ∂L/∂x = gy where x > 0"""
    name, floats = "relu", False

    def compute(self, x):
        return np.maximum(x, 0)

    def backward(self, gy):
        x = self.inputs[0]
        return math_ops.where(math_ops.greater(x, 0), gy, math_ops.zeros_like(gy))


def relu(features, name=None):
    return Relu()(features)


class Softmax(Op):
    """yᵢ = e^(xᵢ - max x) / Σⱼ e^(xⱼ - max x) along axis;
    ∂L/∂x = y · (gy - Σ gy·y)"""
    name = "softmax"

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        x = np.asarray(x)
        if x.ndim == 0 or x.size == 0:
            raise ValueError(f"softmax: expects a tensor with at least one axis and one "
                             f"element; received shape {x.shape}")
        axis = _axes(self.axis, x.ndim, "softmax")
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
        return e / np.sum(e, axis=axis, keepdims=True)

    def backward(self, gy):
        y = self.outputs[0]
        dot = math_ops.reduce_sum(math_ops.multiply(gy, y), axis=self.axis, keepdims=True)
        return math_ops.multiply(y, math_ops.subtract(gy, dot))


def softmax(logits, axis=None, name=None):
    return Softmax(-1 if axis is None else int(axis))(logits)


def log_softmax(logits, axis=None, name=None):
    """log softmax(x) = x - logsumexp(x) along axis."""
    axis = -1 if axis is None else int(axis)
    return math_ops.subtract(logits, math_ops.reduce_logsumexp(logits, axis=axis,
                                                               keepdims=True))


def sigmoid_cross_entropy_with_logits(labels=None, logits=None, name=None):
    """-[y ln σ(z) + (1-y) ln(1-σ(z))], computed stably as
    max(z, 0) - z·y + ln(1 + e^(-|z|))."""
    if labels is None or logits is None:
        raise ValueError("sigmoid_cross_entropy_with_logits needs labels= and logits=")
    _same_shape("sigmoid_cross_entropy_with_logits", labels, logits)
    z = logits
    return math_ops.add(math_ops.subtract(relu(z), math_ops.multiply(z, labels)),
                        math_ops.log1p(math_ops.exp(math_ops.negative(math_ops.abs(z)))))


def softmax_cross_entropy_with_logits(labels, logits, axis=-1, name=None):
    """-Σ y · log softmax(z) along axis."""
    _same_shape("softmax_cross_entropy_with_logits", labels, logits)
    return math_ops.negative(math_ops.reduce_sum(
        math_ops.multiply(labels, log_softmax(logits, axis)), axis=axis))


def sparse_softmax_cross_entropy_with_logits(labels=None, logits=None, name=None):
    """-log softmax(z)[label], per example."""
    if labels is None or logits is None:
        raise ValueError("sparse_softmax_cross_entropy_with_logits needs labels= and logits=")
    y = np.asarray(value_of(labels))
    z_shape = np.shape(value_of(logits))
    if y.dtype.kind not in "iu":
        raise TypeError(f"sparse_softmax_cross_entropy_with_logits: labels must be integers; "
                        f"received {y.dtype}")
    if y.shape != z_shape[:-1]:
        raise ValueError(f"sparse_softmax_cross_entropy_with_logits: labels of shape {y.shape} "
                         f"need logits of shape {y.shape + (z_shape[-1],)}; received logits "
                         f"of shape {z_shape}")
    if y.size and (y.min() < 0 or y.max() >= z_shape[-1]):
        raise ValueError(f"sparse_softmax_cross_entropy_with_logits: labels must be in "
                         f"[0, {z_shape[-1]}); received {y.min()} to {y.max()}")
    hot = array_ops.one_hot(y, z_shape[-1], dtype=value_of(logits).dtype)
    return softmax_cross_entropy_with_logits(hot, logits)


def _same_shape(name, a, b):
    sa, sb = np.shape(value_of(a)), np.shape(value_of(b))
    if sa != sb:
        raise ValueError(f"{name}: labels and logits must have the same shape; received "
                         f"{sa} and {sb}")


def dropout(x, rate, noise_shape=None, seed=None, name=None):
    """Zero each element with probability ``rate`` and scale the rest by
    1/(1 - rate), so the expected value is unchanged."""
    from glassnet.ops import random_ops
    rate = float(value_of(rate))
    if not 0 <= rate < 1:
        raise ValueError(f"dropout: rate must be in [0, 1); received {rate}")
    shape = np.shape(value_of(x)) if noise_shape is None else tuple(noise_shape)
    keep = random_ops.uniform(shape, seed=seed).numpy() >= rate
    scale = np.asarray(1 / (1 - rate), dtype=value_of(x).dtype)
    return math_ops.multiply(x, Tensor(keep.astype(value_of(x).dtype) * scale))
