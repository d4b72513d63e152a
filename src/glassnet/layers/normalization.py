"""BatchNormalization (Ioffe and Szegedy, 2015), with Keras's rules.

Over every axis but the last (the features, or the channels of an image):

    training:   μ, σ² = mean and (biased) variance of the batch
                x̂ = (x - μ) / √(σ² + ε),   out = γ·x̂ + β
                moving_mean ← momentum·moving_mean + (1 - momentum)·μ   (likewise σ²)
    inference:  x̂ = (x - moving_mean) / √(moving_variance + ε)

Backward (training), m values per feature, g = ∂L/∂out:
    ∂L/∂γ = Σ g·x̂,   ∂L/∂β = Σ g
    ∂L/∂x = γ / √(σ² + ε) · (g - mean(g) - x̂·mean(g·x̂))

Weights in Keras's order: gamma, beta, moving_mean, moving_variance (the last
two are not trained by the optimizer).
"""

from __future__ import annotations

import numpy as np

from glassnet.layers.base import Layer

__all__ = ["BatchNormalization"]


class BatchNormalization(Layer):
    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 **kwargs):
        super().__init__(**kwargs)
        if axis != -1:
            raise ValueError(f"BatchNormalization {self.name!r} normalizes the last axis "
                             f"(channels_last); axis={axis!r} is not supported")
        if not 0 <= momentum < 1:
            raise ValueError(f"BatchNormalization momentum must lie in [0, 1); received "
                             f"{momentum!r}")
        if not epsilon > 0:
            raise ValueError(f"BatchNormalization epsilon must be positive; received "
                             f"{epsilon!r}")
        self.axis, self.momentum, self.epsilon = axis, float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)

    def build(self, input_shape):
        features = (input_shape[-1],)
        if self.scale:
            self.add_weight("gamma", features, "ones")
        if self.center:
            self.add_weight("beta", features, "zeros")
        self.add_weight("moving_mean", features, "zeros", trainable=False)
        self.add_weight("moving_variance", features, "ones", trainable=False)

    def forward(self, x, training=False):
        axes = tuple(range(x.ndim - 1))
        if training:
            mean = x.mean(axis=axes)
            variance = x.var(axis=axes)
            self.moving_mean *= self.momentum
            self.moving_mean += (1 - self.momentum) * mean
            self.moving_variance *= self.momentum
            self.moving_variance += (1 - self.momentum) * variance
        else:
            mean, variance = self.moving_mean, self.moving_variance
        self.inv_std = 1 / np.sqrt(variance + self.dtype.type(self.epsilon))
        self.x_hat = (x - mean) * self.inv_std
        out = self.x_hat * self.gamma if self.scale else self.x_hat.copy()
        if self.center:
            out += self.beta
        return out

    def backward(self, grad):
        axes = tuple(range(grad.ndim - 1))
        if self.scale:
            np.sum(grad * self.x_hat, axis=axes, out=self.grad_gamma)
        if self.center:
            np.sum(grad, axis=axes, out=self.grad_beta)
        if not self.input_grad_needed:
            return None
        scale = self.gamma * self.inv_std if self.scale else self.inv_std
        mean_grad = grad.mean(axis=axes)
        mean_grad_x_hat = (grad * self.x_hat).mean(axis=axes)
        return scale * (grad - mean_grad - self.x_hat * mean_grad_x_hat)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale}
