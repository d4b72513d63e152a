"""Layers, one module per family: ``core`` (Input, Dense, Activation, Dropout,
Flatten, Reshape, Rescaling), ``conv`` (Conv2D), ``pooling`` (MaxPooling2D,
AveragePooling2D, GlobalAveragePooling2D), ``normalization``
(BatchNormalization). ``Layer`` is the base class; ``serialize`` / ``deserialize``
turn a layer into a config dict and back."""

from glassnet.layers.base import Layer
from glassnet.layers.conv import Conv2D
from glassnet.layers.core import Activation, Dense, Dropout, Flatten, Input, Rescaling, Reshape
from glassnet.layers.normalization import BatchNormalization
from glassnet.layers.pooling import AveragePooling2D, GlobalAveragePooling2D, MaxPooling2D

__all__ = ["Layer", "Input", "Dense", "Activation", "Dropout", "Flatten", "Reshape", "Rescaling",
           "Conv2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D",
           "BatchNormalization",
           "serialize", "deserialize"]

_CLASSES = {cls.__name__: cls for cls in (Input, Dense, Activation, Dropout, Flatten, Reshape,
                                          Rescaling, Conv2D, MaxPooling2D, AveragePooling2D,
                                          GlobalAveragePooling2D, BatchNormalization)}


def register(cls):
    """Make a Layer subclass known to ``deserialize`` (and so to load_model)."""
    _CLASSES[cls.__name__] = cls
    return cls


def serialize(layer):
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(config, **overrides):
    name = config.get("class_name")
    if name not in _CLASSES:
        raise ValueError(f"Unknown layer class {name!r}; known: {', '.join(sorted(_CLASSES))}")
    return _CLASSES[name].from_config({**config.get("config", {}), **overrides})
