"""Reshaping images: ZeroPadding2D and UpSampling2D (channels_last).

ZeroPadding2D adds rows and columns of zeros around each image; its backward
cuts them off the gradient. UpSampling2D (nearest) repeats every pixel
``size`` times along each axis; its backward adds up the gradient of each
block of copies:

    out[n, i, j, c] = x[n, ⌊i / sh⌋, ⌊j / sw⌋, c]
    ∂L/∂x[n, a, b, c] = Σ over the sh×sw block of ∂L/∂out
"""

from __future__ import annotations

import numpy as np

from glassnet.layers.base import Layer, not_implemented
from glassnet.layers.conv import _pair

__all__ = ["ZeroPadding2D", "UpSampling2D"]


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


def _padding_pairs(padding, owner):
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
        raise ValueError(f"{owner} padding must be an int, a pair of ints or a pair of "
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
