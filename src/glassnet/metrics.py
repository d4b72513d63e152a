"""Metrics: numbers to watch during training that are not the loss.

Each metric is a function ``metric(y_true, y_pred)`` returning the batch mean;
a model averages it over an epoch weighted by batch size, as Keras does.
``"accuracy"`` picks its kind from the shapes, like Keras 3: one output
column is binary (p > 0.5), integer labels are sparse (argmax p == label),
one-hot targets are categorical (argmax p == argmax y).

    >>> import numpy as np
    >>> float(sparse_categorical_accuracy(np.array([0, 1]), np.array([[0.9, 0.1], [0.7, 0.3]])))
    0.5
"""

from __future__ import annotations

import numpy as np

__all__ = ["sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy",
           "mean_squared_error", "mean_absolute_error", "get", "names"]


def sparse_categorical_accuracy(y_true, y_pred):
    """Fraction of samples whose highest score is at the label."""
    labels = np.asarray(y_true).reshape(y_pred.shape[:-1])
    return np.mean(np.argmax(y_pred, axis=-1) == labels)


def categorical_accuracy(y_true, y_pred):
    """Fraction of samples whose highest score matches the one-hot target's."""
    return np.mean(np.argmax(y_pred, axis=-1) == np.argmax(y_true, axis=-1))


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Fraction of outputs on the right side of ``threshold``."""
    return np.mean((y_pred > threshold) == (np.asarray(y_true).reshape(y_pred.shape) > 0.5))


def mean_squared_error(y_true, y_pred):
    return np.mean(np.square(y_pred - np.asarray(y_true).reshape(y_pred.shape)))


def mean_absolute_error(y_true, y_pred):
    return np.mean(np.abs(y_pred - np.asarray(y_true).reshape(y_pred.shape)))


_BY_NAME = {
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "categorical_accuracy": categorical_accuracy,
    "binary_accuracy": binary_accuracy,
    "mean_squared_error": mean_squared_error, "mse": mean_squared_error,
    "mean_absolute_error": mean_absolute_error, "mae": mean_absolute_error,
}
_ACCURACY = ("accuracy", "acc")


def names():
    return sorted(list(_BY_NAME) + list(_ACCURACY))


def check(identifier):
    """Validate a metric given to ``compile`` (a name or a function)."""
    if callable(identifier):
        return identifier
    if isinstance(identifier, str) and (identifier in _BY_NAME or identifier in _ACCURACY):
        return identifier
    raise ValueError(f"Unknown metric {identifier!r}. Valid names: {', '.join(names())}, "
                     f"or a function metric(y_true, y_pred)")


def get(identifier, y_true_shape, y_pred_shape):
    """(name, function) for a metric name or function, given the shapes of a
    batch of targets and predictions (which decide what "accuracy" means)."""
    identifier = check(identifier)
    if callable(identifier):
        return getattr(identifier, "__name__", "metric"), identifier
    if identifier in _ACCURACY:
        if y_pred_shape[-1] == 1:
            return identifier, binary_accuracy
        if len(y_true_shape) < len(y_pred_shape) or y_true_shape[-1] == 1:
            return identifier, sparse_categorical_accuracy
        return identifier, categorical_accuracy
    return identifier, _BY_NAME[identifier]
