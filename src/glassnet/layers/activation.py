"""Activations as layers, with Keras's arguments: Softmax, ReLU, LeakyReLU,
ELU. Each is ``a = f(x)`` with ``∂L/∂x = ∂L/∂a · f'(x)`` (softmax: its
Jacobian applied to ∂L/∂a, s ⊙ (g - Σ g·s)). The math is in
``glassnet.activations``."""

from __future__ import annotations

import numpy as np

from glassnet import activations
from glassnet.layers.base import Layer

__all__ = ["Softmax", "ReLU", "LeakyReLU", "ELU"]


class Softmax(Layer):
    """a = softmax(x) along ``axis`` (the last by default)."""

    supports_masking = True  # the mask passes on unchanged, as in Keras

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            raise NotImplementedError(f"Softmax {self.name!r}: one axis only; received "
                                      f"axis={axis!r}")
        self.axis = int(axis)
        self.activation = activations.get("softmax")

    def build(self, input_shape):
        if not -len(input_shape) < self.axis < len(input_shape) or self.axis in (
                0, -len(input_shape)):
            raise ValueError(f"Softmax {self.name!r}: axis {self.axis} is not a feature axis of "
                             f"inputs of shape {tuple(input_shape)}")

    def forward(self, x, training=False):
        self.z = x
        self.a = activations.softmax(x, axis=self.axis)
        return self.a

    def backward(self, grad):
        return self.a * (grad - np.sum(grad * self.a, axis=self.axis, keepdims=True))

    def backward_from_z(self, grad_z, input_grad=True):
        """A model fuses softmax + cross-entropy over the last axis: ∂L/∂z = p - y."""
        return grad_z

    @property
    def fusable(self):
        return self.axis in (-1, len(self.input_shape) - 1)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class _Elementwise(Layer):
    """a = f(x; arguments), ∂L/∂x = ∂L/∂a · f'(x)."""

    supports_masking = True  # the mask passes on unchanged, as in Keras

    def forward(self, x, training=False):
        self.z = x
        self.a = self.function(x)
        return self.a

    def backward(self, grad):
        return grad * self.derivative(self.z)


class ReLU(_Elementwise):
    """relu with Keras's options:

        a = max_value                      if x >= max_value
            x                              if threshold <= x < max_value
            negative_slope · (x - threshold) otherwise
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0:
            raise ValueError(f"ReLU {self.name!r}: max_value must be >= 0; received "
                             f"{max_value!r}")
        if negative_slope < 0:
            raise ValueError(f"ReLU {self.name!r}: negative_slope must be >= 0; received "
                             f"{negative_slope!r}")
        self.max_value = None if max_value is None else float(max_value)
        self.negative_slope, self.threshold = float(negative_slope), float(threshold)
        self.activation = activations.get("relu")

    def _plain(self):
        return self.max_value is None and self.negative_slope == 0 and self.threshold == 0

    def function(self, x):
        if self._plain():
            return activations.relu(x)
        dtype = x.dtype.type
        a = np.where(x >= self.threshold, x, dtype(self.negative_slope) * (x - self.threshold))
        if self.max_value is not None:
            a = np.minimum(a, dtype(self.max_value))
        return a.astype(x.dtype, copy=False)

    def derivative(self, x):
        if self._plain():
            return (x > 0).astype(x.dtype)
        slope = np.where(x >= self.threshold, 1, self.negative_slope) if self.threshold else \
            np.where(x > 0, 1, self.negative_slope)
        if self.max_value is not None:
            slope = np.where(x >= self.max_value, 0, slope)
        return slope.astype(x.dtype, copy=False)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


class LeakyReLU(_Elementwise):
    """a = x if x > 0 else negative_slope·x (Keras's layer default 0.3; Keras 2's
    ``alpha=`` is taken too)."""

    def __init__(self, negative_slope=0.3, alpha=None, **kwargs):
        super().__init__(**kwargs)
        self.negative_slope = float(negative_slope if alpha is None else alpha)
        if self.negative_slope < 0:
            raise ValueError(f"LeakyReLU {self.name!r}: negative_slope must be >= 0; received "
                             f"{self.negative_slope!r}")
        self.activation = activations.get("leaky_relu")

    def function(self, x):
        return activations.leaky_relu(x, self.negative_slope).astype(x.dtype, copy=False)

    def derivative(self, x):
        return activations._two_slopes(x, self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(_Elementwise):
    """a = x if x > 0 else alpha·(eˣ - 1)."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha)
        self.activation = activations.get("elu")

    def function(self, x):
        return activations.elu(x, self.alpha).astype(x.dtype, copy=False)

    def derivative(self, x):
        return np.where(x > 0, 1, self.alpha * np.exp(np.minimum(x, 0))).astype(x.dtype)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}
