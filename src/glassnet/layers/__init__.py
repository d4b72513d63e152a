"""Layers, one module per family: ``core`` (InputLayer/Input, Dense,
Activation, Dropout, Flatten, Reshape, Rescaling, Identity, Masking), ``activation``
(Softmax, ReLU, LeakyReLU, ELU), ``merge`` (Add, Subtract, Multiply, Average,
Maximum, Minimum, Concatenate), ``conv`` (Conv2D, Conv1D, Conv2DTranspose),
``pooling`` (max/average, 2-D and 1-D, and the global ones), ``reshaping``
(ZeroPadding2D, Cropping2D, UpSampling2D, RepeatVector), ``regularization``
(GaussianNoise, ActivityRegularization), ``normalization`` (BatchNormalization,
LayerNormalization), ``embedding`` (Embedding), ``recurrent`` (SimpleRNN, LSTM,
GRU), ``wrappers`` (Bidirectional, TimeDistributed). ``Layer`` is the base class; ``serialize`` /
``deserialize`` turn a layer into a config dict and back. Keras's aliases
(``MaxPool2D``, ``Convolution2D``, ...) name the same classes."""

from glassnet.layers.activation import ELU, LeakyReLU, ReLU, Softmax
from glassnet.layers.attention import AdditiveAttention, Attention, MultiHeadAttention
from glassnet.layers.base import Layer
from glassnet.layers.conv import Conv1D, Conv2D, Conv2DTranspose
from glassnet.layers.core import (Activation, Dense, Dropout, Flatten, Identity, Input,
                                  InputLayer, Masking, Rescaling, Reshape)
from glassnet.layers.embedding import Embedding
from glassnet.layers.recurrent import GRU, LSTM, SimpleRNN
from glassnet.layers.merge import (Add, Average, Concatenate, Maximum, Minimum, Multiply,
                                   Subtract, add, average, concatenate, maximum, minimum,
                                   multiply, subtract)
from glassnet.layers.normalization import BatchNormalization, LayerNormalization
from glassnet.layers.pooling import (AveragePooling1D, AveragePooling2D,
                                     GlobalAveragePooling1D, GlobalAveragePooling2D,
                                     GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPooling1D,
                                     MaxPooling2D)
from glassnet.layers.regularization import ActivityRegularization, GaussianNoise
from glassnet.layers.reshaping import Cropping2D, RepeatVector, UpSampling2D, ZeroPadding2D
from glassnet.layers.text import TextVectorization
from glassnet.layers.wrappers import Bidirectional, TimeDistributed

_LAYERS = (InputLayer, Dense, Activation, Dropout, Flatten, Reshape, Rescaling, Identity,
           Softmax, ReLU, LeakyReLU, ELU, Add, Subtract, Multiply, Average, Maximum, Minimum,
           Concatenate, Conv2D, Conv1D, MaxPooling2D, AveragePooling2D, MaxPooling1D,
           AveragePooling1D, GlobalAveragePooling2D, GlobalMaxPooling2D,
           GlobalAveragePooling1D, GlobalMaxPooling1D, ZeroPadding2D, UpSampling2D,
           BatchNormalization, LayerNormalization, Embedding, Masking, SimpleRNN, LSTM, GRU,
           Bidirectional, TimeDistributed, TextVectorization, Conv2DTranspose, Cropping2D,
           RepeatVector, GaussianNoise, ActivityRegularization, MultiHeadAttention,
           Attention, AdditiveAttention)

# Keras's other names for the same layers
MaxPool2D, AvgPool2D, MaxPool1D, AvgPool1D = (MaxPooling2D, AveragePooling2D, MaxPooling1D,
                                              AveragePooling1D)
GlobalAvgPool2D, GlobalMaxPool2D = GlobalAveragePooling2D, GlobalMaxPooling2D
GlobalAvgPool1D, GlobalMaxPool1D = GlobalAveragePooling1D, GlobalMaxPooling1D
Convolution2D, Convolution1D = Conv2D, Conv1D
Convolution2DTranspose = Conv2DTranspose
_ALIASES = {"MaxPool2D": MaxPool2D, "AvgPool2D": AvgPool2D, "MaxPool1D": MaxPool1D,
            "AvgPool1D": AvgPool1D, "GlobalAvgPool2D": GlobalAvgPool2D,
            "GlobalMaxPool2D": GlobalMaxPool2D, "GlobalAvgPool1D": GlobalAvgPool1D,
            "GlobalMaxPool1D": GlobalMaxPool1D, "Convolution2D": Convolution2D,
            "Convolution1D": Convolution1D, "Convolution2DTranspose": Convolution2DTranspose}

__all__ = (["Layer", "Input", "serialize", "deserialize", "register"]
           + [cls.__name__ for cls in _LAYERS] + sorted(_ALIASES)
           + ["add", "subtract", "multiply", "average", "maximum", "minimum", "concatenate"])

_CLASSES = {cls.__name__: cls for cls in _LAYERS}
_CLASSES.update(_ALIASES)


def register(cls):
    """Make a Layer subclass known to ``deserialize`` (and so to load_model: a
    file may name the classes Keras has and those your code registered)."""
    _CLASSES[cls.__name__] = cls
    return cls


def serialize(layer):
    out = {"class_name": type(layer).__name__, "config": layer.get_config()}
    if type(layer) not in _LAYERS:  # your own class: where it lives, as Keras writes it
        from glassnet.saving.custom import get_registered_name
        out["module"] = type(layer).__module__
        out["registered_name"] = get_registered_name(type(layer))
    return out


def deserialize(config, **overrides):
    """The layer a ``{"class_name": ..., "config": {...}}`` dict describes.
    Only known classes are built: nothing from a file can run code."""
    from glassnet import models  # a model is a layer too (models imports this package)

    name = config.get("class_name")
    classes = {**_CLASSES, "Sequential": models.Sequential, "Functional": models.Model,
               "Model": models.Model}
    if name not in classes:
        raise ValueError(f"Unknown layer class {name!r}; known: {', '.join(sorted(classes))}")
    return classes[name].from_config({**config.get("config", {}), **overrides})
