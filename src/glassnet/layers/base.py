"""The Layer base class: everything a layer has, on one screen.

A layer turns an input batch x into an output batch: ``forward(x, training)``.
Backpropagation runs it in reverse: ``backward(grad)`` takes ∂loss/∂output
and returns ∂loss/∂input, and on the way fills ``grad_<weight>`` (for Dense,
``grad_kernel`` and ``grad_bias``) with ∂loss/∂weight. ``backward`` never
changes ``grad``; it uses what ``forward`` remembered, so call it right after
a ``forward`` with ``training=True``.

Weights are created in ``build(input_shape)``, on the first input (as in
Keras), with ``add_weight``; shapes never include the batch axis.
"""

from __future__ import annotations

import numpy as np

from glassnet import activations, initializers, regularizers, utils

__all__ = ["Layer", "ActivatedLayer"]

_DTYPES = ("float32", "float64")


class Layer:
    def __init__(self, name=None, trainable=True, dtype="float32", input_shape=None,
                 input_dim=None):
        self.name = name or utils.unique_name(utils.to_snake_case(type(self).__name__))
        if str(np.dtype(dtype)) not in _DTYPES:
            raise ValueError(f"Layer {self.name!r}: dtype must be one of {_DTYPES}; "
                             f"received {dtype!r}")
        self.dtype = np.dtype(dtype)
        self.trainable = bool(trainable)
        self.built = False
        self.input_shape = None        # one sample's shape, e.g. (784,)
        self.output_shape = None
        self.weight_names = []         # in Keras's order
        self.regularizers = {}         # weight name -> Regularizer
        self.non_trainable_names = []  # weights no optimizer touches (BatchNorm's moving stats)
        self.input_grad_needed = True  # a model sets False on its first layer
        if input_dim is not None:
            input_shape = (input_dim,)
        self.requested_input_shape = None if input_shape is None else _shape(input_shape)

    # ---------------------------------------------------------------- weights
    def add_weight(self, name, shape, initializer="zeros", regularizer=None, trainable=True):
        """Create ``self.<name>`` (and ``self.grad_<name>`` if trainable)."""
        setattr(self, name, initializers.get(initializer)(shape, dtype=self.dtype))
        if trainable:
            setattr(self, "grad_" + name, np.zeros(shape, dtype=self.dtype))
        self.weight_names.append(name)
        self.regularizers[name] = regularizers.get(regularizer)
        if not trainable:
            self.non_trainable_names.append(name)

    @property
    def trainable_weight_names(self):
        if not self.trainable:
            return []
        return [n for n in self.weight_names if n not in self.non_trainable_names]

    @property
    def weights(self):
        return [getattr(self, n) for n in self.weight_names]

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        weights = list(weights)
        if len(weights) != len(self.weight_names):
            raise ValueError(f"Layer {self.name!r} has {len(self.weight_names)} weights "
                             f"{self.weight_names}; received {len(weights)} arrays")
        for name, value in zip(self.weight_names, weights):
            target = getattr(self, name)
            value = np.asarray(value)
            if value.shape != target.shape:
                raise ValueError(f"Layer {self.name!r} weight {name!r} has shape "
                                 f"{target.shape}; received an array of shape {value.shape}")
            target[...] = value  # in place: the model's optimizer holds views

    def count_params(self):
        return int(sum(w.size for w in self.weights))

    def regularization_loss(self):
        return sum(reg(getattr(self, n)) for n, reg in self.regularizers.items() if reg)

    def add_regularization_gradients(self):
        for name, reg in self.regularizers.items():
            if reg is not None and name in self.trainable_weight_names:
                getattr(self, "grad_" + name)[...] += reg.gradient(getattr(self, name))

    # ---------------------------------------------------------- shapes, calls
    def build(self, input_shape):
        """Create weights for inputs of this (per-sample) shape."""

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def ensure_built(self, input_shape):
        input_shape = _shape(input_shape)
        if not self.built:
            self.build(input_shape)
            self.input_shape = input_shape
            self.output_shape = self.compute_output_shape(input_shape)
            self.built = True
        elif input_shape != self.input_shape:
            raise ValueError(f"Layer {self.name!r} ({type(self).__name__}) expects input of "
                             f"shape {('batch',) + self.input_shape}; received "
                             f"{('batch',) + input_shape}")

    def __call__(self, x, training=False):
        x = np.asarray(x)
        if x.ndim == 0:
            raise ValueError(f"Layer {self.name!r} expects a batch (batch, ...); received a "
                             f"scalar")
        self.ensure_built(x.shape[1:])
        return self.forward(x.astype(self.dtype, copy=False), training=training)

    def forward(self, x, training=False):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    def last_output(self):
        """This layer's output in the last forward pass (None if unknown)."""
        return getattr(self, "a", None)

    # --------------------------------------------------------------- configs
    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "dtype": str(self.dtype)}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} built={self.built}>"


class ActivatedLayer(Layer):
    """A layer with a kernel, an optional bias, and an activation: it computes
    z and then a = activation(z) (Dense, Conv2D). Subclasses call
    ``self.activate(z)`` at the end of ``forward`` and define
    ``backward_from_z(grad_z)``; backward runs through the activation first."""

    def __init__(self, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)

    def get_config(self):
        return {**super().get_config(), "activation": self.activation.name,
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer)}

    def activate(self, z):
        self.z = z
        if self.activation.name == "relu":
            self.a = np.maximum(z, 0, out=z)  # in place: relu'(z) = relu'(a)
        elif self.activation.name == "linear":
            self.a = z
        else:
            self.a = self.activation(z)
        return self.a

    def backward(self, grad):
        grad_z = grad if self.activation.name == "linear" else \
            self.activation.backward(self.z, grad, self.a)
        return self.backward_from_z(grad_z)

    def backward_from_z(self, grad_z):
        raise NotImplementedError


def _shape(shape):
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        shape = tuple(None if d is None else int(d) for d in shape)
    except (TypeError, ValueError):
        raise ValueError(f"a shape is a tuple of positive integers; received {shape!r}") from None
    if any(d is not None and d <= 0 for d in shape):
        raise ValueError(f"a shape is a tuple of positive integers; received {shape!r}")
    return shape
