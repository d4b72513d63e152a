"""Normalization: BatchNormalization (Ioffe and Szegedy, 2015) and
LayerNormalization (Ba, Kiros and Hinton, 2016), with Keras's rules.

BatchNormalization normalizes each feature (the last axis: the features, or
the channels of an image) over the batch and every other axis:

    training:   μ, σ² = mean and (biased) variance of the batch
                x̂ = (x - μ) / √(σ² + ε),   out = γ·x̂ + β
                moving_mean ← momentum·moving_mean + (1 - momentum)·μ   (likewise σ²)
    inference:  x̂ = (x - moving_mean) / √(moving_variance + ε)

Backward (training), m values per feature, g = ∂L/∂out:
    ∂L/∂γ = Σ g·x̂,   ∂L/∂β = Σ g
    ∂L/∂x = γ / √(σ² + ε) · (g - mean(g) - x̂·mean(g·x̂))

LayerNormalization does the same within each sample, over its last axis (the
same in training and inference, no moving statistics); its backward is the
same formula with the means taken over that axis.

Weights in Keras's order: gamma, beta (and for BatchNormalization
moving_mean, moving_variance, which the optimizer does not train). A
BatchNormalization with ``trainable = False`` runs in inference mode, as in
Keras.
"""

from __future__ import annotations

import numpy as np

from glassnet import rows, threads
from glassnet.layers.base import Layer, not_implemented

__all__ = ["BatchNormalization", "LayerNormalization"]


def _normalized_backward(grad, x_hat, scale, axes):
    """∂L/∂x = scale · (g - mean(g) - x̂·mean(g·x̂)), means over ``axes``."""
    if axes == -1:   # a layer's own features: the short-row means as one product each
        mean_grad, mean_grad_x_hat = rows.row_means(grad), rows.row_means(grad * x_hat)
    else:
        mean_grad = grad.mean(axis=axes, keepdims=True)
        mean_grad_x_hat = (grad * x_hat).mean(axis=axes, keepdims=True)
    out = x_hat * mean_grad_x_hat
    out += mean_grad
    np.subtract(grad, out, out=out)
    out *= scale
    return out


class _Normalization(Layer):
    def __init__(self, axis, epsilon, center, scale, beta_initializer, gamma_initializer,
                 beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint,
                 **kwargs):
        super().__init__(**kwargs)
        owner = f"{type(self).__name__} {self.name!r}"
        not_implemented(owner, "beta_constraint", beta_constraint)
        not_implemented(owner, "gamma_constraint", gamma_constraint)
        if isinstance(axis, (list, tuple)) and len(axis) == 1:
            axis = axis[0]
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise NotImplementedError(f"{owner}: only one axis, the last, is implemented; "
                                      f"received axis={axis!r}")
        if not epsilon > 0:
            raise ValueError(f"{owner}: epsilon must be positive; received {epsilon!r}")
        self.axis, self.epsilon = int(axis), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer
        self.beta_regularizer, self.gamma_regularizer = beta_regularizer, gamma_regularizer

    def build(self, input_shape):
        rank = len(input_shape)
        if self.axis not in (-1, rank - 1):
            raise NotImplementedError(f"{type(self).__name__} {self.name!r} normalizes the last "
                                      f"axis (channels_last); axis={self.axis} of an input of "
                                      f"rank {rank} is not implemented")
        features = (input_shape[-1],)
        self.gamma = self.beta = None
        if self.scale:
            self.gamma = self.add_weight(shape=features, initializer=self.gamma_initializer,
                                         regularizer=self.gamma_regularizer, name="gamma")
        if self.center:
            self.beta = self.add_weight(shape=features, initializer=self.beta_initializer,
                                        regularizer=self.beta_regularizer, name="beta")

    def _scale_shift(self, x_hat):
        out = x_hat * self.gamma if self.scale else x_hat.copy()
        if self.center:
            out += self.beta
        return out

    def _weight_gradients(self, grad, axes):
        if self.scale:
            np.sum(grad * self.x_hat, axis=axes, out=self.grad_gamma)
        if self.center:
            np.sum(grad, axis=axes, out=self.grad_beta)
        self.add_regularization_gradients()

    def backward(self, grad):
        return self._backward(grad, True)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale}


class BatchNormalization(_Normalization):
    def _output_masked(self, masked):
        if masked:
            raise NotImplementedError(f"BatchNormalization {self.name!r}: a masked input "
                                      f"(Keras takes its statistics over the real steps "
                                      f"only) is not implemented in glassnet")
        return False

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, synchronized=False, renorm=False, renorm_clipping=None,
                 renorm_momentum=0.99, **kwargs):
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, beta_constraint,
                         gamma_constraint, **kwargs)
        not_implemented(f"BatchNormalization {self.name!r}", "synchronized", synchronized,
                        False)
        not_implemented(f"BatchNormalization {self.name!r}", "renorm", renorm, False)
        not_implemented(f"BatchNormalization {self.name!r}", "renorm_clipping",
                        renorm_clipping)  # renorm_momentum matters only with renorm
        if not 0 <= momentum < 1:
            raise ValueError(f"BatchNormalization {self.name!r}: momentum must lie in [0, 1); "
                             f"received {momentum!r}")
        self.momentum = float(momentum)
        self.moving_mean_initializer = moving_mean_initializer
        self.moving_variance_initializer = moving_variance_initializer

    def build(self, input_shape):
        super().build(input_shape)
        features = (input_shape[-1],)
        self.moving_mean = self.add_weight(shape=features,
                                           initializer=self.moving_mean_initializer,
                                           trainable=False, name="moving_mean")
        self.moving_variance = self.add_weight(shape=features,
                                               initializer=self.moving_variance_initializer,
                                               trainable=False, name="moving_variance")

    def forward(self, x, training=False):
        axes = tuple(range(x.ndim - 1))
        if training and self.trainable:
            mean = x.mean(axis=axes)
            variance = x.var(axis=axes)
            self.moving_mean *= self.momentum
            self.moving_mean += (1 - self.momentum) * mean
            self.moving_variance *= self.momentum
            self.moving_variance += (1 - self.momentum) * variance
            self.training_statistics = True
        else:
            mean, variance = self.moving_mean.value, self.moving_variance.value
            self.training_statistics = False
        self.inv_std = 1 / np.sqrt(variance + self.dtype.type(self.epsilon))
        self.x_hat = (x - mean) * self.inv_std
        return self._scale_shift(self.x_hat)

    def _backward(self, grad, input_grad=True):
        axes = tuple(range(grad.ndim - 1))
        self._weight_gradients(grad, axes)
        if not input_grad:
            return None
        scale = self.gamma * self.inv_std if self.scale else self.inv_std
        if not self.training_statistics:  # the statistics were constants
            return grad * scale
        return _normalized_backward(grad, self.x_hat, scale, axes)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum}


class LayerNormalization(_Normalization):
    """Normalizes each sample over its last axis:

        μ, σ² = mean and variance of x over the last axis (per sample)
        out = γ·(x - μ)/√(σ² + ε) + β
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, rms_scaling=False,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 **kwargs):
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, beta_constraint,
                         gamma_constraint, **kwargs)
        not_implemented(f"LayerNormalization {self.name!r}", "rms_scaling", rms_scaling, False)

    supports_masking = True  # per sample: the mask passes on unchanged, as in Keras

    def forward(self, x, training=False):
        n = x.shape[-1]
        flat = x.reshape(-1, n)
        self.x_hat = np.empty(flat.shape, dtype=self.dtype)
        self.inv_std = np.empty((len(flat), 1), dtype=self.dtype)
        out = np.empty(flat.shape, dtype=self.dtype)
        epsilon = self.dtype.type(self.epsilon)

        def piece(r):  # some of the rows: each is normalized on its own
            centred = np.subtract(flat[r], rows.row_means(flat[r]), out=self.x_hat[r])  # x - μ
            variance = rows.row_means(np.square(centred))          # σ² = mean((x - μ)²)
            variance += epsilon
            np.reciprocal(np.sqrt(variance, out=variance), out=self.inv_std[r])
            centred *= self.inv_std[r]                              # x̂
            if self.scale:
                np.multiply(centred, self.gamma.value, out=out[r])
            else:
                out[r] = centred
            if self.center:
                out[r] += self.beta.value                           # γ·x̂ + β

        threads.run(piece, _row_pieces(flat))
        self.x_hat = self.x_hat.reshape(x.shape)
        self.inv_std = self.inv_std.reshape(x.shape[:-1] + (1,))
        return out.reshape(x.shape)

    def _backward(self, grad, input_grad=True):
        n = grad.shape[-1]
        g, x_hat = grad.reshape(-1, n), self.x_hat.reshape(-1, n)
        inv_std = self.inv_std.reshape(-1, 1)
        dx = np.empty(g.shape, dtype=self.dtype) if input_grad else None

        def piece(r):  # ∂L/∂γ and ∂L/∂β of these rows (Σ over rows as products), and ∂L/∂x
            sums = [rows.column_sums(g[r] * x_hat[r]) if self.scale else None,
                    rows.column_sums(g[r]) if self.center else None]
            if dx is not None:
                grad_x_hat = g[r] * self.gamma.value if self.scale else g[r]
                dx[r] = _normalized_backward(grad_x_hat, x_hat[r], inv_std[r], -1)
            return sums

        parts = threads.run(piece, _row_pieces(g))
        if self.scale:
            self.grad_gamma[...] = sum(p[0] for p in parts)
        if self.center:
            self.grad_beta[...] = sum(p[1] for p in parts)
        self.add_regularization_gradients()
        return None if dx is None else dx.reshape(grad.shape)


def _row_pieces(flat, enough=1 << 16):
    """The rows of a (rows, features) array in one piece per glassnet thread, where
    those threads are at work and the array is large; else all of them at once."""
    if flat.size < enough or not threads.busy():
        return [slice(0, len(flat))]
    return threads.split(len(flat))
