"""Reshaping: ZeroPadding2D, Cropping2D and UpSampling2D for images
(channels_last), RepeatVector for vectors.

ZeroPadding2D adds rows and columns of zeros around each image; its backward
cuts them off the gradient. Cropping2D is the other way round: it cuts rows
and columns off, and its backward pads the gradient with zeros there.
UpSampling2D (nearest) repeats every pixel ``size`` times along each axis;
its backward adds up the gradient of each block of copies:

    out[n, i, j, c] = x[n, ⌊i / sh⌋, ⌊j / sw⌋, c]
    ∂L/∂x[n, a, b, c] = Σ over the sh×sw block of ∂L/∂out

RepeatVector repeats a vector n times, (batch, features) → (batch, n,
features); its backward adds up the n copies' gradients.
"""

from __future__ import annotations

import numpy as np

from glassnet.layers.base import Layer, not_implemented
from glassnet.layers.conv import _pair

__all__ = ["ZeroPadding2D", "Cropping2D", "UpSampling2D", "RepeatVector"]


def _image_rank(layer, input_shape):
    if len(input_shape) != 4:
        raise ValueError(f"{type(layer).__name__} {layer.name!r} expects inputs of shape "
                         f"(batch, height, width, channels); received shape "
                         f"{tuple(input_shape)}")


def _add(size, extra):
    return None if size is None else size + extra


class ZeroPadding2D(Layer):
    """``padding``: an int (all sides), a pair (rows, columns: each on both
    sides) or ((top, bottom), (left, right))."""

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        owner = f"ZeroPadding2D {self.name!r}"
        not_implemented(owner, "data_format", data_format, "channels_last")
        self.padding = _padding_pairs(padding, owner)

    def build(self, input_shape):
        _image_rank(self, input_shape)

    def compute_output_shape(self, input_shape):
        (top, bottom), (left, right) = self.padding
        return (input_shape[0], _add(input_shape[1], top + bottom),
                _add(input_shape[2], left + right), input_shape[3])

    def forward(self, x, training=False):
        return np.pad(x, [(0, 0), self.padding[0], self.padding[1], (0, 0)])

    def backward(self, grad):
        (top, bottom), (left, right) = self.padding
        return grad[:, top: grad.shape[1] - bottom, left: grad.shape[2] - right]

    def get_config(self):
        return {**super().get_config(), "padding": [list(p) for p in self.padding]}


class Cropping2D(Layer):
    """Cut rows and columns off the edges of each image:

        out = x[:, top: height - bottom, left: width - right, :]
        ∂L/∂x = ∂L/∂out with zeros where the cut-off rows and columns were

    ``cropping``: an int (all sides), a pair (rows, columns: each on both
    sides) or ((top, bottom), (left, right)), as Keras."""

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        owner = f"Cropping2D {self.name!r}"
        not_implemented(owner, "data_format", data_format, "channels_last")
        self.cropping = _padding_pairs(cropping, owner, "cropping")

    def build(self, input_shape):
        _image_rank(self, input_shape)
        for size, (before, after), axis in zip(input_shape[1:3], self.cropping,
                                                ("height", "width")):
            if size is not None and before + after >= size:
                raise ValueError(f"Cropping2D {self.name!r}: cropping {before} + {after} "
                                 f"leaves nothing of the input {axis} {size} (input shape "
                                 f"{tuple(input_shape)})")

    def compute_output_shape(self, input_shape):
        (top, bottom), (left, right) = self.cropping
        return (input_shape[0], _add(input_shape[1], -top - bottom),
                _add(input_shape[2], -left - right), input_shape[3])

    def forward(self, x, training=False):
        (top, bottom), (left, right) = self.cropping
        return np.ascontiguousarray(x[:, top: x.shape[1] - bottom, left: x.shape[2] - right])

    def backward(self, grad):
        return np.pad(grad, [(0, 0), self.cropping[0], self.cropping[1], (0, 0)])

    def get_config(self):
        return {**super().get_config(), "cropping": [list(p) for p in self.cropping],
                "data_format": "channels_last"}


def _padding_pairs(padding, owner, argument="padding"):
    try:
        if isinstance(padding, (int, np.integer)):
            pairs = ((int(padding),) * 2,) * 2
        elif all(isinstance(p, (int, np.integer)) for p in padding) and len(padding) == 2:
            pairs = ((int(padding[0]),) * 2, (int(padding[1]),) * 2)
        else:
            pairs = tuple(tuple(int(v) for v in p) for p in padding)
    except TypeError:
        pairs = None
    if pairs is None or len(pairs) != 2 or any(len(p) != 2 or min(p) < 0 for p in pairs):
        raise ValueError(f"{owner} {argument} must be an int, a pair of ints or a pair of "
                         f"(before, after) pairs, all >= 0; received {padding!r}")
    return pairs


class UpSampling2D(Layer):
    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        owner = f"UpSampling2D {self.name!r}"
        not_implemented(owner, "data_format", data_format, "channels_last")
        not_implemented(owner, "interpolation", interpolation, "nearest")
        self.size = _pair(size, "size", owner)
        self.interpolation = "nearest"

    def build(self, input_shape):
        _image_rank(self, input_shape)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],
                None if input_shape[1] is None else input_shape[1] * self.size[0],
                None if input_shape[2] is None else input_shape[2] * self.size[1],
                input_shape[3])

    def forward(self, x, training=False):
        return np.repeat(np.repeat(x, self.size[0], axis=1), self.size[1], axis=2)

    def backward(self, grad):
        (sh, sw), (n, height, width, c) = self.size, grad.shape
        return grad.reshape(n, height // sh, sh, width // sw, sw, c).sum(axis=(2, 4))

    def get_config(self):
        return {**super().get_config(), "size": list(self.size),
                "interpolation": self.interpolation}


class RepeatVector(Layer):
    """Repeat each vector n times: (batch, features) → (batch, n, features).

        out[b, t, i] = x[b, i]   for t = 0 .. n - 1
        ∂L/∂x[b, i] = Σ_t ∂L/∂out[b, t, i]
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"RepeatVector {self.name!r}: n must be a positive integer; "
                             f"received {n!r}")
        self.n = int(n)

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"RepeatVector {self.name!r} expects inputs of shape (batch, "
                             f"features); received shape {tuple(input_shape)}")

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def forward(self, x, training=False):
        return np.repeat(x[:, np.newaxis, :], self.n, axis=1)

    def backward(self, grad):
        return grad.sum(axis=1)

    def get_config(self):
        return {**super().get_config(), "n": self.n}
