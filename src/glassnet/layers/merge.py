"""Merge layers: combine a list of tensors into one. Keras's classes and
their function forms (``add([a, b])`` is ``Add()([a, b])``).

=============  =========================  ===================================
layer          out                        ∂L/∂xᵢ (g = ∂L/∂out)
=============  =========================  ===================================
Add            Σᵢ xᵢ                      g
Subtract       x₀ - x₁                    g, -g
Multiply       Πᵢ xᵢ                      g · Π_{j≠i} xⱼ
Average        Σᵢ xᵢ / n                  g / n
Maximum        maxᵢ xᵢ                    g where xᵢ is the maximum (first on ties)
Minimum        minᵢ xᵢ                    g where xᵢ is the minimum (first on ties)
Concatenate    [x₀, x₁, ...] along axis   g's slice that came from xᵢ
=============  =========================  ===================================

Shapes must agree, except that a size of 1 broadcasts (then the gradient is
summed over that axis, the backward of broadcasting).
"""

from __future__ import annotations

import numpy as np

from glassnet.layers.base import Layer

__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate",
           "add", "subtract", "multiply", "average", "maximum", "minimum", "concatenate"]


def _unbroadcast(grad, shape):
    """Sum grad over the axes where an input of ``shape`` was broadcast."""
    axes = tuple(i for i, (g, s) in enumerate(zip(grad.shape, shape)) if s == 1 and g != 1)
    return grad.sum(axis=axes, keepdims=True) if axes else grad


class _Merge(Layer):
    exact_count = None  # Subtract: 2
    supports_masking = True

    def compute_mask(self, inputs, mask=None):
        """Keras's rule: a step is real if it is real in any input; no mask
        unless every input has one."""
        if mask is None or not isinstance(mask, list) or any(m is None for m in mask):
            return None
        return np.logical_or.reduce([np.asarray(m, dtype=bool) for m in mask])

    def _check_list(self, input_shape):
        name = f"{type(self).__name__} {self.name!r}"
        if not (isinstance(input_shape, list) and input_shape and
                isinstance(input_shape[0], (tuple, list))):
            raise ValueError(f"{name} takes a list of tensors, e.g. {type(self).__name__}()"
                             f"([a, b]); received one input of shape {input_shape}")
        if self.exact_count and len(input_shape) != self.exact_count:
            raise ValueError(f"{name} takes exactly {self.exact_count} inputs; received "
                             f"{len(input_shape)}")
        if len(input_shape) < 1:
            raise ValueError(f"{name} needs at least one input")

    def build(self, input_shape):
        self._check_list(input_shape)
        self.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape):
        self._check_list(input_shape)
        ranks = {len(s) for s in input_shape}
        if len(ranks) != 1:
            raise ValueError(f"{type(self).__name__} {self.name!r}: inputs must have the same "
                             f"rank; received shapes {[tuple(s) for s in input_shape]}")
        out = []
        for sizes in list(zip(*input_shape))[1:]:
            known = {d for d in sizes if d is not None and d != 1}
            if len(known) > 1:
                raise ValueError(f"{type(self).__name__} {self.name!r}: inputs of shapes "
                                 f"{[tuple(s) for s in input_shape]} do not match")
            out.append(known.pop() if known else (None if None in sizes else 1))
        return (None,) + tuple(out)

    def forward(self, inputs, training=False):
        self.shapes = [x.shape for x in inputs]
        return self.merge(inputs)

    def backward(self, grad):
        return [_unbroadcast(g, shape) for g, shape in zip(self.split(grad), self.shapes)]


class Add(_Merge):
    def merge(self, inputs):
        out = inputs[0] + inputs[1] if len(inputs) > 1 else inputs[0].copy()
        for x in inputs[2:]:
            out += x
        return out

    def split(self, grad):
        return [grad] * len(self.shapes)


class Subtract(_Merge):
    exact_count = 2

    def merge(self, inputs):
        return inputs[0] - inputs[1]

    def split(self, grad):
        return [grad, -grad]


class Multiply(_Merge):
    def merge(self, inputs):
        self.inputs = inputs
        out = inputs[0]
        for x in inputs[1:]:
            out = out * x
        return out

    def split(self, grad):
        grads = []
        for i in range(len(self.inputs)):
            g = grad
            for j, x in enumerate(self.inputs):
                if j != i:
                    g = g * x
            grads.append(g)
        return grads


class Average(_Merge):
    def merge(self, inputs):
        return Add.merge(self, inputs) / self.dtype.type(len(inputs))

    def split(self, grad):
        share = grad / self.dtype.type(len(self.shapes))
        return [share] * len(self.shapes)


class Maximum(_Merge):
    pick = staticmethod(np.greater)

    def merge(self, inputs):
        out = np.broadcast_to(inputs[0], np.broadcast_shapes(*[x.shape for x in inputs]))
        self.winner = np.zeros(out.shape, dtype=np.uint8)
        for i, x in enumerate(inputs[1:], start=1):
            better = self.pick(x, out)  # strictly: ties stay with the earlier input
            out = np.where(better, x, out)
            self.winner[better] = i
        return np.ascontiguousarray(out)

    def split(self, grad):
        return [np.where(self.winner == i, grad, 0).astype(grad.dtype, copy=False)
                for i in range(len(self.shapes))]


class Minimum(Maximum):
    pick = staticmethod(np.less)


class Concatenate(_Merge):
    """Joins the inputs along ``axis`` (the last by default); the other axes
    must agree."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def _output_masked(self, masked):
        if any(masked if isinstance(masked, list) else [masked]):
            raise NotImplementedError(f"Concatenate {self.name!r}: concatenating masked "
                                      f"tensors (Keras joins their masks) is not implemented "
                                      f"in glassnet")
        return False

    def compute_output_shape(self, input_shape):
        self._check_list(input_shape)
        rank = len(input_shape[0])
        axis = self.axis % rank if -rank <= self.axis < rank else None
        if axis in (None, 0) or any(len(s) != rank for s in input_shape):
            raise ValueError(f"Concatenate {self.name!r}: axis {self.axis} is not a feature axis "
                             f"of inputs of shapes {[tuple(s) for s in input_shape]}")
        out = []
        for i, sizes in enumerate(zip(*input_shape)):
            if i == axis:
                out.append(None if None in sizes else sum(sizes))
            elif i > 0:
                known = {d for d in sizes if d is not None}
                if len(known) > 1:
                    raise ValueError(
                        f"Concatenate {self.name!r} joins along axis {self.axis}; the other "
                        f"axes must match, but the inputs have shapes "
                        f"{[tuple(s) for s in input_shape]}")
                out.append(known.pop() if known else None)
        return (None,) + tuple(out)

    def merge(self, inputs):
        return np.concatenate(inputs, axis=self.axis)

    def split(self, grad):
        sizes = np.cumsum([shape[self.axis] for shape in self.shapes])[:-1]
        return np.split(grad, sizes, axis=self.axis)

    def backward(self, grad):
        return self.split(grad)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def _function(cls):
    def merge(inputs, **kwargs):
        return cls(**kwargs)(inputs)

    merge.__name__ = cls.__name__.lower()
    merge.__doc__ = f"``{cls.__name__}(**kwargs)(inputs)``."
    return merge


add, subtract, multiply, average, maximum, minimum, concatenate = (
    _function(cls) for cls in (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate))
