"""glassnet: a Keras-compatible deep-learning library in NumPy that you can see through.

    >>> import glassnet as gn
    >>> gn.activations.relu([-1.0, 2.0])
    array([0., 2.])

Keras code runs with its imports changed: ``import glassnet as tf`` gives
``tf.keras``, ``tf.__version__`` and ``tf.version.VERSION``;
``from glassnet import keras`` gives ``keras`` (see ``glassnet.keras``).

Submodules and names load on first use (``gn.Sequential`` imports
``glassnet.models``), so ``import glassnet`` and ``glassnet --help`` are
instant and matplotlib, Pillow, safetensors and tqdm load only where used.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = {"activations", "callbacks", "datasets", "engine", "gradcheck", "graph",
               "initializers", "inspect", "io", "keras", "layers", "losses", "metrics", "models",
               "neuron", "optimizers", "perceptron", "plot", "recipes", "regularizers", "utils",
               "variables", "cli"}
_NAMES = {"Sequential": "models", "Model": "models", "load_model": "models",
          "Neuron": "neuron", "Input": "layers", "Variable": "variables"}


class _Version:
    """``tf.version.VERSION`` for code written against TensorFlow."""

    VERSION = __version__

    def __repr__(self):
        return f"<glassnet version {self.VERSION}>"


version = _Version()

__all__ = sorted(_SUBMODULES - {"cli", "recipes", "io", "engine", "graph"}) + sorted(_NAMES) + [
    "set_num_threads", "__version__", "version"]

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


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"glassnet.{name}")
    if name in _NAMES:
        return getattr(importlib.import_module(f"glassnet.{_NAMES[name]}"), name)
    raise AttributeError(f"module 'glassnet' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _SUBMODULES | set(_NAMES))
