"""Sequential: a stack of layers with Keras's compile / fit / evaluate / predict.

One training step on a batch (x, y) is the whole of deep learning:

    a = x;  for layer in layers:            a = layer.forward(a, training=True)
    loss, g = loss(y, a), ∂loss/∂a
    for layer in reversed(layers):          g = layer.backward(g)
    optimizer.apply(params, grads)

Three details make it exact and fast. (1) When the last layer ends in softmax
(or sigmoid) and the loss is cross-entropy on probabilities, the step works
from the logits z: the loss is computed from log_softmax(z) and backward starts
from ∂loss/∂z = p - y. (2) All trainable weights live in one float32 vector,
each layer's ``kernel``/``bias`` a view into it, and all gradients in another,
so the optimizer updates everything in a few passes. (3) A Conv2D (relu) followed
by a MaxPooling2D runs as one step that pools first and applies bias and relu
to the pooled values, the same numbers with 4x less work
(glassnet/layers/fused.py).
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np

from glassnet import callbacks as callbacks_module
from glassnet import layers as layers_module
from glassnet import losses, metrics as metrics_module, optimizers, utils
from glassnet.layers import Input, Layer
from glassnet.layers import fused as fused_steps

__all__ = ["Sequential", "load_model"]


def _batch_size(value, name="batch_size"):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer; received {value!r}")
    return int(value)


class Sequential:
    """A linear stack of layers: ``Sequential([Input((28, 28)), Flatten(),
    Dense(128, activation="relu"), Dense(10, activation="softmax")])``."""

    def __init__(self, layers=None, name=None):
        self.name = name or utils.unique_name("sequential")
        self.layers = []
        self.input_shape = None  # one sample's shape, once known
        self.optimizer = None
        self.loss = None
        self.metrics = []
        self.compiled = False
        self.stop_training = False
        self._packed_layout = None
        self._metric_fns = None
        self._fused = None
        self._steps = []
        self._backward_steps = []
        self.input_gradient_wanted = False  # True: backward also computes ∂loss/∂x
        self.input_gradient = None
        self._has_regularizers = False
        self.metadata = {}  # free-form facts saved with the model (class names, data set)
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------ building
    def add(self, layer):
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add takes a glassnet layer; received "
                            f"{type(layer).__name__}")
        if isinstance(layer, Input):
            if self.layers or self.input_shape is not None:
                raise ValueError("Input must come first in a Sequential model, once")
            self.input_shape = layer.shape
            return
        if not self.layers and self.input_shape is None and layer.requested_input_shape:
            self.input_shape = layer.requested_input_shape  # Keras 2's input_shape=
        if any(existing.name == layer.name for existing in self.layers):
            raise ValueError(f"Sequential {self.name!r} already has a layer named "
                             f"{layer.name!r}; layer names must be unique")
        self.layers.append(layer)
        self._packed_layout = None
        if self.input_shape is not None:
            self.build(self.input_shape)

    @property
    def built(self):
        return bool(self.layers) and all(layer.built for layer in self.layers)

    @property
    def output_shape(self):
        return self.layers[-1].output_shape if self.built else None

    @property
    def dtype(self):
        return self.layers[0].dtype if self.layers else np.dtype("float32")

    def build(self, input_shape):
        """Create every layer's weights for samples of ``input_shape``."""
        input_shape = tuple(input_shape)
        if self.input_shape is None:
            self.input_shape = input_shape
        shape = input_shape
        for layer in self.layers:
            layer.ensure_built(shape)
            shape = layer.output_shape
        self._steps = fused_steps.plan(self.layers)
        self._plan_backward()
        self._pack()

    def _plan_backward(self):
        """Backward runs from the last layer down to the first one with
        trainable weights: below it nobody needs a gradient (a Rescaling or
        Reshape at the bottom, and ∂loss/∂x for the data itself), unless
        ``input_gradient_wanted`` (gradcheck sets it)."""
        below_weights = self.input_gradient_wanted
        for layer in self.layers:
            layer.input_grad_needed = below_weights
            below_weights = below_weights or bool(layer.trainable_weight_names)
        first = 0
        if not self.input_gradient_wanted:
            first = next((i for i, step in enumerate(self._steps)
                          if any(layer.trainable_weight_names
                                 for layer in getattr(step, "layers", [step]))),
                         len(self._steps))
        self._backward_steps = self._steps[first:][::-1]

    def _pack(self):
        """Move every trainable weight (and its gradient) into one contiguous
        vector, leaving each layer a view into it."""
        layout = [(layer, name) for layer in self.layers
                  for name in layer.trainable_weight_names]
        key = [(id(layer), name) for layer, name in layout]
        if self._packed_layout == key:
            return
        total = sum(getattr(layer, name).size for layer, name in layout)
        self._params = np.empty(total, dtype=self.dtype)
        self._grads = np.zeros(total, dtype=self.dtype)
        offset = 0
        for layer, name in layout:
            value = getattr(layer, name)
            view = self._params[offset:offset + value.size].reshape(value.shape)
            view[...] = value
            setattr(layer, name, view)
            setattr(layer, "grad_" + name,
                    self._grads[offset:offset + value.size].reshape(value.shape))
            offset += value.size
        self._packed_layout = key

    def _require_built(self, what):
        if not self.layers:
            raise ValueError(f"{what}: the model has no layers; add some first")
        if not self.built:
            raise ValueError(f"{what}: the model is not built yet. Give it an Input((...)) "
                             f"first, or call it on data (fit/predict) so it can infer the "
                             f"input shape")

    # ------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, metrics=None):
        """Choose how to learn: optimizer (name or object), loss (name or
        object) and metrics (e.g. ``["accuracy"]``)."""
        self.optimizer = optimizers.get(optimizer)
        if loss is None:
            raise ValueError("compile needs a loss, e.g. loss='sparse_categorical_crossentropy'"
                             f"; valid names: {', '.join(losses.names())}")
        self.loss = losses.get(loss)
        if metrics is None:
            metrics = []
        if isinstance(metrics, str) or callable(metrics):
            metrics = [metrics]
        self.metrics = [metrics_module.check(m) for m in metrics]
        self.compiled = True

    def _fused_loss(self):
        """The loss that takes the last layer's z, when softmax/sigmoid + CE fuse."""
        last = self.layers[-1]
        activation = getattr(last, "activation", None)
        if (self.loss.fused_activation and not self.loss.from_logits and activation is not None
                and activation.name == self.loss.fused_activation
                and hasattr(last, "backward_from_z")):
            return type(self.loss)(from_logits=True)
        return None

    # ------------------------------------------------------------ checks
    def _check_x(self, x, what, check_finite=True):
        try:
            x = np.asarray(x)
        except ValueError as error:
            raise ValueError(f"{what}: x is not a rectangular array ({error})") from None
        if x.dtype.kind not in "biuf":
            raise ValueError(f"{what}: x must be numeric; received dtype {x.dtype}")
        if x.ndim < 1 or len(x) == 0:
            raise ValueError(f"{what}: x must hold at least one sample; received shape "
                             f"{x.shape}")
        if check_finite and x.dtype.kind == "f" and not np.isfinite(x).all():
            bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
            raise ValueError(f"{what}: x contains {bad} NaN or infinite values; clean the data "
                             f"before training")
        if not self.built:
            self.build(x.shape[1:])
        if tuple(x.shape[1:]) != tuple(self.input_shape):
            first = self.layers[0]
            raise ValueError(f"{what}: layer {first.name!r} ({type(first).__name__}) expects "
                             f"input of shape {(None,) + tuple(self.input_shape)}; received x "
                             f"of shape {x.shape}")
        return x

    def _check_xy(self, x, y, what):
        x = self._check_x(x, what)
        y = np.asarray(y)
        if y.ndim == 0 or len(y) != len(x):
            raise ValueError(f"{what}: x and y must hold the same number of samples; received "
                             f"x of shape {x.shape} and y of shape {y.shape}")
        if y.dtype.kind == "f" and not np.isfinite(y).all():
            raise ValueError(f"{what}: y contains NaN or infinite values")
        y = self.loss.check_targets(y, (len(x),) + tuple(self.output_shape))
        if y.dtype.kind == "f":
            y = y.astype(self.dtype, copy=False)
        return x, y

    def _require_compiled(self, what):
        if not self.compiled:
            raise ValueError(f"{what} needs compile() first, e.g. model.compile("
                             f"optimizer='adam', loss='sparse_categorical_crossentropy', "
                             f"metrics=['accuracy'])")

    # ------------------------------------------------------------ forward
    def _forward(self, x, training):
        # the layers in order; a Conv2D + MaxPooling2D pair runs as one step
        # with the same result (glassnet/layers/fused.py)
        for step in self._steps:
            x = step.forward(x, training=training)
        return x

    def __call__(self, x, training=False):
        x = self._check_x(x, "model call")
        return self._forward(x.astype(self.dtype, copy=False), training)

    def _regularization_loss(self):
        return sum(layer.regularization_loss() for layer in self.layers)

    def _batch_metrics(self, y, output, logs_sums, batch):
        if self._metric_fns is None:  # resolved on the first batch: shapes decide "accuracy"
            self._metric_fns = [metrics_module.get(m, y.shape, output.shape)
                                for m in self.metrics]
        for name, fn in self._metric_fns:
            logs_sums[name] = logs_sums.get(name, 0.0) + float(fn(y, output)) * batch

    # ------------------------------------------------------------ training
    def compute_gradients(self, x, y):
        """Forward (training mode), loss, backward: fills every layer's
        ``grad_*`` and returns (loss including regularization, output).
        Skips backward when the loss is not finite. With
        ``model.input_gradient_wanted = True``, ∂loss/∂x is left in
        ``self.input_gradient`` (otherwise backward stops at the first layer
        with trainable weights).

        Overflow on the way (a diverging run) raises no NumPy warning: it
        shows up as a non-finite loss, which ``fit`` reports and stops on."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            return self._compute_gradients(x, y)

    def _compute_gradients(self, x, y):
        output = self._forward(x, training=True)
        fused = self._fused
        if fused is not None:
            loss, grad = fused.value_and_gradient(y, self.layers[-1].z)
            grad = self.layers[-1].backward_from_z(grad)
            rest = self._backward_steps[1:]
        else:
            loss, grad = self.loss.value_and_gradient(y, output)
            rest = self._backward_steps
        if self._has_regularizers:
            loss += self._regularization_loss()
        if math.isfinite(loss):
            for step in rest:
                grad = step.backward(grad)
            self.input_gradient = grad if self.input_gradient_wanted else None
        return loss, output

    def compute_loss(self, x, y, training=True):
        """The loss (including regularization) on one batch, without backward."""
        output = self._forward(x, training=training)
        fused = self._fused
        loss = fused.value(y, self.layers[-1].z) if fused is not None else \
            self.loss.value(y, output)
        return loss + (self._regularization_loss() if self._has_regularizers else 0.0)

    def _prepare_training(self):
        utils.prepare_threads()  # worker threads = BLAS threads; warm-up (see its docstring)
        self._pack()
        self._plan_backward()  # trainable flags may have changed since build
        self._fused = self._fused_loss()
        self._has_regularizers = any(reg is not None for layer in self.layers
                                     for reg in layer.regularizers.values())
        self._metric_fns = None

    def train_step(self, x, y):
        """One step on one batch: forward, loss, backward, update. Returns the
        loss and the output; a non-finite loss leaves the weights untouched."""
        loss, output = self.compute_gradients(x, y)
        if math.isfinite(loss):
            self.optimizer.apply(self._params, self._grads)
        return loss, output

    def fit(self, x, y, batch_size=32, epochs=1, verbose=1, callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, initial_epoch=0,
            seed=None):
        """Train for ``epochs`` passes over (x, y) in mini-batches. Returns a
        History whose ``history`` dict holds one value per epoch for ``loss``,
        each metric, and ``val_``-prefixed ones when validating."""
        self._require_compiled("fit")
        batch_size = _batch_size(batch_size)
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"epochs must be an integer >= 0; received {epochs!r}")
        if verbose not in (0, 1, 2, "auto"):
            raise ValueError(f"verbose must be 0, 1 or 2; received {verbose!r}")
        verbose = 1 if verbose == "auto" else verbose
        if not (isinstance(validation_split, (int, float)) and 0 <= validation_split < 1):
            raise ValueError(f"validation_split must be a number in [0, 1); received "
                             f"{validation_split!r}")
        with utils.seeded(seed):
            x, y = self._check_xy(x, y, "fit")
            if validation_data is not None:
                if validation_split:
                    raise ValueError("give validation_data or validation_split, not both")
                if not (isinstance(validation_data, (tuple, list)) and
                        len(validation_data) == 2):
                    raise ValueError("validation_data must be a tuple (x_val, y_val)")
                x_val, y_val = self._check_xy(*validation_data, "fit validation_data")
            elif validation_split:
                split = int(len(x) * (1 - validation_split))  # Keras: the last fraction
                if split == 0 or split == len(x):
                    raise ValueError(f"validation_split={validation_split} leaves no samples "
                                     f"for training or validation with {len(x)} samples")
                x, x_val, y, y_val = x[:split], x[split:], y[:split], y[split:]
            else:
                x_val = y_val = None
            return self._fit_loop(x, y, x_val, y_val, batch_size, epochs, verbose, callbacks,
                                  shuffle, initial_epoch)

    def _fit_loop(self, x, y, x_val, y_val, batch_size, epochs, verbose, callbacks, shuffle,
                  initial_epoch):
        self._prepare_training()
        n = len(x)
        steps = math.ceil(n / batch_size)
        history = callbacks_module.History()
        active = list(callbacks or [])
        if verbose:
            active.insert(0, callbacks_module.ProgbarLogger(verbose))
        active.append(history)
        for callback in active:
            callback.set_model(self)
            callback.set_params({"epochs": epochs, "steps": steps, "verbose": verbose})
        self.stop_training = False
        generator = utils.rng()
        for callback in active:
            callback.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            for callback in active:
                callback.on_epoch_begin(epoch)
            order = generator.permutation(n) if shuffle else np.arange(n)
            sums, seen = {"loss": 0.0}, 0
            for step in range(steps):
                index = order[step * batch_size:(step + 1) * batch_size]
                xb = x[index].astype(self.dtype, copy=False)  # one gather, one cast
                yb = y[index]
                loss, output = self.train_step(xb, yb)
                if not math.isfinite(loss):
                    self._stop_on_bad_loss(loss, epoch, step, history)
                    break
                batch = len(index)
                seen += batch
                sums["loss"] += loss * batch
                self._batch_metrics(yb, output, sums, batch)
                logs = {k: v / seen for k, v in sums.items()}
                for callback in active:
                    callback.on_train_batch_end(step, logs)
                if self.stop_training:  # a callback or Ctrl-C asked: stop after this batch
                    break
            logs = {k: v / max(seen, 1) for k, v in sorted(sums.items())}
            if x_val is not None and seen:
                values = self._evaluate_arrays(x_val, y_val, batch_size)
                logs.update({f"val_{k}": v for k, v in sorted(values.items())})
            if seen:
                for callback in active:
                    callback.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        for callback in active:
            callback.on_train_end()
        return history

    def _stop_on_bad_loss(self, loss, epoch, step, history):
        lr = self.optimizer.current_learning_rate()
        message = (f"Training stopped at epoch {epoch + 1}, batch {step + 1}: the loss became "
                   f"{loss} (not finite), so that batch's update was not applied and the "
                   f"weights are those from before it. The usual cause is a learning rate "
                   f"that is too high (it is {lr:g}); try a lower one, e.g. {lr / 10:g}. Also "
                   f"check that the inputs are scaled (e.g. x / 255).")
        history.stopped_reason = message
        self.stop_training = True
        warnings.warn(message, RuntimeWarning, stacklevel=3)

    # ------------------------------------------------------------ evaluation
    def _evaluate_arrays(self, x, y, batch_size):
        sums, n = {"loss": 0.0}, len(x)
        for start in range(0, n, batch_size):
            xb = x[start:start + batch_size].astype(self.dtype, copy=False)
            yb = y[start:start + batch_size]
            output = self._forward(xb, training=False)
            fused = self._fused
            loss = fused.value(yb, self.layers[-1].z) if fused is not None else \
                self.loss.value(yb, output)
            sums["loss"] += loss * len(xb)
            self._batch_metrics(yb, output, sums, len(xb))
        values = {k: v / n for k, v in sums.items()}
        if self._has_regularizers:
            values["loss"] += self._regularization_loss()
        return values

    def evaluate(self, x, y, batch_size=32, verbose=0):
        """The loss and metrics on (x, y): ``[loss, metric, ...]``, or the
        loss alone (a float) when there are no metrics, as in Keras."""
        self._require_compiled("evaluate")
        batch_size = _batch_size(batch_size)
        x, y = self._check_xy(x, y, "evaluate")
        self._prepare_training()
        start = time.perf_counter()
        values = self._evaluate_arrays(x, y, batch_size)
        if verbose:
            steps = math.ceil(len(x) / batch_size)
            elapsed = time.perf_counter() - start
            print(f"{steps}/{steps} - {callbacks_module.format_seconds(elapsed)} - "
                  f"{callbacks_module.format_logs(values)}")
        result = [values["loss"]] + [values[name] for name, _ in self._metric_fns]
        return result[0] if len(result) == 1 else result

    def predict(self, x, batch_size=32, verbose=0):
        """The model's outputs for x, computed in batches."""
        batch_size = _batch_size(batch_size)
        # no NaN scan here (a pass over all of x): NaN in, NaN out, as in Keras; fit refuses it
        x = self._check_x(x, "predict", check_finite=False)
        utils.prepare_threads()
        out = np.empty((len(x),) + tuple(self.output_shape), dtype=self.dtype)
        for start in range(0, len(x), batch_size):
            xb = x[start:start + batch_size].astype(self.dtype, copy=False)
            out[start:start + batch_size] = self._forward(xb, training=False)
        return out

    # ------------------------------------------------------------ weights
    def count_params(self):
        self._require_built("count_params")
        return sum(layer.count_params() for layer in self.layers)

    def get_weights(self):
        """Every layer's weights, in Keras's order and shapes."""
        self._require_built("get_weights")
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights):
        self._require_built("set_weights")
        weights = list(weights)
        expected = sum(len(layer.weight_names) for layer in self.layers)
        if len(weights) != expected:
            raise ValueError(f"Sequential {self.name!r} has {expected} weight arrays; received "
                             f"{len(weights)}")
        position = 0
        for layer in self.layers:
            count = len(layer.weight_names)
            layer.set_weights(weights[position:position + count])
            position += count

    # ------------------------------------------------------------ summary
    def summary(self, print_fn=print):
        """Keras's table: each layer, its output shape and parameter count."""
        self._require_built("summary")
        rows = [(f"{layer.name} ({type(layer).__name__})",
                 str((None,) + tuple(layer.output_shape)), f"{layer.count_params():,}")
                for layer in self.layers]
        widths = [max(31, *(len(r[0]) + 2 for r in rows)),
                  max(24, *(len(r[1]) + 2 for r in rows)), 15]

        def line(left, mid, right, fill):
            return left + mid.join(fill * w for w in widths) + right

        def cells(values, edge):
            parts = [f" {values[0]:<{widths[0] - 2}} ", f" {values[1]:<{widths[1] - 2}} ",
                     f" {values[2]:>{widths[2] - 2}} "]
            return edge + edge.join(parts) + edge

        trainable = sum(getattr(layer, n).size for layer in self.layers
                        for n in layer.trainable_weight_names)
        total = self.count_params()
        itemsize = self.dtype.itemsize
        out = [f'Model: "{self.name}"', line("┏", "┳", "┓", "━"),
               cells(("Layer (type)", "Output Shape", "Param #"), "┃"),
               line("┡", "╇", "┩", "━")]
        for i, row in enumerate(rows):
            out.append(cells(row, "│"))
            out.append(line("├", "┼", "┤", "─") if i < len(rows) - 1 else line("└", "┴", "┘", "─"))
        for label, count in (("Total", total), ("Trainable", trainable),
                             ("Non-trainable", total - trainable)):
            out.append(f" {label} params: {count:,} ({_format_bytes(count * itemsize)})")
        print_fn("\n".join(out))

    # ------------------------------------------------------------ configs, files
    def get_config(self):
        return {"name": self.name,
                "input_shape": None if self.input_shape is None else list(self.input_shape),
                "layers": [layers_module.serialize(layer) for layer in self.layers]}

    @classmethod
    def from_config(cls, config, **layer_overrides):
        model = cls(name=config.get("name"))
        if config.get("input_shape") is not None:
            model.add(Input(tuple(config["input_shape"])))
        for layer_config in config["layers"]:
            model.add(layers_module.deserialize(layer_config, **layer_overrides))
        return model

    def compile_config(self):
        if not self.compiled:
            return None
        return {"optimizer": optimizers.serialize(self.optimizer),
                "loss": losses.serialize(self.loss),
                "metrics": [m for m in self.metrics if isinstance(m, str)]}

    def save(self, path):
        """Save architecture, weights, compile settings and optimizer state to
        a safetensors file (written to a temporary file, then renamed)."""
        from glassnet import io

        io.save_model(self, path)

    def save_weights(self, path):
        from glassnet import io

        io.save_model(self, path, weights_only=True)

    def load_weights(self, path):
        from glassnet import io

        io.load_weights(self, path)

    def __repr__(self):
        return f"<Sequential name={self.name!r} layers={len(self.layers)} built={self.built}>"


def _format_bytes(count):
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.2f} {unit}"
        count /= 1024


def load_model(path, compile=True):
    """A model saved with ``model.save(path)``."""
    from glassnet import io

    return io.load_model(path, compile=compile)
