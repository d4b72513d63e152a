"""Keras 3's ops (``keras.ops``, ``keras.random``) where their names,
defaults or dtypes differ from TensorFlow's: NumPy-style ``axis=None`` (the
whole tensor), ``split`` at indices, ``mean`` of integers in float32,
``argmax`` in int32, cross-entropies with ``from_logits``. Each one is a thin
layer over ``math_ops``, ``array_ops``, ``nn_ops`` and ``linalg_ops``, so the
gradients are theirs."""

from __future__ import annotations

import builtins

import numpy as np

from glassnet.ops import array_ops, linalg_ops, math_ops, nn_ops, random_ops
from glassnet.ops.function import value_of
from glassnet.tensor import Tensor, as_dtype, to_array

_FLOATX = np.dtype("float32")


def _t(x):
    """A tensor (or a Variable) as it is; anything else in TensorFlow's dtypes."""
    if isinstance(x, Tensor) or hasattr(x, "assign"):
        return x
    return Tensor(to_array(x))


def _dtype(x):
    return np.dtype(value_of(x).dtype)


def _floating(x):
    """x, integers and booleans cast to float32 (Keras's rule for mean, var, std)."""
    return x if _dtype(x).kind in "fc" else math_ops.cast(x, _FLOATX)


def _sum_dtype(dtype):
    """JAX's rule, which Keras follows: small integers and booleans sum in 32 bits."""
    if dtype.kind == "b" or dtype in (np.int8, np.int16):
        return np.dtype(np.int32)
    if dtype in (np.uint8, np.uint16):
        return np.dtype(np.uint32)
    return dtype


def _axis(axis):
    return None if axis is None else tuple(axis) if isinstance(axis, list) else axis


# ---------------------------------------------------------------- reductions


def sum(x, axis=None, keepdims=False):
    x = _t(x)
    y = math_ops.reduce_sum(x, axis=_axis(axis), keepdims=keepdims)
    return math_ops.cast(y, _sum_dtype(_dtype(x)))


def mean(x, axis=None, keepdims=False):
    """The mean; integers give float32."""
    return math_ops.reduce_mean(_floating(_t(x)), axis=_axis(axis), keepdims=keepdims)


def max(x, axis=None, keepdims=False, initial=None):
    y = math_ops.reduce_max(_t(x), axis=_axis(axis), keepdims=keepdims)
    return y if initial is None else math_ops.maximum(y, initial)


def min(x, axis=None, keepdims=False, initial=None):
    y = math_ops.reduce_min(_t(x), axis=_axis(axis), keepdims=keepdims)
    return y if initial is None else math_ops.minimum(y, initial)


def prod(x, axis=None, keepdims=False, dtype=None):
    x = _t(x)
    y = math_ops.reduce_prod(x, axis=_axis(axis), keepdims=keepdims)
    return math_ops.cast(y, as_dtype(dtype) or _sum_dtype(_dtype(x)))


def std(x, axis=None, keepdims=False):
    """The population standard deviation (NumPy's ddof=0); integers give float32."""
    return math_ops.reduce_std(_floating(_t(x)), axis=_axis(axis), keepdims=keepdims)


def var(x, axis=None, keepdims=False):
    """The population variance (NumPy's ddof=0); integers give float32."""
    return math_ops.reduce_variance(_floating(_t(x)), axis=_axis(axis), keepdims=keepdims)


def all(x, axis=None, keepdims=False):
    return math_ops.reduce_all(x, axis=_axis(axis), keepdims=keepdims)


def any(x, axis=None, keepdims=False):
    return math_ops.reduce_any(x, axis=_axis(axis), keepdims=keepdims)


def _arg(function, x, axis, keepdims):
    x = _t(x)
    rank = len(x.shape)
    if axis is None:
        i = function(array_ops.reshape(x, [-1]), 0, "int32")
        return array_ops.reshape(i, [1] * rank) if keepdims else i
    i = function(x, int(axis), "int32")
    return array_ops.expand_dims(i, int(axis)) if keepdims else i


def argmax(x, axis=None, keepdims=False):
    """The index of the largest value (of the flattened tensor when axis is None), int32."""
    return _arg(math_ops.argmax, x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    return _arg(math_ops.argmin, x, axis, keepdims)


def logsumexp(x, axis=None, keepdims=False):
    return math_ops.reduce_logsumexp(_floating(_t(x)), axis=_axis(axis), keepdims=keepdims)


def cumsum(x, axis=None, dtype=None):
    """The running sum along axis (of the flattened tensor when axis is None)."""
    x = _t(x)
    out = as_dtype(dtype) or _sum_dtype(_dtype(x))
    if out != _dtype(x):
        x = math_ops.cast(x, out)
    if axis is None:
        x, axis = array_ops.reshape(x, [-1]), 0
    return math_ops.cast(math_ops.cumsum(x, axis=int(axis)), out)


def dot(x1, x2):
    """NumPy's dot: a product with a scalar, else Σ over x1's last axis and
    x2's second-to-last (its only one for a vector)."""
    x1, x2 = _t(x1), _t(x2)
    r1, r2 = len(x1.shape), len(x2.shape)
    if r1 == 0 or r2 == 0:
        return math_ops.multiply(x1, x2)
    return linalg_ops.tensordot(x1, x2, axes=([r1 - 1], [builtins.max(r2 - 2, 0)]))


def trace(x, offset=0, axis1=0, axis2=1):
    """NumPy's trace: Σᵢ x[i, i + offset] over axes (axis1, axis2)."""
    x = _t(x)
    rank = len(x.shape)
    a1, a2 = int(axis1) % rank, int(axis2) % rank
    rest = [a for a in range(rank) if a not in (a1, a2)]
    moved = array_ops.transpose(x, rest + [a1, a2])
    y = math_ops.reduce_sum(linalg_ops.diag_part(moved, k=int(offset)), axis=-1)
    return math_ops.cast(y, _sum_dtype(_dtype(x)))


def norm(x, ord=None, axis=None, keepdims=False):
    """NumPy's norm: with ``ord`` and no ``axis``, a vector's norm or a matrix's
    (TensorFlow's ``tf.norm`` would flatten the matrix); integers give float32."""
    x = _floating(_t(x))
    rank = len(x.shape)
    if axis is None and ord is not None:
        if rank == 2:
            axis = (0, 1)
        elif rank != 1:
            raise ValueError(f"norm: with ord={ord!r} and axis=None, x must be a vector or a "
                             f"matrix; received shape {tuple(x.shape)}")
    return linalg_ops.norm(x, ord="euclidean" if ord is None else ord,
                           axis=None if axis is None else _axis(axis), keepdims=keepdims)


def normalize(x, axis=-1, order=2, epsilon=None):
    """x / max(‖x‖, ε) along axis; for order 2, x · 1/√max(Σx², ε²) (Keras's form)."""
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"normalize: order must be an int >= 1; received {order!r}")
    x = _floating(_t(x))
    if not x.shape:
        x = array_ops.expand_dims(x, 0)
    eps = _epsilon() if epsilon is None else float(epsilon)
    if order == 2:
        return linalg_ops.l2_normalize(x, axis=axis, epsilon=eps * eps)
    n = linalg_ops.norm(x, ord=order, axis=axis, keepdims=True)
    return math_ops.divide(x, math_ops.maximum(n, eps))


def _epsilon():
    from glassnet.keras import backend
    return backend.epsilon()


# ---------------------------------------------------------------- creation


def full(shape, fill_value, dtype=None):
    """A tensor of ``shape`` filled with ``fill_value``, float32 unless ``dtype``."""
    shape = array_ops._shape_arg(shape, "keras.ops.full")
    return Tensor(np.full(shape, value_of(fill_value), dtype=as_dtype(dtype) or _FLOATX))


def full_like(x, fill_value, dtype=None):
    return Tensor(np.full(np.shape(value_of(x)), value_of(fill_value),
                          dtype=as_dtype(dtype) or _dtype(_t(x))))


def zeros(shape, dtype=None):
    return array_ops.zeros(shape, dtype=dtype or _FLOATX)


def ones(shape, dtype=None):
    return array_ops.ones(shape, dtype=dtype or _FLOATX)


def eye(N, M=None, k=0, dtype=None):
    """Ones on diagonal k of an N × M matrix."""
    return Tensor(np.eye(int(N), None if M is None else int(M), int(k),
                         dtype=as_dtype(dtype) or _FLOATX))


def identity(n, dtype=None):
    """The n × n identity matrix, float32 unless ``dtype``."""
    return array_ops.eye(int(n), dtype=dtype or _FLOATX)


def arange(start, stop=None, step=None, dtype=None):
    """NumPy's arange; Python ints give int32, Python floats float32."""
    values = [v for v in (start, stop, step) if v is not None]
    if dtype is None:
        dtypes = [np.result_type(value_of(v)) if hasattr(value_of(v), "dtype") else
                  np.dtype(type(value_of(v))) for v in values]
        floats = [d for d in dtypes if d.kind == "f"]
        if floats:
            dtype = np.dtype(np.float64) if builtins.any(
                d == np.float64 and hasattr(value_of(v), "dtype")
                for d, v in zip(dtypes, values)) else _FLOATX
        else:
            dtype = np.dtype(np.int64) if builtins.any(
                d == np.int64 and hasattr(value_of(v), "dtype")
                for d, v in zip(dtypes, values)) else np.dtype(np.int32)
    if stop is None:
        start, stop = 0, start
    step = 1 if step is None else step
    return Tensor(np.arange(value_of(start), value_of(stop), value_of(step),
                            dtype=as_dtype(dtype)))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    values, step = np.linspace(value_of(start), value_of(stop), int(num), endpoint=endpoint,
                               retstep=True, axis=axis)
    y = Tensor(values.astype(as_dtype(dtype) or _FLOATX))
    return (y, step) if retstep else y


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """float32 one-hot vectors along ``axis``; negative indices give all zeros."""
    if sparse:
        raise NotImplementedError("keras.ops.one_hot: sparse=True is not implemented in "
                                  "glassnet")
    return array_ops.one_hot(x, num_classes, axis=axis, dtype=dtype or _FLOATX)


# ---------------------------------------------------------------- shapes


def shape(x):
    """The shape as a tuple of ints (Keras's ``ops.shape``)."""
    return tuple(int(d) for d in np.shape(value_of(x)))


def ndim(x):
    return int(np.ndim(value_of(x)))


def transpose(x, axes=None):
    return array_ops.transpose(x, None if axes is None else [int(a) for a in axes])


def flip(x, axis=None):
    """x reversed along ``axis`` (all axes when None)."""
    rank = len(np.shape(value_of(x)))
    axes = list(range(rank)) if axis is None else np.atleast_1d(axis).tolist()
    return array_ops.reverse(x, axes)


def ravel(x):
    return array_ops.reshape(x, [-1])


def _common_dtype(dtypes):
    """Keras's promotion for mixed operands: any float wins over the integers."""
    dtypes = [np.dtype(d) for d in dtypes]
    floats = [d for d in dtypes if d.kind in "fc"]
    if floats and len(floats) < len(dtypes):
        return np.result_type(*floats)
    return np.result_type(*dtypes)


def concatenate(xs, axis=0):
    """The tensors joined along ``axis`` (flattened first when axis is None)."""
    xs = [_t(x) for x in xs]
    if axis is None:
        xs, axis = [array_ops.reshape(x, [-1]) for x in xs], 0
    dtype = _common_dtype([_dtype(x) for x in xs])
    xs = [math_ops.cast(x, dtype) for x in xs]
    return array_ops.concat(xs, axis)


def split(x, indices_or_sections, axis=0):
    """NumPy's split: an int n gives n equal parts; a list gives the cut
    points (x[:i₀], x[i₀:i₁], …, x[iₖ:])."""
    x = _t(x)
    dims = tuple(x.shape)
    axis = int(axis) % len(dims)
    sections = value_of(indices_or_sections)
    if np.ndim(sections) == 0:
        n = int(sections)
        if n <= 0 or dims[axis] % n:
            raise ValueError(f"split: axis {axis} of size {dims[axis]} cannot be split into "
                             f"{n} equal sections (shape {dims})")
        return array_ops.split(x, n, axis=axis)
    bounds = [0] + [int(i) for i in np.asarray(sections).tolist()] + [dims[axis]]
    pieces = [builtins.slice(a, b).indices(dims[axis])[:2] for a, b in
              zip(bounds[:-1], bounds[1:])]
    pieces = [(a, builtins.max(a, b)) for a, b in pieces]
    if builtins.all(p[1] == q[0] for p, q in zip(pieces[:-1], pieces[1:])) and \
            pieces[0][0] == 0 and pieces[-1][1] == dims[axis]:
        return array_ops.split(x, [b - a for a, b in pieces], axis=axis)
    # cut points out of order: the pieces overlap, so each is its own slice
    lead = (builtins.slice(None),) * axis
    return [array_ops.getitem(x, lead + (builtins.slice(a, b),)) for a, b in pieces]


def tile(x, repeats):
    """NumPy's tile: ``repeats`` shorter than the rank counts from the last
    axis; longer adds leading axes."""
    x = _t(x)
    reps = [int(r) for r in np.atleast_1d(value_of(repeats))]
    rank = len(x.shape)
    if len(reps) > rank:
        x = array_ops.reshape(x, [1] * (len(reps) - rank) + list(x.shape))
    reps = [1] * (len(x.shape) - len(reps)) + reps
    return array_ops.tile(x, reps)


def pad(x, pad_width, mode="constant", constant_values=None):
    """NumPy's pad: ``pad_width`` an int, (before, after), or one pair per axis."""
    x = _t(x)
    if constant_values is not None and mode != "constant":
        raise ValueError(f"pad: constant_values can only be given with mode='constant'; "
                         f"received mode={mode!r}")
    rank = len(x.shape)
    try:
        widths = np.broadcast_to(np.asarray(value_of(pad_width), dtype=np.int64), (rank, 2))
    except ValueError:
        raise ValueError(f"pad: pad_width {pad_width!r} does not fit a tensor of rank "
                         f"{rank}") from None
    value = 0 if constant_values is None else value_of(constant_values)
    return array_ops.pad(x, widths.tolist(), mode=mode, constant_values=value)


def take(x, indices, axis=None):
    """x's elements at ``indices`` along axis (of the flattened x when axis is None)."""
    if axis is None:
        return array_ops.gather(array_ops.reshape(x, [-1]), _indices(indices))
    return array_ops.gather(x, _indices(indices), axis=int(axis))


def _indices(indices):
    idx = np.asarray(value_of(indices))
    return idx.astype(np.int32) if idx.dtype.kind == "b" else idx


def take_along_axis(x, indices, axis=None):
    """y[..., i, ...] = x[..., indices[..., i, ...], ...] along axis (NumPy's,
    indices broadcast against x)."""
    idx = np.asarray(value_of(indices))
    if axis is None:
        x, axis = array_ops.reshape(x, [-1]), 0
        idx = idx.reshape(-1)
    x_shape = tuple(np.shape(value_of(x)))
    rank = len(x_shape)
    axis = int(axis) % rank
    if idx.ndim != rank:
        raise ValueError(f"take_along_axis: indices need the rank of x ({rank}); received "
                         f"indices of shape {idx.shape} for x of shape {x_shape}")
    index = tuple(idx if d == axis else
                  np.arange(x_shape[d]).reshape([-1 if e == d else 1 for e in range(rank)])
                  for d in range(rank))
    return array_ops.getitem(x, index)


def slice(inputs, start_indices, shape):  # noqa: A001 (Keras's name)
    """inputs[start : start + shape] on every axis."""
    return array_ops.slice(inputs, start_indices, shape)


# ---------------------------------------------------------------- nn


def _over_axes(function, x, axis):
    """Apply a last-axis ``function`` over several axes: those axes moved to
    the end and flattened into one."""
    x = _t(x)
    if not isinstance(axis, (tuple, list)):
        return function(x, int(axis))
    rank = len(x.shape)
    axes = sorted(int(a) % rank for a in axis)
    keep = [a for a in range(rank) if a not in axes]
    moved = array_ops.transpose(x, keep + axes)
    moved_shape = tuple(moved.shape)
    flat = array_ops.reshape(moved, list(moved_shape[:len(keep)]) + [-1])
    y = array_ops.reshape(function(flat, -1), moved_shape)
    return array_ops.transpose(y, list(np.argsort(keep + axes)))


def softmax(x, axis=-1):
    """e^x / Σ e^x along axis (an int or a tuple of axes)."""
    return _over_axes(nn_ops.softmax, x, axis)


def log_softmax(x, axis=-1):
    return _over_axes(nn_ops.log_softmax, x, axis)


def gelu(x, approximate=True):
    """Keras's gelu: the tanh approximation by default (TensorFlow's is exact)."""
    return nn_ops.gelu(x, approximate=approximate)


def _check_same(name, target, output):
    st, so = tuple(np.shape(value_of(target))), tuple(np.shape(value_of(output)))
    if st != so:
        raise ValueError(f"{name}: target and output must have the same shape; received "
                         f"target.shape={st}, output.shape={so}")
    return st


def binary_crossentropy(target, output, from_logits=False):
    """-[t ln p + (1-t) ln(1-p)] elementwise (no reduction), with p = σ(output)
    computed stably from logits, or p = output clipped to [ε, 1-ε]."""
    _check_same("binary_crossentropy", target, output)
    target, output = _t(target), _t(output)
    if from_logits:
        return nn_ops.sigmoid_cross_entropy_with_logits(labels=target, logits=output)
    eps = _epsilon()
    p = math_ops.clip_by_value(output, eps, 1.0 - eps)
    return math_ops.negative(math_ops.add(
        math_ops.multiply(target, math_ops.log(p)),
        math_ops.multiply(math_ops.subtract(1.0, target), math_ops.log(math_ops.subtract(1.0, p)))))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """-Σ t ln p along axis, with ln p = log_softmax(output) from logits, or
    p = output / Σ output clipped to [ε, 1-ε]."""
    shape = _check_same("categorical_crossentropy", target, output)
    if not shape:
        raise ValueError("categorical_crossentropy: target and output must have at least one "
                         "axis; received scalars")
    target, output = _t(target), _t(output)
    if from_logits:
        return nn_ops.softmax_cross_entropy_with_logits(target, output, axis=axis)
    eps = _epsilon()
    p = math_ops.divide(output, math_ops.reduce_sum(output, axis=axis, keepdims=True))
    p = math_ops.clip_by_value(p, eps, 1.0 - eps)
    return math_ops.negative(math_ops.reduce_sum(math_ops.multiply(target, math_ops.log(p)),
                                                 axis=axis))


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """categorical_crossentropy with integer targets (one class index per
    example; a trailing axis of size 1 is allowed)."""
    y = np.asarray(value_of(target))
    out_shape = tuple(np.shape(value_of(output)))
    if not out_shape:
        raise ValueError("sparse_categorical_crossentropy: output must have at least one axis")
    if y.ndim == len(out_shape) and y.shape[-1] == 1:
        y = y.reshape(y.shape[:-1])
    axis = int(axis) % len(out_shape)
    expected = out_shape[:axis] + out_shape[axis + 1:]
    if y.shape != expected:
        raise ValueError(f"sparse_categorical_crossentropy: target must have the output's "
                         f"shape without the class axis; received target.shape={y.shape}, "
                         f"output.shape={out_shape}")
    if y.dtype.kind not in "iu":
        if y.size and np.any(y != np.round(y)):
            raise TypeError(f"sparse_categorical_crossentropy: target must be class indices; "
                            f"received non-integer values of {y.dtype}")
        y = y.astype(np.int64)
    hot = array_ops.one_hot(y, out_shape[axis], axis=axis, dtype=_dtype(_t(output)))
    return categorical_crossentropy(hot, output, from_logits=from_logits, axis=axis)


# ---------------------------------------------------------------- random


def random_dropout(inputs, rate, noise_shape=None, seed=None):
    """keras.random.dropout: zero with probability ``rate``, scale the rest by
    1/(1 - rate); ``noise_shape`` entries that are None take the input's."""
    rate = float(value_of(rate))
    x = _t(inputs)
    if rate == 1.0:
        return array_ops.zeros_like(x)
    if rate == 0.0:
        return x
    if noise_shape is not None:
        noise_shape = [x.shape[i] if n is None else int(n) for i, n in enumerate(noise_shape)]
    return nn_ops.dropout(x, rate, noise_shape=noise_shape, seed=seed)


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers drawn uniformly from [minval, maxval)."""
    return random_ops.uniform(shape, minval=minval, maxval=maxval, dtype=dtype, seed=seed)
