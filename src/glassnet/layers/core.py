"""Core layers: InputLayer (and ``Input``), Dense, Activation, Dropout,
Flatten, Reshape, Rescaling, Identity."""

from __future__ import annotations

import math

import numpy as np

from glassnet import activations, graph, threads, utils
from glassnet.layers.base import ActivatedLayer, Layer, _shape, not_implemented

__all__ = ["Masking", "InputLayer", "Input", "Dense", "Activation", "Dropout", "Flatten", "Reshape",
           "Rescaling", "Identity"]


class InputLayer(Layer):
    """The start of a graph: it holds the input's shape and dtype and passes
    data through. ``Input(shape)`` makes one and returns its symbolic tensor;
    a Sequential model given an Input or ``input_shape=`` makes one (and
    does not list it in ``model.layers``, as Keras)."""

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None,
                 input_tensor=None, optional=False, name=None, input_shape=None,
                 batch_input_shape=None, **kwargs):
        if shape is None and batch_shape is None:
            shape = input_shape
            batch_shape = batch_input_shape
        if shape is not None and batch_shape is not None:
            raise ValueError("InputLayer takes shape= or batch_shape=, not both")
        if shape is None and batch_shape is None:
            raise ValueError("InputLayer needs shape=, e.g. Input((28, 28))")
        name = name or utils.unique_name("input_layer")
        super().__init__(name=name, **kwargs)
        owner = f"InputLayer {name!r}"
        not_implemented(owner, "sparse", sparse, False)
        not_implemented(owner, "optional", optional, False)
        if input_tensor is not None:
            raise NotImplementedError(f"{owner}: input_tensor= is not implemented in glassnet")
        if batch_shape is not None:
            batch_shape = tuple(batch_shape)
            batch_size, shape = batch_shape[0], batch_shape[1:]
        self.shape = _shape(shape)
        self.batch_size = batch_size
        try:
            self.input_dtype = np.dtype(utils.floatx() if dtype is None else dtype)
        except TypeError:
            raise ValueError(f"{owner}: unknown dtype {dtype!r}") from None
        batch = (None,) + self.shape
        self.built = True
        self._input_shape = self._output_shape = batch
        self._sample_shape = self.shape
        graph.Node(self, [], [graph.KerasTensor(batch, self.input_dtype, name=self.name)])

    @property
    def batch_shape(self):
        return (self.batch_size,) + self.shape

    def forward(self, x, training=False):
        return x

    def backward(self, grad):
        return grad

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": str(self.input_dtype),
                "sparse": False, "name": self.name}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "shape" in config and "batch_shape" not in config:  # glassnet's first files
            config["batch_shape"] = [None] + list(config.pop("shape"))
        return cls(batch_shape=tuple(config.pop("batch_shape")), dtype=config.get("dtype"),
                   name=config.get("name"))


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None,
          tensor=None, optional=False):
    """A symbolic input tensor of ``shape`` (one sample's; the batch is None):
    ``x = Input((28, 28))``, then ``Dense(10)(Flatten()(x))``, then
    ``Model(x, y)``. In ``Sequential([Input((28, 28)), ...])`` it sets the
    input shape."""
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse,
                       batch_shape=batch_shape, name=name, input_tensor=tensor,
                       optional=optional)
    return layer.output


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

    supports_masking = True  # the mask passes on unchanged, as in Keras

    def __init__(self, units, activation=None, **kwargs):
        # use_bias, the initializers and regularizers: ActivatedLayer's, Keras's defaults
        super().__init__(activation=activation, **kwargs)
        if np.ndim(units) == 0 and np.asarray(units).dtype.kind in "iu":
            units = int(np.asarray(units))  # e.g. tf.math.reduce_prod(shape).numpy()
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"Dense {self.name!r}: units must be a positive integer; received "
                             f"{units!r}")
        self.units = int(units)

    def build(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(f"Dense {self.name!r} needs inputs with a known last (feature) "
                             f"axis; received shape {tuple(input_shape)}")
        self.add_kernel_and_bias((input_shape[-1], self.units), self.units)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def forward(self, x, training=False):
        kernel = self.kernel.value
        x2 = x.reshape(-1, x.shape[-1])      # the products on glassnet's threads
        z = threads.matmul(x2, kernel).reshape(x.shape[:-1] + (self.units,))
        if self.use_bias:
            z += self.bias.value
        self.x = x
        return self.activate(z)

    def backward_from_z(self, grad_z, input_grad=True):
        """The backward pass from ∂L/∂z (a model calls this directly when it
        fuses softmax with cross-entropy: then ∂L/∂z = p - y)."""
        x2 = self.x.reshape(-1, self.x.shape[-1])
        g2 = grad_z.reshape(-1, self.units)
        threads.matmul(x2.T, g2, out=self.grad_kernel)
        if self.use_bias:
            np.sum(g2, axis=0, out=self.grad_bias)
        self.add_regularization_gradients()
        if not input_grad:
            return None
        return threads.matmul(g2, self.kernel.value.T).reshape(self.x.shape)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class Activation(Layer):
    """Applies an activation function: ``Activation("relu")``. Backward:
    ∂L/∂x = ∂L/∂a · f'(x) (softmax: its Jacobian applied to ∂L/∂a)."""

    supports_masking = True  # the mask passes on unchanged, as in Keras

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def forward(self, x, training=False):
        self.z = x
        self.a = self.activation(x)
        return self.a

    def backward(self, grad):
        return self.activation.backward(self.z, grad, self.a)

    def backward_from_z(self, grad_z, input_grad=True):
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

    supports_masking = True  # the mask passes on unchanged, as in Keras

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        not_implemented(f"Dropout {self.name!r}", "noise_shape", noise_shape)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise ValueError(f"Dropout {self.name!r}: rate must be a number in [0, 1); "
                             f"received {rate!r}")
        self.rate = float(rate)
        self.seed = seed
        self._generator = None if seed is None else np.random.default_rng(seed)
        self.mask = None

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

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        not_implemented(f"Flatten {self.name!r}", "data_format", data_format, "channels_last")

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        return (input_shape[0], None if None in rest else math.prod(rest))

    def forward(self, x, training=False):
        self.x_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad):
        return grad.reshape(self.x_shape)


class Reshape(Layer):
    """(batch, ...) -> (batch, *target_shape); one entry may be -1."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        target = tuple(int(d) for d in np.atleast_1d(target_shape))
        if sum(d == -1 for d in target) > 1 or any(d == 0 or d < -1 for d in target):
            raise ValueError(f"Reshape {self.name!r}: target_shape takes positive sizes and at "
                             f"most one -1; received {target_shape!r}")
        self.target_shape = target

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        if None in rest:
            return (input_shape[0],) + tuple(None if d == -1 else d for d in self.target_shape)
        size = math.prod(rest)
        known = math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            if size % known:
                raise ValueError(self._mismatch(rest))
            return (input_shape[0],) + tuple(size // known if d == -1 else d
                                             for d in self.target_shape)
        if known != size:
            raise ValueError(self._mismatch(rest))
        return (input_shape[0],) + self.target_shape

    def _mismatch(self, sample_shape):
        return (f"Reshape {self.name!r} cannot reshape inputs of shape "
                f"{(None,) + tuple(sample_shape)} ({math.prod(sample_shape)} values per sample) "
                f"to {self.target_shape}")

    def build(self, input_shape):
        self.compute_output_shape(input_shape)  # fail early

    def forward(self, x, training=False):
        self.x_shape = x.shape
        return x.reshape((x.shape[0],) + self.target_shape)

    def backward(self, grad):
        return grad.reshape(self.x_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Rescaling(Layer):
    """a = x · scale + offset, e.g. ``Rescaling(1 / 255)`` turns 0-255 pixels
    into 0-1 inside the model, so it can be fed (and saved for) raw uint8
    images: the data set stays uint8 in memory and each batch is converted
    once. Backward: ∂L/∂x = ∂L/∂a · scale."""

    supports_masking = True  # the mask passes on unchanged, as in Keras

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


class Masking(Layer):
    """Marks the steps whose features all equal ``mask_value`` as padding,
    as in Keras: the output carries the mask m_t = any(x_t != mask_value)
    for the layers after it, and masked steps become 0:

        a_t = m_t · x_t,   ∂L/∂x_t = m_t · ∂L/∂a_t
    """

    supports_masking = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float, np.number)):
            raise ValueError(f"Masking {self.name!r}: mask_value must be a number; received "
                             f"{mask_value!r}")
        self.mask_value = float(mask_value)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def compute_mask(self, inputs, mask=None):
        return np.any(np.asarray(inputs) != self.mask_value, axis=-1)

    def _output_masked(self, masked):
        return True

    def forward(self, x, training=False):
        self.keep = np.any(x != self.mask_value, axis=-1, keepdims=True)
        return np.where(self.keep, x, 0).astype(x.dtype, copy=False)

    def backward(self, grad):
        return grad * self.keep

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}


class Identity(Layer):
    """a = x; ∂L/∂x = ∂L/∂a."""

    supports_masking = True  # the mask passes on unchanged, as in Keras

    def forward(self, x, training=False):
        return x

    def backward(self, grad):
        return grad
