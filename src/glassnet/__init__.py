"""glassnet: a Keras-compatible deep-learning library in NumPy that you can see through.

    >>> import glassnet as gn
    >>> gn.activations.relu([-1.0, 2.0])
    array([0., 2.])

Submodules that need matplotlib (``glassnet.plot``) load on first use, so
``import glassnet`` stays fast.
"""

from __future__ import annotations

import importlib

from glassnet import (activations, callbacks, gradcheck, initializers, layers, losses, metrics,
                      optimizers, perceptron, regularizers, utils)
from glassnet.models import Sequential, load_model
from glassnet.neuron import Neuron

__version__ = "0.1.0"

_thread_limits = None


def set_num_threads(n):
    """Use ``n`` BLAS threads for matrix products (via threadpoolctl), like
    ``torch.set_num_threads``. ``None`` restores the default."""
    global _thread_limits
    from threadpoolctl import threadpool_limits

    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ValueError(f"set_num_threads takes a positive integer or None; received {n!r}")
    if _thread_limits is not None:
        _thread_limits.restore_original_limits()
        _thread_limits = None
    if n is not None:
        _thread_limits = threadpool_limits(limits=n, user_api="blas")
__all__ = ["Neuron", "Sequential", "load_model", "set_num_threads", "activations", "callbacks", "gradcheck",
           "initializers", "layers", "losses", "metrics", "optimizers", "perceptron", "plot",
           "regularizers", "utils", "datasets", "__version__"]

_LAZY_SUBMODULES = {"plot", "cli", "io", "datasets", "recipes"}


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"glassnet.{name}")
    raise AttributeError(f"module 'glassnet' has no attribute {name!r}")
