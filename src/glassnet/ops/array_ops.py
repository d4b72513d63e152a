"""Creating tensors and moving their elements: ``tf.zeros``, ``tf.reshape``,
``tf.concat``, slicing... Each op that moves elements has the inverse move as
its gradient (reshape back, slice into zeros, split a concatenation)."""

from __future__ import annotations

import builtins

import numpy as np

from glassnet.ops.function import Op, as_tensor, value_of
from glassnet.tensor import Tensor, as_dtype, to_array

# ---------------------------------------------------------------- creation


def _shape_arg(shape, name):
    shape = value_of(shape) if not isinstance(shape, (list, tuple)) else \
        [value_of(d) for d in shape]
    try:
        shape = tuple(int(d) for d in np.atleast_1d(shape)) if np.ndim(shape) else \
            (int(shape),)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: shape must be a list of non-negative integers; received "
                        f"{shape!r}") from None
    if builtins.any(d < 0 for d in shape):
        raise ValueError(f"{name}: shape must be non-negative; received {shape}")
    return shape


def zeros(shape, dtype="float32", name=None):
    return Tensor(np.zeros(_shape_arg(shape, "tf.zeros"), dtype=as_dtype(dtype)))


def ones(shape, dtype="float32", name=None):
    return Tensor(np.ones(_shape_arg(shape, "tf.ones"), dtype=as_dtype(dtype)))


def fill(dims, value, name=None):
    array = to_array(value)
    return Tensor(np.full(_shape_arg(dims, "tf.fill"), array, dtype=array.dtype))


def zeros_like(input, dtype=None, name=None):
    x = value_of(input)
    return Tensor(np.zeros(np.shape(x), dtype=as_dtype(dtype) or np.result_type(x)))


def ones_like(input, dtype=None, name=None):
    x = value_of(input)
    return Tensor(np.ones(np.shape(x), dtype=as_dtype(dtype) or np.result_type(x)))


def eye(num_rows, num_columns=None, batch_shape=None, dtype="float32", name=None):
    m = np.eye(int(num_rows), None if num_columns is None else int(num_columns),
               dtype=as_dtype(dtype))
    if batch_shape is not None:
        m = np.broadcast_to(m, tuple(batch_shape) + m.shape).copy()
    return Tensor(m)


def range(start, limit=None, delta=1, dtype=None, name="range"):
    """TensorFlow's ``tf.range``: int32 for integers, float32 for floats."""
    if limit is None:
        start, limit = 0, start
    values = [value_of(v) for v in (start, limit, delta)]
    out = np.arange(*values)
    if dtype is not None:
        out = out.astype(as_dtype(dtype))
    elif out.dtype == np.int64:
        out = out.astype(np.int32)
    elif out.dtype == np.float64 and not builtins.any(isinstance(v, np.ndarray) and
                                                      v.dtype == np.float64 for v in values):
        out = out.astype(np.float32)
    return Tensor(out)


def linspace(start, stop, num, name=None, axis=0):
    start, stop = value_of(start), value_of(stop)
    dtype = np.result_type(start) if np.result_type(start).kind == "f" else np.float32
    if isinstance(start, float):
        dtype = np.float32
    return Tensor(np.linspace(start, stop, int(value_of(num)), axis=axis).astype(dtype))


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None):
    """A vector of ``depth`` per index: ``on_value`` (1) at the index,
    ``off_value`` (0) elsewhere; indices out of range give all off."""
    idx = np.asarray(value_of(indices)).astype(np.int64)
    depth = int(value_of(depth))
    dtype = as_dtype(dtype) or (np.result_type(value_of(on_value)) if on_value is not None
                                and not isinstance(on_value, float) else np.dtype(np.float32))
    on = 1 if on_value is None else value_of(on_value)
    off = 0 if off_value is None else value_of(off_value)
    hot = idx[..., None] == np.arange(depth)
    out = np.where(hot, on, off).astype(dtype)
    if axis is not None and axis != -1:
        out = np.moveaxis(out, -1, axis)
    return Tensor(out)


def identity(input, name=None):
    return Identity()(input)


class Identity(Op):
    """y = x;  ∂L/∂x = gy"""
    name = "identity"

    def forward(self, x):
        return np.array(x, copy=True)

    def backward(self, gy):
        return gy


class StopGradient(Op):
    """y = x, but no gradient flows back through it"""
    name = "stop_gradient"

    def forward(self, x):
        return np.array(x, copy=True)

    def backward(self, gy):
        return None


def stop_gradient(input, name=None):
    return StopGradient()(input)


# ---------------------------------------------------------------- shapes


def shape(input, out_type="int32", name=None):
    return Tensor(np.asarray(np.shape(value_of(input)), dtype=as_dtype(out_type)))


def size(input, out_type="int32", name=None):
    return Tensor(np.asarray(np.size(value_of(input)), dtype=as_dtype(out_type)))


def rank(input, name=None):
    return Tensor(np.asarray(np.ndim(value_of(input)), dtype=np.int32))


class Reshape(Op):
    """y = x with a new shape (same elements, same order);  ∂L/∂x = gy reshaped back"""
    name = "reshape"

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        x = np.asarray(x)
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} "
                             f"({x.size} elements) into shape {self.shape}") from None

    def backward(self, gy):
        return reshape(gy, self.inputs[0].shape)


def reshape(tensor, shape, name=None):
    if isinstance(shape, Tensor) or not isinstance(shape, (list, tuple)):
        shape = np.atleast_1d(value_of(shape)).tolist()
    shape = tuple(-1 if d is None else int(value_of(d)) for d in shape)
    return Reshape(shape)(tensor)


class Transpose(Op):
    """y = x with its axes permuted by perm;  ∂L/∂x = gy permuted back"""
    name = "transpose"

    def __init__(self, perm):
        self.perm = perm

    def forward(self, x):
        x = np.asarray(x)
        perm = tuple(reversed(builtins.range(x.ndim))) if self.perm is None else self.perm
        if sorted(p % builtins.max(x.ndim, 1) for p in perm) != list(builtins.range(x.ndim)):
            raise ValueError(f"transpose: perm {list(perm)} is not a permutation of the "
                             f"{x.ndim} axes of a tensor of shape {x.shape}")
        self.perm = perm
        return np.transpose(x, perm)

    def backward(self, gy):
        return transpose(gy, tuple(np.argsort(self.perm)))


def transpose(a, perm=None, conjugate=False, name=None):
    return Transpose(None if perm is None else tuple(int(p) for p in perm))(a)


def matrix_transpose(a, name=None):
    n = len(np.shape(value_of(a)))
    perm = tuple(builtins.range(n - 2)) + (n - 1, n - 2)
    return transpose(a, perm)


def expand_dims(input, axis, name=None):
    x_shape = list(np.shape(value_of(input)))
    axis = int(axis)
    if axis < 0:
        axis += len(x_shape) + 1
    if not 0 <= axis <= len(x_shape):
        raise ValueError(f"expand_dims: axis {axis} is out of range for a tensor of rank "
                         f"{len(x_shape)}")
    return reshape(input, x_shape[:axis] + [1] + x_shape[axis:])


def squeeze(input, axis=None, name=None):
    x_shape = np.shape(value_of(input))
    if axis is None:
        new = [d for d in x_shape if d != 1]
    else:
        axes = {a % len(x_shape) for a in np.atleast_1d(axis).tolist()}
        for a in axes:
            if x_shape[a] != 1:
                raise ValueError(f"squeeze: cannot squeeze axis {a} of size {x_shape[a]} "
                                 f"(shape {x_shape}); only axes of size 1")
        new = [d for i, d in enumerate(x_shape) if i not in axes]
    return reshape(input, new)


class BroadcastTo(Op):
    """y = x stretched to ``shape``;  ∂L/∂x = gy summed back (by the tape)"""
    name = "broadcast_to"

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        try:
            return np.broadcast_to(x, self.shape)
        except ValueError:
            raise ValueError(f"broadcast_to: a tensor of shape {np.shape(x)} cannot be "
                             f"broadcast to {self.shape}") from None

    def backward(self, gy):
        return gy  # the tape's sum_to reduces it to the input's shape


def broadcast_to(input, shape, name=None):
    shape = tuple(int(value_of(d)) for d in (shape if isinstance(shape, (list, tuple))
                                             else value_of(shape)))
    if tuple(np.shape(value_of(input))) == shape and isinstance(input, Tensor):
        return input
    return BroadcastTo(shape)(input)


class GetItem(Op):
    """y = x[index] (slices, integers, newaxis, ..., index arrays);
    ∂L/∂x = zeros of x's shape with gy added at index"""
    name = "getitem"

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        try:
            return np.asarray(np.asarray(x)[self.index])
        except IndexError as error:
            raise IndexError(f"tensor index {self.index!r} on shape {np.shape(x)}: "
                             f"{error}") from None

    def backward(self, gy):
        return ScatterAdd(self.index, self.inputs[0].shape)(gy)


class ScatterAdd(Op):
    """y = zeros(shape) with x added at index;  ∂L/∂x = gy[index]"""
    name = "scatter_add"

    def __init__(self, index, shape):
        self.index, self.shape = index, tuple(shape)

    def forward(self, g):
        out = np.zeros(self.shape, dtype=g.dtype)
        np.add.at(out, self.index, g)
        return out

    def backward(self, gy):
        return GetItem(self.index)(gy)


def _plain_index(index):
    if isinstance(index, tuple):
        return tuple(_plain_index(i) for i in index)
    if isinstance(index, builtins.slice):
        return builtins.slice(*(None if v is None else int(value_of(v))
                       for v in (index.start, index.stop, index.step)))
    if isinstance(index, Tensor) or hasattr(index, "assign"):
        return np.asarray(value_of(index))
    if isinstance(index, list):
        return np.asarray(index)
    return index


def getitem(x, index):
    return GetItem(_plain_index(index))(x)


def slice(input_, begin, size, name=None):  # noqa: A001 (TensorFlow's name)
    begin = [int(b) for b in np.atleast_1d(value_of(begin))]
    size = [int(s) for s in np.atleast_1d(value_of(size))]
    dims = np.shape(value_of(input_))
    index = tuple(builtins.slice(b, dims[i] if s == -1 else b + s)
                  for i, (b, s) in enumerate(zip(begin, size)))
    return getitem(input_, index)


class Concat(Op):
    """y = [x₁, x₂, …] joined along axis;  ∂L/∂xᵢ = gy's part of xᵢ's length"""
    name = "concat"

    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        xs = [np.asarray(x) for x in xs]
        ranks = {x.ndim for x in xs}
        if len(ranks) > 1:
            raise ValueError(f"concat: all tensors need the same rank; received shapes "
                             f"{[x.shape for x in xs]}")
        try:
            return np.concatenate(xs, axis=self.axis)
        except ValueError:
            raise ValueError(f"concat: shapes {[x.shape for x in xs]} differ outside axis "
                             f"{self.axis}") from None

    def backward(self, gy):
        sizes = [np.shape(value_of(x))[self.axis] for x in self.inputs]
        return tuple(split(gy, sizes, axis=self.axis))


def concat(values, axis, name=None):
    values = list(values)
    if len(values) == 1:
        return identity(values[0])
    return Concat(int(axis))(*values)


def stack(values, axis=0, name=None):
    values = list(values)
    shapes = {tuple(np.shape(value_of(v))) for v in values}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors need the same shape; received "
                         f"{sorted(shapes)}")
    return concat([expand_dims(v, axis) for v in values], axis)


def unstack(value, num=None, axis=0, name=None):
    n = np.shape(value_of(value))[axis]
    return [squeeze(part, axis) for part in split(value, n, axis=axis)] if n > 1 else \
        [squeeze(value, axis)]


class Split(Op):
    """(y₁, y₂, …) = x cut along axis at the given sizes;  ∂L/∂x = the gyᵢ joined"""
    name = "split"

    def __init__(self, sizes, axis):
        self.sizes, self.axis = sizes, axis

    def forward(self, x):
        cuts = np.cumsum(self.sizes)[:-1]
        return tuple(np.split(np.asarray(x), cuts, axis=self.axis))

    def backward(self, *gys):
        return concat(list(gys), self.axis)


def split(value, num_or_size_splits, axis=0, num=None, name=None):
    dims = np.shape(value_of(value))
    axis = int(axis) % len(dims)
    n = value_of(num_or_size_splits)
    if np.ndim(n) == 0:
        n = int(n)
        if dims[axis] % n:
            raise ValueError(f"split: axis {axis} of size {dims[axis]} cannot be split into "
                             f"{n} equal parts")
        sizes = [dims[axis] // n] * n
    else:
        sizes = [int(s) for s in n]
        if -1 in sizes:
            sizes[sizes.index(-1)] = dims[axis] - (builtins.sum(sizes) + 1)
        if builtins.sum(sizes) != dims[axis]:
            raise ValueError(f"split: sizes {sizes} do not add up to axis {axis}'s "
                             f"{dims[axis]}")
    if len(sizes) == 1:
        return [identity(value)]
    return list(Split(sizes, axis)(value))


class Tile(Op):
    """y = x repeated ``multiples`` times along each axis;  ∂L/∂x = Σ of gy's copies"""
    name = "tile"

    def __init__(self, multiples):
        self.multiples = multiples

    def forward(self, x):
        return np.tile(x, self.multiples)

    def backward(self, gy):
        from glassnet.ops.math_ops import reduce_sum
        x_shape = self.inputs[0].shape
        split_shape = []
        for m, d in zip(self.multiples, x_shape):
            split_shape += [m, d]
        g = reshape(gy, split_shape)
        return reduce_sum(g, axis=tuple(builtins.range(0, 2 * len(x_shape), 2)))


def tile(input, multiples, name=None):
    multiples = tuple(int(m) for m in np.atleast_1d(value_of(multiples)))
    if len(multiples) != len(np.shape(value_of(input))):
        raise ValueError(f"tile: multiples {list(multiples)} needs one entry per axis of a "
                         f"tensor of shape {np.shape(value_of(input))}")
    return Tile(multiples)(input)


class Pad(Op):
    """y = x with ``paddings`` [[before, after], …] of constant around it;
    ∂L/∂x = gy's middle"""
    name = "pad"

    def __init__(self, paddings, mode, value):
        self.paddings, self.mode, self.value = paddings, mode, value

    def forward(self, x):
        if self.mode == "constant":
            return np.pad(x, self.paddings, mode="constant", constant_values=self.value)
        return np.pad(x, self.paddings, mode={"reflect": "reflect",
                                              "symmetric": "symmetric"}[self.mode])

    def backward(self, gy):
        if self.mode != "constant":
            raise NotImplementedError(f"pad: the gradient of mode={self.mode!r} is not "
                                      f"implemented in glassnet (only 'CONSTANT')")
        index = tuple(builtins.slice(b, d + b) for (b, _), d in
                      zip(self.paddings, self.inputs[0].shape))
        return getitem(gy, index)


def pad(tensor, paddings, mode="CONSTANT", constant_values=0, name=None):
    mode = str(mode).lower()
    if mode not in ("constant", "reflect", "symmetric"):
        raise ValueError(f"pad: mode must be 'CONSTANT', 'REFLECT' or 'SYMMETRIC'; received "
                         f"{mode!r}")
    paddings = [tuple(int(v) for v in p) for p in np.asarray(value_of(paddings)).tolist()]
    return Pad(paddings, mode, constant_values)(tensor)


class Gather(Op):
    """y = x[indices] along axis;  ∂L/∂x = gy added back at indices"""
    name = "gather"

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x, indices):
        x = np.asarray(x)
        indices = np.asarray(indices)
        if indices.dtype.kind not in "iu":
            raise TypeError(f"gather: indices must be integers; received {indices.dtype}")
        if indices.size and (indices.max() >= x.shape[self.axis] or
                             indices.min() < -x.shape[self.axis]):
            raise IndexError(f"gather: indices must be in [0, {x.shape[self.axis]}) for axis "
                             f"{self.axis} of shape {x.shape}; received values from "
                             f"{indices.min()} to {indices.max()}")
        return np.take(x, indices, axis=self.axis)

    def backward(self, gy):
        x, indices = self.inputs
        index = (builtins.slice(None),) * self.axis + (np.asarray(value_of(indices)),)
        return ScatterAdd(index, x.shape)(gy), None


def gather(params, indices, validate_indices=None, axis=None, batch_dims=0, name=None):
    if batch_dims:
        raise NotImplementedError("tf.gather: batch_dims is not implemented in glassnet")
    axis = 0 if axis is None else int(axis) % len(np.shape(value_of(params)))
    return Gather(axis)(params, indices)


def gather_nd(params, indices, batch_dims=0, name=None):
    idx = np.asarray(value_of(indices))
    return getitem(params, tuple(np.moveaxis(idx, -1, 0)))


def boolean_mask(tensor, mask, axis=None, name=None):
    return getitem(tensor, np.asarray(value_of(mask), dtype=bool))


def reverse(tensor, axis, name=None):
    dims = len(np.shape(value_of(tensor)))
    index = [builtins.slice(None)] * dims
    for a in np.atleast_1d(axis).tolist():
        index[a] = builtins.slice(None, None, -1)
    return getitem(tensor, tuple(index))


def repeat(input, repeats, axis=None, name=None):
    if axis is None:
        input, axis = reshape(input, [-1]), 0
    n = np.shape(value_of(input))[axis]
    index = np.repeat(np.arange(n), value_of(repeats))
    return gather(input, index, axis=axis)


def convert_to_numpy(x):
    """keras.ops.convert_to_numpy: a NumPy array of the values."""
    return np.array(value_of(x), copy=True) if not np.isscalar(value_of(x)) else \
        np.asarray(value_of(x))


def as_array_tensor(x):
    return as_tensor(x)
