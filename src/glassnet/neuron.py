"""One node: z = Σ xᵢwᵢ + b, a = f(z).

This is the smallest piece of a network, the one the course draws as a circle
with arrows coming in. A Dense layer is many of these side by side.

    >>> node = Neuron([0.5, -1.0], bias=0.1, activation="relu")
    >>> print(node.explain([1.0, 2.0]))
    z = 1.0*0.5 + 2.0*-1.0 + 0.1 = -1.4
    a = relu(-1.4) = 0.0
"""

from __future__ import annotations

import numpy as np

from glassnet import activations

__all__ = ["Neuron"]


def _format_number(value):
    """A short, exact-looking number: 1.0, -1.4, 0.333333, 1e-08."""
    text = f"{float(value):.6g}"
    if text.lstrip("-").isdigit():
        text += ".0"
    return text


class Neuron:
    """A single node with ``weights`` (one per input), a ``bias`` and an
    ``activation`` (a name from :mod:`glassnet.activations`, a function, or
    an :class:`~glassnet.activations.Activation`).

    ``node.z(x)`` is the weighted sum x @ w + b and ``node(x)`` the output
    f(z), for one sample ``x`` of shape (n,) or a batch of shape (m, n).
    """

    def __init__(self, weights, bias=0.0, activation="relu"):
        weights = activations.as_float_array(weights, "Neuron weights")
        if weights.ndim != 1 or weights.size == 0:
            raise ValueError(f"Neuron weights must be a non-empty 1-D list of numbers, one per "
                             f"input; received shape {weights.shape}")
        bias = activations.as_float_array(bias, "Neuron bias")
        if bias.ndim != 0:
            raise ValueError(f"Neuron bias must be one number; received shape {bias.shape}")
        self.weights = weights
        self.bias = bias.astype(weights.dtype)[()]
        self.activation = activations.get(activation)

    @property
    def n_inputs(self):
        return self.weights.size

    def _check_input(self, x):
        x = activations.as_float_array(x, "Neuron input")
        if x.ndim not in (1, 2) or x.shape[-1] != self.n_inputs:
            raise ValueError(
                f"Neuron expects {self.n_inputs} inputs per sample (shape ({self.n_inputs},) "
                f"or (batch, {self.n_inputs})); received {x.shape[-1] if x.ndim else 'a scalar'} "
                f"(input shape {x.shape})")
        return x

    def z(self, x):
        """The weighted sum z = x @ w + b: a 0-d array for one sample, shape
        (m,) for a batch."""
        x = self._check_input(x)
        return np.asarray(x @ self.weights + self.bias)

    def __call__(self, x):
        """The output a = f(z)."""
        return self.activation(self.z(x))

    def explain(self, x):
        """The arithmetic of one forward pass, numbers filled in.

        For a batch, one block per sample, separated by blank lines.
        """
        x = self._check_input(x)
        if x.ndim == 2:
            return "\n\n".join(self.explain(row) for row in x)
        products = " + ".join(f"{_format_number(xi)}*{_format_number(wi)}"
                              for xi, wi in zip(x, self.weights))
        z = self.z(x)
        a = self.activation(z)
        return (f"z = {products} + {_format_number(self.bias)} = {_format_number(z)}\n"
                f"a = {self.activation.name}({_format_number(z)}) = {_format_number(a)}")

    def __repr__(self):
        weights = ", ".join(_format_number(w) for w in self.weights)
        return (f"Neuron(weights=[{weights}], bias={_format_number(self.bias)}, "
                f"activation={self.activation.name!r})")
