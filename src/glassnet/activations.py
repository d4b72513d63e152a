"""Activation functions and their derivatives.

A node computes ``z = x @ w + b`` and then ``a = f(z)``; ``f`` is the
activation function. Each function here is the formula in its docstring,
written so that it stays exact at the extremes: ``sigmoid(-1000)`` is 0,
``softmax([1000, 1000])`` is ``[0.5, 0.5]``, and no finite input raises a
floating-point warning.

Every function takes a Python number, a list, a tuple or a NumPy array and
returns an ndarray of the same shape (0-d for a number). float32 stays
float32 (float16 stays float16); integers, booleans and lists of them give
float64.

``get(name)`` returns an :class:`Activation`, which bundles the function with
its derivative::

    >>> relu = get("relu")
    >>> relu([-2.0, 3.0]), relu.derivative([-2.0, 3.0])
    (array([0., 3.]), array([0., 1.]))

Derivatives at a kink (relu at 0, relu6 at 0 and 6, ...) follow PyTorch's
convention: the value of the branch that is not strictly positive.
"""

from __future__ import annotations

import functools
import math

import numpy as np

__all__ = [
    "Activation",
    "get",
    "names",
    "step",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "silu",
    "swish",
    "softplus",
    "softsign",
    "hard_sigmoid",
    "relu6",
    "mish",
    "linear",
    "identity",
    "exponential",
    "softmax",
    "log_softmax",
]


# ---------------------------------------------------------------- plumbing
def as_float_array(x, name="input"):
    """Return ``x`` as a floating-point ndarray, or raise ``TypeError``.

    Floating arrays keep their dtype; bools, integers and Python numbers
    become float64. ``name`` appears in the error message.
    """
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} expects a number, list, tuple or array of real numbers; "
                        f"received {type(x).__name__} {x!r:.60}")
    try:
        array = np.asarray(x)
    except (ValueError, TypeError) as error:  # e.g. a ragged list
        raise TypeError(f"{name} expects a number, list, tuple or array of real numbers; "
                        f"received {type(x).__name__} that is not a rectangular array of "
                        f"numbers ({error})") from None
    if array.dtype.kind == "f":
        return array
    if array.dtype.kind in "biu":
        return array.astype(np.float64)
    if array.dtype.kind == "O":
        try:
            return array.astype(np.float64)
        except (ValueError, TypeError):
            pass
    raise TypeError(f"{name} expects a number, list, tuple or array of real numbers; "
                    f"received {type(x).__name__} of dtype {array.dtype} ({x!r:.60})")


def _activation_math(function):
    """Decorate an activation: check and convert the input, run the formula
    with under/overflow to 0/inf allowed (they are the exact limits here),
    and return an ndarray of the input's floating dtype."""

    @functools.wraps(function)
    def wrapper(x, *args, **kwargs):
        x = as_float_array(x, f"{function.__name__}()")
        with np.errstate(under="ignore", over="ignore"):
            y = function(x, *args, **kwargs)
        return np.asarray(y, dtype=x.dtype)

    return wrapper


def _stable_exp_neg_abs(x):
    """e^(-|x|), which lies in (0, 1] and therefore never overflows."""
    return np.exp(-np.abs(x))


# ------------------------------------------------------------- the classics
@_activation_math
def step(x):
    """Step function (the perceptron's activation): 1 if x > 0 else 0.

    >>> step([-1.0, 0.0, 2.0])
    array([0., 0., 1.])
    """
    return (x > 0).astype(x.dtype)


@_activation_math
def _step_derivative(x):
    """0 everywhere (undefined at x = 0, where we return 0 too): a step
    function gives gradient descent nothing to follow."""
    return np.zeros_like(x)


@_activation_math
def sigmoid(x):
    """Logistic sigmoid: σ(x) = 1 / (1 + e^(-x)).

    Computed from e = e^(-|x|) as 1 / (1 + e) for x >= 0 and e / (1 + e)
    for x < 0, so e^(-x) never overflows.

    >>> sigmoid([-1000.0, 0.0, 1000.0])
    array([0. , 0.5, 1. ])
    """
    e = _stable_exp_neg_abs(x)
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


@_activation_math
def _sigmoid_derivative(x):
    """σ'(x) = σ(x)(1 - σ(x)) = e / (1 + e)^2 with e = e^(-|x|)
    (the same value, without cancellation in 1 - σ(x))."""
    e = _stable_exp_neg_abs(x)
    return e / (1 + e) ** 2


@_activation_math
def tanh(x):
    """Hyperbolic tangent: tanh(x) = (e^x - e^(-x)) / (e^x + e^(-x)).

    >>> tanh([0.0, 1.0])
    array([0.        , 0.76159416])
    """
    return np.tanh(x)


@_activation_math
def _tanh_derivative(x):
    """tanh'(x) = 1 - tanh(x)^2 = 4e / (1 + e)^2 with e = e^(-2|x|)."""
    e = np.exp(-2 * np.abs(x))
    return 4 * e / (1 + e) ** 2


@_activation_math
def relu(x):
    """Rectified linear unit: relu(x) = max(0, x).

    >>> relu([-2.0, 0.0, 3.0])
    array([0., 0., 3.])
    """
    return np.maximum(x, 0)


@_activation_math
def _relu_derivative(x):
    """relu'(x) = 1 if x > 0 else 0."""
    return (x > 0).astype(x.dtype)


def _relu_backward(x, grad, output=None):
    """∂L/∂x = ∂L/∂a · [x > 0] (a product with the mask: NumPy's where is
    several times slower here, and a NaN from above stays NaN, as in TensorFlow)."""
    return np.multiply(grad, x > 0, dtype=grad.dtype)


@_activation_math
def leaky_relu(x, negative_slope=0.2):
    """Leaky ReLU: x if x > 0 else negative_slope * x (Keras's default 0.2).

    >>> leaky_relu([-2.0, 3.0])
    array([-0.4,  3. ])
    """
    scaled = np.multiply(x, negative_slope, dtype=x.dtype)
    # = max(x, slope·x) for a slope up to 1, min(x, slope·x) above: no mask, no where
    choose = np.maximum if negative_slope <= 1 else np.minimum
    return choose(x, scaled, out=scaled) if scaled.ndim else choose(x, scaled)


@_activation_math
def _leaky_relu_derivative(x, negative_slope=0.2):
    """1 if x > 0 else negative_slope."""
    return _two_slopes(x, negative_slope)


def _two_slopes(x, negative_slope):
    """1 where x > 0, else negative_slope, in x's float type: slope + (1 − slope)·[x > 0]."""
    d = (x > 0).astype(x.dtype)
    d *= x.dtype.type(1 - negative_slope)
    d += x.dtype.type(negative_slope)
    return d


@_activation_math
def elu(x, alpha=1.0):
    """Exponential linear unit: x if x > 0 else alpha * (e^x - 1).

    >>> elu([-1.0, 2.0])
    array([-0.63212056,  2.        ])
    """
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


@_activation_math
def _elu_derivative(x, alpha=1.0):
    """1 if x > 0 else alpha * e^x."""
    return np.where(x > 0, 1, alpha * np.exp(np.minimum(x, 0)))


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


@_activation_math
def selu(x):
    """Scaled ELU: scale * elu(x, alpha) with alpha ≈ 1.67326 and
    scale ≈ 1.05070, the constants that keep activations at mean 0 and
    variance 1 (Klambauer et al., 2017).

    >>> selu([-1.0, 1.0])
    array([-1.11133074,  1.05070099])
    """
    return SELU_SCALE * elu(x, SELU_ALPHA)


@_activation_math
def _selu_derivative(x):
    """scale if x > 0 else scale * alpha * e^x."""
    return SELU_SCALE * _elu_derivative(x, SELU_ALPHA)


# ---------------------------------------------- erf, for the exact GELU
def erfc(x):
    """Complementary error function erfc(x) = 1 - erf(x), vectorised, float64.

    NumPy has no erf, so glassnet computes it (relative error below 1e-12):
      * |x| < 2: erf(x) = 2/√π · e^(-x²) · Σₙ 2ⁿ x^(2n+1) / (1·3·5···(2n+1)),
        a series of positive terms (no cancellation), 40 terms;
      * |x| >= 2: the continued fraction
        erfc(x) = e^(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))),
        50 levels deep;
      * erfc(-x) = 2 - erfc(x).

    >>> [round(v, 12) for v in erfc([0.0, 1.0, 3.0]).tolist()]
    [1.0, 0.15729920705, 2.2090497e-05]
    """
    x = np.asarray(x, dtype=np.float64)
    a = np.abs(x)
    result = np.empty_like(a)
    near = a < 2
    with np.errstate(under="ignore"):
        u = a[near]
        term, total, two_u2 = u.copy(), u.copy(), 2 * u * u
        for n in range(40):
            term = term * two_u2 / (2 * n + 3)
            total = total + term
        result[near] = 1 - 2 / math.sqrt(math.pi) * np.exp(-u * u) * total
        u = a[~near]
        fraction = u.copy()
        for k in range(50, 0, -1):
            fraction = u + (k / 2) / fraction
        result[~near] = np.exp(-u * u) / math.sqrt(math.pi) / fraction
    return np.where(x < 0, 2 - result, result)


def _normal_pdf(x):
    """φ(x) = e^(-x²/2) / √(2π), with x clipped where φ is already 0."""
    x = np.clip(x, -40, 40)
    return np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


_GELU_C = math.sqrt(2 / math.pi)
_GELU_A = 0.044715


@_activation_math
def gelu(x, approximate=False):
    """Gaussian error linear unit: gelu(x) = x · Φ(x), Φ the normal CDF.

    Exact: Φ(x) = erfc(-x/√2) / 2. With ``approximate=True``:
    0.5 x (1 + tanh(u)), u = √(2/π) (x + 0.044715 x³), computed as the equal
    x σ(2u) (since 1 + tanh(u) = 2σ(2u)), which does not cancel for x << 0.

    >>> gelu([-1.0, 0.0, 1.0])
    array([-0.15865525,  0.        ,  0.84134475])
    >>> gelu([1.0], approximate=True)
    array([0.84119199])
    """
    if approximate:
        return x * sigmoid(2 * _gelu_tanh_argument(x))
    return x * (0.5 * erfc(-x.astype(np.float64) / math.sqrt(2))).astype(x.dtype)


def _gelu_tanh_argument(x):
    """u = √(2/π)(x + 0.044715x³), with x clipped to ±1e4 (σ(2u) is exactly 0
    or 1 long before that) so x³ cannot overflow."""
    x = np.clip(x, -1e4, 1e4)
    return _GELU_C * (x + _GELU_A * x**3)


@_activation_math
def _gelu_derivative(x, approximate=False):
    """Exact: Φ(x) + x φ(x). Approximate, with t = tanh(u):
    0.5(1 + t) + 0.5 x (1 - t²) du/dx, du/dx = √(2/π)(1 + 3·0.044715x²);
    computed with 0.5(1 + t) = σ(2u) and 1 - t² = 4σ(2u)σ(-2u)."""
    if approximate:
        u2 = 2 * _gelu_tanh_argument(x)
        xc = np.clip(x, -1e4, 1e4)
        du_dx = _GELU_C * (1 + 3 * _GELU_A * xc**2)
        return sigmoid(u2) + 2 * xc * sigmoid(u2) * sigmoid(-u2) * du_dx
    x64 = x.astype(np.float64)
    return (0.5 * erfc(-x64 / math.sqrt(2)) + x64 * _normal_pdf(x64)).astype(x.dtype)


# -------------------------------------------------- smooth relatives of relu
@_activation_math
def silu(x):
    """Sigmoid linear unit (swish): silu(x) = x · σ(x).

    >>> silu([-1.0, 0.0, 1.0])
    array([-0.26894142,  0.        ,  0.73105858])
    """
    return x * sigmoid(x)


@_activation_math
def _silu_derivative(x):
    """σ(x) (1 + x (1 - σ(x))), with 1 - σ(x) computed as σ(-x)."""
    return sigmoid(x) * (1 + x * sigmoid(-x))


swish = silu


@_activation_math
def softplus(x):
    """Softplus: log(1 + e^x), a smooth relu; computed as logaddexp(0, x).

    >>> softplus([-1000.0, 0.0, 1000.0]).tolist()
    [0.0, 0.6931471805599453, 1000.0]
    """
    return np.logaddexp(0, x)


@_activation_math
def _softplus_derivative(x):
    """softplus'(x) = σ(x)."""
    return sigmoid(x)


@_activation_math
def softsign(x):
    """Softsign: x / (1 + |x|).

    >>> softsign([-1.0, 3.0])
    array([-0.5 ,  0.75])
    """
    return x / (1 + np.abs(x))


@_activation_math
def _softsign_derivative(x):
    """1 / (1 + |x|)^2."""
    return (1 / (1 + np.abs(x))) ** 2


@_activation_math
def hard_sigmoid(x):
    """Hard sigmoid (Keras 3, PyTorch): relu6(x + 3) / 6 = clip(x/6 + 1/2, 0, 1).

    >>> hard_sigmoid([-4.0, 0.0, 1.5, 4.0])
    array([0.  , 0.5 , 0.75, 1.  ])
    """
    return np.clip(x / 6 + 0.5, 0, 1)


@_activation_math
def _hard_sigmoid_derivative(x):
    """1/6 on -3 < x < 3, else 0."""
    return np.where((x > -3) & (x < 3), 1 / 6, 0)


@_activation_math
def relu6(x):
    """ReLU capped at 6: min(max(0, x), 6).

    >>> relu6([-1.0, 3.0, 9.0])
    array([0., 3., 6.])
    """
    return np.clip(x, 0, 6)


@_activation_math
def _relu6_derivative(x):
    """1 on 0 < x < 6, else 0."""
    return ((x > 0) & (x < 6)).astype(x.dtype)


@_activation_math
def mish(x):
    """Mish: x · tanh(softplus(x)).

    >>> mish([-1.0, 0.0, 1.0])
    array([-0.30340146,  0.        ,  0.86509839])
    """
    return x * np.tanh(softplus(x))


@_activation_math
def _mish_derivative(x):
    """tanh(sp) + x σ(x) (1 - tanh(sp)²), sp = softplus(x)."""
    sp = softplus(x)
    return np.tanh(sp) + x * sigmoid(x) * _tanh_derivative(sp)


@_activation_math
def linear(x):
    """Linear (identity): f(x) = x. A Dense layer with no activation uses it.

    >>> linear([-1.0, 2.0])
    array([-1.,  2.])
    """
    return x.copy()


@_activation_math
def _linear_derivative(x):
    """1 everywhere."""
    return np.ones_like(x)


identity = linear


@_activation_math
def exponential(x):
    """Exponential: e^x (inf beyond the float range, as IEEE 754 says).

    >>> exponential([0.0, 1.0])
    array([1.        , 2.71828183])
    """
    return np.exp(x)


@_activation_math
def _exponential_derivative(x):
    """e^x."""
    return np.exp(x)


# -------------------------------------------------------- softmax and friends
def _check_axis_input(x, name):
    if x.ndim == 0:
        raise ValueError(f"{name}() needs an array of at least 1 dimension (a vector of "
                         f"scores); received a scalar {x!r}")


@_activation_math
def softmax(x, axis=-1):
    """Softmax along ``axis``: softmax(x)ᵢ = e^(xᵢ) / Σⱼ e^(xⱼ).

    Computed as e^(xᵢ - m) / Σⱼ e^(xⱼ - m) with m = max(x): the same value
    (the e^(-m) cancels), but no e^x can overflow.

    >>> softmax([1000.0, 1000.0])
    array([0.5, 0.5])
    >>> softmax([-np.inf, 0.0])
    array([0., 1.])
    """
    _check_axis_input(x, "softmax")
    if x.size == 0:  # TensorFlow's: an empty input gives an empty output
        return x.copy()
    exps = np.exp(x - _finite_max(x, axis))
    return exps / exps.sum(axis=axis, keepdims=True)


def _finite_max(x, axis):
    """max(x) along axis, with 0 where that max is ±inf (nothing to shift)."""
    m = np.max(x, axis=axis, keepdims=True)
    return np.where(np.isfinite(m), m, 0)


def _softmax_jacobian(x, axis=-1):
    """∂sᵢ/∂xⱼ = sᵢ (δᵢⱼ - sⱼ), i.e. diag(s) - s sᵀ, for a 1-D x."""
    s = softmax(_as_vector(x, "softmax"))
    return np.diag(s) - np.outer(s, s)


@_activation_math
def log_softmax(x, axis=-1):
    """log(softmax(x)) = x - m - log Σⱼ e^(xⱼ - m) with m = max(x).

    >>> log_softmax([0.0, 0.0])
    array([-0.69314718, -0.69314718])
    """
    _check_axis_input(x, "log_softmax")
    if x.size == 0:
        return x.copy()
    shifted = x - _finite_max(x, axis)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _softmax_backward(x, grad, s=None, axis=-1):
    """grad · J = s ⊙ (grad - Σⱼ gradⱼ sⱼ), the softmax Jacobian applied to grad."""
    s = softmax(x, axis=axis) if s is None else s
    return s * (grad - np.sum(grad * s, axis=axis, keepdims=True))


def _log_softmax_backward(x, grad, output=None, axis=-1):
    """grad · J = grad - s Σⱼ gradⱼ, with s = softmax(x) = e^output."""
    s = softmax(x, axis=axis) if output is None else np.exp(output)
    return grad - s * np.sum(grad, axis=axis, keepdims=True)


def _log_softmax_jacobian(x, axis=-1):
    """∂(log sᵢ)/∂xⱼ = δᵢⱼ - sⱼ, for a 1-D x."""
    s = softmax(_as_vector(x, "log_softmax"))
    return np.eye(s.size, dtype=s.dtype) - s[np.newaxis, :]


def _as_vector(x, name):
    x = as_float_array(x, f"{name}.jacobian()")
    if x.ndim != 1:
        raise ValueError(f"{name}.jacobian() takes a 1-D vector; received shape {x.shape}")
    return x


# ------------------------------------------------------------- the registry
class Activation:
    """An activation function with its derivative and its name.

    ``act(x)`` applies it, ``act.derivative(x)`` gives f'(x) elementwise,
    ``act.jacobian(x)`` the matrix ∂f(x)ᵢ/∂xⱼ for a 1-D x (diagonal for an
    elementwise f; full for softmax, which has no elementwise derivative).
    Keyword arguments (``negative_slope``, ``alpha``, ``approximate``,
    ``axis``) pass through to the function.
    """

    def __init__(self, name, function, derivative=None, jacobian=None, backward=None):
        self.name = name
        self.function = function
        self._derivative = derivative
        self._jacobian = jacobian
        self._backward = backward

    @property
    def elementwise(self):
        return self._derivative is not None

    def __call__(self, x, **kwargs):
        return self.function(x, **kwargs)

    def derivative(self, x, **kwargs):
        if self._derivative is None:
            raise TypeError(f"{self.name} is not elementwise, so it has no elementwise "
                            f"derivative; use .jacobian(x) for a 1-D x")
        return self._derivative(x, **kwargs)

    def backward(self, x, grad, output=None, **kwargs):
        """Backpropagation through f: the gradient wrt x, given ``grad``, the
        gradient wrt y = f(x) (a vector-Jacobian product, never the full
        Jacobian): grad · f'(x) elementwise; softmax and log_softmax use their
        own formulas along ``axis``. ``output`` (= f(x), if at hand) saves
        recomputing it."""
        if self._backward is not None:
            return self._backward(x, grad, output, **kwargs)
        return grad * self.derivative(x, **kwargs)

    def jacobian(self, x, **kwargs):
        if self._jacobian is not None:
            return self._jacobian(x, **kwargs)
        return np.diag(self.derivative(_as_vector(x, self.name), **kwargs))

    def __repr__(self):
        return f"<Activation {self.name}>"


def _numerical_derivative(function):
    """Central difference (f(x+h) - f(x-h)) / 2h, h = 1e-5·max(1, |x|), for a
    user's own function that came without a derivative."""

    def derivative(x):
        x = as_float_array(x, "derivative()").astype(np.float64)
        h = 1e-5 * np.maximum(1.0, np.abs(x))
        return (np.asarray(function(x + h)) - np.asarray(function(x - h))) / (2 * h)

    return derivative


_REGISTRY = {
    a.name: a
    for a in [
        Activation("step", step, _step_derivative),
        Activation("sigmoid", sigmoid, _sigmoid_derivative),
        Activation("tanh", tanh, _tanh_derivative),
        Activation("relu", relu, _relu_derivative, backward=_relu_backward),
        Activation("leaky_relu", leaky_relu, _leaky_relu_derivative),
        Activation("elu", elu, _elu_derivative),
        Activation("selu", selu, _selu_derivative),
        Activation("gelu", gelu, _gelu_derivative),
        Activation("silu", silu, _silu_derivative),
        Activation("softplus", softplus, _softplus_derivative),
        Activation("softsign", softsign, _softsign_derivative),
        Activation("hard_sigmoid", hard_sigmoid, _hard_sigmoid_derivative),
        Activation("relu6", relu6, _relu6_derivative),
        Activation("mish", mish, _mish_derivative),
        Activation("linear", linear, _linear_derivative),
        Activation("exponential", exponential, _exponential_derivative),
        Activation("softmax", softmax, jacobian=_softmax_jacobian, backward=_softmax_backward),
        Activation("log_softmax", log_softmax, jacobian=_log_softmax_jacobian,
                   backward=_log_softmax_backward),
    ]
}
_ALIASES = {"swish": "silu", "identity": "linear"}


def names(include_aliases=True):
    """The valid activation names, sorted.

    >>> names()[:4]
    ['elu', 'exponential', 'gelu', 'hard_sigmoid']
    """
    found = list(_REGISTRY) + (list(_ALIASES) if include_aliases else [])
    return sorted(found)


def _from_layer(layer):
    """An activation layer (LeakyReLU(0.2), ReLU(), ELU()) given as a layer's
    ``activation``: the named activation it equals, else its own function and
    exact derivative (its layer's ``function`` and ``derivative``)."""
    kind, config = type(layer).__name__, layer.get_config()
    if kind == "LeakyReLU" and config.get("negative_slope") == 0.2:
        return _REGISTRY["leaky_relu"]
    if kind == "ReLU" and config.get("max_value") is None and not config.get(
            "negative_slope") and not config.get("threshold"):
        return _REGISTRY["relu"]
    if kind == "ELU" and config.get("alpha", 1.0) == 1.0:
        return _REGISTRY["elu"]
    return Activation(f"{kind.lower()}", lambda x: layer.function(np.asarray(x)),
                      lambda x: layer.derivative(np.asarray(x)))


def get(identifier):
    """The :class:`Activation` for a name, a function, or ``None`` (linear).

    Names are case-insensitive; ``"swish"`` and ``"identity"`` are aliases.
    A callable of your own is wrapped, with a numerical derivative.

    >>> get("sigmoid").name
    'sigmoid'
    >>> get(None).name
    'linear'
    """
    if identifier is None:
        return _REGISTRY["linear"]
    if isinstance(identifier, Activation):
        return identifier
    if isinstance(identifier, str):
        key = identifier.strip().lower()
        key = _ALIASES.get(key, key)
        if key not in _REGISTRY:
            raise ValueError(f"Unknown activation {identifier!r}. "
                             f"Valid names: {', '.join(names())}")
        return _REGISTRY[key]
    if all(hasattr(identifier, a) for a in ("function", "derivative", "get_config")):
        return _from_layer(identifier)  # Dense(..., activation=LeakyReLU(0.2)), as Keras allows
    if callable(identifier):
        for activation in _REGISTRY.values():
            if activation.function is identifier:
                return activation
        name = getattr(identifier, "__name__", type(identifier).__name__)
        return Activation(name, identifier, _numerical_derivative(identifier))
    raise TypeError(f"An activation is a name (str), a function or None; received "
                    f"{type(identifier).__name__} {identifier!r:.60}")
