"""Keras 3's public namespace over glassnet's own objects.

``from glassnet import keras`` (or ``import glassnet as tf`` and then
``tf.keras``) gives Keras's names: ``keras.Sequential``, ``keras.Model``,
``keras.Input``, ``keras.layers``, ``keras.models``, ``keras.losses``,
``keras.metrics``, ``keras.optimizers`` (and ``.schedules``),
``keras.callbacks``, ``keras.activations``, ``keras.initializers``,
``keras.regularizers``, ``keras.datasets``, ``keras.utils``,
``keras.backend``, ``keras.config``, ``keras.preprocessing``. Each is a thin
module that re-exports glassnet's own classes and functions: there is no second
implementation, and ``keras.layers.Dense is glassnet.layers.Dense``.

The submodules load on first use, so ``from glassnet import keras`` costs
nothing until a name is needed.
"""

import importlib

from glassnet import __version__

_SUBMODULES = {"layers", "models", "losses", "metrics", "optimizers", "callbacks",
               "activations", "initializers", "regularizers", "datasets", "utils", "backend",
               "preprocessing", "ops", "random", "saving", "config"}
_NAMES = {"Sequential": "glassnet.models", "Model": "glassnet.models",
          "Input": "glassnet.layers", "Layer": "glassnet.layers",
          "Variable": "glassnet.variables", "KerasTensor": "glassnet.graph"}

__all__ = sorted(_SUBMODULES) + sorted(_NAMES) + ["version", "__version__"]


def version():
    return __version__


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"glassnet.keras.{name}")
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'glassnet.keras' has no attribute {name!r} (glassnet "
                         f"implements Keras's model-building and training API; see "
                         f"dir(glassnet.keras))")


def __dir__():
    return __all__
