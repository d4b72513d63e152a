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

_SUBMODULES = {"activations", "callbacks", "data", "datasets", "engine", "gradcheck", "graph",
               "initializers", "inspect", "io", "keras", "layers", "losses", "metrics", "models",
               "neuron", "optimizers", "perceptron", "plot", "recipes", "regularizers", "utils",
               "variables", "cli"}
_NAMES = {"Sequential": "models", "Model": "models", "load_model": "models",
          "Neuron": "neuron", "Input": "layers", "Variable": "variables",
          "Tensor": "tensor", "TensorShape": "tensor", "constant": "tensor",
          "convert_to_tensor": "tensor", "GradientTape": "tape", "function": "tape",
          "TensorSpec": "data",
          # TensorFlow's initializer names (the guides' tf.random_normal_initializer())
          "random_normal_initializer": "initializers", "random_uniform_initializer":
          "initializers", "zeros_initializer": "initializers", "ones_initializer":
          "initializers", "constant_initializer": "initializers"}
# TensorFlow's namespaces of ops (tf.math, tf.nn, ...) and its dtype names
_NAMESPACES = {"math", "nn", "random", "linalg"}
_DTYPE_NAMES = {"float16", "float32", "float64", "bfloat16", "half", "double", "int8", "int16",
                "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool", "complex64",
                "complex128", "string"}
_OUT_OF_SCOPE = {"config", "saved_model", "distribute", "hub", "tpu", "lite", "compat",
                 "estimator", "feature_column", "summary", "io", "image", "strings",
                 "sparse", "ragged", "experimental", "autograph", "raw_ops", "signal",
                 "train", "sysconfig", "test", "xla", "queue", "audio", "bitwise", "dtypes",
                 "errors", "lookup", "mlir", "profiler", "quantization", "types",
                 "tensorflow_datasets"}
newaxis = None


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
    """Work on ``n`` threads, like ``torch.set_num_threads``: glassnet's own
    (glassnet.threads: the pieces of a batch side by side) and BLAS's for
    matrix products (via threadpoolctl). ``None`` restores the default, every
    core."""
    global _thread_limits
    from threadpoolctl import threadpool_limits

    from glassnet import threads

    threads.set_size(n)
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
    if name in _DTYPE_NAMES:
        return importlib.import_module("glassnet.tensor").DTYPES[name]
    ops = importlib.import_module("glassnet.ops")
    if name in _NAMESPACES:
        return getattr(ops, name)
    if name in ops.TF:
        module, attr = ops.TF[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    if name in _OUT_OF_SCOPE and name != "io":
        raise AttributeError(f"module 'glassnet' has no attribute {name!r}: tf.{name} is "
                             f"TensorFlow beyond what Keras learner code uses, and out of "
                             f"glassnet's scope (see glassnet's API contract)")
    raise AttributeError(ops.missing("glassnet", name, __dir__()))


def __dir__():
    import glassnet.ops as ops
    return sorted(set(globals()) | _SUBMODULES | set(_NAMES) | _NAMESPACES | set(ops.TF)
                  | _DTYPE_NAMES)
