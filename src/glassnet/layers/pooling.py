"""Pooling: MaxPooling2D, AveragePooling2D, their 1-D forms, and the global
poolings (GlobalAveragePooling2D/1D, GlobalMaxPooling2D/1D).

Pooling shrinks an image by summarising each window (2x2 by default) with its
maximum or its mean. When the stride equals the pool size and "valid" padding
is used (the usual 2x2 case) the windows tile the image, so a reshape
(n, h/2, 2, w/2, 2, c) exposes them without any copy; otherwise
``sliding_window_view`` takes them.

Max pooling remembers where each maximum was (the first one on ties, as
PyTorch does) and sends the gradient only there; average pooling shares it
equally over the window ("same" padding: over the values inside the image,
as Keras does). The 1-D layers are the 2-D ones on an image of height 1.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from glassnet import utils
from glassnet.layers.base import Layer, not_implemented
from glassnet.layers.conv import _padding, _pair, _single, conv_output_length, padding_amounts

__all__ = ["MaxPooling2D", "AveragePooling2D", "MaxPooling1D", "AveragePooling1D",
           "GlobalAveragePooling2D", "GlobalMaxPooling2D", "GlobalAveragePooling1D",
           "GlobalMaxPooling1D"]


class _Pooling2D(Layer):
    reduce = None  # "max" or "mean"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(**kwargs)
        owner = f"{type(self).__name__} {self.name!r}"
        not_implemented(owner, "data_format", data_format, "channels_last")
        self.pool_size = _pair(pool_size, "pool_size", owner)
        self.strides = self.pool_size if strides is None else _pair(strides, "strides", owner)
        self.padding = _padding(padding, owner)

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"{type(self).__name__} {self.name!r} expects inputs of shape "
                             f"(batch, height, width, channels); received shape "
                             f"{tuple(input_shape)}")
        for size, window in zip(input_shape[1:3], self.pool_size):
            if self.padding == "valid" and size is not None and window > size:
                raise ValueError(f"{type(self).__name__} {self.name!r}: pool {self.pool_size} "
                                 f"is larger than the input {tuple(input_shape[1:3])}")

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._out_hw(input_shape[1:3]) + (input_shape[3],)

    def _out_hw(self, image_hw):
        return tuple(conv_output_length(n, k, s, self.padding) for n, k, s in
                     zip(image_hw, self.pool_size, self.strides))

    def _tiles(self):
        """True when the windows tile the input exactly (reshape fast path)."""
        return self.padding == "valid" and self.strides == self.pool_size

    def _windows(self, x, fill):
        """(n, out_h, out_w, c, ph·pw) window values."""
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        out_h, out_w = self._out_hw(x.shape[1:3])
        if self._tiles():
            n, c = x.shape[0], x.shape[3]
            tiles = x[:, : out_h * ph, : out_w * pw].reshape(n, out_h, ph, out_w, pw, c)
            return tiles.transpose(0, 1, 3, 5, 2, 4).reshape(n, out_h, out_w, c, ph * pw)
        pads = [padding_amounts(size, k, s, self.padding) for size, k, s in
                zip(x.shape[1:3], self.pool_size, self.strides)]
        xp = np.pad(x, [(0, 0), pads[0], pads[1], (0, 0)], constant_values=fill)
        windows = sliding_window_view(xp, self.pool_size, axis=(1, 2))
        windows = windows[:, : (out_h - 1) * sh + 1: sh, : (out_w - 1) * sw + 1: sw]
        return windows.reshape(windows.shape[:4] + (ph * pw,))

    def _scatter(self, per_window, x_shape):
        """Add (n, out_h, out_w, c, ph·pw) window gradients back onto the input."""
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        n, out_h, out_w, c, _ = per_window.shape
        if self._tiles():
            grad = np.zeros(x_shape, dtype=per_window.dtype)
            tiles = per_window.reshape(n, out_h, out_w, c, ph, pw).transpose(0, 1, 4, 2, 5, 3)
            grad[:, : out_h * ph, : out_w * pw] = tiles.reshape(n, out_h * ph, out_w * pw, c)
            return grad
        pads = [padding_amounts(size, k, s, self.padding) for size, k, s in
                zip(x_shape[1:3], self.pool_size, self.strides)]
        padded = (n, x_shape[1] + sum(pads[0]), x_shape[2] + sum(pads[1]), c)
        grad = np.zeros(padded, dtype=per_window.dtype)
        windows = per_window.reshape(n, out_h, out_w, c, ph, pw)
        for a in range(ph):              # one add per window offset, never per pixel
            for b in range(pw):
                grad[:, a: a + (out_h - 1) * sh + 1: sh,
                     b: b + (out_w - 1) * sw + 1: sw] += windows[..., a, b]
        return grad[:, pads[0][0]: pads[0][0] + x_shape[1], pads[1][0]: pads[1][0] + x_shape[2]]

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size),
                "strides": list(self.strides), "padding": self.padding}


def first_max(parts, out=None, index=None):
    """(the elementwise maximum of equally shaped arrays, which part holds it):
    a tournament, pairs first, so every pass runs over whole arrays; on ties
    the first part wins (as PyTorch). ``out`` and ``index`` (uint8), if given,
    receive the result."""
    if len(parts) == 1:
        if out is None:
            return parts[0], 0
        np.copyto(out, parts[0])
        index[...] = 0
        return out, index
    half = len(parts) // 2
    (low, low_index), (high, high_index) = first_max(parts[:half]), first_max(parts[half:])
    if len(parts) == 2:  # two single parts: the index is 0 or 1
        take_high = np.greater(high, low, out=None if index is None else index.view(bool))
        winner = take_high if index is None else index
    else:
        winner = np.where(high > low, np.add(high_index, half, dtype=np.uint8), low_index)
        if index is not None:
            np.copyto(index, winner)
            winner = index
    return np.maximum(low, high, out=out), winner


def _route(grad, index, targets):
    """Backward of first_max: targets[k] = grad where index == k, else 0."""
    if len(targets) == 2:  # index is 0 or 1: multiply by it and by its complement
        np.multiply(grad, index, out=targets[1])
        np.subtract(grad, targets[1], out=targets[0])
        return
    for k, target in enumerate(targets):
        np.multiply(grad, index == k, out=target)


class MaxPooling2D(_Pooling2D):
    """out = max over each window; ∂L/∂x is ∂L/∂out at the (first) maximum of
    each window, 0 elsewhere.

    When the windows tile the input (stride = pool size, "valid"), a reshape
    (n, out_h, ph, out_w, pw, c) exposes them without a copy and the maximum
    is taken in two steps, each over long contiguous runs of memory: across
    the pw columns of each window row (keeping which column won), then across
    the ph rows (keeping which row won). Ties go to the first column, then the
    first row: the first maximum in row order, as PyTorch. Backward routes
    the gradient back through the same two steps. Only the two small uint8
    winner arrays are kept between forward and backward.
    """

    def _tiled(self, x):
        """x as (n, out_h, ph, out_w, pw, c): a view, the leftover rows and
        columns of an odd size left out."""
        (ph, pw), (out_h, out_w) = self.pool_size, self._out_hw(x.shape[1:3])
        n, c = x.shape[0], x.shape[3]
        return x[:, : out_h * ph, : out_w * pw].reshape(n, out_h, ph, out_w, pw, c)

    def forward(self, x, training=False):
        self.x_shape = x.shape
        if self._tiles():
            (ph, pw), (out_h, out_w), c = self.pool_size, self._out_hw(x.shape[1:3]), x.shape[3]
            out = np.empty((len(x), out_h, out_w, c), dtype=x.dtype)
            self.column = np.empty((len(x), out_h, ph, out_w, c), dtype=np.uint8)
            self.row = np.empty(out.shape, dtype=np.uint8)

            def work(part):  # a slice of the batch, on one of utils.parallel's threads
                tiles = self._tiled(x[part])
                row_max = np.empty(self.column[part].shape, dtype=x.dtype)
                first_max([tiles[:, :, :, :, b] for b in range(pw)], row_max,
                           self.column[part])
                first_max([row_max[:, :, a] for a in range(ph)], out[part], self.row[part])

            utils.parallel(len(x), work, size=x.size)
            return out
        windows = self._windows(x, -np.inf)
        self.argmax = np.argmax(windows, axis=-1)[..., np.newaxis]
        return np.take_along_axis(windows, self.argmax, axis=-1)[..., 0]

    def backward(self, grad):
        if self._tiles():
            (ph, pw), (height, width) = self.pool_size, self.x_shape[1:3]
            grad_x = np.empty(self.x_shape, dtype=grad.dtype)
            out_h, out_w = self._out_hw((height, width))

            def work(part):
                if height % ph or width % pw:  # the rows/columns no window covers
                    grad_x[part, out_h * ph:] = 0
                    grad_x[part, :, out_w * pw:] = 0
                grad_rows = np.empty(self.column[part].shape, dtype=grad.dtype)
                _route(grad[part], self.row[part], [grad_rows[:, :, a] for a in range(ph)])
                tiles = self._tiled(grad_x[part])
                _route(grad_rows, self.column[part], [tiles[:, :, :, :, b] for b in range(pw)])

            utils.parallel(len(grad), work, size=grad_x.size)
            return grad_x
        per_window = np.zeros(grad.shape + (self.pool_size[0] * self.pool_size[1],),
                              dtype=grad.dtype)
        np.put_along_axis(per_window, self.argmax, grad[..., np.newaxis], axis=-1)
        return self._scatter(per_window, self.x_shape)


class AveragePooling2D(_Pooling2D):
    """out = mean of each window (of its values inside the image); ∂L/∂x
    shares ∂L/∂out equally over the window."""

    def forward(self, x, training=False):
        self.x_shape = x.shape
        if self.padding == "valid":
            return self._windows(x, 0).mean(axis=-1)
        windows = self._windows(x, np.nan)
        self.counts = np.sum(~np.isnan(windows[:1, ..., :1, :]), axis=-1).astype(
            x.dtype)  # per position; in x's dtype, so float32 stays float32
        return np.nansum(windows, axis=-1) / self.counts

    def backward(self, grad):
        size = self.pool_size[0] * self.pool_size[1]
        if self.padding == "valid":
            share = grad / size
        else:
            share = grad / self.counts
        per_window = np.repeat(share[..., np.newaxis], size, axis=-1)
        return self._scatter(per_window, self.x_shape)


class _Pooling1D:
    """Mixin: the 2-D pooling on (batch, 1, steps, channels)."""

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        owner = f"{type(self).__name__}"
        (p,) = _single(pool_size, "pool_size", owner)
        (s,) = (p,) if strides is None else _single(strides, "strides", owner)
        super().__init__(pool_size=(1, p), strides=(1, s), padding=padding,
                         data_format=data_format, **kwargs)

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{type(self).__name__} {self.name!r} expects inputs of shape "
                             f"(batch, steps, channels); received shape {tuple(input_shape)}")
        # the 2-D checks, on the image of height 1 (its own build, not the wrapper that
        # would record the 2-D shape as this layer's)
        _Pooling2D.build.__wrapped__(self, (input_shape[0], 1) + tuple(input_shape[1:]))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self._out_hw((1, input_shape[1]))[1], input_shape[2])

    def forward(self, x, training=False):
        return self._forward_2d(x[:, np.newaxis], training)[:, 0]

    def backward(self, grad):
        return self._backward_2d(grad[:, np.newaxis])[:, 0]

    def get_config(self):
        config = super().get_config()
        config["pool_size"], config["strides"] = [self.pool_size[1]], [self.strides[1]]
        return config


class MaxPooling1D(_Pooling1D, MaxPooling2D):
    """out[n, i, c] = max over the window of steps i·s .. i·s + p - 1."""

    _forward_2d, _backward_2d = MaxPooling2D.forward.__wrapped__, MaxPooling2D.backward


class AveragePooling1D(_Pooling1D, AveragePooling2D):
    """out[n, i, c] = mean over the window of steps i·s .. i·s + p - 1."""

    _forward_2d, _backward_2d = AveragePooling2D.forward.__wrapped__, AveragePooling2D.backward


class _GlobalPooling(Layer):
    """Over every axis between the batch and the channels: (n, ..., c) -> (n, c)
    (``keepdims=True``: the pooled axes stay with size 1)."""

    rank = 4

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        not_implemented(f"{type(self).__name__} {self.name!r}", "data_format", data_format,
                        "channels_last")
        self.keepdims = bool(keepdims)

    def build(self, input_shape):
        if len(input_shape) != self.rank:
            what = "height, width" if self.rank == 4 else "steps"
            raise ValueError(f"{type(self).__name__} {self.name!r} expects inputs of shape "
                             f"(batch, {what}, channels); received shape {tuple(input_shape)}")

    def compute_output_shape(self, input_shape):
        if self.keepdims:
            return (input_shape[0],) + (1,) * (self.rank - 2) + (input_shape[-1],)
        return (input_shape[0], input_shape[-1])

    def _axes(self):
        return tuple(range(1, self.rank - 1))

    def _kept_shape(self, pooled):
        return (pooled.shape[0],) + (1,) * (self.rank - 2) + (pooled.shape[-1],)

    def _expand(self, grad):
        """∂L/∂out with the pooled axes back (size 1), for broadcasting."""
        return grad if self.keepdims else grad.reshape(self._kept_shape(grad))

    def get_config(self):
        return {**super().get_config(), "keepdims": self.keepdims}


class GlobalAveragePooling2D(_GlobalPooling):
    """(n, h, w, c) -> (n, c): the mean over all positions; ∂L/∂x = ∂L/∂out / (h·w)
    at every position."""

    def forward(self, x, training=False):
        self.x_shape = x.shape
        return x.mean(axis=self._axes(), keepdims=self.keepdims)

    def backward(self, grad):
        positions = int(np.prod(self.x_shape[1:-1]))
        return np.broadcast_to(self._expand(grad) / positions, self.x_shape).copy()


class GlobalMaxPooling2D(_GlobalPooling):
    """(n, h, w, c) -> (n, c): the maximum over all positions; ∂L/∂x is
    ∂L/∂out at the (first) position of the maximum, 0 elsewhere."""

    def forward(self, x, training=False):
        self.x_shape = x.shape
        flat = x.reshape(len(x), -1, x.shape[-1])
        self.argmax = np.argmax(flat, axis=1)  # the first maximum, as PyTorch
        out = np.take_along_axis(flat, self.argmax[:, np.newaxis], axis=1)[:, 0]
        return out.reshape(self._kept_shape(out)) if self.keepdims else out

    def backward(self, grad):
        grad = grad.reshape(len(grad), -1)
        flat = np.zeros((self.x_shape[0], int(np.prod(self.x_shape[1:-1])), self.x_shape[-1]),
                        dtype=grad.dtype)
        np.put_along_axis(flat, self.argmax[:, np.newaxis], grad[:, np.newaxis], axis=1)
        return flat.reshape(self.x_shape)


class GlobalAveragePooling1D(GlobalAveragePooling2D):
    """(n, steps, c) -> (n, c): the mean over the steps. With a mask (from
    ``Embedding(mask_zero=True)`` or ``Masking``), the mean over the real
    steps only, as in Keras: out = Σ_t m_t x_t / Σ_t m_t, and ∂L/∂x_t =
    m_t ∂L/∂out / Σ_t m_t. The output has no mask."""

    rank = 3
    supports_masking = True

    def forward(self, x, training=False, mask=None):
        if mask is None:
            self.weights_t = None
            return super().forward(x, training)
        mask = np.asarray(mask)
        if mask.shape != x.shape[:2]:
            raise ValueError(f"GlobalAveragePooling1D {self.name!r}: the mask must have shape "
                             f"(batch, steps) = {x.shape[:2]} to fit the input of shape "
                             f"{x.shape}; received a mask of shape {mask.shape}")
        self.x_shape = x.shape
        m = mask.astype(x.dtype)[:, :, None]
        with np.errstate(divide="ignore", invalid="ignore"):  # an all-masked row: 0/0, as Keras
            self.weights_t = m / m.sum(axis=1, keepdims=True)
        out = (x * self.weights_t).sum(axis=1, keepdims=self.keepdims)
        return out

    def backward(self, grad):
        if self.weights_t is None:
            return super().backward(grad)
        return self._expand(grad) * self.weights_t

    def compute_mask(self, inputs, mask=None):
        return None

    def _output_masked(self, masked):
        return False


class GlobalMaxPooling1D(GlobalMaxPooling2D):
    """(n, steps, c) -> (n, c): the maximum over the steps."""

    rank = 3
