"""Numerical differentiation, the yardstick for backpropagation.

The derivative of f at x is the slope of f over a tiny step. The central
difference (f(x + h) - f(x - h)) / 2h is accurate to O(h²) instead of the
one-sided difference's O(h), so it is the one to use.

    >>> import numpy as np
    >>> numerical_gradient(lambda x: np.sum(x ** 2), np.array([3.0, 4.0]))
    array([6., 8.])
"""

from __future__ import annotations

import numpy as np

from glassnet.activations import as_float_array

__all__ = ["numerical_gradient"]


def numerical_gradient(f, x, h=1e-4):
    """Gradient of the scalar function ``f`` at ``x`` by central difference.

    For each element xᵢ: ∂f/∂xᵢ ≈ (f(x + h·eᵢ) - f(x - h·eᵢ)) / 2h.

    Like the book's function, when ``x`` is a floating NumPy array it is
    nudged *in place* one element at a time and restored exactly afterwards,
    so ``f`` may ignore its argument and read ``x`` through a network that
    holds it (``numerical_gradient(lambda _: net.loss(x, t), net.W)``).
    Other inputs (lists, integers, read-only arrays) are first copied to
    float64. Returns an
    array of x's shape; use float64 for accurate results.
    """
    if not callable(f):
        raise TypeError(f"numerical_gradient(f, x) needs a function f; received "
                        f"{type(f).__name__}")
    if not (isinstance(h, (int, float, np.floating)) and np.isfinite(h) and h > 0):
        raise ValueError(f"numerical_gradient step h must be a positive number; received {h!r}")
    if not (isinstance(x, np.ndarray) and x.dtype.kind == "f" and x.flags.writeable):
        x = as_float_array(x, "numerical_gradient() x").astype(np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + h
        f_plus = _scalar(f(x))
        x[index] = original - h
        f_minus = _scalar(f(x))
        x[index] = original
        grad[index] = (f_plus - f_minus) / (2 * h)
    return grad


def _scalar(value):
    value = np.asarray(value)
    if value.size != 1:
        raise ValueError(f"numerical_gradient needs f to return one number (a loss); "
                         f"it returned shape {value.shape}")
    return float(value.reshape(()))
