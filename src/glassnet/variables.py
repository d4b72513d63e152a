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
"""

from __future__ import annotations

import numpy as np

__all__ = ["Variable"]


def _unwrap(value):
    if isinstance(value, Variable):
        return value._value
    if isinstance(value, tuple):
        return tuple(_unwrap(v) for v in value)
    return value


class Variable:
    __hash__ = object.__hash__  # a weight is one object, whatever its values

    def __init__(self, value, name="variable", trainable=True, path=None, regularizer=None,
                 owner=None):
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

    def numpy(self):
        return self._value.copy()

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

    @property
    def shape(self):
        return self._value.shape

    @property
    def dtype(self):
        return self._value.dtype

    @property
    def ndim(self):
        return self._value.ndim

    @property
    def size(self):
        return self._value.size

    # ---------------------------------------------------------- NumPy protocol
    def __array__(self, dtype=None, copy=None):
        if dtype is not None and np.dtype(dtype) != self._value.dtype:
            return self._value.astype(dtype)
        return self._value.copy() if copy else self._value

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        # NumPy asks here whenever a Variable meets an array (x @ kernel, z += bias):
        # compute with the arrays themselves. The common case first, kept short: a
        # layer's forward makes a few of these per step.
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

    def __getattr__(self, name):  # reshape, T, sum, mean, copy, astype, ...
        if name.startswith("__") or name in ("_value", "_grad", "_owner"):
            raise AttributeError(name)
        return getattr(self._value, name)

    def __getitem__(self, index):
        return self._value[index]

    def __setitem__(self, index, value):
        self._value[index] = _unwrap(value)

    def __len__(self):
        return len(self._value)

    def __iter__(self):
        return iter(self._value)

    def __float__(self):
        return float(self._value)

    def __int__(self):
        return int(self._value)

    def __bool__(self):
        return bool(self._value)

    def __repr__(self):
        return (f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}, "
                f"value={self._value}>")


def _binary(name):
    def method(self, other):
        return getattr(self._value, name)(_unwrap(other))
    method.__name__ = name
    return method


def _in_place(name):
    def method(self, other):
        getattr(self._value, name)(_unwrap(other))
        return self
    method.__name__ = name
    return method


for _op in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul"):
    setattr(Variable, f"__{_op}__", _binary(f"__{_op}__"))
    setattr(Variable, f"__r{_op}__", _binary(f"__r{_op}__"))
    setattr(Variable, f"__i{_op}__", _in_place(f"__i{_op}__"))
for _op in ("lt", "le", "eq", "ne", "gt", "ge"):
    setattr(Variable, f"__{_op}__", _binary(f"__{_op}__"))
Variable.__neg__ = lambda self: -self._value
Variable.__pos__ = lambda self: +self._value
Variable.__abs__ = lambda self: abs(self._value)
