"""Regularizers: a penalty on a weight's size, added to the loss.

=========  ==========================  =====================
name       penalty                     gradient
=========  ==========================  =====================
l1         l1 · Σ|w|                   l1 · sign(w)
l2         l2 · Σw²                    2 · l2 · w
l1_l2      l1 · Σ|w| + l2 · Σw²        the sum of both
=========  ==========================  =====================

Keras's defaults: 0.01 for ``"l1"`` and ``"l2"`` given by name.

    >>> import numpy as np
    >>> L2(0.01)(np.array([3.0, 4.0]))
    0.25
"""

from __future__ import annotations

import numpy as np

from glassnet import utils

__all__ = ["Regularizer", "L1", "L2", "L1L2", "get", "serialize"]


def _check_factor(name, value):
    value = float(value)
    if not (np.isfinite(value) and value >= 0):
        raise ValueError(f"regularization factor {name} must be a finite number >= 0; "
                         f"received {value!r}")
    return value


class Regularizer:
    """``reg(w)`` is the penalty (a float), ``reg.gradient(w)`` its gradient."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _check_factor("l1", l1)
        self.l2 = _check_factor("l2", l2)

    def __call__(self, weight):
        penalty = 0.0
        if self.l1:
            penalty += self.l1 * float(np.abs(weight).sum())
        if self.l2:
            penalty += self.l2 * float(np.square(weight).sum())
        return penalty

    def gradient(self, weight):
        grad = np.zeros_like(weight)
        if self.l1:
            grad += self.l1 * np.sign(weight)
        if self.l2:
            grad += (2 * self.l2) * weight
        return grad

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}

    def __repr__(self):
        return f"{type(self).__name__}(l1={self.l1}, l2={self.l2})"


class L1(Regularizer):
    """l1 · Σ|w|."""

    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """l2 · Σw² (weight decay)."""

    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


class L1L2(Regularizer):
    """l1 · Σ|w| + l2 · Σw²."""


def get(identifier):
    """A Regularizer from None, a name (``"l1"``, ``"l2"``, ``"l1_l2"``, each
    0.01 as in Keras), a config dict or a Regularizer."""
    if identifier is None:
        return None
    by_name = {"l1": L1, "l2": L2, "l1_l2": lambda: L1L2(0.01, 0.01)}
    by_class = {cls.__name__: cls for cls in (L1, L2, L1L2)}
    return utils.resolve(identifier, "regularizer", Regularizer, by_name, by_class)


def serialize(regularizer):
    if regularizer is None:
        return None
    return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}
