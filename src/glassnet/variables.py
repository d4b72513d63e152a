"""Variable: a named weight, what ``layer.kernel`` and ``model.weights`` hold.

A Variable is a handle on the array a layer computes with. It is live: its
values are the layer's values at every moment, ``v.assign(w)`` writes into
them, and it behaves like that array in NumPy (``x @ layer.kernel``,
``np.asarray(v)``, ``v.mean()``, ``v[0]``, ``v * 2``). Keras's attributes are
there: ``numpy()`` (a copy), ``assign``, ``shape``, ``dtype``, ``name``,
``path``, ``trainable``.

    >>> import numpy as np
    >>> v = Variable(np.zeros((2, 3), dtype=np.float32), name="kernel", path="dense/kernel")
    >>> v.assign(np.ones((2, 3))); float((np.arange(2) @ v).sum())
    <Variable path=dense/kernel, shape=(2, 3), dtype=float32, value=[[1. 1. 1.]
     [1. 1. 1.]]>
    3.0

Why a handle and not the array itself: a model keeps all trainable weights in
one contiguous vector so its optimizer updates them in a few passes
(``glassnet.engine``). When a model packs the weights into its vector, it
moves each Variable's values there (``_value`` becomes a view of the vector);
the Variable object, and any reference a user holds to it, stays the same.
``grad`` is the gradient array that backward fills (``layer.grad_kernel``).

A Variable is TensorFlow's ``tf.Variable`` too: ``tf.Variable(3.0)`` (a
float32 scalar), ``tf.Variable(initial_value, trainable=True, name=None,
dtype=None)``. Under a ``GradientTape`` every operation on a Variable is
recorded (``x @ layer.kernel`` stays on the tape) and a trainable Variable is
watched as soon as it is read. A Variable made by your own code
(``tf.Variable``) gives Tensors from its operators everywhere, as TensorFlow;
a layer's weight gives plain arrays outside a tape, which keeps the layers'
NumPy code as it is.
"""

from __future__ import annotations

import numpy as np

from glassnet import tape as _tape
from glassnet.tensor import _UFUNC_OPS, ArrayFace, Tensor  # one table of NumPy ufuncs → ops

__all__ = ["Variable"]


def _unwrap(value):
    if isinstance(value, Variable):
        return value._value
    if type(value).__name__ == "Tensor":
        return value._value
    if isinstance(value, tuple):
        return tuple(_unwrap(v) for v in value)
    return value


class Variable(ArrayFace):
    __hash__ = object.__hash__  # a weight is one object, whatever its values

    def __init__(self, initial_value=None, trainable=True, validate_shape=True,
                 caching_device=None, name=None, variable_def=None, dtype=None,
                 import_scope=None, constraint=None, synchronization=None, aggregation=None,
                 shape=None, path=None, regularizer=None, owner=None, value=None):
        if value is None:
            value = initial_value
        if value is None:
            raise ValueError("Variable: initial_value is required")
        if constraint is not None:
            raise NotImplementedError("tf.Variable: the argument constraint= is not "
                                      "implemented in glassnet")
        if callable(value) and not hasattr(value, "shape"):
            value = value()  # TensorFlow's initial_value may be a function
        if not isinstance(value, np.ndarray) or owner is None:
            from glassnet.tensor import as_dtype, to_array
            value = np.array(to_array(value, as_dtype(dtype, "tf.Variable")), copy=True)
        self._tensor_ops = owner is None  # tf.Variable: operators give Tensors
        name = name or ("Variable" if owner is None else "variable")
        if not isinstance(name, str):
            raise TypeError(f"Variable: name must be a string; received {name!r}")
        self._value = value
        self.name = name
        self.path = path or name
        self.trainable = bool(trainable)
        self.regularizer = regularizer
        self._owner = owner  # the layer, whose grad_<name> attribute is this grad
        self.grad = np.zeros_like(value) if trainable else None

    @property
    def grad(self):
        """The gradient array backward fills (``layer.grad_<name>`` is the same array)."""
        return self._grad

    @grad.setter
    def grad(self, value):
        self._grad = value
        if self._owner is not None and value is not None:
            self._owner.__dict__["grad_" + self.name] = value

    # ---------------------------------------------------------------- values
    @property
    def value(self):
        """The array itself (not a copy)."""
        return self._value


    def assign(self, value):
        value = np.asarray(_unwrap(value))
        if value.shape != self._value.shape:
            raise ValueError(f"Variable {self.path!r} has shape {self._value.shape}; cannot "
                             f"assign a value of shape {value.shape}")
        self._value[...] = value
        return self

    def assign_add(self, delta):
        self._value += _unwrap(delta)
        return self

    def assign_sub(self, delta):
        self._value -= _unwrap(delta)
        return self


    # ---------------------------------------------------------- NumPy protocol

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        # NumPy asks here whenever a Variable meets an array (x @ kernel, z += bias):
        # under a tape (or for a tf.Variable) the operators become recorded ops; else
        # compute with the arrays themselves. The common case first, kept short: a
        # layer's forward makes a few of these per step.
        if (_tape._active and not _tape._pause[0] or self._tensor_ops) and \
                method == "__call__" and not kwargs and ufunc.__name__ in _UFUNC_OPS:
            from glassnet.ops import math_ops
            return getattr(math_ops, _UFUNC_OPS[ufunc.__name__])(*inputs)
        if method == "__call__" and len(inputs) == 2:
            a, b = inputs
            if type(a) is Variable:
                a = a._value
            if type(b) is Variable:
                b = b._value
            if not kwargs:
                return ufunc(a, b)
            inputs = (a, b)
        else:
            inputs = [x._value if isinstance(x, Variable) else x for x in inputs]
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(o._value if isinstance(o, Variable) else o for o in out)
        if method == "__call__":
            return ufunc(*inputs, **kwargs)
        return getattr(ufunc, method)(*inputs, **kwargs)

    def read_value(self):
        """The current values as a Tensor (TensorFlow's ``read_value``)."""
        from glassnet.ops import array_ops
        return array_ops.identity(self)

    def value_tensor(self):
        return self.read_value()

    def __getattr__(self, name):  # reshape, T, sum, mean, copy, astype, ...
        if name.startswith("__") or name in ("_value", "_grad", "_owner", "_tensor_ops"):
            raise AttributeError(name)
        return getattr(self._value, name)

    def __getitem__(self, index):
        if _tape._active and not _tape._pause[0]:
            from glassnet.ops import array_ops
            return array_ops.getitem(self, index)
        if self._tensor_ops:  # tf.Variable: a Tensor that can assign into its slice
            return _VariableSlice(np.array(self._value[index]), self, index)
        return self._value[index]

    def __setitem__(self, index, value):
        self._value[index] = _unwrap(value)

    def __len__(self):
        return len(self._value)

    def __iter__(self):
        return iter(self._value)


    def __bool__(self):
        return bool(self._value)

    def __repr__(self):
        return (f"<Variable path={self.path}, shape={self._value.shape}, dtype={self.dtype}, "
                f"value={self._value}>")


def _binary(name, op=None, reflected=False):
    def method(self, other):
        if op is not None and (self._tensor_ops or _tape._active and not _tape._pause[0]):
            from glassnet.ops import math_ops
            function = getattr(math_ops, op)
            return function(other, self) if reflected else function(self, other)
        return getattr(self._value, name)(_unwrap(other))
    method.__name__ = name
    return method


def _unary(name, numpy_function):
    def method(self):
        if self._tensor_ops or _tape._active and not _tape._pause[0]:
            from glassnet.ops import math_ops
            return getattr(math_ops, name)(self)
        return numpy_function(self._value)
    return method


_OPERATOR_OPS = {"add": "add", "sub": "subtract", "mul": "multiply", "truediv": "divide",
                 "floordiv": "floordiv", "mod": "floormod", "pow": "pow", "matmul": "matmul",
                 "lt": "less", "le": "less_equal", "eq": None, "ne": None, "gt": "greater",
                 "ge": "greater_equal"}


def _in_place(name):
    def method(self, other):
        getattr(self._value, name)(_unwrap(other))
        return self
    method.__name__ = name
    return method


for _op in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul"):
    setattr(Variable, f"__{_op}__", _binary(f"__{_op}__", _OPERATOR_OPS[_op]))
    setattr(Variable, f"__r{_op}__", _binary(f"__r{_op}__", _OPERATOR_OPS[_op], True))
    setattr(Variable, f"__i{_op}__", _in_place(f"__i{_op}__"))
for _op in ("lt", "le", "eq", "ne", "gt", "ge"):
    setattr(Variable, f"__{_op}__", _binary(f"__{_op}__", _OPERATOR_OPS[_op]))
Variable.__neg__ = _unary("negative", np.negative)
Variable.__pos__ = lambda self: +self._value
Variable.__abs__ = _unary("abs", np.abs)


class _VariableSlice(Tensor):
    """``v[0, 0]`` of a tf.Variable: the values (a Tensor), and TensorFlow's
    ``v[0, 0].assign(3.)`` that writes into that part of the variable."""

    __slots__ = ("_variable", "_index")

    def __init__(self, value, variable, index):
        super().__init__(value)
        self._variable, self._index = variable, index

    def assign(self, value):
        value = np.asarray(_unwrap(value))
        try:
            np.broadcast_to(value, self._value.shape)
        except ValueError:
            raise ValueError(f"Variable {self._variable.path!r}[{self._index!r}] has shape "
                             f"{self._value.shape}; cannot assign a value of shape "
                             f"{value.shape}") from None
        self._variable._value[self._index] = value
        return self._variable

    def assign_add(self, delta):
        self._variable._value[self._index] += np.asarray(_unwrap(delta))
        return self._variable

    def assign_sub(self, delta):
        self._variable._value[self._index] -= np.asarray(_unwrap(delta))
        return self._variable
