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

from glassnet import utils
from glassnet.activations import as_float_array

__all__ = ["numerical_gradient", "check_gradients", "relative_error"]


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


def relative_error(analytic, numeric):
    """max |a - n| / max(max |a|, max |n|): the largest disagreement, relative
    to the largest gradient in the tensor (0 when both are all zero)."""
    scale = max(np.max(np.abs(analytic), initial=0.0), np.max(np.abs(numeric), initial=0.0))
    if scale == 0:
        return 0.0
    return float(np.max(np.abs(analytic - numeric)) / scale)


def _float64_copy(model_or_layer):
    """The same model or layer, rebuilt in float64 with the same weights."""
    from glassnet.models import Model, clone_model

    obj = model_or_layer
    if isinstance(obj, Model):
        obj._require_built("check_gradients")
        clone = clone_model(obj, dtype="float64")
        clone.set_weights(obj.get_weights())
        if obj.compiled:
            loss, loss_weights, _, _ = obj._compile_args
            clone.compile(optimizer="sgd", loss=loss, loss_weights=loss_weights)
        return clone
    return type(obj).from_config({**obj.get_config(), "dtype": "float64"})


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "_nodes"):
            yield from _all_layers(layer)


def _frozen_randomness(layers, seed):
    """A function that, called before each forward, makes every random draw
    (dropout masks) repeat exactly."""
    states = [(layer, layer._generator.bit_generator.state) for layer in layers
              if getattr(layer, "_generator", None) is not None]

    def reset():
        for layer, state in states:
            layer._generator.bit_generator.state = state
        utils.set_random_seed(seed)

    return reset


def _as_inputs(x):
    """float64 arrays: one, or a list of them (several inputs)."""
    if isinstance(x, (list, tuple)) and x and np.ndim(x[0]) >= 1 and not np.isscalar(x[0]) \
            and all(isinstance(v, np.ndarray) for v in x):
        return [as_float_array(v, "check_gradients x").astype(np.float64) for v in x]
    return as_float_array(x, "check_gradients x").astype(np.float64)


def check_gradients(model_or_layer, x, y=None, h=1e-4, seed=0):
    """Compare backpropagation with :func:`numerical_gradient`, in float64.

    Returns ``{"<layer>/<weight>": error, ..., "input": error}``, each the
    :func:`relative_error` of one parameter tensor (below ~1e-6 means
    backward is right); with several inputs, ``"input_0"``, ``"input_1"``, ...
    An integer input (token ids for an Embedding) has no gradient and no entry.

    For a model (compiled), the loss is its own loss on (x, y), in training
    mode, regularization included. For a layer, the loss is Σ output · y
    plus its penalties (weight regularizers', ``activity_loss()``),
    so ``backward`` is tested with the upstream gradient ``y`` (a fixed random
    array when y is None). Dropout masks are held fixed across evaluations.
    """
    from glassnet.models import Model

    is_model = isinstance(model_or_layer, Model)
    if is_model and not model_or_layer.compiled:
        raise ValueError("check_gradients(model, x, y) needs a compiled model (it uses its "
                         "loss)")
    clone = _float64_copy(model_or_layer)
    given = x if isinstance(x, (list, tuple)) else [x]
    ids = [np.asarray(v).dtype.kind in "iu" for v in given]  # token ids: no gradient
    x = _as_inputs(x)
    saved_generator = utils.rng()
    try:
        skip = {i for i, integer in enumerate(ids) if integer}
        if is_model:
            return _check_model(clone, x, y, h, seed, skip)
        return _check_layer(clone, model_or_layer, x, y, h, seed, skip)
    finally:
        utils._generator = saved_generator


def _input_results(results, analytic, loss, x, h, skip=()):
    xs = x if isinstance(x, list) else [x]
    grads = analytic if isinstance(analytic, list) else [analytic]
    for i, (value, grad) in enumerate(zip(xs, grads)):
        if i in skip:  # token ids (Embedding's input): integers have no gradient
            continue

        def loss_of(v, i=i):
            inputs = list(xs)
            inputs[i] = v
            return loss(inputs if isinstance(x, list) else inputs[0])

        key = "input" if len(xs) == 1 else f"input_{i}"
        results[key] = relative_error(grad, numerical_gradient(loss_of, value.copy(), h))


def _check_model(model, x, y, h, seed, skip=()):
    data = model._data(x, y, None, None, "check_gradients")
    model.input_gradient_wanted = True
    model._prepare()
    reset = _frozen_randomness(list(_all_layers(model)), seed)
    xs, ys = data.xs, data.ys

    def loss(v):
        reset()
        inputs = v if isinstance(v, list) else [v]
        return model._losses(ys, model._run_forward(inputs, training=True), None, False)[0]

    reset()
    model._gradient_step(xs, ys, None)
    results = {}
    _input_results(results, model.input_gradient, loss, xs if len(xs) > 1 else xs[0], h, skip)
    from glassnet.saving.native import weight_keys

    path = dict(zip(map(id, model.weights), weight_keys(model)))
    for variable in model.trainable_weights:
        analytic = variable.grad.copy()
        numeric = numerical_gradient(lambda _: loss(xs if len(xs) > 1 else xs[0]),
                                     variable.value, h)
        results[path[id(variable)]] = relative_error(analytic, numeric)
    return results


def _check_layer(layer, original, x, upstream, h, seed, skip=()):
    from glassnet.layers.base import _batch_shape
    from glassnet.saving.native import _weight_key

    layer._maybe_build(_batch_shape(x))
    if original.built:
        layer.set_weights(original.get_weights())
    reset = _frozen_randomness([layer], seed)
    reset()
    out = layer.forward(x, training=True)
    if upstream is None:
        upstream = np.random.default_rng(seed).normal(size=out.shape)
    upstream = np.asarray(upstream, dtype=np.float64)
    if upstream.shape != out.shape:
        raise ValueError(f"check_gradients: y (the upstream gradient) must have the layer "
                         f"output's shape {out.shape}; received {upstream.shape}")
    for variable in layer.trainable_weights:
        variable.grad[...] = 0
    grad_x = layer.backward(upstream)

    def loss(v):
        reset()
        out = layer.forward(v, training=True)
        return float(np.sum(out * upstream)) + layer.regularization_loss() + \
            layer.activity_loss()

    results = {}
    for variable in layer.trainable_weights:
        analytic = variable.grad.copy()
        numeric = numerical_gradient(lambda _: loss(x), variable.value, h)
        results[f"{layer.name}/{_weight_key(layer, variable)}"] = relative_error(analytic,
                                                                                  numeric)
    _input_results(results, grad_x, loss, x, h, skip)
    return results
