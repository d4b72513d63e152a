"""Random tensors: ``tf.random`` and ``keras.random``. glassnet's one
generator (``glassnet.utils.rng``, which layers and ``fit`` use too), seeded
by ``tf.random.set_seed`` or ``keras.utils.set_random_seed``; an op-level
``seed=`` gives the same numbers on every call, as TensorFlow."""

from __future__ import annotations

import numpy as np

from glassnet import utils
from glassnet.ops.function import value_of
from glassnet.tensor import Tensor, as_dtype

def set_seed(seed):
    """Seed the global generator (TensorFlow's ``tf.random.set_seed``)."""
    utils.set_random_seed(int(seed))


def _rng(seed):
    if seed is None:
        return utils.rng()
    if isinstance(seed, SeedGenerator):
        return seed.next()
    return np.random.default_rng(int(np.sum(np.atleast_1d(value_of(seed)))))


def _shape(shape):
    return tuple(int(value_of(d)) for d in np.atleast_1d(value_of(shape))) \
        if np.ndim(value_of(shape)) or not isinstance(shape, (int, np.integer)) else (int(shape),)


def normal(shape, mean=0.0, stddev=1.0, dtype="float32", seed=None, name=None):
    dtype = as_dtype(dtype)
    values = _rng(seed).normal(size=_shape(shape)) * value_of(stddev) + value_of(mean)
    return Tensor(np.asarray(values, dtype=dtype))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype="float32", seed=None, name=None):
    """Normal values redrawn until within two standard deviations of the mean."""
    rng, shape = _rng(seed), _shape(shape)
    values = rng.normal(size=shape)
    bad = np.abs(values) > 2
    while bad.any():
        values[bad] = rng.normal(size=int(bad.sum()))
        bad = np.abs(values) > 2
    return Tensor(np.asarray(values * value_of(stddev) + value_of(mean), dtype=as_dtype(dtype)))


def uniform(shape, minval=0, maxval=None, dtype="float32", seed=None, name=None):
    dtype = as_dtype(dtype)
    rng, shape = _rng(seed), _shape(shape)
    if dtype.kind in "iu":
        if maxval is None:
            raise ValueError("tf.random.uniform: integer dtypes need maxval")
        return Tensor(rng.integers(value_of(minval), value_of(maxval), size=shape).astype(dtype))
    maxval = 1.0 if maxval is None else value_of(maxval)
    return Tensor(np.asarray(rng.uniform(value_of(minval), maxval, size=shape), dtype=dtype))


def categorical(logits, num_samples, dtype="int64", seed=None, name=None):
    """Draw ``num_samples`` class indices per row of unnormalised log-probabilities."""
    z = np.asarray(value_of(logits), dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"tf.random.categorical: logits must be (batch, classes); received "
                         f"shape {z.shape}")
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    rng = _rng(seed)
    draws = [rng.choice(z.shape[1], size=int(num_samples), p=row) for row in p]
    return Tensor(np.asarray(draws, dtype=as_dtype(dtype)))


def shuffle(value, seed=None, name=None):
    """The elements along the first axis in a random order."""
    x = np.asarray(value_of(value))
    return Tensor(x[_rng(seed).permutation(len(x))])


class SeedGenerator:
    """keras.random.SeedGenerator: a seed that advances at each use, so each
    call draws new numbers yet a run repeats."""

    def __init__(self, seed=None, name=None, **kwargs):
        self._rng = np.random.default_rng(seed)

    def next(self):
        return np.random.default_rng(self._rng.integers(2**31))
