"""``Tensor``: an array that a ``GradientTape`` can follow.

A Tensor is a NumPy array with TensorFlow's face: ``.numpy()``, ``.shape``,
``.dtype``, indexing, ``+ - * / @ **``, and ``__array__``, so NumPy,
matplotlib and ``np.argmax`` take it as an array. It is immutable: every
operation makes a new Tensor (``glassnet.ops``), and under a tape each one is
recorded. Calling a layer or a model on data returns one.

    >>> import glassnet as tf
    >>> x = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    >>> (x @ x + 1).numpy()
    array([[ 8., 11.],
           [16., 23.]], dtype=float32)
    >>> x.shape, x.dtype
    (TensorShape([2, 2]), dtype('float32'))

TensorFlow's dtype rule for new tensors: Python floats become float32 and
Python ints int32; NumPy arrays keep their dtype.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ArrayFace", "Tensor", "TensorShape", "constant", "convert_to_tensor", "newaxis", "DTYPES"]

newaxis = None

DTYPES = {name: np.dtype(name) for name in (
    "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16",
    "uint32", "uint64", "bool", "complex64", "complex128")}
DTYPES["bfloat16"] = np.dtype("float32")  # no bfloat16 in NumPy: computed in float32
DTYPES["string"] = np.dtype(object)
DTYPES["half"] = DTYPES["float16"]
DTYPES["double"] = DTYPES["float64"]


_TF_ENUM = {1: "float32", 2: "float64", 3: "int32", 4: "uint8", 5: "int16", 6: "int8",
            7: "string", 8: "complex64", 9: "int64", 10: "bool", 14: "bfloat16",
            17: "uint16", 18: "complex128", 19: "float16", 22: "uint32", 23: "uint64"}


def as_dtype(dtype, what="dtype"):
    """A NumPy dtype from a name (``"float32"``), ``tf.float32`` or a NumPy type."""
    if dtype is None:
        return None
    if isinstance(dtype, str) and dtype in DTYPES:
        return DTYPES[dtype]
    if isinstance(dtype, (int, np.integer)) and not isinstance(dtype, bool):
        if int(dtype) in _TF_ENUM:  # TensorFlow's DataType numbers: tf.zeros(1, 1) is float32
            return DTYPES[_TF_ENUM[int(dtype)]]
        raise TypeError(f"{what}: {dtype!r} is not one of TensorFlow's DataType numbers "
                        f"({', '.join(f'{k}={v}' for k, v in sorted(_TF_ENUM.items()))})")
    try:
        return np.dtype(getattr(dtype, "as_numpy_dtype", dtype))
    except TypeError:
        raise TypeError(f"{what}: {dtype!r} is not a dtype; valid: "
                        f"{', '.join(sorted(DTYPES))}") from None


class TensorShape(tuple):
    """A shape: a tuple of ints (None where unknown), with TensorFlow's
    ``as_list()`` and ``rank``."""

    def as_list(self):
        return list(self)

    @property
    def rank(self):
        return len(self)

    ndims = rank

    def num_elements(self):
        return int(np.prod(self)) if all(d is not None for d in self) else None

    def __getitem__(self, index):
        item = tuple.__getitem__(self, index)
        return TensorShape(item) if isinstance(index, slice) else item

    def __repr__(self):
        return f"TensorShape({list(self)})"

    def __str__(self):  # as TensorFlow's: "(4, 16)", so messages read as before
        return str(tuple(self))


def _default_dtype(value):
    """TensorFlow's dtype for a Python value: floats float32, ints int32."""
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        return value.dtype
    array = np.asarray(value)
    if array.dtype == np.float64:
        return np.dtype(np.float32)
    if array.dtype == np.int64:
        return np.dtype(np.int32)
    return array.dtype


def to_array(value, dtype=None):
    """The NumPy array behind a value (a Tensor, a Variable, an array, a
    number, nested lists), in TensorFlow's default dtype when none is given."""
    from glassnet.variables import Variable

    if isinstance(value, Tensor):
        array = value._value
    elif isinstance(value, Variable):
        array = value._value
    else:
        if isinstance(value, (list, tuple)) and any(isinstance(v, (Tensor, Variable))
                                                    for v in value):
            value = [to_array(v) for v in value]
        if dtype is None:
            dtype = _default_dtype(value)
        return np.asarray(value, dtype=dtype)
    if dtype is not None and array.dtype != dtype:
        return array.astype(dtype)
    return array


class ArrayFace:
    """What a Tensor and a Variable share: an array ``_value`` behind
    ``numpy()``, ``__array__``, ``shape``, ``dtype``, ``ndim``, ``size``."""

    __slots__ = ()
    __array_priority__ = 100  # ndarray + Tensor asks the Tensor first

    def numpy(self):
        """The values as a NumPy array (a copy)."""
        return self._value.copy()

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and np.dtype(dtype) != self._value.dtype:
            return self._value.astype(dtype)
        return self._value.copy() if copy else self._value

    @property
    def shape(self):
        return TensorShape(self._value.shape)

    def get_shape(self):
        return self.shape

    @property
    def dtype(self):
        return self._value.dtype

    @property
    def ndim(self):
        return self._value.ndim

    @property
    def size(self):
        return self._value.size

    def __float__(self):
        return float(self._value)

    def __int__(self):
        return int(self._value)


class Tensor(ArrayFace):
    """An immutable NumPy array that tapes can record (see the module's doc)."""

    __slots__ = ("_value", "__weakref__")

    def __init__(self, value, dtype=None):
        self._value = value if isinstance(value, np.ndarray) and dtype is None else \
            to_array(value, as_dtype(dtype))

    # ------------------------------------------------------------ arrays

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        # ndarray ⊕ Tensor (and np.add(a, t)): the operators stay tensors; other NumPy
        # functions compute on the arrays and return arrays (they leave the tape).
        if method == "__call__" and not kwargs and ufunc.__name__ in _UFUNC_OPS:
            from glassnet.ops import math_ops
            return getattr(math_ops, _UFUNC_OPS[ufunc.__name__])(*inputs)
        inputs = [x._value if isinstance(x, Tensor) else x for x in inputs]
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(o._value if isinstance(o, Tensor) else o for o in out)
        return getattr(ufunc, method)(*inputs, **kwargs) if method != "__call__" else \
            ufunc(*inputs, **kwargs)

    @property
    def T(self):
        from glassnet.ops import array_ops
        return array_ops.transpose(self)

    def __len__(self):
        if self._value.ndim == 0:
            raise TypeError("len() of a scalar (0-d) Tensor")
        return len(self._value)

    def __iter__(self):
        if self._value.ndim == 0:
            raise TypeError("iteration over a scalar (0-d) Tensor")
        from glassnet.ops import array_ops
        for i in range(len(self._value)):
            yield array_ops.getitem(self, i)

    def __getitem__(self, index):
        from glassnet.ops import array_ops
        return array_ops.getitem(self, index)

    def __setitem__(self, index, value):
        raise TypeError("'Tensor' object does not support item assignment (tensors are "
                        "immutable; use a tf.Variable, or tf.tensor_scatter_nd_update / "
                        "tf.where to make a new tensor)")

    def __round__(self, ndigits=None):
        return round(self._value.item(), ndigits)

    def __index__(self):
        if self._value.dtype.kind not in "iu" or self._value.ndim:
            raise TypeError(f"only integer scalar tensors can be used as an index; this one "
                            f"is {self._value.dtype.name} of shape {self._value.shape}")
        return int(self._value)

    def __bool__(self):
        if self._value.size != 1:
            raise ValueError(f"The truth value of a Tensor with {self._value.size} elements "
                             f"is ambiguous (use tf.reduce_any or tf.reduce_all)")
        return bool(self._value)

    def __hash__(self):
        return id(self)

    def __repr__(self):
        body = np.array2string(self._value, separator=", ", prefix="tf.Tensor(")
        return f"<tf.Tensor: shape={tuple(self._value.shape)}, dtype={self.dtype.name}, " \
               f"numpy={body}>"

    def __str__(self):
        value = self._value[()] if self._value.ndim == 0 else self._value  # float32 digits
        return f"tf.Tensor({str(value)}, shape={tuple(self._value.shape)}, " \
               f"dtype={self.dtype.name})"

    def __format__(self, spec):
        if spec and self._value.ndim == 0:
            return format(self._value.item(), spec)
        return str(self) if not spec else format(self._value, spec)

    # ------------------------------------------------------------ methods
    def reshape(self, *shape):
        from glassnet.ops import array_ops
        return array_ops.reshape(self, shape[0] if len(shape) == 1 else shape)

    def astype(self, dtype):
        from glassnet.ops import math_ops
        return math_ops.cast(self, dtype)

    # NumPy's reductions, as methods (code written for arrays keeps working, on the tape;
    # np.mean(t) calls t.mean(axis, dtype=None, out=None): NumPy's own arguments given a
    # value compute on the values, as NumPy would, and leave the tape)
    def _reduce(self, name, op, axis, keepdims, extra):
        if any(v is not None for v in extra.values()):
            return getattr(self._value, name)(axis=axis, keepdims=keepdims, **extra)
        from glassnet.ops import math_ops
        return getattr(math_ops, op)(self, axis, keepdims)

    def sum(self, axis=None, dtype=None, out=None, keepdims=False, **extra):
        return self._reduce("sum", "reduce_sum", axis, keepdims, dict(dtype=dtype, out=out,
                                                                       **extra))

    def mean(self, axis=None, dtype=None, out=None, keepdims=False, **extra):
        return self._reduce("mean", "reduce_mean", axis, keepdims, dict(dtype=dtype, out=out,
                                                                         **extra))

    def max(self, axis=None, out=None, keepdims=False, **extra):
        return self._reduce("max", "reduce_max", axis, keepdims, dict(out=out, **extra))

    def min(self, axis=None, out=None, keepdims=False, **extra):
        return self._reduce("min", "reduce_min", axis, keepdims, dict(out=out, **extra))

    def __getattr__(self, name):
        # the other NumPy array methods (copy, tolist, item, argmax, ...): computed on
        # the values, as NumPy would; they leave the tape
        if name.startswith("_") or not hasattr(np.ndarray, name):
            raise AttributeError(f"'Tensor' object has no attribute {name!r}")
        return getattr(self._value, name)


_UFUNC_OPS = {"add": "add", "subtract": "subtract", "multiply": "multiply",
              "true_divide": "divide", "divide": "divide", "matmul": "matmul",
              "power": "pow", "negative": "negative", "floor_divide": "floordiv",
              "remainder": "floormod", "less": "less", "less_equal": "less_equal",
              "greater": "greater", "greater_equal": "greater_equal", "equal": "equal",
              "not_equal": "not_equal"}


def _binary(op_name, reflected=False):
    def method(self, other):
        from glassnet.ops import math_ops
        op = getattr(math_ops, op_name)
        return op(other, self) if reflected else op(self, other)
    method.__name__ = f"__{'r' if reflected else ''}{op_name}__"
    return method


for _name, _op in (("add", "add"), ("sub", "subtract"), ("mul", "multiply"),
                   ("truediv", "divide"), ("floordiv", "floordiv"), ("mod", "floormod"),
                   ("pow", "pow"), ("matmul", "matmul")):
    setattr(Tensor, f"__{_name}__", _binary(_op))
    setattr(Tensor, f"__r{_name}__", _binary(_op, reflected=True))
for _name, _op in (("lt", "less"), ("le", "less_equal"), ("gt", "greater"),
                   ("ge", "greater_equal"), ("and", "logical_and"), ("or", "logical_or"),
                   ("xor", "logical_xor")):
    setattr(Tensor, f"__{_name}__", _binary(_op))
for _name in ("and", "or", "xor"):
    setattr(Tensor, f"__r{_name}__", _binary(f"logical_{_name}", reflected=True))


def _comparable(other):
    from glassnet.variables import Variable
    return isinstance(other, (Tensor, Variable, np.ndarray, np.generic, int, float, bool,
                              complex, list, tuple))


def _eq(self, other):
    if not _comparable(other):  # None, pytest.approx(...): Python asks the other side
        return NotImplemented
    from glassnet.ops import math_ops
    return math_ops.equal(self, other)


def _ne(self, other):
    if not _comparable(other):
        return NotImplemented
    from glassnet.ops import math_ops
    return math_ops.not_equal(self, other)


def _unary(name):
    def method(self):
        from glassnet.ops import math_ops
        return getattr(math_ops, name)(self)
    return method


Tensor.__eq__ = _eq
Tensor.__ne__ = _ne
Tensor.__hash__ = lambda self: id(self)
Tensor.__neg__ = _unary("negative")
Tensor.__pos__ = lambda self: self
Tensor.__abs__ = _unary("abs")
Tensor.__invert__ = _unary("logical_not")


def constant(value, dtype=None, shape=None, name=None):
    """A new Tensor of ``value`` (TensorFlow's ``tf.constant``): Python floats
    become float32, ints int32; ``shape`` broadcasts a scalar or reshapes."""
    array = np.array(to_array(value, as_dtype(dtype, "tf.constant")), copy=True)
    if shape is not None:
        shape = tuple(shape)
        if array.size == 1:
            array = np.full(shape, array.reshape(()), dtype=array.dtype)
        elif array.size == int(np.prod(shape)):
            array = array.reshape(shape)
        else:
            raise TypeError(f"tf.constant: a value of {array.size} elements cannot have "
                            f"shape {shape}")
    return Tensor(array)


def convert_to_tensor(value, dtype=None, dtype_hint=None, name=None):
    """``value`` as a Tensor (itself if it is one already)."""
    from glassnet.variables import Variable

    dtype = as_dtype(dtype, "tf.convert_to_tensor")
    if isinstance(value, Tensor) and (dtype is None or value.dtype == dtype):
        return value
    if isinstance(value, Variable) and (dtype is None or value.dtype == dtype):
        from glassnet.ops import array_ops
        return array_ops.identity(value)
    if dtype is None and dtype_hint is not None and not isinstance(value, np.ndarray):
        dtype = as_dtype(dtype_hint)
    if isinstance(value, (Tensor, Variable)):
        if value.dtype.kind in "iub" and dtype.kind == "f" or value.dtype == dtype:
            from glassnet.ops import math_ops
            return math_ops.cast(value, dtype)
        raise TypeError(f"tf.convert_to_tensor: a {value.dtype.name} tensor cannot be "
                        f"converted to {dtype.name} (use tf.cast)")
    return Tensor(to_array(value, dtype))
