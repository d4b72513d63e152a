"""Losses: how far the predictions are from the targets, and the gradient that
starts backpropagation.

Keras's semantics: each sample's loss is reduced over the last axis, then the
mean is taken over the batch (so the gradient carries a 1/N).

=================================  ===========================================
loss                               one sample (p = prediction, y = target)
=================================  ===========================================
mean_squared_error (mse)           mean over outputs of (p - y)²
mean_absolute_error (mae)          mean over outputs of |p - y|
binary_crossentropy                mean over outputs of -(y log p + (1-y) log(1-p))
categorical_crossentropy           -Σₖ yₖ log pₖ, y one-hot
sparse_categorical_crossentropy    -log p[label], label an integer
=================================  ===========================================

``from_logits=False`` (the default) takes probabilities, which are clipped to
[1e-7, 1 - 1e-7] as Keras does. ``from_logits=True`` takes raw scores z and
applies softmax (or sigmoid) itself, exactly: log softmax(z) is computed as
z - max z - log Σ e^(z - max z), and the gradient is simply softmax(z) - y.
A model whose last layer ends in softmax (or sigmoid) uses that fused form
automatically, so ``Dense(10, activation="softmax")`` with a cross-entropy
loss is as exact and stable as logits.

    >>> import numpy as np
    >>> loss = get("sparse_categorical_crossentropy")
    >>> round(loss([0, 1], np.array([[0.9, 0.1], [0.2, 0.8]])), 6)
    0.164252
"""

from __future__ import annotations

import numpy as np

from glassnet import utils
from glassnet.activations import as_float_array, log_softmax, sigmoid

__all__ = ["Loss", "MeanSquaredError", "MeanAbsoluteError", "BinaryCrossentropy",
           "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "get", "names",
           "EPSILON"]

EPSILON = 1e-7  # Keras's backend epsilon


class Loss:
    """Base class. ``loss(y_true, y_pred)`` is the batch mean (a float);
    ``loss.gradient(y_true, y_pred)`` is ∂loss/∂y_pred, of y_pred's shape.

    ``check_targets(y_true, output_shape)`` validates a whole target array
    once (before training) and returns it in the form the loss uses.
    """

    name = "loss"
    fused_activation = None  # "softmax" / "sigmoid": the activation this loss can fuse

    def __init__(self, from_logits=False):
        self.from_logits = bool(from_logits)

    def __call__(self, y_true, y_pred):
        y_pred = as_float_array(y_pred, f"{self.name} y_pred")
        y_true = self.check_targets(y_true, y_pred.shape)
        return self.value(y_true, y_pred)

    def value(self, y_true, y_pred):
        raise NotImplementedError

    def gradient(self, y_true, y_pred):
        raise NotImplementedError

    def value_and_gradient(self, y_true, y_pred):
        """Both at once (a training step needs both; some losses share work)."""
        return self.value(y_true, y_pred), self.gradient(y_true, y_pred)

    def check_targets(self, y_true, output_shape):
        """Float targets of the predictions' shape."""
        y = as_float_array(y_true, f"{self.name} targets")
        output_shape = tuple(output_shape)
        if y.shape != output_shape:
            if y.ndim == len(output_shape) - 1 and output_shape[-1] == 1:
                y = y[..., np.newaxis]
            if y.shape != output_shape:
                raise ValueError(f"{self.name}: targets of shape {y.shape} do not match the "
                                 f"model's output shape {output_shape}")
        return y

    def get_config(self):
        return {"from_logits": self.from_logits}

    def __repr__(self):
        return f"{type(self).__name__}(from_logits={self.from_logits})"


def _samples(y_pred):
    """The number of per-sample losses: every position but the last axis."""
    return max(1, y_pred.size // y_pred.shape[-1]) if y_pred.ndim else 1


class MeanSquaredError(Loss):
    """mean((p - y)²); gradient 2(p - y) / (number of values)."""

    name = "mean_squared_error"

    def __init__(self):
        super().__init__(False)

    def value(self, y_true, y_pred):
        return float(np.mean(np.square(y_pred - y_true)))

    def gradient(self, y_true, y_pred):
        return (2.0 / y_pred.size) * (y_pred - y_true)

    def get_config(self):
        return {}


class MeanAbsoluteError(Loss):
    """mean(|p - y|); gradient sign(p - y) / (number of values)."""

    name = "mean_absolute_error"

    def __init__(self):
        super().__init__(False)

    def value(self, y_true, y_pred):
        return float(np.mean(np.abs(y_pred - y_true)))

    def gradient(self, y_true, y_pred):
        return np.sign(y_pred - y_true) * (1.0 / y_pred.size)

    def get_config(self):
        return {}


class BinaryCrossentropy(Loss):
    """-(y log p + (1 - y) log(1 - p)), averaged; targets in [0, 1].

    From logits z (p = σ(z)): max(z, 0) - z y + log(1 + e^(-|z|)), gradient
    σ(z) - y (over the number of values).
    """

    name = "binary_crossentropy"
    fused_activation = "sigmoid"

    def value(self, y_true, y_pred):
        if self.from_logits:
            z = y_pred
            return float(np.mean(np.maximum(z, 0) - z * y_true + np.log1p(np.exp(-np.abs(z)))))
        p = np.clip(y_pred, EPSILON, 1 - EPSILON)
        return float(np.mean(-(y_true * np.log(p) + (1 - y_true) * np.log1p(-p))))

    def gradient(self, y_true, y_pred):
        if self.from_logits:
            return (sigmoid(y_pred) - y_true) * (1.0 / y_pred.size)
        inside = (y_pred > EPSILON) & (y_pred < 1 - EPSILON)  # the clip passes no gradient
        p = np.clip(y_pred, EPSILON, 1 - EPSILON)
        return inside * (p - y_true) / (p * (1 - p)) * (1.0 / y_pred.size)

    def check_targets(self, y_true, output_shape):
        y = super().check_targets(y_true, output_shape)
        if y.size and (y.min() < 0 or y.max() > 1):
            raise ValueError(f"binary_crossentropy targets must lie in [0, 1]; received values "
                             f"from {y.min():g} to {y.max():g}")
        return y


class CategoricalCrossentropy(Loss):
    """-Σₖ yₖ log pₖ for one-hot (or soft) targets y of shape (n, classes).

    On probabilities Keras first rescales p to sum to 1, then clips. From
    logits: -Σₖ yₖ log_softmax(z)ₖ, gradient softmax(z) Σy - y.
    """

    name = "categorical_crossentropy"
    fused_activation = "softmax"

    def value(self, y_true, y_pred):
        if self.from_logits:
            return float(-np.sum(y_true * log_softmax(y_pred)) / _samples(y_pred))
        q = np.clip(y_pred / y_pred.sum(axis=-1, keepdims=True), EPSILON, 1 - EPSILON)
        return float(-np.sum(y_true * np.log(q)) / _samples(y_pred))

    def gradient(self, y_true, y_pred):
        n = _samples(y_pred)
        if self.from_logits:
            p = np.exp(log_softmax(y_pred))
            return (p * y_true.sum(axis=-1, keepdims=True) - y_true) / n
        # L = -Σᵢ yᵢ log c(qᵢ), qᵢ = pᵢ / S, S = Σⱼ pⱼ, c the clip (slope 0 where it clips):
        # ∂L/∂pⱼ = (-yⱼ mⱼ / c(qⱼ) + Σᵢ yᵢ mᵢ qᵢ / c(qᵢ)) / S, m = 1 inside the clip
        total = y_pred.sum(axis=-1, keepdims=True)
        q = y_pred / total
        inside = (q > EPSILON) & (q < 1 - EPSILON)
        ratio = inside * y_true / np.clip(q, EPSILON, 1 - EPSILON)
        return (-ratio + np.sum(ratio * q, axis=-1, keepdims=True)) / total / n

    def check_targets(self, y_true, output_shape):
        y = as_float_array(y_true, f"{self.name} targets")
        if y.shape != tuple(output_shape):
            hint = ""
            if y.ndim == len(output_shape) - 1 or (y.ndim == len(output_shape) and
                                                   y.shape[-1] == 1):
                hint = (" These look like integer class labels: use "
                        "loss='sparse_categorical_crossentropy', or one-hot encode them.")
            raise ValueError(f"categorical_crossentropy needs one-hot targets of the output's "
                             f"shape {tuple(output_shape)}; received targets of shape "
                             f"{y.shape}.{hint}")
        return y


class SparseCategoricalCrossentropy(Loss):
    """-log p[label] for integer labels in [0, classes).

    From logits: -log_softmax(z)[label], gradient softmax(z) - onehot(label).
    """

    name = "sparse_categorical_crossentropy"
    fused_activation = "softmax"

    def value(self, y_true, y_pred):
        rows = np.arange(y_true.size)
        scores = y_pred.reshape(-1, y_pred.shape[-1])
        if self.from_logits:
            return float(-np.mean(log_softmax(scores)[rows, y_true.reshape(-1)]))
        q = np.clip(scores / scores.sum(axis=-1, keepdims=True), EPSILON, 1 - EPSILON)
        return float(-np.mean(np.log(q[rows, y_true.reshape(-1)])))

    def value_and_gradient(self, y_true, y_pred):
        if not self.from_logits:
            return super().value_and_gradient(y_true, y_pred)
        scores = y_pred.reshape(-1, y_pred.shape[-1])
        rows, labels = np.arange(scores.shape[0]), y_true.reshape(-1)
        log_p = log_softmax(scores)
        value = float(-np.mean(log_p[rows, labels]))
        grad = np.exp(log_p)                     # softmax(z)
        grad[rows, labels] -= 1                  # - onehot(label)
        grad *= 1.0 / scores.shape[0]
        return value, grad.reshape(y_pred.shape)

    def gradient(self, y_true, y_pred):
        one_hot = np.zeros_like(y_pred)
        np.put_along_axis(one_hot, y_true.reshape(y_pred.shape[:-1] + (1,)), 1, axis=-1)
        return CategoricalCrossentropy(self.from_logits).gradient(one_hot, y_pred)

    def check_targets(self, y_true, output_shape):
        """Integer labels shaped like the output without its last axis."""
        y = np.asarray(y_true)
        output_shape = tuple(output_shape)
        classes = output_shape[-1]
        label_shape = output_shape[:-1]
        if y.shape == label_shape + (1,) and classes != 1:
            y = y.reshape(label_shape)
        if y.shape != label_shape:
            hint = ""
            if y.shape == output_shape:
                hint = (" They look one-hot encoded: use loss='categorical_crossentropy', or "
                        "pass the class numbers (y.argmax(axis=-1)).")
            raise ValueError(f"sparse_categorical_crossentropy needs integer labels of shape "
                             f"{label_shape} for outputs of shape {output_shape}; received "
                             f"labels of shape {y.shape}.{hint}")
        if y.dtype.kind == "f":
            if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
                raise ValueError("sparse_categorical_crossentropy labels must be whole numbers "
                                 "(class indices); received non-integer values")
        elif y.dtype.kind not in "iu":
            raise ValueError(f"sparse_categorical_crossentropy labels must be integers; "
                             f"received dtype {y.dtype}")
        y = y.astype(np.intp)
        if y.size and (y.min() < 0 or y.max() >= classes):
            raise ValueError(f"sparse_categorical_crossentropy labels must lie in [0, {classes}) "
                             f"for a model with {classes} outputs; received labels from "
                             f"{y.min()} to {y.max()}")
        return y


_BY_NAME = {
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}
_BY_CLASS = {cls.__name__: cls for cls in _BY_NAME.values()}


def names():
    return sorted(_BY_NAME)


def get(identifier):
    """A Loss from a name (``"mse"``, ``"sparse_categorical_crossentropy"``, ...),
    a config dict, or a Loss."""
    return utils.resolve(identifier, "loss", Loss, _BY_NAME, _BY_CLASS)


def serialize(loss):
    return {"class_name": type(loss).__name__, "config": loss.get_config()}
