"""Core layers: Input, Dense, Activation, Dropout, Flatten, Reshape."""

from __future__ import annotations

import math

import numpy as np

from glassnet import activations, utils
from glassnet.layers.base import ActivatedLayer, Layer

__all__ = ["Input", "Dense", "Activation", "Dropout", "Flatten", "Reshape", "Rescaling"]


class Input(Layer):
    """Declares the shape of one sample: ``Input((28, 28))``. In a Sequential
    model it only fixes the input shape (it is not one of ``model.layers``)."""

    def __init__(self, shape, name=None, dtype="float32", batch_size=None):
        super().__init__(name=name, dtype=dtype, input_shape=shape)
        if any(d is None for d in self.requested_input_shape):
            raise ValueError(f"Input shape must be fully known (no None); received {shape!r}")
        self.shape = self.requested_input_shape

    def forward(self, x, training=False):
        return x

    def backward(self, grad):
        return grad

    def get_config(self):
        return {"shape": list(self.shape), "name": self.name, "dtype": str(self.dtype)}


class Dense(ActivatedLayer):
    """A fully connected layer: every output sees every input.

        z = x @ kernel + bias      kernel: (inputs, units), bias: (units,)
        a = activation(z)

    Backward, given g = ∂L/∂a (N samples as rows):
        ∂L/∂z      = g · activation'(z)      (softmax: its Jacobian applied to g)
        grad_kernel = xᵀ @ ∂L/∂z              one GEMM
        grad_bias   = Σ over samples of ∂L/∂z
        ∂L/∂x      = ∂L/∂z @ kernelᵀ         one GEMM

    On N-D input the kernel applies to the last axis, as in Keras. relu is
    applied in place (z is overwritten by a = max(z, 0)): relu'(z) equals
    relu'(a), so backward needs only a, and a step saves one array and one pass.
    """

    def __init__(self, units, activation=None, **kwargs):
        super().__init__(activation=activation, **kwargs)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"Dense units must be a positive integer; received {units!r}")
        self.units = int(units)

    def build(self, input_shape):
        if len(input_shape) < 1:
            raise ValueError(f"Dense {self.name!r} needs inputs with a feature axis; received "
                             f"per-sample shape {input_shape}")
        self.add_weight("kernel", (input_shape[-1], self.units), self.kernel_initializer,
                        self.kernel_regularizer)
        if self.use_bias:
            self.add_weight("bias", (self.units,), self.bias_initializer, self.bias_regularizer)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def forward(self, x, training=False):
        z = x @ self.kernel
        if self.use_bias:
            z += self.bias
        self.x = x
        return self.activate(z)

    def backward_from_z(self, grad_z):
        """The backward pass from ∂L/∂z (the model calls this directly when it
        fuses softmax with cross-entropy: then ∂L/∂z = p - y)."""
        x2 = self.x.reshape(-1, self.x.shape[-1])
        g2 = grad_z.reshape(-1, self.units)
        np.matmul(x2.T, g2, out=self.grad_kernel)
        if self.use_bias:
            np.sum(g2, axis=0, out=self.grad_bias)
        self.add_regularization_gradients()
        if not self.input_grad_needed:
            return None
        return grad_z @ self.kernel.T

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class Activation(Layer):
    """Applies an activation function: ``Activation("relu")``. Backward:
    ∂L/∂x = ∂L/∂a · f'(x) (softmax: its Jacobian applied to ∂L/∂a)."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def forward(self, x, training=False):
        self.z = x
        self.a = self.activation(x)
        return self.a

    def backward(self, grad):
        return self.activation.backward(self.z, grad, self.a)

    def backward_from_z(self, grad_z):
        return grad_z

    def get_config(self):
        return {**super().get_config(), "activation": self.activation.name}


class Dropout(Layer):
    """Inverted dropout. In training each value is kept with probability
    1 - rate and scaled by 1 / (1 - rate), so the expected output equals the
    input; at inference the layer does nothing.

        mask = (u >= rate) / (1 - rate),  u ~ Uniform[0, 1)
        a = x · mask,   ∂L/∂x = ∂L/∂a · mask
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise ValueError(f"Dropout rate must be a number in [0, 1); received {rate!r}")
        self.rate = float(rate)
        self.seed = seed
        self._generator = None if seed is None else np.random.default_rng(seed)

    def forward(self, x, training=False):
        if not training or self.rate == 0:
            self.mask = None
            return x
        generator = self._generator or utils.rng()
        keep = generator.random(x.shape, dtype=self.dtype) >= self.rate
        self.mask = keep * self.dtype.type(1 / (1 - self.rate))
        return x * self.mask

    def backward(self, grad):
        return grad if self.mask is None else grad * self.mask

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class Flatten(Layer):
    """(batch, d1, d2, ...) -> (batch, d1·d2·...). Backward reshapes back."""

    def compute_output_shape(self, input_shape):
        return (math.prod(input_shape),)

    def forward(self, x, training=False):
        return x.reshape(x.shape[0], -1)

    def backward(self, grad):
        return grad.reshape((grad.shape[0],) + self.input_shape)


class Reshape(Layer):
    """(batch, ...) -> (batch, *target_shape); one entry may be -1."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        target = tuple(int(d) for d in np.atleast_1d(target_shape))
        if sum(d == -1 for d in target) > 1 or any(d == 0 or d < -1 for d in target):
            raise ValueError(f"Reshape target_shape takes positive sizes and at most one -1; "
                             f"received {target_shape!r}")
        self.target_shape = target

    def compute_output_shape(self, input_shape):
        size = math.prod(input_shape)
        known = math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            if size % known:
                raise ValueError(self._mismatch(input_shape))
            return tuple(size // known if d == -1 else d for d in self.target_shape)
        if known != size:
            raise ValueError(self._mismatch(input_shape))
        return self.target_shape

    def _mismatch(self, input_shape):
        return (f"Reshape {self.name!r} cannot reshape per-sample shape {input_shape} "
                f"({math.prod(input_shape)} values) to {self.target_shape}")

    def build(self, input_shape):
        self.compute_output_shape(input_shape)  # fail early

    def forward(self, x, training=False):
        return x.reshape((x.shape[0],) + self.output_shape)

    def backward(self, grad):
        return grad.reshape((grad.shape[0],) + self.input_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Rescaling(Layer):
    """a = x · scale + offset, e.g. ``Rescaling(1 / 255)`` turns 0-255 pixels
    into 0-1 inside the model, so it can be fed (and saved for) raw uint8
    images: the data set stays uint8 in memory and each batch is converted
    once. Backward: ∂L/∂x = ∂L/∂a · scale."""

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = float(scale)
        self.offset = float(offset)

    def forward(self, x, training=False):
        a = x * self.dtype.type(self.scale)
        if self.offset:
            a += self.dtype.type(self.offset)
        return a

    def backward(self, grad):
        return grad * self.dtype.type(self.scale)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}
