"""Random numbers and small helpers shared by layers, initializers and models.

glassnet draws every random number (initial weights, dropout masks, shuffling)
from one NumPy Generator, so one seed makes a whole run reproducible:

    >>> import glassnet as gn
    >>> gn.utils.set_random_seed(0)
    >>> a = gn.utils.rng().random()
    >>> gn.utils.set_random_seed(0)
    >>> a == gn.utils.rng().random()
    True
"""

from __future__ import annotations

import contextlib
import re

import numpy as np

__all__ = ["set_random_seed", "rng", "seeded", "unique_name", "to_snake_case"]

_generator = np.random.default_rng()


def set_random_seed(seed):
    """Seed glassnet's random numbers (like ``keras.utils.set_random_seed``)."""
    global _generator
    _generator = np.random.default_rng(_check_seed(seed))


def rng():
    """The Generator glassnet draws from."""
    return _generator


@contextlib.contextmanager
def seeded(seed):
    """Within the block, draw from a Generator seeded with ``seed`` (no-op
    for ``None``); afterwards the previous Generator is back."""
    global _generator
    if seed is None:
        yield
        return
    saved = _generator
    _generator = np.random.default_rng(_check_seed(seed))
    try:
        yield
    finally:
        _generator = saved


def _check_seed(seed):
    if seed is None:
        return None
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer or None; received {seed!r}")
    return int(seed)


_name_counts: dict[str, int] = {}


def to_snake_case(name):
    """'BatchNormalization' -> 'batch_normalization', 'Conv2D' -> 'conv2d'."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(base):
    """Keras's automatic names: dense, dense_1, dense_2, ..."""
    count = _name_counts.get(base, 0)
    _name_counts[base] = count + 1
    return base if count == 0 else f"{base}_{count}"
