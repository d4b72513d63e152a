"""Convolution: Conv2D and Conv1D, by im2col and one matrix product;
Conv2DTranspose, the same two steps the other way round.

A 3x3 convolution slides a 3x3xC window over the image; at each position the
output is the dot product of the window with each filter. im2col ("image to
columns") copies every window into one row of a matrix, so that all those dot
products become a single matrix product:

    input 4x4, kernel 3x3, 1 channel, stride 1, "valid":  2x2 = 4 windows
    cols (4 windows x 9 values) @ kernel (9 values x F filters) = out (4 x F)

    x = [[ 1  2  3  4]       window at (0, 0): 1 2 3 5 6 7 9 10 11
         [ 5  6  7  8]       window at (0, 1): 2 3 4 6 7 8 10 11 12
         [ 9 10 11 12]       window at (1, 0): 5 6 7 9 10 11 13 14 15
         [13 14 15 16]]      window at (1, 1): 6 7 8 10 11 12 14 15 16

Backward is the same picture in reverse: grad_kernel = colsᵀ @ ∂L/∂out, and
∂L/∂cols = ∂L/∂out @ kernelᵀ, whose rows are added back onto the windows they
came from ("col2im": a loop over the kh·kw kernel offsets, never over pixels).

``cols`` is built in the kernel's own order (kh, kw, channels) by one copy
of a strided view (each kernel row of a window is kw·C consecutive numbers of
the image), so the kernel reshapes to the (kh·kw·C, F) matrix with no
transpose; training keeps ``cols`` for backward instead of building it twice.
Followed by max pooling, the bias and relu are applied after the pooling, on
4x fewer numbers (``glassnet.layers.fused``). A large batch is processed in chunks so that
``cols`` never exceeds ``IM2COL_BUDGET_BYTES`` (64 MiB).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from glassnet import threads
from glassnet.layers.base import ActivatedLayer, not_implemented

__all__ = ["Conv2D", "Conv1D", "Conv2DTranspose", "conv_output_length",
           "conv_transpose_output_length", "padding_amounts", "im2col", "col2im",
           "window_slices", "IM2COL_BUDGET_BYTES"]

IM2COL_BUDGET_BYTES = 64 * 2**20
FEW_FILTERS = 2  # up to this many filters a Conv2D goes by kernel offsets, not by im2col
CACHE_CHUNK_BYTES = 4 * 2**20  # pieces of a batch that stay in the CPU's cache (col2im, fused)
PADDINGS = ("valid", "same")



def _pair(value, name, owner):
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (int(value), int(value))
    try:
        pair = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        pair = ()
    if len(pair) != 2 or min(pair) < 1:
        raise ValueError(f"{owner} {name} must be a positive integer or a pair of them; "
                         f"received {value!r}")
    return pair


def _padding(value, owner, valid=PADDINGS):
    if not isinstance(value, str) or value.lower() not in valid:
        raise ValueError(f"{owner} padding must be one of {valid}; received {value!r}")
    return value.lower()


def _check_keras_arguments(owner, data_format, dilation_rate, groups):
    not_implemented(owner, "data_format", data_format, "channels_last")
    not_implemented(owner, "dilation_rate", dilation_rate, 1)
    not_implemented(owner, "groups", groups, 1)


def conv_output_length(length, window, stride, padding):
    """Keras's output size: valid ⌊(n - k) / s⌋ + 1, same ⌈n / s⌉ (None
    where the input's size is unknown)."""
    if length is None:
        return None
    if padding == "same":
        return math.ceil(length / stride)
    return (length - window) // stride + 1


def conv_transpose_output_length(length, window, stride, padding, output_padding=None):
    """Keras 3's output size of a transposed convolution (TensorFlow's):
    valid (n - 1)·s + max(k, s), same n·s; with an ``output_padding`` p,
    valid (n - 1)·s + k + p, same (n - 1)·s + (k mod 2) + p."""
    if padding == "valid":
        extra = max(window, stride) - window if output_padding is None else output_padding
        return (length - 1) * stride + window + extra
    if output_padding is None:
        return length * stride
    return (length - 1) * stride + window % 2 + output_padding


def padding_amounts(length, window, stride, padding):
    """(before, after) zeros for "same" (TensorFlow's rule: the extra one
    goes after), (0, 0) for "valid"."""
    if padding == "valid" or length is None:  # unknown size: known at the call
        return 0, 0
    out = math.ceil(length / stride)
    total = max((out - 1) * stride + window - length, 0)
    return total // 2, total - total // 2


def window_slices(kernel_size, steps, count, corner=(0, 0)):
    """For each kernel offset (a, b): the slices of a padded (n, H, W, C)
    image that offset multiplies, for count[0] x count[1] windows whose
    top-left corners are ``corner`` + (i·steps[0], j·steps[1])."""
    (kh, kw), (top, left) = kernel_size, corner
    for a in range(kh):
        for b in range(kw):
            yield a, b, (slice(None),
                         slice(top + a, top + a + (count[0] - 1) * steps[0] + 1, steps[0]),
                         slice(left + b, left + b + (count[1] - 1) * steps[1] + 1, steps[1]))


def im2col(xp, kernel_size, steps, count, corner=(0, 0), out=None):
    """The windows of :func:`window_slices` copied out of xp, as an
    (n, count[0], count[1], kh, kw, C) array: one row of kh·kw·C numbers per
    window, in the kernel's order.

    In a contiguous image one kernel row of a window, its kw pixels of C
    channels, is kw·C consecutive numbers; so a strided view of shape
    (n, out_h, out_w, kh, kw·C) reads every window without a copy, and one
    copy of it is the result. With few channels (the first layer's one) those
    runs are short and copying is faster the other way round: one copy per
    kernel offset (a, b), each along whole image rows.
    """
    (kh, kw), (out_h, out_w), (top, left) = kernel_size, count, corner
    n, c = xp.shape[0], xp.shape[3]
    if out is None:
        out = np.empty((n, out_h, out_w, kh, kw, c), dtype=xp.dtype)
    if kw * c < out_w:
        for a, b, window in window_slices(kernel_size, steps, count, corner):
            out[:, :, :, a, b, :] = xp[window]
        return out
    xp = np.ascontiguousarray(xp)
    step_n, step_h, step_w, step_c = xp.strides
    windows = as_strided(xp[:, top:, left:], shape=(n, out_h, out_w, kh, kw * c),
                         strides=(step_n, step_h * steps[0], step_w * steps[1], step_h, step_c),
                         writeable=False)
    out.reshape(windows.shape)[...] = windows
    return out


def col2im(grad_cols, target, kernel_size, steps, corner=(0, 0)):
    """The reverse of :func:`im2col`: add each window's row of grad_cols
    (n, out_h, out_w, kh, kw, C) back onto the pixels of target it came from,
    one add per kernel offset (a, b), never a loop over pixels."""
    for a, b, window in window_slices(kernel_size, steps, grad_cols.shape[1:3], corner):
        target[window] += grad_cols[:, :, :, a, b, :]


class Conv2D(ActivatedLayer):
    """2-D convolution over (batch, height, width, channels) inputs.

        out[n, i, j, f] = Σ_{a, b, c} x[n, i·sh + a, j·sw + b, c] · kernel[a, b, c, f] + bias[f]

    kernel: (kh, kw, in_channels, filters), bias: (filters,), as in Keras.
    Backward (g = ∂L/∂z as rows, one per window):
        grad_kernel = colsᵀ @ g,   grad_bias = Σ g,   ∂L/∂x = col2im(g @ kernelᵀ)
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), groups=1, activation=None, **kwargs):
        # use_bias, the initializers and regularizers: ActivatedLayer's, Keras's defaults
        super().__init__(activation=activation, **kwargs)
        owner = f"{type(self).__name__} {self.name!r}"
        _check_keras_arguments(owner, data_format, dilation_rate, groups)
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or filters < 1:
            raise ValueError(f"{owner}: filters must be a positive integer; received "
                             f"{filters!r}")
        self.filters = int(filters)
        self._set_geometry(kernel_size, strides, padding, owner)

    def _set_geometry(self, kernel_size, strides, padding, owner):
        self.kernel_size = _pair(kernel_size, "kernel_size", owner)
        self.strides = _pair(strides, "strides", owner)
        self.padding = _padding(padding, owner)

    # the 2-D geometry the im2col code works in (Conv1D: an image of height 1)
    def _image_shape(self, input_shape):
        return tuple(input_shape[1:])

    def _out_hw(self):
        """The output's (height, width) in the last forward (for an axis of
        unknown size, e.g. ``Input((None, None, 3))``, its size in that call)."""
        return self.__dict__.get("_hw") or tuple(self.output_shape[1:3])

    def _output_hw(self, height, width):
        """(out_h, out_w) for an image of (height, width): ⌊(n + pads - k) / s⌋ + 1."""
        return tuple((n + before + after - k) // s + 1 for n, k, s, (before, after) in zip(
            (height, width), self.kernel_size, self.strides, self._pads(height, width)))

    def _pads(self, height, width):
        return [padding_amounts(height, self.kernel_size[0], self.strides[0], self.padding),
                padding_amounts(width, self.kernel_size[1], self.strides[1], self.padding)]

    def _check_shape(self, input_shape):
        if self.built:
            return super()._check_shape(input_shape)
        owner = f"{type(self).__name__} {self.name!r}"
        axes = self._expected_axes()
        if len(input_shape) != len(axes):
            raise ValueError(f"{owner} expects inputs of shape ({', '.join(axes)}); received "
                             f"shape {tuple(input_shape)}{self._rank_hint(input_shape)}")
        image = self._image_shape(input_shape)
        height, width, _ = image
        for size, window, stride, axis, (before, after) in zip(
                (height, width), self.kernel_size, self.strides, ("height", "width"),
                self._pads(height, width)):
            if size is not None and window > size + before + after:
                raise ValueError(f"{owner}: kernel {axis} {window} is larger than the padded "
                                 f"input {axis} {size + before + after} (input shape "
                                 f"{tuple(input_shape)}, padding {self.padding!r})")

    def _expected_axes(self):
        return ("batch", "height", "width", "channels")

    def _rank_hint(self, input_shape):
        return " (add a channel axis, e.g. Reshape((28, 28, 1)))" if len(input_shape) == 3 else ""

    def build(self, input_shape):
        self._check_shape(input_shape)
        kh, kw = self.kernel_size
        self.add_kernel_and_bias((kh, kw, input_shape[-1], self.filters), self.filters)

    def compute_output_shape(self, input_shape):
        height, width, _ = self._image_shape(input_shape)
        return (input_shape[0],
                conv_output_length(height, self.kernel_size[0], self.strides[0], self.padding),
                conv_output_length(width, self.kernel_size[1], self.strides[1], self.padding),
                self.filters)

    # -------------------------------------------------------------- im2col
    def _pad(self, x):
        pads = self._pads(*x.shape[1:3])
        if pads == [(0, 0), (0, 0)]:
            return x
        return np.pad(x, [(0, 0), pads[0], pads[1], (0, 0)])

    def _window_shape(self):
        """(kh, kw, C): one window's shape."""
        return self.kernel_size + (self.input_shape[-1],)

    def _im2col(self, xp, keep=True):
        """(n·out_h·out_w, kh·kw·C) rows, one per window (see :func:`im2col`);
        in the thread's scratch memory unless kept."""
        shape = (len(xp),) + self._out_hw() + self._window_shape()[:2] + (xp.shape[3],)
        cols = im2col(xp, self.kernel_size, self.strides, self._out_hw(),
                      out=None if keep else threads.scratch("cols", shape, xp.dtype))
        return cols.reshape(-1, cols[0, 0, 0].size)

    def _kernel_matrix(self):
        """kernel (kh, kw, C, F) as the (kh·kw·C, F) matrix: a reshape, no copy."""
        return self.kernel.reshape(-1, self.filters)

    def forward(self, x, training=False):
        return self.activate(self._convolve(x, training))

    def _convolve(self, x, training):
        """z = the convolution plus the bias, for (n, h, w, c) images."""
        self._hw = self._output_hw(*x.shape[1:3])
        xp = self._pad(x)
        kernel = self._kernel_matrix()
        out = np.empty((len(x),) + self._out_hw() + (self.filters,), dtype=self.dtype)
        self.cols = None
        if self.filters <= FEW_FILTERS:  # by kernel offsets: no im2col kh·kw times x's size
            out[...] = 0
            kernels = self._kernels_by_offset()
            for a, b, window in window_slices(self.kernel_size, self.strides, self._out_hw()):
                out += np.einsum("nijc,cf->nijf", xp[window], kernels[a, b], optimize=False)
            self.x_shape, self.xp = x.shape, xp
            if self.use_bias:
                out += self.bias
            return out
        # the batch in cache-sized pieces, side by side on glassnet's threads;
        # backward needs each piece's cols again: kept if they fit the budget
        self.parts = parts = self.cache_chunks(len(x))
        keep = training and len(x) * self._cols_bytes() <= IM2COL_BUDGET_BYTES
        bias = self.bias.value if self.use_bias else None

        def piece(part):
            cols = self._im2col(xp[part], keep)
            z = out[part].reshape(-1, self.filters)
            np.matmul(cols, kernel, out=z)
            if bias is not None:
                z += bias
            return cols if keep else None

        kept = threads.run(piece, parts)
        self.cols = kept if keep else None
        self.x_shape, self.xp = x.shape, xp
        return out

    def _cols_bytes(self):
        """One sample's im2col rows, in bytes."""
        out_h, out_w = self._out_hw()
        return out_h * out_w * math.prod(self._window_shape()) * self.dtype.itemsize

    def backward_from_z(self, grad_z, input_grad=True):
        f = self.filters
        if self.use_bias:
            np.sum(grad_z.reshape(-1, f), axis=0, out=self.grad_bias)
        grad_kernel = self.grad_kernel.reshape(-1, f)
        grad_kernel[...] = 0
        if f <= FEW_FILTERS:  # grad_kernel[a, b] = x's window (a, b)ᵀ · ∂L/∂z, per offset
            grads = grad_kernel.reshape(self.kernel_size + (-1, f))
            for a, b, window in window_slices(self.kernel_size, self.strides, grad_z.shape[1:3]):
                grads[a, b] = np.einsum("nijc,nijf->cf", self.xp[window], grad_z, optimize=False)
            self.add_regularization_gradients()
            if not input_grad:
                return None
            grad_xp = np.zeros_like(self.xp)  # ∂L/∂cols would be kh·kw·C / f times ∂L/∂z
            self._input_grad_by_offsets(grad_z, grad_xp)
            return self._unpad(grad_xp)
        grad_xp = np.zeros_like(self.xp) if input_grad else None
        parts = self.parts  # forward's pieces: self.cols[k] belongs to parts[k]

        def piece(k):
            part = parts[k]
            cols = self.cols[k] if self.cols is not None else self._im2col(self.xp[part],
                                                                            keep=False)
            g = grad_z[part].reshape(-1, f)
            # = colsᵀ @ ∂L/∂z, computed as (∂L/∂zᵀ @ cols)ᵀ: the same numbers, but a
            # product OpenBLAS splits well (with 9 rows it can stall for 100x longer)
            partial = (g.T @ cols).T
            if grad_xp is not None:  # ∂L/∂cols = ∂L/∂z @ kernelᵀ, added back while in cache
                self._col2im(g, grad_xp[part])
            return partial

        for partial in threads.run(piece, range(len(parts))):  # in order: the same sums
            grad_kernel += partial
        self.cols = None
        self.add_regularization_gradients()
        return None if grad_xp is None else self._unpad(grad_xp)

    def _input_grad_by_offsets(self, grad_z, grad_xp):
        """∂L/∂x for a layer of few filters (a generator's last Conv2D(1, 5)),
        without ∂L/∂cols: for each kernel offset (a, b), the pixels that offset
        read get ∂L/∂z @ kernel[a, b]ᵀ, one (n, out_h, out_w, C) product added
        in place, so nothing kh·kw times the image's size is ever made."""
        kernels = self._kernels_by_offset()
        part = np.empty(grad_z.shape[:3] + (kernels.shape[2],), dtype=grad_xp.dtype)
        for a, b, window in window_slices(self.kernel_size, self.strides, grad_z.shape[1:3]):
            if self.filters == 1:
                np.multiply(grad_z, kernels[a, b, :, 0], out=part)  # an outer product
            else:
                np.matmul(grad_z, kernels[a, b].T, out=part)
            grad_xp[window] += part

    def _kernels_by_offset(self):
        """The kernel as (kh, kw, C, F), Conv1D's too (its kh is 1): a view."""
        return self._kernel_matrix().reshape(self.kernel_size + (-1, self.filters))

    def cache_chunks(self, n):
        """Slices of the batch whose cols (or conv output) fit CACHE_CHUNK_BYTES,
        as many as a multiple of glassnet's threads (each takes as many)."""
        out_h, out_w = self._out_hw()
        per_sample = out_h * out_w * max(math.prod(self._window_shape()), self.filters) * \
            self.dtype.itemsize
        return threads.split(n, -(-n * per_sample // CACHE_CHUNK_BYTES))

    def _col2im(self, grad_z2, target):
        """∂L/∂cols = ∂L/∂z @ kernelᵀ, each window's row of it added back onto
        the pixels it came from: one add per kernel offset (a, b), never a loop
        over pixels. grad_z2: (samples·out_h·out_w, F); target: their padded
        input gradient."""
        kernel = self._kernel_matrix()
        grad_cols = threads.scratch("grad_cols", (len(grad_z2), kernel.shape[0]), grad_z2.dtype)
        np.matmul(grad_z2, kernel.T, out=grad_cols)
        grad_cols = grad_cols.reshape((-1,) + self._out_hw() + self._window_shape())
        col2im(grad_cols, target, self.kernel_size, self.strides)

    def _unpad(self, grad_xp):
        """∂L/∂x from the padded input's gradient: "same" padding cut off."""
        height, width = self.x_shape[1:3]
        (top, _), (left, _) = self._pads(height, width)
        return grad_xp[:, top: top + height, left: left + width, :]

    def last_output(self):
        """The output of the last forward pass; recomputed from its input when
        a fused Conv2D + MaxPooling2D step (layers/fused.py) skipped it."""
        if getattr(self, "a", None) is None and getattr(self, "xp", None) is not None:
            z = (self._im2col(self.xp) @ self._kernel_matrix()).reshape(
                (len(self.xp),) + self._out_hw() + (self.filters,))
            return self.activation(z + self.bias if self.use_bias else z)
        return getattr(self, "a", None)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": list(self.kernel_size), "strides": list(self.strides),
                "padding": self.padding}


class Conv1D(Conv2D):
    """1-D convolution over (batch, steps, channels) inputs (sequences, signals):

        out[n, i, f] = Σ_{a, c} x[n, i·s + a, c] · kernel[a, c, f] + bias[f]

    kernel: (k, in_channels, filters), as in Keras. It is Conv2D on an image
    of height 1 (the same im2col and products); ``padding="causal"`` pads
    k - 1 zeros before the sequence, so out[i] sees only x[..i].
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate, groups=groups,
                         activation=activation, **kwargs)

    def _set_geometry(self, kernel_size, strides, padding, owner):
        (k,), (s,) = _single(kernel_size, "kernel_size", owner), _single(strides, "strides",
                                                                         owner)
        self.kernel_size, self.strides = (1, k), (1, s)
        self.padding = _padding(padding, owner, PADDINGS + ("causal",))

    def _image_shape(self, input_shape):
        return (1,) + tuple(input_shape[1:])

    def _pads(self, height, width):
        if self.padding == "causal":
            return [(0, 0), (self.kernel_size[1] - 1, 0)]
        return super()._pads(height, width)

    def _expected_axes(self):
        return ("batch", "steps", "channels")

    def _rank_hint(self, input_shape):
        return " (add a channel axis, e.g. Reshape((100, 1)))" if len(input_shape) == 2 else ""

    def build(self, input_shape):
        self._check_shape(input_shape)
        self.add_kernel_and_bias((self.kernel_size[1], input_shape[-1], self.filters),
                                 self.filters)

    def compute_output_shape(self, input_shape):
        steps = input_shape[1]
        padding = "valid" if self.padding == "causal" else self.padding
        if self.padding == "causal" and steps is not None:
            steps += self.kernel_size[1] - 1
        return (input_shape[0],
                conv_output_length(steps, self.kernel_size[1], self.strides[1], padding),
                self.filters)

    def forward(self, x, training=False):
        return self.activate(self._convolve(x[:, np.newaxis], training)[:, 0])

    def backward_from_z(self, grad_z, input_grad=True):
        grad_x = super().backward_from_z(grad_z[:, np.newaxis], input_grad)
        return None if grad_x is None else grad_x[:, 0]

    def last_output(self):
        return getattr(self, "a", None)

    def get_config(self):
        config = super().get_config()
        config["kernel_size"], config["strides"] = [self.kernel_size[1]], [self.strides[1]]
        return config


class Conv2DTranspose(ActivatedLayer):
    """Transposed 2-D convolution ("deconvolution") over (batch, height,
    width, channels) inputs: the layer that up-samples images in decoders and
    GAN generators. It is the gradient of a Conv2D with respect to its input:
    each input pixel scatters a kh×kw patch, weighted by the kernel, onto
    the output, where the patches of neighbouring pixels overlap and add up.

        out[n, i·sh + a - top, j·sw + b - left, f] += Σ_c x[n, i, j, c] · kernel[a, b, f, c]
        out[n, ·, ·, f] += bias[f]

    kernel: (kh, kw, filters, in_channels), as in Keras: the last two axes
    the other way round from Conv2D's, for it is the transpose of a Conv2D
    from ``filters`` channels to ``in_channels``. The output size (Keras 3's,
    TensorFlow's):

        valid:  (n - 1)·s + max(k, s)        or (n - 1)·s + k + p
        same:   n·s                          or (n - 1)·s + (k mod 2) + p

    with an ``output_padding`` p (< s); (top, left) is the padding a Conv2D
    would add to an image of the output's size (:func:`padding_amounts`), so
    that this layer is exactly that Conv2D's transpose.

    Forward is Conv2D's backward for ∂L/∂x (a product, then col2im);
    backward is Conv2D's forward (im2col, then products). K is the kernel
    as a (kh·kw·F, C) matrix, each row of ``patches`` and of g one input
    pixel's kh×kw×F patch:

        patches = x (n·h·w, C) @ Kᵀ         out = col2im(patches) + bias
        g = im2col(∂L/∂out)  (n·h·w, kh·kw·F)
        ∂L/∂x = g @ K,   grad_kernel = gᵀ @ x,   grad_bias = Σ ∂L/∂out
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 output_padding=None, data_format=None, dilation_rate=(1, 1), activation=None,
                 **kwargs):
        # use_bias, the initializers and regularizers: ActivatedLayer's, Keras's defaults
        super().__init__(activation=activation, **kwargs)
        owner = f"Conv2DTranspose {self.name!r}"
        not_implemented(owner, "data_format", data_format, "channels_last")
        not_implemented(owner, "dilation_rate", dilation_rate, 1)
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or filters < 1:
            raise ValueError(f"{owner}: filters must be a positive integer; received "
                             f"{filters!r}")
        self.filters = int(filters)
        self.kernel_size = _pair(kernel_size, "kernel_size", owner)
        self.strides = _pair(strides, "strides", owner)
        self.padding = _padding(padding, owner)
        self.output_padding = None
        if output_padding is not None:
            if isinstance(output_padding, (int, np.integer)) and \
                    not isinstance(output_padding, bool):
                output_padding = (output_padding, output_padding)
            try:
                pair = tuple(int(v) for v in output_padding)
            except (TypeError, ValueError):
                pair = ()
            if len(pair) != 2 or min(pair) < 0 or any(
                    p >= s for p, s in zip(pair, self.strides)):
                raise ValueError(f"{owner}: output_padding must be None, or a non-negative "
                                 f"integer or pair strictly less than strides "
                                 f"{self.strides}; received {output_padding!r}")
            self.output_padding = pair

    def _output_size(self, height, width):
        """The output's (height, width) for an input's, None where unknown."""
        padding = self.output_padding or (None, None)
        return tuple(None if n is None else conv_transpose_output_length(
            n, k, s, self.padding, p) for n, k, s, p in zip(
                (height, width), self.kernel_size, self.strides, padding))

    def _pads(self, out_h, out_w):
        """((top, bottom), (left, right)): the Conv2D's padding of the output."""
        return [padding_amounts(out_h, self.kernel_size[0], self.strides[0], self.padding),
                padding_amounts(out_w, self.kernel_size[1], self.strides[1], self.padding)]

    def build(self, input_shape):
        owner = f"Conv2DTranspose {self.name!r}"
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise ValueError(f"{owner} expects inputs of shape (batch, height, width, "
                             f"channels) with a known number of channels; received shape "
                             f"{tuple(input_shape)}")
        self._check_sizes(input_shape[1:3])
        kh, kw = self.kernel_size
        self.add_kernel_and_bias((kh, kw, self.filters, input_shape[-1]), self.filters)

    def _check_sizes(self, sizes):
        """The output must be an image that the Conv2D maps back to the input's
        size; padding="same" with an output_padding may not give one (an even
        kernel): TensorFlow refuses those too."""
        for n, out, k, s, axis in zip(sizes, self._output_size(*sizes), self.kernel_size,
                                      self.strides, ("height", "width")):
            if n is not None and conv_output_length(out, k, s, self.padding) != n:
                raise ValueError(
                    f"Conv2DTranspose {self.name!r}: an input {axis} of {n} gives an output "
                    f"{axis} of {out} (kernel {k}, stride {s}, padding {self.padding!r}, "
                    f"output_padding {self.output_padding}), which a convolution does not "
                    f"map back to {n}; TensorFlow refuses it too: choose another "
                    f"output_padding")

    def _check_shape(self, input_shape):
        super()._check_shape(input_shape)
        self._check_sizes(tuple(input_shape[1:3]))

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._output_size(*input_shape[1:3]) + (self.filters,)

    def _kernel_matrix(self):
        """kernel (kh, kw, F, C) as the (kh·kw·F, C) matrix: a reshape, no copy."""
        return self.kernel.reshape(-1, self.kernel.shape[-1])

    def forward(self, x, training=False):
        n, height, width, channels = x.shape
        (out_h, out_w), f = self._output_size(height, width), self.filters
        (top, bottom), (left, right) = self._pads(out_h, out_w)
        padded = np.zeros((n, top + out_h + bottom, left + out_w + right, f), dtype=self.dtype)
        kernel_t = self._kernel_matrix().T

        def piece(part):  # a piece of the batch: its patches, added onto its own images
            patches = (x[part].reshape(-1, channels) @ kernel_t).reshape(
                (-1, height, width) + self.kernel_size + (f,))
            col2im(patches, padded[part], self.kernel_size, self.strides)

        threads.run(piece, self._pieces(n, height * width * math.prod(self.kernel_size) * f *
                                        self.dtype.itemsize))
        z = np.ascontiguousarray(padded[:, top: top + out_h, left: left + out_w])
        if self.use_bias:
            z += self.bias.value
        self.x = x
        return self.activate(z)

    def _pieces(self, n, per_sample):
        """The batch in pieces of about CACHE_CHUNK_BYTES (per_sample: one
        sample's bytes of the largest array made), a multiple of the threads."""
        return threads.split(n, -(-n * per_sample // CACHE_CHUNK_BYTES))

    def backward_from_z(self, grad_z, input_grad=True):
        x = self.x
        n, height, width, channels = x.shape
        (top, bottom), (left, right) = self._pads(*grad_z.shape[1:3])
        padded = np.pad(grad_z, [(0, 0), (top, bottom), (left, right), (0, 0)])
        grad_x = np.empty_like(x) if input_grad else None
        kernel = self._kernel_matrix()

        def piece(part):  # a piece of the batch: its part of grad_kernel, its own ∂L/∂x
            g = im2col(padded[part], self.kernel_size, self.strides, (height, width)).reshape(
                -1, kernel.shape[0])
            if grad_x is not None:
                np.matmul(g, kernel, out=grad_x[part].reshape(-1, channels))
            return g.T @ x[part].reshape(-1, channels)

        grad_kernel = self.grad_kernel.reshape(-1, channels)
        grad_kernel[...] = 0
        pieces = self._pieces(n, height * width * kernel.shape[0] * self.dtype.itemsize)
        for partial in threads.run(piece, pieces):
            grad_kernel += partial
        if self.use_bias:
            np.sum(grad_z.reshape(-1, self.filters), axis=0, out=self.grad_bias)
        self.add_regularization_gradients()
        return grad_x

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": list(self.kernel_size), "strides": list(self.strides),
                "padding": self.padding,
                "output_padding": None if self.output_padding is None else
                list(self.output_padding),
                "data_format": "channels_last", "dilation_rate": [1, 1]}


def _single(value, name, owner):
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (int(value),)
    try:
        single = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        single = ()
    if len(single) != 1 or single[0] < 1:
        raise ValueError(f"{owner} {name} must be a positive integer; received {value!r}")
    return single
