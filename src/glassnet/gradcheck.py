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
    obj = model_or_layer
    if hasattr(obj, "layers"):  # a model
        obj._require_built("check_gradients")
        clone = type(obj).from_config(obj.get_config(), dtype="float64")
        clone.set_weights(obj.get_weights())
        if obj.compiled:
            clone.compile(optimizer="sgd", loss=obj.loss, metrics=None)
        return clone
    clone = type(obj).from_config({**obj.get_config(), "dtype": "float64"})
    return clone


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


def check_gradients(model_or_layer, x, y=None, h=1e-4, seed=0):
    """Compare backpropagation with :func:`numerical_gradient`, in float64.

    Returns ``{"<layer>/<weight>": error, ..., "input": error}``, each the
    :func:`relative_error` of one parameter tensor (below ~1e-6 means
    backward is right).

    For a model (compiled), the loss is its own loss on (x, y), in training
    mode, regularization included. For a layer, the loss is Σ output · y,
    so ``backward`` is tested with the upstream gradient ``y`` (a fixed random
    array when y is None). Dropout masks are held fixed across evaluations.
    """
    is_model = hasattr(model_or_layer, "layers")
    if is_model and not model_or_layer.compiled:
        raise ValueError("check_gradients(model, x, y) needs a compiled model (it uses its "
                         "loss)")
    clone = _float64_copy(model_or_layer)
    x = as_float_array(x, "check_gradients x").astype(np.float64)
    saved_generator = utils.rng()
    try:
        if is_model:
            return _check_model(clone, model_or_layer, x, y, h, seed)
        return _check_layer(clone, model_or_layer, x, y, h, seed)
    finally:
        utils._generator = saved_generator


def _check_model(model, original, x, y, h, seed):
    x, y = model._check_xy(x, y, "check_gradients")
    model.input_gradient_wanted = True
    model._prepare_training()
    reset = _frozen_randomness(model.layers, seed)

    def loss(v):
        reset()
        return model.compute_loss(v, y)

    reset()
    model.compute_gradients(x, y)
    results = {"input": relative_error(model.input_gradient,
                                       numerical_gradient(loss, x.copy(), h))}
    for layer in model.layers:
        for name in layer.trainable_weight_names:
            analytic = getattr(layer, "grad_" + name).copy()
            numeric = numerical_gradient(lambda _: loss(x), getattr(layer, name), h)
            results[f"{layer.name}/{name}"] = relative_error(analytic, numeric)
    return results


def _check_layer(layer, original, x, upstream, h, seed):
    layer.ensure_built(x.shape[1:])
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
    for name in layer.trainable_weight_names:
        getattr(layer, "grad_" + name)[...] = 0
    layer.input_grad_needed = True
    grad_x = layer.backward(upstream)

    def loss(v):
        reset()
        return float(np.sum(layer.forward(v, training=True) * upstream)) + \
            layer.regularization_loss()

    results = {}
    for name in layer.trainable_weight_names:
        analytic = getattr(layer, "grad_" + name).copy()
        numeric = numerical_gradient(lambda _: loss(x), getattr(layer, name), h)
        results[f"{layer.name}/{name}"] = relative_error(analytic, numeric)
    results["input"] = relative_error(grad_x, numerical_gradient(loss, x.copy(), h))
    return results
