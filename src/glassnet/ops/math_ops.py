"""Elementwise math, reductions and matmul: ``tf.math`` (and ``tf.*``).

Each op is its formula: the forward in NumPy and ∂L/∂x written with ops, so
it can be differentiated again. ``gy`` is ∂L/∂y, the gradient arriving from
above. Shapes broadcast as in NumPy; the tape sums broadcast gradients back.
"""

from __future__ import annotations

import math

import numpy as np

from glassnet.ops.function import Op, value_of
from glassnet.tensor import Tensor, as_dtype

# ---------------------------------------------------------------- binary


def _check_broadcast(name, a, b):
    sa, sb = np.shape(a), np.shape(b)
    try:
        np.broadcast_shapes(sa, sb)
    except ValueError:
        raise ValueError(f"{name}: incompatible shapes {sa} and {sb} (they must be equal, or "
                         f"1, or missing, axis by axis from the right)") from None


def _numeric(name, x):
    if isinstance(x, np.ndarray) and x.dtype.kind in "OUS":
        raise TypeError(f"{name}: expected numbers; received an array of {x.dtype}")
    return x


def _same_float(name, a, b):
    """TensorFlow refuses mixed dtypes; glassnet lets an integer tensor meet a
    float one (the float's dtype wins) and Python numbers take the tensor's
    dtype, as NumPy 2 does."""
    da = getattr(a, "dtype", None)
    db = getattr(b, "dtype", None)
    if da is not None and db is not None and da != db:
        if da.kind == "f" and db.kind in "iub":
            b = b.astype(da)
        elif db.kind == "f" and da.kind in "iub":
            a = a.astype(db)
    return a, b


class _Binary(Op):
    def forward(self, a, b):
        name = self.op_name
        _check_broadcast(name, a, b)
        a, b = _same_float(name, _numeric(name, a), _numeric(name, b))
        return self.compute(a, b)


class Add(_Binary):
    """y = a + b;  ∂L/∂a = gy,  ∂L/∂b = gy"""
    name = "add"

    def compute(self, a, b):
        return np.add(a, b)

    def backward(self, gy):
        return gy, gy


class Subtract(_Binary):
    """y = a - b;  ∂L/∂a = gy,  ∂L/∂b = -gy"""
    name = "subtract"

    def compute(self, a, b):
        return np.subtract(a, b)

    def backward(self, gy):
        return gy, negative(gy)


class Multiply(_Binary):
    """y = a · b;  ∂L/∂a = gy · b,  ∂L/∂b = gy · a"""
    name = "multiply"

    def compute(self, a, b):
        return np.multiply(a, b)

    def backward(self, gy):
        a, b = self.inputs
        return multiply(gy, b), multiply(gy, a)


class Divide(_Binary):
    """y = a / b;  ∂L/∂a = gy / b,  ∂L/∂b = -gy · a / b²"""
    name = "divide"

    def compute(self, a, b):
        y = np.true_divide(a, b)
        if np.result_type(a).kind in "iub" and np.result_type(b).kind in "iub":
            y = y.astype(np.float64 if np.result_type(a, b).itemsize >= 8 else np.float32)
        return y

    def backward(self, gy):
        a, b = self.inputs
        ga = divide(gy, b)
        return ga, negative(multiply(ga, divide(a, b)))


class Pow(_Binary):
    """y = aᵇ;  ∂L/∂a = gy · b · aᵇ⁻¹,  ∂L/∂b = gy · aᵇ · ln a (where a > 0)"""
    name = "pow"

    def compute(self, a, b):
        return np.power(a, b)

    def backward(self, gy):
        a, b = self.inputs
        y = self.outputs[0]
        ga = multiply(gy, multiply(b, pow(a, subtract(b, 1))))
        gb = None
        if isinstance(b, Tensor) or hasattr(b, "assign"):
            safe = where(greater(a, 0), a, ones_like(a))
            gb = multiply(gy, multiply(y, log(safe)))
        return ga, gb


class Maximum(_Binary):
    """y = max(a, b);  the gradient goes to the larger (to a on ties)"""
    name = "maximum"

    def compute(self, a, b):
        return np.maximum(a, b)

    def backward(self, gy):
        a, b = self.inputs
        pick = greater_equal(a, b)
        return where(pick, gy, zeros_like(gy)), where(pick, zeros_like(gy), gy)


class Minimum(_Binary):
    """y = min(a, b);  the gradient goes to the smaller (to a on ties)"""
    name = "minimum"

    def compute(self, a, b):
        return np.minimum(a, b)

    def backward(self, gy):
        a, b = self.inputs
        pick = less_equal(a, b)
        return where(pick, gy, zeros_like(gy)), where(pick, zeros_like(gy), gy)


class SquaredDifference(_Binary):
    """y = (a - b)²;  ∂L/∂a = 2·gy·(a - b) = -∂L/∂b"""
    name = "squared_difference"

    def compute(self, a, b):
        d = np.subtract(a, b)
        return d * d

    def backward(self, gy):
        a, b = self.inputs
        g = multiply(multiply(gy, 2.0), subtract(a, b))
        return g, negative(g)


class _NoGradBinary(_Binary):
    def backward(self, gy):
        return None, None


class FloorDiv(_NoGradBinary):
    """y = ⌊a / b⌋ (piecewise constant: no gradient)"""
    name = "floordiv"

    def compute(self, a, b):
        return np.floor_divide(a, b)


class FloorMod(_NoGradBinary):
    """y = a mod b (TensorFlow and Python's sign rule); no gradient"""
    name = "floormod"

    def compute(self, a, b):
        return np.mod(a, b)


def _compare(name, ufunc, doc):
    cls = type(name.title().replace("_", ""), (_NoGradBinary,),
               {"name": name, "compute": staticmethod(lambda a, b: ufunc(a, b)),
                "__doc__": doc})
    return cls


Equal = _compare("equal", np.equal, "y = (a == b), booleans; no gradient")
NotEqual = _compare("not_equal", np.not_equal, "y = (a != b); no gradient")
Less = _compare("less", np.less, "y = (a < b); no gradient")
LessEqual = _compare("less_equal", np.less_equal, "y = (a ≤ b); no gradient")
Greater = _compare("greater", np.greater, "y = (a > b); no gradient")
GreaterEqual = _compare("greater_equal", np.greater_equal, "y = (a ≥ b); no gradient")
LogicalAnd = _compare("logical_and", np.logical_and, "y = a ∧ b")
LogicalOr = _compare("logical_or", np.logical_or, "y = a ∨ b")
LogicalXor = _compare("logical_xor", np.logical_xor, "y = a ⊕ b")


def add(x, y, name=None):
    return Add()(x, y)


def subtract(x, y, name=None):
    return Subtract()(x, y)


def multiply(x, y, name=None):
    return Multiply()(x, y)


def divide(x, y, name=None):
    return Divide()(x, y)


def pow(x, y, name=None):
    return Pow()(x, y)


def maximum(x, y, name=None):
    return Maximum()(x, y)


def minimum(x, y, name=None):
    return Minimum()(x, y)


def squared_difference(x, y, name=None):
    return SquaredDifference()(x, y)


def floordiv(x, y, name=None):
    return FloorDiv()(x, y)


def floormod(x, y, name=None):
    return FloorMod()(x, y)


def equal(x, y, name=None):
    return Equal()(x, y)


def not_equal(x, y, name=None):
    return NotEqual()(x, y)


def less(x, y, name=None):
    return Less()(x, y)


def less_equal(x, y, name=None):
    return LessEqual()(x, y)


def greater(x, y, name=None):
    return Greater()(x, y)


def greater_equal(x, y, name=None):
    return GreaterEqual()(x, y)


def logical_and(x, y, name=None):
    return LogicalAnd()(x, y)


def logical_or(x, y, name=None):
    return LogicalOr()(x, y)


def logical_xor(x, y, name=None):
    return LogicalXor()(x, y)


truediv = divide
floor_div = floordiv
mod = floormod

# ---------------------------------------------------------------- unary


class _Unary(Op):
    def forward(self, x):
        _numeric(self.op_name, x)
        if np.result_type(x).kind in "iub" and self.floats:
            x = np.asarray(x, dtype=np.float32)
        return self.compute(np.asarray(x))

    floats = True  # integer inputs are computed in float32, as Keras's ops


class Negative(_Unary):
    """y = -x;  ∂L/∂x = -gy"""
    name, floats = "negative", False

    def compute(self, x):
        return np.negative(x)

    def backward(self, gy):
        return negative(gy)


class Abs(_Unary):
    """y = |x|;  ∂L/∂x = gy · sign(x)"""
    name, floats = "abs", False

    def compute(self, x):
        return np.abs(x)

    def backward(self, gy):
        return multiply(gy, sign(self.inputs[0]))


class Sign(_Unary):
    """y = sign(x) ∈ {-1, 0, 1}; no gradient (zero almost everywhere)"""
    name, floats = "sign", False

    def compute(self, x):
        return np.sign(x)

    def backward(self, gy):
        return zeros_like(gy)


class Square(_Unary):
    """y = x²;  ∂L/∂x = 2x · gy"""
    name, floats = "square", False

    def compute(self, x):
        return x * x

    def backward(self, gy):
        return multiply(gy, multiply(self.inputs[0], 2.0))


class Sqrt(_Unary):
    """y = √x;  ∂L/∂x = gy / (2√x) = gy / 2y"""
    name = "sqrt"

    def compute(self, x):
        return np.sqrt(x)

    def backward(self, gy):
        return divide(gy, multiply(self.outputs[0], 2.0))


class Rsqrt(_Unary):
    """y = 1/√x;  ∂L/∂x = -gy · y³ / 2"""
    name = "rsqrt"

    def compute(self, x):
        return 1 / np.sqrt(x)

    def backward(self, gy):
        y = self.outputs[0]
        return multiply(gy, multiply(pow(y, 3.0), -0.5))


class Reciprocal(_Unary):
    """y = 1/x;  ∂L/∂x = -gy · y²"""
    name = "reciprocal"

    def compute(self, x):
        return 1 / x

    def backward(self, gy):
        return negative(multiply(gy, square(self.outputs[0])))


class Exp(_Unary):
    """y = eˣ;  ∂L/∂x = gy · y"""
    name = "exp"

    def compute(self, x):
        return np.exp(x)

    def backward(self, gy):
        return multiply(gy, self.outputs[0])


class Expm1(_Unary):
    """y = eˣ - 1;  ∂L/∂x = gy · (y + 1)"""
    name = "expm1"

    def compute(self, x):
        return np.expm1(x)

    def backward(self, gy):
        return multiply(gy, add(self.outputs[0], 1.0))


class Log(_Unary):
    """y = ln x;  ∂L/∂x = gy / x"""
    name = "log"

    def compute(self, x):
        return np.log(x)

    def backward(self, gy):
        return divide(gy, self.inputs[0])


class Log1p(_Unary):
    """y = ln(1 + x);  ∂L/∂x = gy / (1 + x)"""
    name = "log1p"

    def compute(self, x):
        return np.log1p(x)

    def backward(self, gy):
        return divide(gy, add(self.inputs[0], 1.0))


class Sin(_Unary):
    """y = sin x;  ∂L/∂x = gy · cos x"""
    name = "sin"

    def compute(self, x):
        return np.sin(x)

    def backward(self, gy):
        return multiply(gy, cos(self.inputs[0]))


class Cos(_Unary):
    """y = cos x;  ∂L/∂x = -gy · sin x"""
    name = "cos"

    def compute(self, x):
        return np.cos(x)

    def backward(self, gy):
        return negative(multiply(gy, sin(self.inputs[0])))


class Tan(_Unary):
    """y = tan x;  ∂L/∂x = gy · (1 + y²)"""
    name = "tan"

    def compute(self, x):
        return np.tan(x)

    def backward(self, gy):
        return multiply(gy, add(square(self.outputs[0]), 1.0))


class Tanh(_Unary):
    """y = tanh x;  ∂L/∂x = gy · (1 - y²)"""
    name = "tanh"

    def compute(self, x):
        return np.tanh(x)

    def backward(self, gy):
        return multiply(gy, subtract(1.0, square(self.outputs[0])))


class Sigmoid(_Unary):
    """y = σ(x) = 1 / (1 + e⁻ˣ);  ∂L/∂x = gy · y(1 - y)"""
    name = "sigmoid"

    def compute(self, x):
        from glassnet.activations import sigmoid as stable_sigmoid
        return stable_sigmoid(x)

    def backward(self, gy):
        y = self.outputs[0]
        return multiply(gy, multiply(y, subtract(1.0, y)))


class Softplus(_Unary):
    """y = ln(1 + eˣ);  ∂L/∂x = gy · σ(x)"""
    name = "softplus"

    def compute(self, x):
        return np.logaddexp(0, x).astype(x.dtype, copy=False)

    def backward(self, gy):
        return multiply(gy, sigmoid(self.inputs[0]))


class Erf(_Unary):
    """y = erf x;  ∂L/∂x = gy · 2/√π · e^(-x²)"""
    name = "erf"

    def compute(self, x):
        from glassnet.activations import erfc
        return (1 - erfc(np.asarray(x, dtype=np.float64))).astype(x.dtype, copy=False)

    def backward(self, gy):
        x = self.inputs[0]
        return multiply(gy, multiply(exp(negative(square(x))), 2 / math.sqrt(math.pi)))


class _Piecewise(_Unary):
    floats = False

    def backward(self, gy):
        return zeros_like(gy)


class Floor(_Piecewise):
    """y = ⌊x⌋; zero gradient"""
    name = "floor"

    def compute(self, x):
        return np.floor(x)


class Ceil(_Piecewise):
    """y = ⌈x⌉; zero gradient"""
    name = "ceil"

    def compute(self, x):
        return np.ceil(x)


class Round(_Piecewise):
    """y = x rounded half to even (TensorFlow's and NumPy's rule); zero gradient"""
    name = "round"

    def compute(self, x):
        return np.round(x)


def negative(x, name=None):
    return Negative()(x)


def abs(x, name=None):
    return Abs()(x)


def sign(x, name=None):
    return Sign()(x)


def square(x, name=None):
    return Square()(x)


def sqrt(x, name=None):
    return Sqrt()(x)


def rsqrt(x, name=None):
    return Rsqrt()(x)


def reciprocal(x, name=None):
    return Reciprocal()(x)


def exp(x, name=None):
    return Exp()(x)


def expm1(x, name=None):
    return Expm1()(x)


def log(x, name=None):
    return Log()(x)


def log1p(x, name=None):
    return Log1p()(x)


def sin(x, name=None):
    return Sin()(x)


def cos(x, name=None):
    return Cos()(x)


def tan(x, name=None):
    return Tan()(x)


def tanh(x, name=None):
    return Tanh()(x)


def sigmoid(x, name=None):
    return Sigmoid()(x)


def softplus(features, name=None):
    return Softplus()(features)


def erf(x, name=None):
    return Erf()(x)


def floor(x, name=None):
    return Floor()(x)


def ceil(x, name=None):
    return Ceil()(x)


def round(x, name=None):
    return Round()(x)


def logical_not(x, name=None):
    return Tensor(np.logical_not(value_of(x)))


def is_nan(x, name=None):
    return Tensor(np.isnan(value_of(x)))


def is_inf(x, name=None):
    return Tensor(np.isinf(value_of(x)))


def is_finite(x, name=None):
    return Tensor(np.isfinite(value_of(x)))


# ---------------------------------------------------------------- where, clip, cast


class Where(Op):
    """y = cond ? a : b;  ∂L/∂a = gy where cond, ∂L/∂b = gy elsewhere"""
    name = "where"

    def forward(self, cond, a, b):
        _check_broadcast("where", a, b)
        a, b = _same_float("where", a, b)
        return np.where(cond, a, b)

    def backward(self, gy):
        cond = self.inputs[0]
        zero = zeros_like(gy)
        return None, where(cond, gy, zero), where(cond, zero, gy)


def where(condition, x=None, y=None, name=None):
    """``where(cond, x, y)``: x where cond holds, else y; ``where(cond)``: the
    coordinates where it holds, shape (n, rank), as TensorFlow."""
    if x is None and y is None:
        return Tensor(np.argwhere(value_of(condition)).astype(np.int64))
    if x is None or y is None:
        raise ValueError("tf.where: give both x and y, or neither")
    return Where()(condition, x, y)


class ClipByValue(Op):
    """y = min(max(x, lo), hi);  ∂L/∂x = gy where lo ≤ x ≤ hi, else 0"""
    name = "clip_by_value"

    def forward(self, x, lo, hi):
        return np.clip(x, lo, hi).astype(np.result_type(x), copy=False)

    def backward(self, gy):
        x, lo, hi = self.inputs
        inside = logical_and(greater_equal(x, lo), less_equal(x, hi))
        return where(inside, gy, zeros_like(gy)), None, None


def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    return ClipByValue()(t, clip_value_min, clip_value_max)


class Cast(Op):
    """y = x in another dtype;  ∂L/∂x = gy cast back (none to or from integers)"""
    name = "cast"

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        return np.asarray(x).astype(self.dtype)

    def backward(self, gy):
        x = self.inputs[0]
        if np.dtype(x.dtype).kind not in "fc" or self.dtype.kind not in "fc":
            return None
        return cast(gy, x.dtype)


def cast(x, dtype, name=None):
    dtype = as_dtype(dtype, "tf.cast")
    if getattr(x, "dtype", None) == dtype and isinstance(x, Tensor):
        return x
    return Cast(dtype)(x)


def saturate_cast(value, dtype, name=None):
    dtype = as_dtype(dtype, "tf.saturate_cast")
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        value = clip_by_value(value, info.min, info.max)
    return cast(value, dtype)


# ---------------------------------------------------------------- reductions


def _axes(axis, ndim, name):
    if axis is None:
        return None
    axes = tuple(int(value_of(a)) for a in np.atleast_1d(value_of(axis)))
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"{name}: axis {a} is out of range for a tensor of rank {ndim} "
                             f"(valid: {-ndim} to {ndim - 1})")
    return tuple(a % ndim for a in axes) if ndim else axes


def _keep(gy, x_shape, axes, keepdims):
    """gy reshaped so that it broadcasts against x (the reduced axes as 1)."""
    from glassnet.ops.array_ops import reshape
    if keepdims or axes is None and gy.ndim == len(x_shape):
        return gy
    shape = [1 if axes is None or i in axes else d for i, d in enumerate(x_shape)]
    return reshape(gy, shape)


class _Reduce(Op):
    def __init__(self, axis, keepdims):
        self.axis, self.keepdims = axis, bool(keepdims)

    def forward(self, x):
        x = np.asarray(_numeric(self.op_name, x))
        self.axes = _axes(self.axis, x.ndim, self.op_name)
        return self.compute(x, self.axes)


class ReduceSum(_Reduce):
    """y = Σ x over axis;  ∂L/∂x = gy broadcast over the summed axes"""
    name = "reduce_sum"

    def compute(self, x, axes):
        dtype = np.int32 if x.dtype == np.bool_ else x.dtype  # TensorFlow keeps the dtype
        return np.sum(x, axis=axes, keepdims=self.keepdims, dtype=dtype)

    def backward(self, gy):
        from glassnet.ops.array_ops import broadcast_to
        x = self.inputs[0]
        return broadcast_to(_keep(gy, x.shape, self.axes, self.keepdims), x.shape)


class ReduceMean(_Reduce):
    """y = (1/n) Σ x over axis;  ∂L/∂x = gy / n, broadcast"""
    name = "reduce_mean"

    def compute(self, x, axes):
        y = np.mean(x, axis=axes, keepdims=self.keepdims)
        return y.astype(x.dtype) if x.dtype.kind in "iu" else y

    def backward(self, gy):
        from glassnet.ops.array_ops import broadcast_to
        x = self.inputs[0]
        n = np.prod(x.shape) / max(np.prod(self.outputs[0].shape), 1)
        g = broadcast_to(_keep(gy, x.shape, self.axes, self.keepdims), x.shape)
        return divide(g, np.asarray(n, dtype=g.dtype))


class _ReduceExtreme(_Reduce):
    """∂L/∂x = gy at the extreme elements (shared equally among ties)"""

    def backward(self, gy):
        from glassnet.ops.array_ops import broadcast_to
        x = self.inputs[0]
        y = _keep(self.outputs[0], x.shape, self.axes, self.keepdims)
        hit = cast(equal(x, y), gy.dtype)
        count = reduce_sum(hit, axis=self.axes, keepdims=True)
        g = broadcast_to(_keep(gy, x.shape, self.axes, self.keepdims), x.shape)
        return divide(multiply(g, hit), count)


class ReduceMax(_ReduceExtreme):
    """y = max x over axis"""
    name = "reduce_max"

    def compute(self, x, axes):
        return np.max(x, axis=axes, keepdims=self.keepdims)


class ReduceMin(_ReduceExtreme):
    """y = min x over axis"""
    name = "reduce_min"

    def compute(self, x, axes):
        return np.min(x, axis=axes, keepdims=self.keepdims)


class ReduceProd(_Reduce):
    """y = Π x over axis;  ∂L/∂x = gy · y / x (x ≠ 0)"""
    name = "reduce_prod"

    def compute(self, x, axes):
        return np.prod(x, axis=axes, keepdims=self.keepdims)

    def backward(self, gy):
        from glassnet.ops.array_ops import broadcast_to
        x = self.inputs[0]
        y = _keep(self.outputs[0], x.shape, self.axes, self.keepdims)
        g = broadcast_to(_keep(gy, x.shape, self.axes, self.keepdims), x.shape)
        return multiply(g, divide(y, x))


class ReduceLogSumExp(_Reduce):
    """y = ln Σ eˣ (computed as m + ln Σ e^(x-m));  ∂L/∂x = gy · softmax(x)"""
    name = "reduce_logsumexp"

    def compute(self, x, axes):
        m = np.max(x, axis=axes, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        y = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
        return y if self.keepdims else np.squeeze(y, axis=axes)

    def backward(self, gy):
        from glassnet.ops.array_ops import broadcast_to
        x = self.inputs[0]
        y = _keep(self.outputs[0], x.shape, self.axes, self.keepdims)
        g = broadcast_to(_keep(gy, x.shape, self.axes, self.keepdims), x.shape)
        return multiply(g, exp(subtract(x, y)))


def reduce_sum(input_tensor, axis=None, keepdims=False, name=None):
    return ReduceSum(axis, keepdims)(input_tensor)


def reduce_mean(input_tensor, axis=None, keepdims=False, name=None):
    return ReduceMean(axis, keepdims)(input_tensor)


def reduce_max(input_tensor, axis=None, keepdims=False, name=None):
    return ReduceMax(axis, keepdims)(input_tensor)


def reduce_min(input_tensor, axis=None, keepdims=False, name=None):
    return ReduceMin(axis, keepdims)(input_tensor)


def reduce_prod(input_tensor, axis=None, keepdims=False, name=None):
    return ReduceProd(axis, keepdims)(input_tensor)


def reduce_logsumexp(input_tensor, axis=None, keepdims=False, name=None):
    return ReduceLogSumExp(axis, keepdims)(input_tensor)


def reduce_variance(input_tensor, axis=None, keepdims=False, name=None):
    """Var x = mean((x - mean x)²) over axis."""
    mean = reduce_mean(input_tensor, axis=axis, keepdims=True)
    return reduce_mean(squared_difference(input_tensor, mean), axis=axis, keepdims=keepdims)


def reduce_std(input_tensor, axis=None, keepdims=False, name=None):
    return sqrt(reduce_variance(input_tensor, axis=axis, keepdims=keepdims))


def reduce_all(input_tensor, axis=None, keepdims=False, name=None):
    x = value_of(input_tensor)
    return Tensor(np.all(x, axis=_axes(axis, np.ndim(x), "reduce_all"), keepdims=keepdims))


def reduce_any(input_tensor, axis=None, keepdims=False, name=None):
    x = value_of(input_tensor)
    return Tensor(np.any(x, axis=_axes(axis, np.ndim(x), "reduce_any"), keepdims=keepdims))


def count_nonzero(input, axis=None, keepdims=False, dtype="int64", name=None):
    x = value_of(input)
    return Tensor(np.asarray(np.count_nonzero(x, axis=_axes(axis, np.ndim(x), "count_nonzero"),
                                              keepdims=keepdims), dtype=as_dtype(dtype)))


def argmax(input, axis=None, output_type="int64", name=None):
    """The index of the largest value along ``axis`` (TensorFlow's default axis 0)."""
    x = value_of(input)
    axis = 0 if axis is None else int(value_of(axis))
    return Tensor(np.argmax(x, axis=axis).astype(as_dtype(output_type)))


def argmin(input, axis=None, output_type="int64", name=None):
    x = value_of(input)
    axis = 0 if axis is None else int(value_of(axis))
    return Tensor(np.argmin(x, axis=axis).astype(as_dtype(output_type)))


class AddN(Op):
    """y = Σᵢ xᵢ;  ∂L/∂xᵢ = gy for each"""
    name = "add_n"

    def forward(self, *xs):
        total = np.array(xs[0], copy=True)
        for x in xs[1:]:
            total = total + x
        return total

    def backward(self, gy):
        return (gy,) * len(self.inputs)


def add_n(inputs, name=None):
    return AddN()(*inputs)


class Cumsum(Op):
    """yᵢ = Σ_{j≤i} xⱼ along axis;  ∂L/∂x = reverse cumulative sum of gy"""
    name = "cumsum"

    def __init__(self, axis, reverse):
        self.axis, self.reverse = axis, reverse

    def forward(self, x):
        x = np.asarray(x)
        if self.reverse:
            return np.flip(np.cumsum(np.flip(x, self.axis), axis=self.axis), self.axis)
        return np.cumsum(x, axis=self.axis)

    def backward(self, gy):
        return Cumsum(self.axis, not self.reverse)(gy)


def cumsum(x, axis=0, exclusive=False, reverse=False, name=None):
    if exclusive:
        raise NotImplementedError("tf.math.cumsum: exclusive=True is not implemented in "
                                  "glassnet")
    return Cumsum(int(axis), bool(reverse))(x)


# ---------------------------------------------------------------- matmul


class MatMul(Op):
    """Y = A @ B (batched over leading axes);  ∂L/∂A = gY @ Bᵀ,  ∂L/∂B = Aᵀ @ gY"""
    name = "matmul"

    def __init__(self, transpose_a=False, transpose_b=False):
        self.ta, self.tb = transpose_a, transpose_b

    def forward(self, a, b):
        a, b = np.asarray(a), np.asarray(b)
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: both operands need at least one axis; received shapes "
                             f"{a.shape} and {b.shape}")
        if self.ta:
            a = np.swapaxes(a, -1, -2)
        if self.tb:
            b = np.swapaxes(b, -1, -2)
        inner_a = a.shape[-1]
        inner_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
        if inner_a != inner_b:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not fit: the last "
                             f"axis of the first ({inner_a}) must equal the "
                             f"{'second-to-last' if b.ndim > 1 else 'only'} axis of the "
                             f"second ({inner_b})")
        a, b = _same_float("matmul", a, b)
        return np.matmul(a, b)

    def backward(self, gy):
        from glassnet.ops.array_ops import expand_dims, matrix_transpose, squeeze
        a, b = self.inputs
        a_t = a if not self.ta else matrix_transpose(a)
        b_t = b if not self.tb else matrix_transpose(b)
        vec_a, vec_b = len(a.shape) == 1, len(b.shape) == 1
        if vec_a:
            a_t = expand_dims(a_t, 0)
            gy = expand_dims(gy, -2)
        if vec_b:
            b_t = expand_dims(b_t, -1)
            gy = expand_dims(gy, -1)
        ga = matmul(gy, matrix_transpose(b_t))
        gb = matmul(matrix_transpose(a_t), gy)
        if vec_a:
            ga = squeeze(ga, -2)
        if vec_b:
            gb = squeeze(gb, -1)
        if self.ta:
            ga = matrix_transpose(ga)
        if self.tb:
            gb = matrix_transpose(gb)
        return ga, gb


def matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False,
           a_is_sparse=False, b_is_sparse=False, output_type=None, name=None):
    return MatMul(bool(transpose_a or adjoint_a), bool(transpose_b or adjoint_b))(a, b)


def scalar_mul(scalar, x, name=None):
    return multiply(scalar, x)


def divide_no_nan(x, y, name=None):
    """x / y, and 0 where y is 0."""
    safe = where(equal(y, 0), ones_like(y), y)
    return where(equal(y, 0), zeros_like(divide(x, safe)), divide(x, safe))


def multiply_no_nan(x, y, name=None):
    """x · y, and 0 where y is 0 (even if x is inf or nan)."""
    prod = multiply(where(equal(y, 0), zeros_like(x), x), y)
    return prod


def zeros_like(x, dtype=None, name=None):
    from glassnet.ops.array_ops import zeros_like as _zeros_like
    return _zeros_like(x, dtype)


def ones_like(x, dtype=None, name=None):
    from glassnet.ops.array_ops import ones_like as _ones_like
    return _ones_like(x, dtype)
