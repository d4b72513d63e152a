"""Regularization layers that are not Dropout: GaussianNoise and
ActivityRegularization. Both are the identity at inference.

GaussianNoise adds fresh noise to every training batch (a kind of data
augmentation); the noise does not depend on x, so the gradient passes
through unchanged:

    training:   out = x + ε,  ε ~ N(0, stddev²)      ∂L/∂x = ∂L/∂out
    inference:  out = x

ActivityRegularization leaves its input alone and adds a penalty on it to
the loss (Keras 3 divides it by the batch size N, so that its strength does
not depend on the batch size):

    out = x,   penalty = (l1·Σ|x| + l2·Σx²) / N
    ∂L/∂x = ∂L/∂out + (l1·sign(x) + 2·l2·x) / N

The penalty's gradient is part of ``backward`` (the book's way, as a weight
regularizer's gradient is part of Dense's backward), and its value reaches
the loss through the ``activity_loss()`` hook, which the engine adds to the
loss that fit and evaluate report, as it adds the weight regularizers'.
"""

from __future__ import annotations

import math

import numpy as np

from glassnet import utils
from glassnet.layers.base import Layer

__all__ = ["GaussianNoise", "ActivityRegularization"]


class GaussianNoise(Layer):
    """out = x + ε, ε ~ N(0, stddev²) in training (drawn anew each batch, from
    glassnet's generator, or the layer's own when given a ``seed``); out = x
    at inference. ∂L/∂x = ∂L/∂out."""

    supports_masking = True  # the mask passes on unchanged, as in Keras

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(stddev, bool) or not isinstance(stddev, (int, float)) or \
                not 0 <= stddev <= 1:
            raise ValueError(f"GaussianNoise {self.name!r}: stddev must be a number in "
                             f"[0, 1], as in Keras; received {stddev!r}")
        self.stddev = float(stddev)
        self.seed = seed
        self._generator = None if seed is None else np.random.default_rng(seed)

    def forward(self, x, training=False):
        if not training or self.stddev == 0:
            return x
        generator = self._generator or utils.rng()
        noise = generator.standard_normal(x.shape, dtype=self.dtype)
        return x + self.dtype.type(self.stddev) * noise

    def backward(self, grad):
        return grad

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


def _penalty_factor(value, name, owner):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not math.isfinite(value) or value < 0:
        raise ValueError(f"{owner}: {name} must be a non-negative number; received {value!r}")
    return float(value)


class ActivityRegularization(Layer):
    """out = x, and the penalty (l1·Σ|x| + l2·Σx²) / N on x (N: the batch
    size, as Keras 3) added to the model's loss; backward adds its gradient
    (l1·sign(x) + 2·l2·x) / N to ∂L/∂out.

    ``activity_loss()`` is the penalty of the last forward: the engine adds
    it to the loss (``fit``'s and ``evaluate``'s), and ``layer.losses`` holds
    it as a number, as Keras's does after a call. Under a GradientTape the
    layer is one node whose backward is this one, so the tape's gradient
    through it includes the penalty's, whether or not the loss adds
    ``model.losses`` (Keras's adds it when the loss does)."""

    supports_masking = True

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        super().__init__(**kwargs)
        owner = f"ActivityRegularization {self.name!r}"
        self.l1 = _penalty_factor(l1, "l1", owner)
        self.l2 = _penalty_factor(l2, "l2", owner)

    def forward(self, x, training=False):
        self.x = x
        return x

    def activity_loss(self):
        x = self.__dict__.get("x")
        if x is None or (self.l1 == 0 and self.l2 == 0):
            return 0.0
        x = x.astype(np.float64, copy=False)
        return (self.l1 * float(np.abs(x).sum()) + self.l2 * float(np.square(x).sum())) / len(x)

    def backward(self, grad):
        x = self.x
        if self.l1 == 0 and self.l2 == 0:
            return grad
        penalty = (self.l1 * np.sign(x) + (2 * self.l2) * x) / len(x)
        return grad + penalty.astype(grad.dtype, copy=False)

    def get_config(self):
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}
