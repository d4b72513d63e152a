"""Losses: how far the predictions are from the targets, and the gradient that
starts backpropagation.

Keras's semantics: each sample's loss is reduced over the last axis, then
the per-sample losses lᵢ (times their sample weights wᵢ, if given) are summed
and divided by their number ("sum_over_batch_size", the default):

    loss = Σᵢ wᵢ·lᵢ / N          ∂loss/∂pᵢ = wᵢ · ∂lᵢ/∂pᵢ / N

=================================  ===========================================
loss                               one sample (p = prediction, y = target)
=================================  ===========================================
mean_squared_error (mse)           mean over outputs of (p - y)²
mean_absolute_error (mae)          mean over outputs of |p - y|
mean_absolute_percentage_error     mean of 100·|p - y| / max(|y|, ε)
mean_squared_logarithmic_error     mean of (log(1 + p) - log(1 + y))²
huber                              mean of ½e² (|e| ≤ δ) or δ(|e| - ½δ), e = p - y
log_cosh                           mean of log(cosh(p - y))
binary_crossentropy                mean over outputs of -(y log p + (1-y) log(1-p))
categorical_crossentropy           -Σₖ yₖ log pₖ, y one-hot
sparse_categorical_crossentropy    -log p[label], label an integer
kl_divergence                      Σₖ yₖ log(yₖ / pₖ)
poisson                            mean of p - y log(p + ε)
hinge / squared_hinge              mean of max(1 - y·p, 0) (squared), y in {-1, 1}
=================================  ===========================================

``from_logits=False`` (the default) takes probabilities, which are clipped to
[1e-7, 1 - 1e-7] as Keras does. ``from_logits=True`` takes raw scores z and
applies softmax (or sigmoid) itself, exactly: log softmax(z) is computed as
z - max z - log Σ e^(z - max z), and the gradient is simply softmax(z) - y.
A model whose output layer ends in softmax (or sigmoid) uses that fused form
automatically, so ``Dense(10, activation="softmax")`` with a cross-entropy
loss is as exact and stable as logits.

    >>> import numpy as np
    >>> loss = get("sparse_categorical_crossentropy")
    >>> round(loss([0, 1], np.array([[0.9, 0.1], [0.2, 0.8]])), 6)
    0.164252

The functions (``mean_squared_error(y_true, y_pred)``, ...) return the
per-sample losses, as Keras's do.
"""

from __future__ import annotations

import numpy as np

from glassnet import utils
from glassnet.activations import as_float_array, log_softmax, sigmoid

__all__ = ["Loss", "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
           "MeanSquaredLogarithmicError", "Huber", "LogCosh", "BinaryCrossentropy",
           "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "KLDivergence",
           "Poisson", "Hinge", "SquaredHinge", "get", "names", "serialize", "EPSILON",
           "REDUCTIONS"]

EPSILON = 1e-7  # Keras's backend epsilon
REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


class Loss:
    """Base class. ``loss(y_true, y_pred, sample_weight=None)`` is the reduced
    loss (a float); ``loss.call(y_true, y_pred)`` the per-sample losses;
    ``loss.value_and_gradient(y_true, y_pred, sample_weight)`` the reduced
    loss and ∂loss/∂y_pred, which starts backpropagation.

    Subclasses define ``losses_and_gradients(y, p)``: the per-sample losses
    (shape p.shape[:-1]) and each one's gradient with respect to its own
    prediction row (shape p.shape). ``check_targets(y_true, output_shape)``
    validates a whole target array once (before training) and returns it in
    the form the loss uses.
    """

    fused_activation = None  # "softmax" / "sigmoid": the activation this loss can fuse
    default_name = "loss"

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if reduction not in REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {REDUCTIONS}; "
                             f"received {reduction!r}")
        self.name = name or self.default_name
        self.reduction = reduction
        self.dtype = dtype
        self.from_logits = getattr(self, "from_logits", False)

    # ------------------------------------------------------------- public
    def __call__(self, y_true, y_pred, sample_weight=None):
        """The loss as a Tensor, as TensorFlow's: under a GradientTape it is
        one node whose backward is this loss's own gradient."""
        from glassnet.ops.function import call_loss
        return call_loss(self, y_true, y_pred, sample_weight)

    def call(self, y_true, y_pred):
        """The per-sample losses (unreduced), as Keras's ``Loss.call``. A
        subclass may define ``call`` itself with ops (Keras's way): its
        gradient then comes from a tape."""
        y_pred = as_float_array(y_pred, f"{self.name} y_pred")
        return self.losses(self.check_targets(y_true, y_pred.shape), y_pred)

    @classmethod
    def written_with_ops(cls):
        """A Keras-style loss: its own ``call`` written with ops."""
        return cls.call is not Loss.call

    def _ops_values(self, y, p):
        """The per-sample losses of a Keras-style loss, a Tensor (recorded on
        whatever tape is recording)."""
        from glassnet.tensor import Tensor
        values = self.call(y if isinstance(y, Tensor) else Tensor(np.asarray(y)),
                           p if isinstance(p, Tensor) or hasattr(p, "assign") else Tensor(p))
        return values if isinstance(values, Tensor) else Tensor(np.asarray(values))

    def reduce_tensor(self, values, sample_weight=None):
        """``_reduce`` written with ops: Σ wᵢlᵢ over the divisor of the reduction."""
        from glassnet.ops import math_ops
        if self.reduction in (None, "none"):
            return values if sample_weight is None else math_ops.multiply(
                values, self._weights(sample_weight, values.shape).astype(values.dtype))
        w = None if sample_weight is None else self._weights(sample_weight, values.shape)
        total = math_ops.reduce_sum(values if w is None else
                                    math_ops.multiply(values, w.astype(values.dtype)))
        if self.reduction == "sum":
            divisor = 1.0
        elif self.reduction == "mean_with_sample_weight" and w is not None:
            divisor = float(np.sum(w))
        else:
            divisor = float(values.size)
        return math_ops.divide(total, np.asarray(divisor or 1.0, dtype=values.dtype))

    def _tape_value_and_gradient(self, y, p, sample_weight):
        from glassnet import tape as tape_module
        from glassnet.tensor import Tensor
        pt = Tensor(p)
        with tape_module.only(), tape_module.GradientTape() as tape:
            tape.watch(pt)
            total = self.reduce_tensor(self._ops_values(y, pt), sample_weight)
        grad = tape.gradient(total, pt)
        grad = np.zeros_like(p) if grad is None else np.asarray(grad._value, dtype=p.dtype)
        return float(total), grad

    def value(self, y_true, y_pred, sample_weight=None):
        """The reduced loss of checked targets (see ``check_targets``)."""
        if self.written_with_ops():
            return float(self.reduce_tensor(self._ops_values(y_true, y_pred), sample_weight))
        return self._reduce(self.losses(y_true, y_pred), sample_weight)[0]

    def gradient(self, y_true, y_pred, sample_weight=None):
        return self.value_and_gradient(y_true, y_pred, sample_weight)[1]

    def value_and_gradient(self, y_true, y_pred, sample_weight=None):
        """(reduced loss, ∂loss/∂y_pred): both at once, as a training step needs."""
        if self.written_with_ops():
            return self._tape_value_and_gradient(y_true, y_pred, sample_weight)
        values, grads = self.losses_and_gradients(y_true, y_pred)
        value, scale = self._reduce(values, sample_weight)
        if isinstance(scale, np.ndarray):
            grads = grads * scale[..., np.newaxis].astype(grads.dtype, copy=False)
        else:
            grads *= grads.dtype.type(scale)
        return value, grads

    # ------------------------------------------------------------- to define
    def losses(self, y, p):
        return self.losses_and_gradients(y, p)[0]

    def losses_and_gradients(self, y, p):
        raise NotImplementedError

    # ------------------------------------------------------------- reduction
    def _weights(self, sample_weight, shape):
        w = np.asarray(sample_weight, dtype=np.float64)
        while w.ndim > len(shape) and w.shape[-1] == 1:
            w = w[..., 0]
        while w.ndim < len(shape):
            w = w[..., np.newaxis]
        try:
            return np.broadcast_to(w, shape)
        except ValueError:
            raise ValueError(f"{self.name}: sample_weight of shape {np.shape(sample_weight)} "
                             f"does not fit per-sample losses of shape {shape}") from None

    def _reduce(self, values, sample_weight):
        """(reduced value, the factor each per-sample gradient is scaled by)."""
        w = None if sample_weight is None else self._weights(sample_weight, values.shape)
        total = float(np.sum(values if w is None else values * w))
        count = values.size
        if self.reduction == "sum":
            divisor = 1.0
        elif self.reduction == "mean_with_sample_weight" and w is not None:
            divisor = float(np.sum(w))
        elif self.reduction in (None, "none"):
            raise ValueError(f"{self.name}: a model needs a reduced loss; reduction=None only "
                             f"applies to calling the loss yourself")
        else:
            divisor = float(count)
        divisor = divisor or 1.0
        scale = 1.0 / divisor if w is None else w / divisor
        return total / divisor, scale

    # ------------------------------------------------------------- targets
    def check_targets(self, y_true, output_shape):
        """Float targets of the predictions' shape (a Keras-style loss gets
        its targets as they are, as Keras gives them)."""
        if self.written_with_ops():
            y = np.asarray(y_true)
            if y.ndim == len(output_shape) - 1 and tuple(output_shape)[-1] == 1:
                y = y[..., np.newaxis]
            return y
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
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


class _Elementwise(Loss):
    """A loss that is the mean over the last axis of f(y, p) elementwise:
    subclasses define ``elementwise(y, p)`` -> (f, ∂f/∂p)."""

    def losses_and_gradients(self, y, p):
        values, derivative = self.elementwise(y, p)
        k = p.shape[-1] if p.ndim else 1
        return values.mean(axis=-1), derivative * (1.0 / k)

    def losses(self, y, p):
        return self.elementwise(y, p, False)[0].mean(axis=-1)


class MeanSquaredError(_Elementwise):
    """mean((p - y)²); ∂/∂p = 2(p - y)."""

    default_name = "mean_squared_error"

    def elementwise(self, y, p, derivative=True):
        e = p - y
        return np.square(e), (2 * e if derivative else None)


class MeanAbsoluteError(_Elementwise):
    """mean(|p - y|); ∂/∂p = sign(p - y)."""

    default_name = "mean_absolute_error"

    def elementwise(self, y, p, derivative=True):
        e = p - y
        return np.abs(e), (np.sign(e) if derivative else None)


class MeanAbsolutePercentageError(_Elementwise):
    """100·|p - y| / max(|y|, ε); ∂/∂p = 100·sign(p - y) / max(|y|, ε)."""

    default_name = "mean_absolute_percentage_error"

    def elementwise(self, y, p, derivative=True):
        scale = 100.0 / np.maximum(np.abs(y), EPSILON)
        e = p - y
        return np.abs(e) * scale, (np.sign(e) * scale if derivative else None)


class MeanSquaredLogarithmicError(_Elementwise):
    """(log(1 + max(p, ε)) - log(1 + max(y, ε)))²."""

    default_name = "mean_squared_logarithmic_error"

    def elementwise(self, y, p, derivative=True):
        pc = np.maximum(p, EPSILON)
        e = np.log1p(pc) - np.log1p(np.maximum(y, EPSILON))
        if not derivative:
            return np.square(e), None
        return np.square(e), 2 * e / (1 + pc) * (p > EPSILON)


class Huber(_Elementwise):
    """½e² where |e| ≤ δ, else δ(|e| - ½δ), e = p - y; ∂/∂p = clip(e, -δ, δ)."""

    default_name = "huber_loss"

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss",
                 dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.delta = float(delta)

    def elementwise(self, y, p, derivative=True):
        e = p - y
        small = np.abs(e) <= self.delta
        values = np.where(small, 0.5 * np.square(e), self.delta * (np.abs(e) - 0.5 * self.delta))
        return values, (np.clip(e, -self.delta, self.delta) if derivative else None)

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}


class LogCosh(_Elementwise):
    """log(cosh(e)), e = p - y, computed as e + softplus(-2e) - log 2; ∂/∂p = tanh(e)."""

    default_name = "log_cosh"

    def elementwise(self, y, p, derivative=True):
        e = p - y
        values = e + np.logaddexp(0, -2 * e) - np.log(2.0)
        return values, (np.tanh(e) if derivative else None)


class Poisson(_Elementwise):
    """p - y·log(p + ε); ∂/∂p = 1 - y / (p + ε)."""

    default_name = "poisson"

    def elementwise(self, y, p, derivative=True):
        return p - y * np.log(p + EPSILON), (1 - y / (p + EPSILON) if derivative else None)


class Hinge(_Elementwise):
    """max(1 - y·p, 0) with y in {-1, 1} (0/1 targets are mapped to -1/1)."""

    default_name = "hinge"
    power = 1

    def elementwise(self, y, p, derivative=True):
        y = np.where(y == 0, -1.0, y) if np.all((y == 0) | (y == 1)) else y
        margin = np.maximum(1 - y * p, 0)
        if self.power == 1:
            return margin, (-y * (margin > 0) if derivative else None)
        return np.square(margin), (-2 * y * margin if derivative else None)


class SquaredHinge(Hinge):
    """max(1 - y·p, 0)²."""

    default_name = "squared_hinge"
    power = 2


class _Crossentropy(Loss):
    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name=None, dtype=None):
        self.from_logits = bool(from_logits)
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if axis not in (-1,):
            raise NotImplementedError(f"{type(self).__name__}: axis={axis!r} is not "
                                      f"implemented in glassnet (only the last axis)")
        if not 0 <= label_smoothing <= 1:
            raise ValueError(f"{type(self).__name__}: label_smoothing must lie in [0, 1]; "
                             f"received {label_smoothing!r}")
        self.label_smoothing = float(label_smoothing)
        self.axis = axis

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class BinaryCrossentropy(_Crossentropy):
    """-(y log p + (1 - y) log(1 - p)), averaged over the last axis; targets in [0, 1].

    From logits z (p = σ(z)): max(z, 0) - z y + log(1 + e^(-|z|)), gradient
    σ(z) - y. ``label_smoothing`` s: y ← y(1 - s) + s/2.
    """

    default_name = "binary_crossentropy"
    fused_activation = "sigmoid"

    def _smooth(self, y):
        return y if not self.label_smoothing else \
            y * (1 - self.label_smoothing) + 0.5 * self.label_smoothing

    def losses_and_gradients(self, y, p):
        y, k = self._smooth(y), p.shape[-1]
        if self.from_logits:
            z = p
            values = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
            return values.mean(axis=-1), (sigmoid(z) - y) * (1.0 / k)
        pc = np.clip(p, EPSILON, 1 - EPSILON)
        values = -(y * np.log(pc) + (1 - y) * np.log1p(-pc))
        inside = (p > EPSILON) & (p < 1 - EPSILON)  # the clip passes no gradient
        return values.mean(axis=-1), inside * (pc - y) / (pc * (1 - pc)) * (1.0 / k)

    def losses(self, y, p):
        y = self._smooth(y)
        if self.from_logits:
            return (np.maximum(p, 0) - p * y + np.log1p(np.exp(-np.abs(p)))).mean(axis=-1)
        pc = np.clip(p, EPSILON, 1 - EPSILON)
        return (-(y * np.log(pc) + (1 - y) * np.log1p(-pc))).mean(axis=-1)

    def check_targets(self, y_true, output_shape):
        y = super().check_targets(y_true, output_shape)
        # Keras computes with any target, and so does glassnet: noisy labels a little
        # outside [0, 1] (the GAN guides add up to 0.05 of noise) are fine. Whole numbers
        # outside [0, 1] are class numbers (or -1/1 labels), a mistake worth a message
        if y.size and (y.min() < 0 or y.max() > 1) and np.all(y == np.round(y)):
            raise ValueError(f"binary_crossentropy targets lie in [0, 1] (0/1 labels or "
                             f"probabilities); received whole numbers from {y.min():g} to "
                             f"{y.max():g}: for class numbers use "
                             f"sparse_categorical_crossentropy")
        return y


class CategoricalCrossentropy(_Crossentropy):
    """-Σₖ yₖ log pₖ for one-hot (or soft) targets y of shape (n, classes).

    On probabilities Keras first rescales p to sum to 1, then clips. From
    logits: -Σₖ yₖ log_softmax(z)ₖ, gradient softmax(z) Σy - y.
    ``label_smoothing`` s: y ← y(1 - s) + s/classes.
    """

    default_name = "categorical_crossentropy"
    fused_activation = "softmax"

    def _smooth(self, y):
        return y if not self.label_smoothing else \
            y * (1 - self.label_smoothing) + self.label_smoothing / y.shape[-1]

    def losses(self, y, p):
        y = self._smooth(y)
        if self.from_logits:
            return -np.sum(y * log_softmax(p), axis=-1)
        q = np.clip(p / p.sum(axis=-1, keepdims=True), EPSILON, 1 - EPSILON)
        return -np.sum(y * np.log(q), axis=-1)

    def losses_and_gradients(self, y, p):
        y = self._smooth(y)
        if self.from_logits:
            log_p = log_softmax(p)
            return (-np.sum(y * log_p, axis=-1),
                    np.exp(log_p) * y.sum(axis=-1, keepdims=True) - y)
        # L = -Σᵢ yᵢ log c(qᵢ), qᵢ = pᵢ / S, S = Σⱼ pⱼ, c the clip (slope 0 where it clips):
        # ∂L/∂pⱼ = (-yⱼ mⱼ / c(qⱼ) + Σᵢ yᵢ mᵢ qᵢ / c(qᵢ)) / S, m = 1 inside the clip
        total = p.sum(axis=-1, keepdims=True)
        q = p / total
        qc = np.clip(q, EPSILON, 1 - EPSILON)
        inside = (q > EPSILON) & (q < 1 - EPSILON)
        ratio = inside * y / qc
        return (-np.sum(y * np.log(qc), axis=-1),
                (-ratio + np.sum(ratio * q, axis=-1, keepdims=True)) / total)

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

    default_name = "sparse_categorical_crossentropy"
    fused_activation = "softmax"

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size",
                 name=None, dtype=None):
        self.from_logits = bool(from_logits)
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if ignore_class is not None:
            raise NotImplementedError("SparseCategoricalCrossentropy: the Keras argument "
                                      "ignore_class is not implemented in glassnet")

    def _log_probabilities(self, scores):
        if self.from_logits:
            return log_softmax(scores)
        return np.log(np.clip(scores / scores.sum(axis=-1, keepdims=True), EPSILON,
                              1 - EPSILON))

    def losses(self, y, p):
        scores = p.reshape(-1, p.shape[-1])
        rows = np.arange(scores.shape[0])
        log_q = self._log_probabilities(scores)
        return -log_q[rows, y.reshape(-1)].reshape(p.shape[:-1])

    def losses_and_gradients(self, y, p):
        scores = p.reshape(-1, p.shape[-1])
        rows, labels = np.arange(scores.shape[0]), y.reshape(-1)
        if not self.from_logits:
            one_hot = np.zeros_like(p)
            np.put_along_axis(one_hot, y.reshape(p.shape[:-1] + (1,)), 1, axis=-1)
            return CategoricalCrossentropy().losses_and_gradients(one_hot, p)
        log_p = log_softmax(scores)
        values = -log_p[rows, labels]
        grad = np.exp(log_p)                     # softmax(z)
        grad[rows, labels] -= 1                  # - onehot(label)
        return values.reshape(p.shape[:-1]), grad.reshape(p.shape)

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

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits}


class KLDivergence(Loss):
    """Σₖ yₖ log(yₖ / pₖ), both clipped to [ε, 1]; ∂/∂pₖ = -yₖ / pₖ inside the clip."""

    default_name = "kl_divergence"

    def losses_and_gradients(self, y, p):
        yc, pc = np.clip(y, EPSILON, 1), np.clip(p, EPSILON, 1)
        values = np.sum(yc * np.log(yc / pc), axis=-1)
        return values, -yc / pc * ((p > EPSILON) & (p < 1))


_BY_NAME = {
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mape": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "msle": MeanSquaredLogarithmicError,
    "huber": Huber, "huber_loss": Huber, "log_cosh": LogCosh, "logcosh": LogCosh,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "kl_divergence": KLDivergence, "kld": KLDivergence, "kullback_leibler_divergence":
        KLDivergence,
    "poisson": Poisson, "hinge": Hinge, "squared_hinge": SquaredHinge,
}
_BY_CLASS = {cls.__name__: cls for cls in _BY_NAME.values()}
_BY_CLASS["KLD"] = _BY_CLASS["KLDivergence"]


def _loss_function(cls, name):
    def function(y_true, y_pred, **kwargs):
        from glassnet import tape
        from glassnet.tensor import Tensor
        from glassnet.variables import Variable

        if tape.recording() or any(isinstance(v, (Tensor, Variable)) for v in (y_true, y_pred)):
            # on tensors (a training loop): per-sample losses as a Tensor a tape records
            return cls(reduction="none", **kwargs)(y_true, y_pred)
        return cls(**kwargs).call(y_true, y_pred)

    function.__name__ = name
    function.__doc__ = f"Per-sample {name} (see :class:`{cls.__name__}`)."
    return function


(mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
 mean_squared_logarithmic_error, huber, log_cosh, binary_crossentropy,
 categorical_crossentropy, sparse_categorical_crossentropy, kl_divergence, poisson, hinge,
 squared_hinge) = (
    _loss_function(_BY_NAME[name], name) for name in (
        "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
        "mean_squared_logarithmic_error", "huber", "log_cosh", "binary_crossentropy",
        "categorical_crossentropy", "sparse_categorical_crossentropy", "kl_divergence",
        "poisson", "hinge", "squared_hinge"))
mse, mae, mape, msle, kld = (mean_squared_error, mean_absolute_error,
                             mean_absolute_percentage_error, mean_squared_logarithmic_error,
                             kl_divergence)
_FUNCTIONS = {f: _BY_NAME[f.__name__] for f in (
    mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_logarithmic_error, huber, log_cosh, binary_crossentropy,
    categorical_crossentropy, sparse_categorical_crossentropy, kl_divergence, poisson, hinge,
    squared_hinge)}


class LossFunctionWrapper(Loss):
    """A loss from your own function ``fn(y_true, y_pred)`` written with ops
    (``tf.reduce_mean(tf.square(y_true - y_pred), axis=-1)``): its values are
    what ``fn`` returns, reduced as any loss; its gradient comes from a tape."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None,
                 **kwargs):
        if not callable(fn):
            raise TypeError(f"LossFunctionWrapper needs a function fn(y_true, y_pred); "
                            f"received {type(fn).__name__}")
        super().__init__(name=name or getattr(fn, "__name__", "loss"), reduction=reduction,
                         dtype=dtype)
        self.fn, self.fn_kwargs = fn, kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self.fn_kwargs)

    def get_config(self):
        return {**super().get_config(), "fn": getattr(self.fn, "__name__", None)}


def names():
    return sorted(_BY_NAME)


def get(identifier):
    """A Loss from a name (``"mse"``, ``"sparse_categorical_crossentropy"``, ...),
    one of this module's functions, a config dict, or a Loss."""
    if callable(identifier) and identifier in _FUNCTIONS:
        return _FUNCTIONS[identifier]()
    if callable(identifier) and not isinstance(identifier, (Loss, type)):
        return LossFunctionWrapper(identifier)  # your own fn(y_true, y_pred), with ops
    if isinstance(identifier, dict) and identifier.get("class_name") not in _BY_CLASS \
            and identifier.get("class_name") is not None:
        from glassnet.saving import custom  # yours, registered or passed as custom_objects

        config = dict(identifier.get("config") or {})
        if identifier["class_name"] == "LossFunctionWrapper":
            fn = custom.lookup(config.pop("fn", None))
            if fn is None:
                raise ValueError(f"the loss function {identifier['config'].get('fn')!r} is "
                                 f"your own: pass it as custom_objects={{name: function}} or "
                                 f"register it with keras.saving.register_keras_serializable")
            config.pop("dtype", None)
            return LossFunctionWrapper(fn, **config)
        cls = custom.lookup(identifier["class_name"])
        if cls is not None:
            return cls.from_config(config)
    if isinstance(identifier, dict) and identifier.get("class_name") in _BY_CLASS:
        config = {k: v for k, v in identifier.get("config", {}).items()
                  if k not in ("fn", "dtype")}
        return _BY_CLASS[identifier["class_name"]](**config)
    return utils.resolve(identifier, "loss", Loss, _BY_NAME, _BY_CLASS)


def serialize(loss):
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


def map_per_output(loss, function):
    """``function`` applied to each loss of a compile's ``loss`` argument:
    one loss, a list (one per output) or a dict (output name -> loss)."""
    if isinstance(loss, (list, tuple)):
        return [function(spec) for spec in loss]
    if isinstance(loss, dict) and "class_name" not in loss:
        return {name: function(spec) for name, spec in loss.items()}
    return function(loss)
