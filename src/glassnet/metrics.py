"""Metrics: numbers to watch during training that are not the loss.

As in Keras, a metric is an object with state: ``update_state(y_true,
y_pred, sample_weight=None)`` adds a batch, ``result()`` is the value so far,
``reset_state()`` starts again; a model resets its metrics at each epoch and
reports the weighted mean over the batches seen. ``"accuracy"`` in
``compile`` picks its kind from the shapes, like Keras 3: one output column
is binary (p > 0.5), integer labels are sparse (argmax p == label), one-hot
targets are categorical (argmax p == argmax y).

    >>> import numpy as np
    >>> m = SparseCategoricalAccuracy()
    >>> m.update_state([0, 1], np.array([[0.9, 0.1], [0.7, 0.3]]))
    >>> float(m.result())
    0.5

The functions (``sparse_categorical_accuracy(y_true, y_pred)``, ...) return
one value per sample, as Keras's do.
"""

from __future__ import annotations

import numpy as np

from glassnet import losses as losses_module
from glassnet.activations import sigmoid
from glassnet import utils

__all__ = ["Metric", "Mean", "Sum", "MeanMetricWrapper", "Accuracy", "BinaryAccuracy",
           "CategoricalAccuracy", "SparseCategoricalAccuracy", "TopKCategoricalAccuracy",
           "SparseTopKCategoricalAccuracy", "MeanSquaredError", "MeanAbsoluteError",
           "RootMeanSquaredError", "MeanAbsolutePercentageError",
           "MeanSquaredLogarithmicError", "BinaryCrossentropy", "CategoricalCrossentropy",
           "SparseCategoricalCrossentropy", "Precision", "Recall", "AUC", "get", "names",
           "sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy",
           "accuracy", "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy"]


def _array(value):
    return np.asarray(value.value if hasattr(value, "value") and not isinstance(
        value, np.ndarray) else value)


def _labels(y_true, y_pred):
    """Integer labels shaped like y_pred without its last axis."""
    y = _array(y_true)
    if y.shape == y_pred.shape[:-1] + (1,) and y_pred.shape[-1] != 1:
        y = y[..., 0]
    return y.reshape(y_pred.shape[:-1])


def accuracy(y_true, y_pred):
    """1 where y_pred equals y_true exactly, else 0 (Keras's ``Accuracy``)."""
    y_true, y_pred = _array(y_true), _array(y_pred)
    return (y_true.reshape(y_pred.shape) == y_pred).astype(np.float32)


def sparse_categorical_accuracy(y_true, y_pred):
    """1 where the highest score is at the label."""
    y_pred = _array(y_pred)
    return (np.argmax(y_pred, axis=-1) == _labels(y_true, y_pred)).astype(np.float32)


def categorical_accuracy(y_true, y_pred):
    """1 where the highest score matches the one-hot target's."""
    y_pred = _array(y_pred)
    return (np.argmax(y_pred, axis=-1) == np.argmax(_array(y_true), axis=-1)).astype(np.float32)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """The fraction of the outputs of each sample on the right side of ``threshold``."""
    y_pred = _array(y_pred)
    y_true = _array(y_true).reshape(y_pred.shape)
    return np.mean((y_pred > threshold) == (y_true > 0.5), axis=-1).astype(np.float32)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    y_pred = _array(y_pred)
    return _in_top_k(np.argmax(_array(y_true), axis=-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    y_pred = _array(y_pred)
    return _in_top_k(_labels(y_true, y_pred), y_pred, k)


def _in_top_k(labels, y_pred, k):
    target = np.take_along_axis(y_pred, labels.astype(np.intp)[..., np.newaxis], axis=-1)
    higher = np.sum(y_pred > target, axis=-1)
    return (higher < k).astype(np.float32)


class Metric:
    """Base class: ``update_state``, ``result``, ``reset_state``; calling a
    metric updates it and returns the result."""

    default_name = "metric"

    def __init__(self, name=None, dtype=None):
        self.name = name or self.default_name
        self.dtype = dtype
        self._variables = []
        try:
            self.reset_state()
        except AttributeError:  # Keras's way: a subclass makes its state after super().__init__
            pass

    def add_variable(self, shape=(), initializer="zeros", dtype=None, aggregation="sum",
                     name=None):
        """A state variable (Keras 3's ``add_variable``; ``add_weight`` is Keras 2's
        name): ``self.true_positives = self.add_variable((), name="tp")``; its
        ``reset_state`` sets it back to the initializer's value."""
        from glassnet import initializers
        from glassnet.variables import Variable

        shape = tuple(shape) if shape is not None else ()
        init = initializers.get(initializer)
        value = np.asarray(init(shape, dtype=dtype or "float32"), dtype=dtype or "float32")
        variable = Variable(np.array(value, copy=True), trainable=False,
                            name=name or f"variable_{len(self._variables)}")
        self._variables.append((variable, init))
        return variable

    def add_weight(self, name=None, shape=(), initializer="zeros", dtype=None,
                   aggregation="sum", **kwargs):
        return self.add_variable(shape=shape, initializer=initializer, dtype=dtype, name=name)

    @property
    def variables(self):
        return [v for v, _ in getattr(self, "_variables", [])]

    def update_state(self, y_true, y_pred, sample_weight=None):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError

    def reset_state(self):
        for variable, init in getattr(self, "_variables", []):
            variable.assign(init(variable.shape, dtype=variable.dtype))

    def reset_states(self):
        """Keras 2's name for ``reset_state`` (TensorFlow 2's guides call it)."""
        self.reset_state()

    def __call__(self, *args, sample_weight=None, **kwargs):
        """Update with this batch, then the result (``mean(values)`` takes one
        argument, ``accuracy(y_true, y_pred)`` two, as their update_state)."""
        if sample_weight is not None:  # else it may come by position: acc(y, p, w)
            kwargs["sample_weight"] = sample_weight
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class Mean(Metric):
    """The (weighted) mean of the values given to ``update_state(values, sample_weight)``."""

    default_name = "mean"

    def reset_state(self):
        self.total, self.count = 0.0, 0.0

    def update_state(self, values, sample_weight=None):
        if isinstance(values, float) and (sample_weight is None or isinstance(
                sample_weight, (int, float))):  # the loss of a batch: no arrays needed
            weight = 1.0 if sample_weight is None else float(sample_weight)
            self.total += values * weight
            self.count += weight
            return
        values = np.asarray(values, dtype=np.float64)
        if sample_weight is None:
            self.total += float(np.sum(values))
            self.count += values.size
            return
        w = np.asarray(sample_weight, dtype=np.float64)
        while w.ndim > values.ndim and w.shape[-1] == 1:
            w = w[..., 0]
        while w.ndim < values.ndim:
            w = w[..., np.newaxis]
        w = np.broadcast_to(w, values.shape)
        self.total += float(np.sum(values * w))
        self.count += float(np.sum(w))

    def result(self):
        return np.float32(self.total / self.count) if self.count else np.float32(0.0)


class Sum(Metric):
    default_name = "sum"

    def reset_state(self):
        self.total = 0.0

    def update_state(self, values, sample_weight=None):
        values = np.asarray(values, dtype=np.float64)
        self.total += float(np.sum(values if sample_weight is None else
                                   values * np.asarray(sample_weight)))

    def result(self):
        return np.float32(self.total)


class MeanMetricWrapper(Mean):
    """The mean of ``fn(y_true, y_pred)``, a function that returns one value
    per sample (Keras's wrapper for metric functions)."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        self.fn, self._fn_kwargs = fn, kwargs
        super().__init__(name=name or getattr(fn, "__name__", "metric"), dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        super().update_state(self.fn(y_true, _array(y_pred), **self._fn_kwargs), sample_weight)

    def get_config(self):
        return {"name": self.name, **self._fn_kwargs}


def _wrapper(function, default, doc):
    class Wrapped(MeanMetricWrapper):
        default_name = default

        def __init__(self, name=None, dtype=None):
            super().__init__(function, name=name or default, dtype=dtype)

        def get_config(self):
            return {"name": self.name}

    Wrapped.__doc__ = doc
    return Wrapped


Accuracy = _wrapper(accuracy, "accuracy", "How often y_pred equals y_true exactly.")
CategoricalAccuracy = _wrapper(categorical_accuracy, "categorical_accuracy",
                               "How often argmax(y_pred) equals argmax(y_true).")
SparseCategoricalAccuracy = _wrapper(sparse_categorical_accuracy,
                                     "sparse_categorical_accuracy",
                                     "How often argmax(y_pred) equals the integer label.")
for _cls, _name in ((Accuracy, "Accuracy"), (CategoricalAccuracy, "CategoricalAccuracy"),
                    (SparseCategoricalAccuracy, "SparseCategoricalAccuracy")):
    _cls.__name__ = _cls.__qualname__ = _name


class BinaryAccuracy(MeanMetricWrapper):
    """How often (y_pred > threshold) matches the 0/1 target."""

    default_name = "binary_accuracy"

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=float(threshold))


class TopKCategoricalAccuracy(MeanMetricWrapper):
    default_name = "top_k_categorical_accuracy"

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=int(k))


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    default_name = "sparse_top_k_categorical_accuracy"

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None,
                 from_sorted_ids=False):
        if from_sorted_ids:
            raise NotImplementedError("SparseTopKCategoricalAccuracy: from_sorted_ids is not "
                                      "implemented in glassnet")
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=int(k))


class _LossMetric(MeanMetricWrapper):
    """The mean of a loss's per-sample values."""

    loss_class = None

    def __init__(self, name=None, dtype=None, **loss_kwargs):
        self._loss = self.loss_class(**loss_kwargs)
        self._loss_kwargs = loss_kwargs
        super().__init__(self._per_sample, name=name or self.default_name, dtype=dtype)
        self._fn_kwargs = {}

    def _per_sample(self, y_true, y_pred):
        y_pred = np.asarray(y_pred, dtype=np.float64)
        y = np.asarray(y_true)
        if isinstance(self._loss, losses_module._Elementwise) and y.ndim == y_pred.ndim - 1:
            y = np.broadcast_to(y[..., np.newaxis], y_pred.shape)  # Keras broadcasts too
        return self._loss.losses(self._loss.check_targets(y, y_pred.shape), y_pred)

    def get_config(self):
        return {"name": self.name, **self._loss_kwargs}


def _loss_metric(loss_class, default, arguments=()):
    class LossMetric(_LossMetric):
        default_name = default

    LossMetric.loss_class = loss_class
    LossMetric.__name__ = LossMetric.__qualname__ = loss_class.__name__
    LossMetric.__doc__ = f"The mean {default} (see glassnet.losses.{loss_class.__name__})."
    return LossMetric


MeanSquaredError = _loss_metric(losses_module.MeanSquaredError, "mean_squared_error")
MeanAbsoluteError = _loss_metric(losses_module.MeanAbsoluteError, "mean_absolute_error")
MeanAbsolutePercentageError = _loss_metric(losses_module.MeanAbsolutePercentageError,
                                           "mean_absolute_percentage_error")
MeanSquaredLogarithmicError = _loss_metric(losses_module.MeanSquaredLogarithmicError,
                                           "mean_squared_logarithmic_error")
BinaryCrossentropy = _loss_metric(losses_module.BinaryCrossentropy, "binary_crossentropy")
CategoricalCrossentropy = _loss_metric(losses_module.CategoricalCrossentropy,
                                       "categorical_crossentropy")
SparseCategoricalCrossentropy = _loss_metric(losses_module.SparseCategoricalCrossentropy,
                                             "sparse_categorical_crossentropy")


class RootMeanSquaredError(Mean):
    """√(mean of (p - y)²) over everything seen."""

    default_name = "root_mean_squared_error"

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = _array(y_pred).astype(np.float64)
        error = np.square(y_pred - _array(y_true).reshape(y_pred.shape))
        super().update_state(error, sample_weight)

    def result(self):
        return np.float32(np.sqrt(super().result()))


class _Confusion(Metric):
    """Counts of true/false positives and negatives of (y_pred > threshold)
    against the 0/1 targets, over every output."""

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        owner = type(self).__name__
        for argument, value in (("top_k", top_k), ("class_id", class_id)):
            if value is not None:
                raise NotImplementedError(f"{owner}: the Keras argument {argument} is not "
                                          f"implemented in glassnet")
        if isinstance(thresholds, (list, tuple)):
            raise NotImplementedError(f"{owner}: one threshold only in glassnet")
        self.thresholds = 0.5 if thresholds is None else float(thresholds)
        super().__init__(name=name, dtype=dtype)

    def reset_state(self):
        self.tp = self.fp = self.fn = 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = _array(y_pred)
        truth = _array(y_true).reshape(y_pred.shape) > 0.5
        predicted = y_pred > self.thresholds
        w = np.ones(y_pred.shape) if sample_weight is None else np.broadcast_to(
            np.asarray(sample_weight, dtype=np.float64).reshape(
                (-1,) + (1,) * (y_pred.ndim - 1)), y_pred.shape)
        self.tp += float(np.sum(w * (predicted & truth)))
        self.fp += float(np.sum(w * (predicted & ~truth)))
        self.fn += float(np.sum(w * (~predicted & truth)))

    def get_config(self):
        return {"name": self.name, "thresholds": self.thresholds}


class Precision(_Confusion):
    """tp / (tp + fp)."""

    default_name = "precision"

    def result(self):
        return np.float32(self.tp / (self.tp + self.fp)) if self.tp + self.fp else np.float32(0)


class Recall(_Confusion):
    """tp / (tp + fn)."""

    default_name = "recall"

    def result(self):
        return np.float32(self.tp / (self.tp + self.fn)) if self.tp + self.fn else np.float32(0)


class AUC(Metric):
    """Area under the ROC curve, as Keras computes it: true and false positive
    rates at ``num_thresholds`` thresholds spread over [0, 1], joined by the
    trapezoid rule."""

    default_name = "auc"

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        owner = "AUC"
        if str(curve).upper() != "ROC":
            raise NotImplementedError(f"{owner}: curve={curve!r} is not implemented in "
                                      f"glassnet (only 'ROC')")
        for argument, value, default in (("summation_method", summation_method,
                                          "interpolation"), ("thresholds", thresholds, None),
                                         ("multi_label", multi_label, False),
                                         ("label_weights", label_weights, None)):
            if value != default:
                raise NotImplementedError(f"{owner}: {argument}={value!r} is not implemented "
                                          f"in glassnet")
        self.num_thresholds = int(num_thresholds)
        self.from_logits = bool(from_logits)
        eps = 1e-7
        self._thresholds = np.concatenate(
            [[-eps], np.arange(1, self.num_thresholds - 1) / (self.num_thresholds - 1),
             [1 + eps]])
        super().__init__(name=name, dtype=dtype)

    def reset_state(self):
        n = self.num_thresholds
        self.tp, self.fp, self.tn, self.fn = (np.zeros(n) for _ in range(4))

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = _array(y_pred).astype(np.float64)
        if self.from_logits:
            y_pred = sigmoid(y_pred)
        truth = (_array(y_true).reshape(y_pred.shape) > 0.5).ravel()
        scores = y_pred.ravel()
        w = np.ones_like(scores) if sample_weight is None else np.broadcast_to(
            np.asarray(sample_weight, dtype=np.float64).reshape(
                (-1,) + (1,) * (y_pred.ndim - 1)), y_pred.shape).ravel()
        above = scores[np.newaxis, :] > self._thresholds[:, np.newaxis]
        self.tp += (above & truth) @ w
        self.fp += (above & ~truth) @ w
        self.fn += (~above & truth) @ w
        self.tn += (~above & ~truth) @ w

    def result(self):
        tpr = np.divide(self.tp, self.tp + self.fn, out=np.zeros_like(self.tp),
                        where=self.tp + self.fn > 0)
        fpr = np.divide(self.fp, self.fp + self.tn, out=np.zeros_like(self.fp),
                        where=self.fp + self.tn > 0)
        return np.float32(np.sum((fpr[:-1] - fpr[1:]) * (tpr[:-1] + tpr[1:]) / 2))

    def get_config(self):
        return {"name": self.name, "num_thresholds": self.num_thresholds,
                "from_logits": self.from_logits}


_BY_NAME = {
    "accuracy": Accuracy, "acc": Accuracy,
    "binary_accuracy": BinaryAccuracy, "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mape": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "msle": MeanSquaredLogarithmicError,
    "root_mean_squared_error": RootMeanSquaredError,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "precision": Precision, "recall": Recall, "auc": AUC,
}
_CLASSES = [Mean, Sum, Accuracy, BinaryAccuracy, CategoricalAccuracy,
            SparseCategoricalAccuracy, TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy,
            MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
            MeanSquaredLogarithmicError, RootMeanSquaredError, BinaryCrossentropy,
            CategoricalCrossentropy, SparseCategoricalCrossentropy, Precision, Recall, AUC]
_BY_CLASS = {cls.__name__: cls for cls in _CLASSES}
_FUNCTIONS = {accuracy: Accuracy, sparse_categorical_accuracy: SparseCategoricalAccuracy,
              categorical_accuracy: CategoricalAccuracy, binary_accuracy: BinaryAccuracy,
              top_k_categorical_accuracy: TopKCategoricalAccuracy,
              sparse_top_k_categorical_accuracy: SparseTopKCategoricalAccuracy}


def names():
    return sorted(_BY_NAME)


def get(identifier):
    """A Metric from a name (``"mae"``, ``"sparse_categorical_accuracy"``, a
    class name such as ``"AUC"``), a Metric, a metric class, a loss or metric
    function of glassnet's, a config dict, or any function
    ``fn(y_true, y_pred)`` that returns one value per sample."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier) and identifier in _FUNCTIONS:
        return _FUNCTIONS[identifier]()
    if callable(identifier) and identifier in losses_module._FUNCTIONS:
        name = identifier.__name__
        return _BY_NAME[name]() if name in _BY_NAME else MeanMetricWrapper(identifier)
    if isinstance(identifier, str) and identifier in _BY_CLASS:
        return _BY_CLASS[identifier]()
    if callable(identifier) and not isinstance(identifier, (str, dict)):
        return MeanMetricWrapper(identifier)
    if isinstance(identifier, str):
        key = identifier.strip()
        if key.lower() in _BY_NAME or key in _BY_CLASS:
            return (_BY_NAME.get(key.lower()) or _BY_CLASS[key])()
    return utils.resolve(identifier, "metric", Metric, _BY_NAME, _BY_CLASS)


def for_compile(identifier, y_true_shape, y_pred_shape):
    """The Metric that ``compile(metrics=[identifier])`` means for an output
    of ``y_pred_shape`` and targets of ``y_true_shape``, named as Keras names it
    (the string given, else the metric's own name)."""
    if identifier is None:
        raise ValueError("a metric cannot be None")
    if isinstance(identifier, str) and identifier.strip().lower() in ("accuracy", "acc"):
        binary = y_pred_shape[-1] == 1
        sparse = len(y_true_shape) < len(y_pred_shape) or (
            y_true_shape[-1] == 1 and y_pred_shape[-1] > 1)
        cls = BinaryAccuracy if binary else (SparseCategoricalAccuracy if sparse
                                             else CategoricalAccuracy)
        return cls(name=identifier)
    metric = get(identifier)
    if isinstance(identifier, str):
        metric.name = identifier
    return metric
