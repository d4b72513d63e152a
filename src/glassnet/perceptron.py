"""Perceptrons: logic gates from one node each, and XOR from two layers.

A perceptron is a :class:`~glassnet.Neuron` with the step activation: it
outputs 1 when x1*w1 + x2*w2 + b > 0. The weights are the book's:

=====  ============  =====
gate   (w1, w2)      b
=====  ============  =====
AND    (0.5, 0.5)    -0.7
NAND   (-0.5, -0.5)  0.7
OR     (0.5, 0.5)    -0.2
=====  ============  =====

No single line separates XOR's 1s from its 0s, so no single perceptron makes
it; two layers do: XOR(x1, x2) = AND(NAND(x1, x2), OR(x1, x2)).

    >>> [XOR(x1, x2) for x1, x2 in [(0, 0), (1, 0), (0, 1), (1, 1)]]
    [0, 1, 1, 0]
"""

from __future__ import annotations

import numpy as np

from glassnet.activations import as_float_array
from glassnet.neuron import Neuron

__all__ = ["AND", "NAND", "OR", "XOR", "GATES", "truth_table"]

#: The single-node gates, to inspect: ``GATES["AND"].explain([1, 1])``.
GATES = {
    "AND": Neuron([0.5, 0.5], bias=-0.7, activation="step"),
    "NAND": Neuron([-0.5, -0.5], bias=0.7, activation="step"),
    "OR": Neuron([0.5, 0.5], bias=-0.2, activation="step"),
}


def _fire(gate, x1, x2):
    x1 = as_float_array(x1, f"{gate}() x1")
    x2 = as_float_array(x2, f"{gate}() x2")
    try:
        x = np.stack(np.broadcast_arrays(x1, x2), axis=-1)
    except ValueError:
        raise ValueError(f"{gate}() needs x1 and x2 of the same shape; received "
                         f"{x1.shape} and {x2.shape}") from None
    out = GATES[gate](x.reshape(-1, 2)).reshape(x.shape[:-1]).astype(int)
    return int(out) if out.ndim == 0 else out


def AND(x1, x2):
    """1 if both inputs are 1: step(0.5*x1 + 0.5*x2 - 0.7).

    >>> AND(1, 1), AND(1, 0)
    (1, 0)
    """
    return _fire("AND", x1, x2)


def NAND(x1, x2):
    """NOT AND: step(-0.5*x1 - 0.5*x2 + 0.7).

    >>> NAND(1, 1), NAND(0, 1)
    (0, 1)
    """
    return _fire("NAND", x1, x2)


def OR(x1, x2):
    """1 if either input is 1: step(0.5*x1 + 0.5*x2 - 0.2).

    >>> OR(0, 0), OR(0, 1)
    (0, 1)
    """
    return _fire("OR", x1, x2)


def XOR(x1, x2):
    """1 if exactly one input is 1: a 2-layer network, AND(NAND, OR).

    Works on arrays too:

    >>> XOR(np.array([0, 1, 0, 1]), np.array([0, 0, 1, 1]))
    array([0, 1, 1, 0])
    """
    return AND(NAND(x1, x2), OR(x1, x2))


def truth_table(gate):
    """The rows (x1, x2, output) of a gate over the inputs 0 and 1.

    >>> truth_table(XOR)
    [(0, 0, 0), (1, 0, 1), (0, 1, 1), (1, 1, 0)]
    """
    return [(x1, x2, gate(x1, x2)) for x1, x2 in [(0, 0), (1, 0), (0, 1), (1, 1)]]
