"""Initializers: the values a layer's weights start from.

A network learns only if its signals neither vanish nor explode as they pass
through the layers. The variance-scaling family sets the spread of the
initial weights from the layer's fan-in (inputs per unit) and fan-out:

=================  ==============================  ====================
initializer        variance                        distribution
=================  ==============================  ====================
glorot_uniform     2 / (fan_in + fan_out)          uniform (default)
glorot_normal      2 / (fan_in + fan_out)          truncated normal
he_uniform         2 / fan_in                      uniform (for relu)
he_normal          2 / fan_in                      truncated normal
lecun_normal       1 / fan_in                      truncated normal (selu)
=================  ==============================  ====================

Uniform draws from [-limit, limit] with limit = √(3·variance). Truncated
normal draws N(0, σ²) and redraws values beyond 2σ; σ is divided by
0.8796… so the variance after truncation is the one in the table (Keras's
rule). For a Dense kernel (in, out): fan_in = in, fan_out = out; for a
Conv2D kernel (kh, kw, in, out) each is multiplied by kh·kw.

    >>> w = get("glorot_uniform")((784, 128), seed=0)
    >>> w.shape, w.dtype, bool(abs(w).max() <= (6 / (784 + 128)) ** 0.5)
    ((784, 128), dtype('float32'), True)
"""

from __future__ import annotations

import math

import numpy as np

from glassnet import utils

__all__ = ["Initializer", "VarianceScaling", "GlorotUniform", "GlorotNormal", "HeUniform",
           "HeNormal", "LecunNormal", "LecunUniform", "RandomNormal", "RandomUniform",
           "Zeros", "Ones", "Constant", "get", "serialize", "compute_fans"]

_TRUNCATED_NORMAL_STD = 0.87962566103423978  # std of N(0, 1) truncated to [-2, 2]


def compute_fans(shape):
    """(fan_in, fan_out) of a weight of this shape."""
    shape = tuple(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


class Initializer:
    """Base class: ``init(shape, dtype=None, seed=None)`` returns an array
    (of ``keras.backend.floatx()``, float32 unless changed, when dtype is None).

    Without a seed, values come from glassnet's generator (see
    :func:`glassnet.utils.set_random_seed`); with one, from its own.
    """

    seed = None

    def __call__(self, shape, dtype=None, seed=None):
        dtype = utils.floatx() if dtype is None else dtype
        seed = self.seed if seed is None else seed
        generator = utils.rng() if seed is None else np.random.default_rng(seed)
        return np.asarray(self.sample(tuple(shape), generator), dtype=dtype)

    def sample(self, shape, generator):
        raise NotImplementedError

    def get_config(self):
        return {}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _truncated_normal(shape, stddev, generator):
    values = generator.standard_normal(shape)
    outside = np.abs(values) > 2
    while outside.any():  # about 4.6% per round: a few rounds at most
        values[outside] = generator.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2
    return values * stddev


class VarianceScaling(Initializer):
    """Weights with variance scale / n, n = fan_in, fan_out or their mean
    (``mode``), drawn from a ``"truncated_normal"``, ``"untruncated_normal"``
    or ``"uniform"`` distribution."""

    MODES = ("fan_in", "fan_out", "fan_avg")
    DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 input_axes=None, output_axes=None):
        for argument, value in (("input_axes", input_axes), ("output_axes", output_axes)):
            if value is not None:  # Keras 3.13+: which axes count as fan-in and fan-out
                raise NotImplementedError(f"{type(self).__name__}: the Keras argument "
                                          f"{argument}={value!r} is not implemented in glassnet "
                                          f"(fans come from the last two axes)")
        if not scale > 0:
            raise ValueError(f"VarianceScaling scale must be positive; received {scale!r}")
        if mode not in self.MODES:
            raise ValueError(f"VarianceScaling mode must be one of {self.MODES}; received "
                             f"{mode!r}")
        if distribution not in self.DISTRIBUTIONS:
            raise ValueError(f"VarianceScaling distribution must be one of "
                             f"{self.DISTRIBUTIONS}; received {distribution!r}")
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def sample(self, shape, generator):
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, n)
        if self.distribution == "uniform":
            limit = math.sqrt(3 * variance)
            return generator.uniform(-limit, limit, shape)
        if self.distribution == "untruncated_normal":
            return generator.standard_normal(shape) * math.sqrt(variance)
        return _truncated_normal(shape, math.sqrt(variance) / _TRUNCATED_NORMAL_STD, generator)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


class _Preset(VarianceScaling):
    PRESET = {}

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(seed=seed, input_axes=input_axes, output_axes=output_axes,
                         **self.PRESET)

    def get_config(self):
        return {"seed": self.seed}


class GlorotUniform(_Preset):
    """Uniform on [-limit, limit], limit = √(6 / (fan_in + fan_out)) (Xavier)."""
    PRESET = {"scale": 1.0, "mode": "fan_avg", "distribution": "uniform"}


class GlorotNormal(_Preset):
    """Truncated normal, σ = √(2 / (fan_in + fan_out)) (Xavier)."""
    PRESET = {"scale": 1.0, "mode": "fan_avg", "distribution": "truncated_normal"}


class HeUniform(_Preset):
    """Uniform on [-limit, limit], limit = √(6 / fan_in): for relu."""
    PRESET = {"scale": 2.0, "mode": "fan_in", "distribution": "uniform"}


class HeNormal(_Preset):
    """Truncated normal, σ = √(2 / fan_in): for relu."""
    PRESET = {"scale": 2.0, "mode": "fan_in", "distribution": "truncated_normal"}


class LecunNormal(_Preset):
    """Truncated normal, σ = √(1 / fan_in): for selu."""
    PRESET = {"scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal"}


class LecunUniform(_Preset):
    """Uniform on [-limit, limit], limit = √(3 / fan_in)."""
    PRESET = {"scale": 1.0, "mode": "fan_in", "distribution": "uniform"}


class RandomNormal(Initializer):
    """N(mean, stddev²); Keras's defaults mean=0, stddev=0.05."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        if not stddev >= 0:
            raise ValueError(f"RandomNormal stddev must be >= 0; received {stddev!r}")
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def sample(self, shape, generator):
        return generator.normal(self.mean, self.stddev, shape)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    """Uniform on [minval, maxval); Keras's defaults -0.05, 0.05."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        if not maxval > minval:
            raise ValueError(f"RandomUniform needs minval < maxval; received {minval!r}, "
                             f"{maxval!r}")
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def sample(self, shape, generator):
        return generator.uniform(self.minval, self.maxval, shape)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class Orthogonal(Initializer):
    """A random orthogonal matrix (rows or columns orthonormal), times
    ``gain``: Keras's default for recurrent kernels, so that repeated
    multiplication by it neither grows nor shrinks a state at first.
    From the QR decomposition of a normal matrix, signs fixed by R's diagonal
    (as Keras). Shapes of more than 2 axes are flattened to (rows, last)."""

    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = float(gain), seed

    def sample(self, shape, generator):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal needs a shape of at least 2 axes; received {shape}")
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        a = generator.normal(size=(max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class Constant(Initializer):
    """Every value equal to ``value``."""

    def __init__(self, value=0.0):
        self.value = float(value)

    def sample(self, shape, generator):
        return np.full(shape, self.value)

    def get_config(self):
        return {"value": self.value}


class Zeros(Constant):
    """All zeros (Keras's default for biases)."""

    def __init__(self):
        super().__init__(0.0)

    def get_config(self):
        return {}


class Ones(Constant):
    """All ones."""

    def __init__(self):
        super().__init__(1.0)

    def get_config(self):
        return {}


_BY_NAME = {
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform, "he_normal": HeNormal,
    "lecun_normal": LecunNormal, "lecun_uniform": LecunUniform,
    "random_normal": RandomNormal, "random_uniform": RandomUniform,
    "zeros": Zeros, "ones": Ones, "constant": Constant,
    "variance_scaling": VarianceScaling,
    "orthogonal": Orthogonal,
    "uniform": RandomUniform, "normal": RandomNormal,  # Keras's short names (Embedding's default)
}
_BY_CLASS = {cls.__name__: cls for cls in _BY_NAME.values()}
_BY_CLASS.update({"RandomUniform": RandomUniform, "RandomNormal": RandomNormal})


def get(identifier):
    """An Initializer from a name (``"he_normal"``), a config dict
    (``{"class_name": "RandomNormal", "config": {"stddev": 0.1}}``) or an
    Initializer, which is returned as is."""
    return utils.resolve(identifier, "initializer", Initializer, _BY_NAME, _BY_CLASS)


def serialize(initializer):
    return {"class_name": type(initializer).__name__, "config": initializer.get_config()}


# TensorFlow's names for the same initializers (tf.random_normal_initializer(), ...)
random_normal_initializer = RandomNormal
random_uniform_initializer = RandomUniform
zeros_initializer = Zeros
ones_initializer = Ones
constant_initializer = Constant
