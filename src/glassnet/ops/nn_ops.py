"""Neural-network ops: ``tf.nn`` (activations, softmax, cross-entropies,
dropout, conv2d, pooling, moments). Each is its formula, its gradient written
with ops beside it."""

from __future__ import annotations

import math

import numpy as np

from glassnet.ops import array_ops, math_ops
from glassnet.ops.array_ops import ScatterAdd
from glassnet.ops.function import Op, value_of
from glassnet.ops.math_ops import _axes, _Unary
from glassnet.tensor import Tensor


class Relu(_Unary):
    """y = max(x, 0);  ∂L/∂x = gy where x > 0"""
    name, floats = "relu", False

    def compute(self, x):
        return np.maximum(x, 0)

    def backward(self, gy):
        x = self.inputs[0]
        return math_ops.where(math_ops.greater(x, 0), gy, math_ops.zeros_like(gy))


def relu(features, name=None):
    return Relu()(features)


class Softmax(Op):
    """yᵢ = e^(xᵢ - max x) / Σⱼ e^(xⱼ - max x) along axis;
    ∂L/∂x = y · (gy - Σ gy·y)"""
    name = "softmax"

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        x = np.asarray(x)
        if x.ndim == 0 or x.size == 0:
            raise ValueError(f"softmax: expects a tensor with at least one axis and one "
                             f"element; received shape {x.shape}")
        axis = _axes(self.axis, x.ndim, "softmax")
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
        return e / np.sum(e, axis=axis, keepdims=True)

    def backward(self, gy):
        y = self.outputs[0]
        dot = math_ops.reduce_sum(math_ops.multiply(gy, y), axis=self.axis, keepdims=True)
        return math_ops.multiply(y, math_ops.subtract(gy, dot))


def softmax(logits, axis=None, name=None):
    return Softmax(-1 if axis is None else int(axis))(logits)


def log_softmax(logits, axis=None, name=None):
    """log softmax(x) = x - logsumexp(x) along axis."""
    axis = -1 if axis is None else int(axis)
    return math_ops.subtract(logits, math_ops.reduce_logsumexp(logits, axis=axis,
                                                               keepdims=True))


def sigmoid_cross_entropy_with_logits(labels=None, logits=None, name=None):
    """-[y ln σ(z) + (1-y) ln(1-σ(z))], computed stably as
    max(z, 0) - z·y + ln(1 + e^(-|z|))."""
    if labels is None or logits is None:
        raise ValueError("sigmoid_cross_entropy_with_logits needs labels= and logits=")
    _same_shape("sigmoid_cross_entropy_with_logits", labels, logits)
    z = logits
    return math_ops.add(math_ops.subtract(relu(z), math_ops.multiply(z, labels)),
                        math_ops.log1p(math_ops.exp(math_ops.negative(math_ops.abs(z)))))


def softmax_cross_entropy_with_logits(labels, logits, axis=-1, name=None):
    """-Σ y · log softmax(z) along axis."""
    _same_shape("softmax_cross_entropy_with_logits", labels, logits)
    return math_ops.negative(math_ops.reduce_sum(
        math_ops.multiply(labels, log_softmax(logits, axis)), axis=axis))


def sparse_softmax_cross_entropy_with_logits(labels=None, logits=None, name=None):
    """-log softmax(z)[label], per example."""
    if labels is None or logits is None:
        raise ValueError("sparse_softmax_cross_entropy_with_logits needs labels= and logits=")
    y = np.asarray(value_of(labels))
    z_shape = np.shape(value_of(logits))
    if y.dtype.kind not in "iu":
        raise TypeError(f"sparse_softmax_cross_entropy_with_logits: labels must be integers; "
                        f"received {y.dtype}")
    if y.shape != z_shape[:-1]:
        raise ValueError(f"sparse_softmax_cross_entropy_with_logits: labels of shape {y.shape} "
                         f"need logits of shape {y.shape + (z_shape[-1],)}; received logits "
                         f"of shape {z_shape}")
    if y.size and (y.min() < 0 or y.max() >= z_shape[-1]):
        raise ValueError(f"sparse_softmax_cross_entropy_with_logits: labels must be in "
                         f"[0, {z_shape[-1]}); received {y.min()} to {y.max()}")
    hot = array_ops.one_hot(y, z_shape[-1], dtype=value_of(logits).dtype)
    return softmax_cross_entropy_with_logits(hot, logits)


def _same_shape(name, a, b):
    sa, sb = np.shape(value_of(a)), np.shape(value_of(b))
    if sa != sb:
        raise ValueError(f"{name}: labels and logits must have the same shape; received "
                         f"{sa} and {sb}")


def dropout(x, rate, noise_shape=None, seed=None, name=None):
    """Zero each element with probability ``rate`` and scale the rest by
    1/(1 - rate), so the expected value is unchanged."""
    from glassnet.ops import random_ops
    rate = float(value_of(rate))
    if not 0 <= rate < 1:
        raise ValueError(f"dropout: rate must be in [0, 1); received {rate}")
    shape = np.shape(value_of(x)) if noise_shape is None else tuple(noise_shape)
    keep = random_ops.uniform(shape, seed=seed).numpy() >= rate
    scale = np.asarray(1 / (1 - rate), dtype=value_of(x).dtype)
    return math_ops.multiply(x, Tensor(keep.astype(value_of(x).dtype) * scale))


# ---------------------------------------------------------------- activations


class Elu(_Unary):
    """y = x where x > 0, else α(eˣ - 1);  ∂L/∂x = gy where x > 0, else gy · (y + α)"""
    name = "elu"

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def compute(self, x):
        alpha = np.asarray(self.alpha, dtype=x.dtype)
        return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))

    def backward(self, gy):
        x, y = self.inputs[0], self.outputs[0]
        return math_ops.where(math_ops.greater(x, 0), gy,
                              math_ops.multiply(gy, math_ops.add(y, self.alpha)))


def elu(features, alpha=1.0, name=None):
    """TensorFlow's ``tf.nn.elu`` (α = 1); Keras's ``ops.elu(x, alpha)``."""
    return Elu(float(alpha))(features)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(features, name=None):
    """y = λ · elu(x, α) with λ ≈ 1.0507, α ≈ 1.6733 (self-normalising)."""
    y = elu(features, _SELU_ALPHA)
    return math_ops.multiply(y, np.asarray(_SELU_SCALE, dtype=y.dtype))


def gelu(features, approximate=False, name=None):
    """y = x · Φ(x) = x/2 · (1 + erf(x/√2)); with ``approximate``,
    x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³))). TensorFlow's default is
    the exact form (Keras's ``ops.gelu`` defaults to the approximation)."""
    x = features
    if approximate:
        inner = math_ops.multiply(
            math_ops.add(x, math_ops.multiply(math_ops.pow(x, 3.0), 0.044715)),
            math.sqrt(2 / math.pi))
        cdf = math_ops.multiply(math_ops.add(math_ops.tanh(inner), 1.0), 0.5)
    else:
        cdf = math_ops.multiply(math_ops.add(math_ops.erf(
            math_ops.multiply(x, math.sqrt(0.5))), 1.0), 0.5)
    return math_ops.multiply(x, cdf)  # Python floats above: they keep x's dtype (NEP 50)


def silu(features, beta=1.0, name=None):
    """y = x · σ(βx) (swish)."""
    if beta == 1.0:
        return math_ops.multiply(features, math_ops.sigmoid(features))
    return math_ops.multiply(features, math_ops.sigmoid(math_ops.multiply(features, beta)))


swish = silu


class LeakyRelu(_Unary):
    """y = x where x > 0, else αx;  ∂L/∂x = gy where x > 0, else α · gy"""
    name = "leaky_relu"

    def __init__(self, alpha):
        self.alpha = alpha

    def compute(self, x):
        return np.where(x > 0, x, x * np.asarray(self.alpha, dtype=x.dtype))

    def backward(self, gy):
        return math_ops.where(math_ops.greater(self.inputs[0], 0), gy,
                              math_ops.multiply(gy, self.alpha))


def leaky_relu(features, alpha=0.2, name=None, negative_slope=None):
    """TensorFlow's ``tf.nn.leaky_relu`` (α = 0.2); Keras names α
    ``negative_slope``."""
    return LeakyRelu(float(alpha if negative_slope is None else negative_slope))(features)


class Relu6(_Unary):
    """y = min(max(x, 0), 6);  ∂L/∂x = gy where 0 < x < 6"""
    name, floats = "relu6", False

    def compute(self, x):
        return np.minimum(np.maximum(x, 0), 6).astype(x.dtype, copy=False)

    def backward(self, gy):
        x = self.inputs[0]
        inside = math_ops.logical_and(math_ops.greater(x, 0), math_ops.less(x, 6))
        return math_ops.where(inside, gy, math_ops.zeros_like(gy))


def relu6(features, name=None):
    return Relu6()(features)


class Softsign(_Unary):
    """y = x / (1 + |x|);  ∂L/∂x = gy / (1 + |x|)²"""
    name = "softsign"

    def compute(self, x):
        return x / (1 + np.abs(x))

    def backward(self, gy):
        x = self.inputs[0]
        return math_ops.divide(gy, math_ops.square(math_ops.add(math_ops.abs(x), 1.0)))


def softsign(features, name=None):
    return Softsign()(features)


def bias_add(value, bias, data_format=None, name=None):
    """y = value + bias along the channels axis (the last, or axis 1 for
    ``data_format`` 'NC...')."""
    shape, b_shape = np.shape(value_of(value)), np.shape(value_of(bias))
    channels_first = data_format is not None and str(data_format).startswith("NC")
    axis = 1 if channels_first else -1
    if len(b_shape) != 1 or len(shape) < 2 or shape[axis] != b_shape[0]:
        raise ValueError(f"bias_add: bias must be a vector as long as the channels axis "
                         f"({'1' if channels_first else 'last'}) of value; received value "
                         f"{shape} and bias {b_shape}")
    if channels_first:
        bias = array_ops.reshape(bias, (b_shape[0],) + (1,) * (len(shape) - 2))
    return math_ops.add(value, bias)


def moments(x, axes, shift=None, keepdims=False, name=None, synchronized=False):
    """(mean, variance) over ``axes``: mean = E[x], variance = E[(x - E[x])²]."""
    if isinstance(shift, bool):  # keras.ops.moments(x, axes, keepdims) positionally
        keepdims = shift
    axes = [int(a) for a in np.atleast_1d(value_of(axes))]
    return (math_ops.reduce_mean(x, axis=axes, keepdims=keepdims),
            math_ops.reduce_variance(x, axis=axes, keepdims=keepdims))


def embedding_lookup(params, ids, max_norm=None, name=None):
    """y = params[ids] (rows gathered);  ∂L/∂params = gy added back at ids."""
    if isinstance(params, (list, tuple)):
        if len(params) != 1:
            raise NotImplementedError("embedding_lookup: sharded params (a list of several "
                                      "tensors) are not implemented in glassnet")
        params = params[0]
    if max_norm is not None:
        raise NotImplementedError("embedding_lookup: max_norm is not implemented in glassnet")
    return array_ops.gather(params, ids)


# ---------------------------------------------------------------- convolution and pooling
#
# One geometry for all windowed ops (NHWC): window position (i, j) reads
# x_padded[:, ho·sh + i·dh, wo·sw + j·dw, :]. Each op loops over the kh·kw
# window positions, each a strided slice: a matmul per position for conv.


class _Geometry:
    """Kernel size, strides, dilations and padding of a windowed op over H, W."""

    def __init__(self, kernel, strides, dilations, pads):
        self.kernel, self.strides = tuple(kernel), tuple(strides)
        self.dilations, self.pads = tuple(dilations), tuple(tuple(p) for p in pads)

    def out_size(self, what, h, w):
        sizes = []
        for size, k, s, d, (lo, hi) in zip((h, w), self.kernel, self.strides, self.dilations,
                                           self.pads):
            n = (size + lo + hi - (k - 1) * d - 1) // s + 1
            if n <= 0:
                raise ValueError(f"{what}: the input ({h}, {w}) is smaller than the window "
                                 f"{self.kernel} (dilations {self.dilations}) with padding "
                                 f"{self.pads}")
            sizes.append(n)
        return tuple(sizes)

    def pad(self, x, value=0.0):
        return np.pad(x, ((0, 0),) + self.pads + ((0, 0),), constant_values=value)

    def crop(self, xp, h, w):
        (top, _), (left, _) = self.pads
        return xp[:, top:top + h, left:left + w, :]

    def windows(self, ho, wo):
        """(i, j, index) for each window position: index selects, from the
        padded input, the (N, Ho, Wo, C) elements that position reads."""
        (sh, sw), (dh, dw) = self.strides, self.dilations
        for i in range(self.kernel[0]):
            for j in range(self.kernel[1]):
                yield i, j, (slice(None), slice(i * dh, i * dh + sh * (ho - 1) + 1, sh),
                             slice(j * dw, j * dw + sw * (wo - 1) + 1, sw), slice(None))


def _pair(value, name, what):
    """TensorFlow's int, [a], [a, b] or [1, a, b, 1] (NHWC) as (a, b)."""
    v = [int(value_of(a)) for a in np.atleast_1d(value_of(value))]
    if len(v) == 1:
        return (v[0], v[0])
    if len(v) == 2:
        return tuple(v)
    if len(v) == 4:
        return (v[1], v[2])
    raise ValueError(f"{what}: {name} must be an int or a list of 1, 2 or 4 ints; "
                     f"received {value!r}")


def _padding(padding, size, kernel, strides, dilations, what):
    """TensorFlow's padding: 'VALID' none; 'SAME' the output ⌈size/stride⌉,
    the padding split with the extra one after; or explicit pairs."""
    if isinstance(padding, str):
        mode = padding.upper()
        if mode == "VALID":
            return ((0, 0), (0, 0))
        if mode == "SAME":
            pads = []
            for n, k, s, d in zip(size, kernel, strides, dilations):
                out = -(-n // s)
                total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
                pads.append((total // 2, total - total // 2))
            return tuple(pads)
        raise ValueError(f"{what}: padding must be 'SAME' or 'VALID'; received {padding!r}")
    pads = [tuple(int(v) for v in p) for p in padding]
    if len(pads) == 4:
        pads = pads[1:3]
    if len(pads) != 2 or any(len(p) != 2 or min(p) < 0 for p in pads):
        raise ValueError(f"{what}: explicit padding must be [[0, 0], [top, bottom], "
                         f"[left, right], [0, 0]]; received {padding!r}")
    return tuple(pads)


class Conv2D(Op):
    """y[n, ho, wo, o] = Σᵢⱼ꜀ xₚ[n, ho·sh + i·dh, wo·sw + j·dw, c] · w[i, j, c, o];
    ∂L/∂x = conv2d_backprop_input(gy, w),  ∂L/∂w = conv2d_backprop_filter(x, gy).
    All three are derivatives of one trilinear form T(x, w, gy) = Σ gy · conv(x, w),
    so each one's gradient is one of the others (second derivatives included)."""
    name = "conv2d"

    def __init__(self, geometry):
        self.g = geometry

    def forward(self, x, w):
        x, w = np.asarray(x), np.asarray(w)
        if x.ndim != 4 or w.ndim != 4 or x.shape[3] != w.shape[2]:
            raise ValueError(f"conv2d: expects input (batch, height, width, channels) and "
                             f"filters (height, width, channels, out_channels) with the same "
                             f"channels; received input {x.shape} and filters {w.shape}")
        ho, wo = self.g.out_size("conv2d", x.shape[1], x.shape[2])
        xp = self.g.pad(x)
        y = np.zeros((x.shape[0], ho, wo, w.shape[3]), dtype=np.result_type(x, w))
        for i, j, index in self.g.windows(ho, wo):
            y += xp[index] @ w[i, j]
        return y

    def backward(self, gy):
        x, w = self.inputs
        return (Conv2DBackpropInput(self.g, _shape(x))(gy, w),
                Conv2DBackpropFilter(self.g, _shape(w))(x, gy))


class Conv2DBackpropInput(Op):
    """dx = ∂T/∂x: each gy[n, ho, wo] · w[i, j]ᵀ added back where window (i, j)
    read x;  ∂L/∂gy = conv2d(gdx, w),  ∂L/∂w = conv2d_backprop_filter(gdx, gy)"""
    name = "conv2d_backprop_input"

    def __init__(self, geometry, x_shape):
        self.g, self.x_shape = geometry, tuple(x_shape)

    def forward(self, gy, w):
        n, h, wd, c = self.x_shape
        (pt, pb), (pl, pr) = self.g.pads
        dxp = np.zeros((n, h + pt + pb, wd + pl + pr, c), dtype=np.result_type(gy, w))
        for i, j, index in self.g.windows(gy.shape[1], gy.shape[2]):
            dxp[index] += gy @ w[i, j].T
        return self.g.crop(dxp, h, wd)

    def backward(self, gdx):
        gy, w = self.inputs
        return (Conv2D(self.g)(gdx, w),
                Conv2DBackpropFilter(self.g, _shape(w))(gdx, gy))


class Conv2DBackpropFilter(Op):
    """dw[i, j] = Σ over n, ho, wo of xₚ[window (i, j)]ᵀ · gy;
    ∂L/∂x = conv2d_backprop_input(gy, gdw),  ∂L/∂gy = conv2d(x, gdw)"""
    name = "conv2d_backprop_filter"

    def __init__(self, geometry, w_shape):
        self.g, self.w_shape = geometry, tuple(w_shape)

    def forward(self, x, gy):
        xp = self.g.pad(np.asarray(x))
        c, o = self.w_shape[2], self.w_shape[3]
        dw = np.zeros(self.w_shape, dtype=np.result_type(x, gy))
        g2 = gy.reshape(-1, o)
        for i, j, index in self.g.windows(gy.shape[1], gy.shape[2]):
            dw[i, j] = xp[index].reshape(-1, c).T @ g2
        return dw

    def backward(self, gdw):
        x, gy = self.inputs
        return (Conv2DBackpropInput(self.g, _shape(x))(gy, gdw), Conv2D(self.g)(x, gdw))


def _shape(x):
    return tuple(np.shape(value_of(x)))


def _to_nhwc(x, data_format, what):
    if data_format in (None, "NHWC", "channels_last"):
        return x, False
    if data_format in ("NCHW", "channels_first"):
        return array_ops.transpose(x, (0, 2, 3, 1)), True
    raise ValueError(f"{what}: data_format must be 'NHWC' or 'NCHW'; received {data_format!r}")


def _from_nhwc(y, channels_first):
    return array_ops.transpose(y, (0, 3, 1, 2)) if channels_first else y


def conv2d(input, filters, strides, padding, data_format="NHWC", dilations=None, name=None):
    """``tf.nn.conv2d``: input (batch, height, width, channels) ('NHWC'),
    filters (height, width, in, out); padding 'SAME', 'VALID' or explicit
    [[0, 0], [top, bottom], [left, right], [0, 0]]."""
    x, channels_first = _to_nhwc(input, data_format, "conv2d")
    x_shape, w_shape = _shape(x), _shape(filters)
    if len(x_shape) != 4 or len(w_shape) != 4:
        raise ValueError(f"conv2d: expects a 4-D input and 4-D filters; received input "
                         f"{_shape(input)} and filters {w_shape}")
    s = _pair(strides, "strides", "conv2d")
    d = _pair(1 if dilations is None else dilations, "dilations", "conv2d")
    if min(s) < 1 or min(d) < 1:
        raise ValueError(f"conv2d: strides and dilations must be positive; received {s}, {d}")
    if max(s) > 1 and max(d) > 1:
        raise ValueError("conv2d: strides > 1 with dilations > 1 is not supported "
                         "(as TensorFlow)")
    pads = _padding(padding, x_shape[1:3], w_shape[:2], s, d, "conv2d")
    geometry = _Geometry(w_shape[:2], s, d, pads)
    return _from_nhwc(Conv2D(geometry)(x, filters), channels_first)


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """``keras.ops.conv`` for 1-D and 2-D: inputs (batch, *spatial, channels)
    (or channels first), kernel (*spatial, in, out); padding 'valid' or 'same'."""
    rank = len(_shape(inputs))
    if rank not in (3, 4):
        raise NotImplementedError(f"keras.ops.conv: glassnet implements 1-D and 2-D "
                                  f"convolution; received inputs of shape {_shape(inputs)}")
    if len(_shape(kernel)) != rank:
        raise ValueError(f"keras.ops.conv: the kernel must have rank {rank} for inputs of "
                         f"shape {_shape(inputs)}; received {_shape(kernel)}")
    channels_first = data_format == "channels_first"
    if data_format not in (None, "channels_last", "channels_first"):
        raise ValueError(f"keras.ops.conv: data_format must be 'channels_last' or "
                         f"'channels_first'; received {data_format!r}")
    if str(padding).lower() not in ("valid", "same"):
        raise ValueError(f"keras.ops.conv: padding must be 'valid' or 'same'; received "
                         f"{padding!r}")
    x = array_ops.transpose(inputs, (0,) + tuple(range(2, rank)) + (1,)) if channels_first \
        else inputs
    channels = _shape(x)[-1]
    if channels != _shape(kernel)[-2]:
        raise ValueError(f"keras.ops.conv: the inputs have {channels} channels but the kernel "
                         f"expects {_shape(kernel)[-2]} (grouped convolution is not "
                         f"implemented in glassnet)")
    s = tuple(np.atleast_1d(strides).tolist()) * (1 if np.ndim(strides) else rank - 2)
    d = tuple(np.atleast_1d(dilation_rate).tolist()) * (1 if np.ndim(dilation_rate)
                                                         else rank - 2)
    if rank == 3:
        x = array_ops.expand_dims(x, 1)
        kernel = array_ops.expand_dims(kernel, 0)
        s, d = (1,) + s, (1,) + d
    y = conv2d(x, kernel, strides=list(s), padding=str(padding).upper(), dilations=list(d))
    if rank == 3:
        y = array_ops.squeeze(y, 1)
    if channels_first:
        y = array_ops.transpose(y, (0, rank - 1) + tuple(range(1, rank - 1)))
    return y


class MaxPool2D(Op):
    """y = the largest x in each window;  ∂L/∂x = gy added at each window's
    largest element (the first, on ties)"""
    name = "max_pool2d"

    def __init__(self, geometry):
        self.g = geometry

    def forward(self, x):
        x = np.asarray(x)
        n, h, w, c = x.shape
        ho, wo = self.g.out_size("max_pool2d", h, w)
        low = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        xp = self.g.pad(x, low)
        best = np.full((n, ho, wo, c), low, dtype=x.dtype)
        rows = np.zeros(best.shape, dtype=np.int64)
        cols = np.zeros(best.shape, dtype=np.int64)
        (sh, sw), (top, _), (left, _) = self.g.strides, self.g.pads[0], self.g.pads[1]
        for i, j, index in self.g.windows(ho, wo):
            patch = xp[index]
            better = patch > best
            best = np.where(better, patch, best)
            rows = np.where(better, i, rows)
            cols = np.where(better, j, cols)
        rows = rows + (np.arange(ho) * sh - top)[None, :, None, None]
        cols = cols + (np.arange(wo) * sw - left)[None, None, :, None]
        grid = np.indices(best.shape, sparse=True)
        self.index = (grid[0], rows, cols, grid[3])
        return best

    def backward(self, gy):
        return ScatterAdd(self.index, _shape(self.inputs[0]))(gy)


class AvgPool2D(Op):
    """y = the mean of each window's elements (padding not counted);
    ∂L/∂x = avg_pool2d_grad(gy)"""
    name = "avg_pool2d"

    def __init__(self, geometry):
        self.g = geometry

    def forward(self, x):
        x = np.asarray(x)
        ho, wo = self.g.out_size("avg_pool2d", x.shape[1], x.shape[2])
        xp = self.g.pad(x)
        total = np.zeros((x.shape[0], ho, wo, x.shape[3]), dtype=x.dtype)
        for _, _, index in self.g.windows(ho, wo):
            total += xp[index]
        return total / _window_counts(self.g, x.shape, ho, wo).astype(x.dtype)

    def backward(self, gy):
        return AvgPool2DGrad(self.g, _shape(self.inputs[0]))(gy)


class AvgPool2DGrad(Op):
    """dx = each gy / (its window's count) added back over its window (the
    transpose of avg_pool2d);  ∂L/∂gy = avg_pool2d(gdx)"""
    name = "avg_pool2d_grad"

    def __init__(self, geometry, x_shape):
        self.g, self.x_shape = geometry, tuple(x_shape)

    def forward(self, gy):
        n, h, w, c = self.x_shape
        ho, wo = gy.shape[1:3]
        (pt, pb), (pl, pr) = self.g.pads
        share = gy / _window_counts(self.g, self.x_shape, ho, wo).astype(gy.dtype)
        dxp = np.zeros((n, h + pt + pb, w + pl + pr, c), dtype=gy.dtype)
        for _, _, index in self.g.windows(ho, wo):
            dxp[index] += share
        return self.g.crop(dxp, h, w)

    def backward(self, gdx):
        return AvgPool2D(self.g)(gdx)


def _window_counts(geometry, x_shape, ho, wo):
    """How many real (unpadded) elements each window covers: (1, Ho, Wo, 1)."""
    ones = geometry.pad(np.ones((1, x_shape[1], x_shape[2], 1)))
    counts = np.zeros((1, ho, wo, 1))
    for _, _, index in geometry.windows(ho, wo):
        counts += ones[index]
    return counts


def _pool(op, what, input, ksize, strides, padding, data_format):
    x, channels_first = _to_nhwc(input, data_format, what)
    x_shape = _shape(x)
    if len(x_shape) != 4:
        raise ValueError(f"{what}: expects a 4-D input (batch, height, width, channels); "
                         f"received shape {_shape(input)}")
    k, s = _pair(ksize, "ksize", what), _pair(strides, "strides", what)
    if min(k) < 1 or min(s) < 1:
        raise ValueError(f"{what}: ksize and strides must be positive; received {k}, {s}")
    pads = _padding(padding, x_shape[1:3], k, s, (1, 1), what)
    return _from_nhwc(op(_Geometry(k, s, (1, 1), pads))(x), channels_first)


def max_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):
    """``tf.nn.max_pool2d``: the largest value in each ksize window."""
    return _pool(MaxPool2D, "max_pool2d", input, ksize, strides, padding, data_format)


def avg_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):
    """``tf.nn.avg_pool2d``: the mean of each ksize window ('SAME' padding is
    not counted in the mean, as TensorFlow)."""
    return _pool(AvgPool2D, "avg_pool2d", input, ksize, strides, padding, data_format)
