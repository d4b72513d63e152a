"""``Op``: one operation, its forward on arrays and its gradient on tensors.

Every op in ``glassnet.ops`` is a small class in the style of DeZero
(*Deep Learning from Scratch 3*): ``forward`` computes with NumPy, and
``backward`` turns ∂L/∂output into ∂L/∂input with ops, so that a tape that
records it can differentiate it again::

    class Exp(Op):
        '''y = eˣ;  ∂L/∂x = ∂L/∂y · eˣ = ∂L/∂y · y'''
        def forward(self, x):
            return np.exp(x)
        def backward(self, gy):
            return gy * self.outputs[0]

Calling an op (``Exp()(x)``) runs ``forward`` and, when a tape watches one of
its inputs, records it (``glassnet.tape.record``). Inside ``backward``,
``self.inputs`` are the op's inputs as they were given (tensors, variables,
numbers) and ``self.outputs`` its output tensors.

Broadcasting: ``x + b`` with b of shape (3,) and x of shape (2, 3) gives b the
gradient of shape (2, 3). The tape sums it back to (3,) in one place for
every op (``sum_to``), so no op repeats that.

A layer called under a tape is one node too (``LayerCall``): its backward is
the layer's own ``backward``, on arrays, with the call's saved state.
"""

from __future__ import annotations

import numpy as np

from glassnet import tape as _tape
from glassnet.tensor import Tensor, to_array

__all__ = ["Op", "as_tensor", "value_of", "sum_to", "ones_like_value", "LayerCall"]


def value_of(x):
    """The array (or number) an op computes with."""
    if isinstance(x, Tensor):
        return x._value
    value = getattr(x, "_value", None)  # a Variable
    if value is not None and hasattr(x, "assign"):
        return value
    if isinstance(x, (np.ndarray, int, float, bool, np.generic)):
        return x
    return to_array(x)


def as_tensor(x, dtype=None):
    if isinstance(x, Tensor) and dtype is None:
        return x
    return Tensor(to_array(x, dtype))


def ones_like_value(t):
    return Tensor(np.ones(np.shape(value_of(t)), dtype=value_of(t).dtype))


class Op:
    """Base class: subclasses define ``forward(*arrays)`` and
    ``backward(*output_grads)`` (one gradient per input, None where none)."""

    inputs = ()
    outputs = ()
    name = None

    def __call__(self, *inputs):
        arrays = [value_of(x) for x in inputs]
        ys = self.forward(*arrays)
        if isinstance(ys, tuple):
            outputs = [Tensor(_array(y)) for y in ys]
        else:
            outputs = [Tensor(_array(ys))]
        if _tape._active and not _tape._pause[0] and _tape.record(self, inputs, outputs):
            self.inputs, self.outputs = inputs, outputs
        return tuple(outputs) if isinstance(ys, tuple) else outputs[0]

    def forward(self, *xs):
        raise NotImplementedError

    def backward(self, *gys):
        raise NotImplementedError(f"{type(self).__name__} has no gradient")

    def backward_node(self, gys, wants):
        """The tape's call: zeros for outputs with no gradient, then backward."""
        if len(gys) > 1 and any(g is None for g in gys):
            gys = [Tensor(np.zeros(o.shape, dtype=o.dtype)) if g is None else g
                   for g, o in zip(gys, self.outputs)]
        gxs = self.backward(*gys)
        return gxs if isinstance(gxs, (tuple, list)) else (gxs,)

    @property
    def op_name(self):
        return self.name or type(self).__name__


def _array(y):
    return y if isinstance(y, np.ndarray) else np.asarray(y)


class SumTo(Op):
    """y = x summed over the axes broadcasting added or stretched, to ``shape``;
    ∂L/∂x = ∂L/∂y broadcast back to x's shape."""

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        return _sum_to_array(x, self.shape)

    def backward(self, gy):
        from glassnet.ops.array_ops import broadcast_to
        return broadcast_to(gy, self.inputs[0].shape)


def _sum_to_array(x, shape):
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, d in enumerate(shape)
                                      if d == 1 and x.shape[i + lead] != 1)
    y = x.sum(axis=axes, keepdims=True) if axes else x
    if lead:
        y = y.reshape(shape)
    return y


def sum_to(g, shape):
    """``g`` summed down to ``shape`` (the inverse of broadcasting): the one
    place where broadcast gradients are reduced."""
    shape = tuple(shape)
    if tuple(g.shape) == shape:
        return g
    return SumTo(shape)(g)


class LayerCall(Op):
    """A layer called on tensors under a tape: one node. Forward is the
    layer's own ``forward`` (its fast NumPy kernels, unrecorded inside);
    backward is the layer's own ``backward`` with this call's saved state, and
    it returns ∂L/∂input and ∂L/∂weight for each trainable weight.

    That backward computes with arrays, not ops, so it cannot itself be
    differentiated: a second derivative through the layer raises an error
    that names it, rather than returning a wrong number."""

    def __init__(self, layer, training, n_inputs, variables):
        self.layer, self.training = layer, training
        self.n_inputs, self.variables = n_inputs, variables
        self.state = None

    @property
    def op_name(self):
        return f"{type(self.layer).__name__} {self.layer.name!r}"

    def backward_node(self, gys, wants):
        layer = self.layer
        arrays = [None if g is None else value_of(g) for g in gys]
        if len(arrays) > 1:
            arrays = [np.zeros(o.shape, dtype=o.dtype) if a is None else a
                      for a, o in zip(arrays, self.outputs)]
        grad = arrays[0] if len(arrays) == 1 else arrays
        input_wanted = any(wants[:self.n_inputs])
        variables = self.variables
        saved = layer._call_state()
        layer._restore_call_state(self.state)
        try:
            for v in variables:
                if v.grad is not None:
                    v.grad[...] = 0
            dx = layer._backward(grad, input_wanted) if input_wanted else \
                layer._backward(grad, False)
            weight_grads = [_weight_grad(layer, v) for v in variables]
            for v, g in zip(variables, weight_grads):
                if v.regularizer is not None and layer.trainable:
                    # a layer's backward adds its penalty's gradient (for fit); the tape
                    # differentiates only what was recorded, as TensorFlow's does
                    g -= v.regularizer.gradient(v.value).astype(g.dtype, copy=False)
        finally:
            layer._restore_call_state(saved)
        if self.n_inputs == 1:
            dxs = [dx]
        else:
            dxs = list(dx) if isinstance(dx, (list, tuple)) else [dx] * self.n_inputs
        grads = [None if d is None or not w else Tensor(np.asarray(d))
                 for d, w in zip(dxs, wants)] + [Tensor(g) for g in weight_grads]
        if _tape.recording():
            _record_no_second_order(self, gys, grads)
        return grads


class LossCall(Op):
    """A Keras loss called on tensors: one node. Forward is the loss's own
    value; backward is its own gradient, ∂loss/∂y_pred (from
    ``value_and_gradient``), scaled by the gradient arriving from above. Like a
    layer's, it is computed with arrays: a second derivative through it
    raises an error naming the loss."""

    def __init__(self, loss, y_true, sample_weight):
        self.loss, self.y_true, self.sample_weight = loss, y_true, sample_weight

    @property
    def op_name(self):
        return type(self.loss).__name__

    def forward(self, y_pred):
        loss = self.loss
        if loss.reduction in (None, "none"):
            values, grads = loss.losses_and_gradients(self.y_true, y_pred)
            if self.sample_weight is not None:
                w = loss._weights(self.sample_weight, values.shape)
                values = values * w.astype(values.dtype)
                grads = grads * w[..., np.newaxis].astype(grads.dtype)
            self.grad = grads
            return np.asarray(values, dtype=y_pred.dtype)
        value, self.grad = loss.value_and_gradient(self.y_true, y_pred, self.sample_weight)
        return np.asarray(value, dtype=y_pred.dtype)

    def backward(self, gy):
        g = value_of(gy)
        if self.loss.reduction in (None, "none"):
            g = g[..., np.newaxis]
        grad = Tensor(np.asarray(self.grad * g, dtype=self.grad.dtype))
        if _tape.recording():
            _tape.record(NoSecondOrder(self.op_name), [gy, self.inputs[0]], [grad])
        return grad


class Penalty(Op):
    """A weight's regularization penalty (Keras's ``layer.losses``):
    y = penalty(w), e.g. l2·Σw²;  ∂L/∂w = gy · the regularizer's gradient."""

    def __init__(self, regularizer):
        self.regularizer = regularizer

    def forward(self, w):
        return np.asarray(self.regularizer(w), dtype=w.dtype)

    def backward(self, gy):
        from glassnet.ops.math_ops import multiply
        w = value_of(self.inputs[0])
        grad = multiply(gy, Tensor(np.asarray(self.regularizer.gradient(w), dtype=w.dtype)))
        if _tape.recording():  # the gradient is NumPy's: no second derivative through it
            _tape.record(NoSecondOrder(f"the regularizer of {self.inputs[0].path!r}"),
                         [self.inputs[0]], [grad])
        return grad


def call_loss(loss, y_true, y_pred, sample_weight=None):
    """``loss(y_true, y_pred)`` on tensors: a Tensor, recorded as one node
    (a loss written with ops records its ops instead)."""
    from glassnet.activations import as_float_array
    if loss.written_with_ops():
        pred = y_pred if isinstance(y_pred, Tensor) or hasattr(y_pred, "assign") else \
            Tensor(as_float_array(y_pred, f"{loss.name} y_pred"))
        y = loss.check_targets(value_of(y_true), pred.shape)
        weight = None if sample_weight is None else np.asarray(value_of(sample_weight))
        return loss.reduce_tensor(loss._ops_values(y, pred), weight)
    pred = as_float_array(value_of(y_pred), f"{loss.name} y_pred")
    y = loss.check_targets(value_of(y_true), pred.shape)
    weight = None if sample_weight is None else np.asarray(value_of(sample_weight))
    if not isinstance(y_pred, (Tensor,)) and not hasattr(y_pred, "assign"):
        y_pred = Tensor(pred)
    elif pred is not value_of(y_pred):  # integer predictions: computed in float
        y_pred = Tensor(pred)
    return LossCall(loss, y, weight)(y_pred)


def _weight_grad(layer, variable):
    """A copy of ∂L/∂weight after the layer's backward: from ``layer.grad_<name>``
    (a book-style layer may have assigned a new array there) or the Variable's."""
    owned = layer.__dict__.get("grad_" + variable.name) if variable._owner is layer else None
    source = owned if owned is not None else variable.grad
    if source is None:
        return np.zeros(variable.shape, dtype=variable.dtype)
    return np.array(source, dtype=variable.dtype, copy=True)


class NoSecondOrder(Op):
    """Stands where a layer's array backward ran under an outer tape: the
    outer tape's gradient through it raises, naming the layer."""

    def __init__(self, what):
        self.what = what

    def forward(self, *xs):
        return xs[0]

    def backward(self, *gys):
        raise NotImplementedError(
            f"A second derivative through {self.what} is not available: glassnet computes "
            f"that layer's gradient with its own NumPy backward, which a tape cannot "
            f"differentiate again. Write the part you need twice with ops (tf.matmul, "
            f"tf.nn.relu, ...) in a custom layer, or differentiate once.")


def _record_no_second_order(call, gys, grads):
    marker = NoSecondOrder(call.op_name)
    inputs = [g for g in gys if g is not None] + list(call.inputs)
    outputs = [g for g in grads if g is not None]
    _tape.record(marker, inputs, outputs)


def call_layer(layer, inputs, training, forward, tensors=None):
    """Run ``forward`` (the layer's own, on arrays) on ``inputs`` (arrays) and
    return Tensors; under a tape, record the call as one LayerCall node whose
    inputs are ``tensors`` (what the caller passed, so the tape knows them)."""
    many = isinstance(inputs, (list, tuple))
    if not (_tape._active and not _tape._pause[0]):
        return wrap(forward(inputs))
    given = tensors if tensors is not None else inputs
    flat = list(given) if many else [given]
    with _tape.paused():
        out = forward(inputs)
    state = layer._call_state()
    flat_out = list(out.values()) if isinstance(out, dict) else \
        list(out) if isinstance(out, (list, tuple)) else [out]
    outputs = [Tensor(np.asarray(o)) for o in flat_out]
    variables = list(layer.trainable_weights)
    op = LayerCall(layer, training, len(flat), variables)
    if _tape.record(op, flat + variables, outputs):
        op.inputs, op.outputs, op.state = flat + variables, outputs, state
    if isinstance(out, dict):
        return dict(zip(out, outputs))
    if isinstance(out, (list, tuple)):
        return type(out)(outputs)
    return outputs[0]


def wrap(out):
    """Arrays (nested in lists, tuples, dicts) as Tensors."""
    if isinstance(out, (list, tuple)):
        return type(out)(wrap(o) for o in out)
    if isinstance(out, dict):
        return {k: wrap(v) for k, v in out.items()}
    return out if isinstance(out, Tensor) or out is None else Tensor(np.asarray(out))
