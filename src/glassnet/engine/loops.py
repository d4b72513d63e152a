"""Keras's loops over the runner: compile, fit, evaluate, predict and the
*_on_batch calls, with callbacks and metrics."""

from __future__ import annotations

import math
import warnings

import numpy as np

from glassnet import callbacks as callbacks_module
from glassnet import graph, losses, metrics as metrics_module, optimizers, utils
from glassnet.engine import batches as batches_module
from glassnet.engine.compiled import CompiledLoss, CompiledMetrics, Losses, per_output
from glassnet.engine.data import DataChecks, input_dtype
from glassnet.engine.params import Params
from glassnet.engine.runner import Runner

__all__ = ["Engine"]


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer; received {value!r}")
    return int(value)


def _verbose(value, default):
    if value == "auto":
        return default
    if value not in (0, 1, 2, True, False):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2; received {value!r}")
    return int(value)


class Engine(Runner, Params, Losses, DataChecks):
    """compile / fit / evaluate / predict for a model whose graph is
    ``self.inputs``, ``self.outputs`` and ``self._nodes`` (glassnet.models)."""

    def _init_engine(self):
        self.optimizer = None
        self.loss = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        self.input_gradient_wanted = False  # True: backward also computes ∂loss/∂x
        self.input_gradient = None
        self._compiled_loss = None
        self._compiled_metrics = None
        self._compile_args = None
        self._trackers = {}
        self._steps = None
        self._plans = {}
        self._packed = None
        self._params = self._grads = None
        self._layout = None
        self._states = {}
        self._fusion = True  # tests switch it off to compare with the layers one by one

    # ------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True):
        """Choose how to learn: the optimizer (name or object), the loss (a
        name, a Loss, or one per output as a list or dict), ``loss_weights``,
        and ``metrics`` (e.g. ``["accuracy"]``, or per output). glassnet
        always runs eagerly in NumPy, so ``run_eagerly`` and ``jit_compile``
        change nothing."""
        if steps_per_execution != 1:
            raise NotImplementedError(f"compile: steps_per_execution={steps_per_execution!r} is "
                                      f"not implemented in glassnet (only 1)")
        if isinstance(metrics, str) or (metrics is not None and not isinstance(
                metrics, (list, tuple, dict))):
            metrics = [metrics]
        for spec in (metrics, weighted_metrics):
            for identifier in graph.flatten(spec if isinstance(spec, (list, tuple, dict))
                                            else [spec]):
                if identifier is not None:
                    if isinstance(identifier, str) and identifier.lower() in ("accuracy",
                                                                                "acc"):
                        continue
                    metrics_module.get(identifier)  # fail now on an unknown name
        if loss is not None:
            for spec in graph.flatten(loss if isinstance(loss, (list, tuple, dict)) else [loss]):
                if spec is not None:
                    losses.get(spec)
        self.optimizer = optimizers.get(optimizer)
        self.loss = loss
        self._compile_args = (loss, loss_weights, metrics, weighted_metrics)
        self._compiled_loss = self._compiled_metrics = None
        self.compiled = True
        if getattr(self, "built", False) and self.outputs is not None:
            self._build_compiled()

    def _build_compiled(self):
        loss, loss_weights, metrics, weighted = self._compile_args
        names = self.output_names
        self._compiled_loss = None if loss is None else CompiledLoss(loss, loss_weights, names)
        self._compiled_metrics = CompiledMetrics(metrics, weighted, names)
        self._trackers = {"loss": metrics_module.Mean(name="loss")}
        if self._compiled_loss is not None and self._compiled_loss.several:
            for _, name, _, _ in self._compiled_loss.entries:
                self._trackers[f"{name}_loss"] = metrics_module.Mean(name=f"{name}_loss")

    def _require_compiled(self, what, need_loss=True):
        if not self.compiled:
            raise ValueError(f"{what} needs compile() first, e.g. model.compile("
                             f"optimizer='adam', loss='sparse_categorical_crossentropy', "
                             f"metrics=['accuracy'])")
        if self._compiled_loss is None and self._compile_args is not None and self.built:
            self._build_compiled()
        if need_loss and self._compiled_loss is None:
            raise ValueError(f"{what} needs a loss: compile(loss=...) with one of "
                             f"{', '.join(losses.names())}")

    @property
    def metrics(self):
        """The loss trackers and the compiled metrics (Keras's ``model.metrics``)."""
        found = list(self._trackers.values())
        if self._compiled_metrics is not None:
            found += [m for _, _, m, _ in self._compiled_metrics.entries]
        return found + self._added_metrics()

    @property
    def metrics_names(self):
        names = list(self._trackers)
        if self._compiled_metrics is not None:
            names += [name for _, name, _, _ in self._compiled_metrics.entries]
        return names + [m.name for m in self._added_metrics()]

    def _added_metrics(self):
        """What the model's layers (and its own call) gave Keras 2's
        ``add_metric``, in the order the layers come."""
        found, seen = [], set()

        def visit(layer):
            if id(layer) in seen:
                return
            seen.add(id(layer))
            found.extend(layer.__dict__.get("_added_metrics", {}).values())
            for inner in list(getattr(layer, "layers", None) or []) + layer._sublayers():
                visit(inner)
        visit(self)
        return found

    def reset_metrics(self):
        for tracker in self._trackers.values():
            tracker.reset_state()
        if self._compiled_metrics is not None:
            self._compiled_metrics.reset()
        for metric in self._added_metrics():
            metric.reset_state()
        if type(self).metrics is not Engine.metrics:  # a subclass lists its own metrics
            for metric in self.metrics:
                metric.reset_state()

    # ------------------------------------------------------------ training
    def _prepare(self):
        """Before fit, evaluate or a batch call: threads, packing, the plan,
        which losses fuse."""
        utils.prepare_threads()  # worker threads = BLAS threads; warm-up (see its docstring)
        if self._stepper_only():  # its own train_step, no graph: nothing to plan
            self._params = self._grads = np.zeros(0, dtype=self.dtype)
            return
        self._pack()
        if self._compiled_loss is None and self._compile_args is not None:
            self._build_compiled()
        self._fused = self._fused_steps()
        self._logits = {id(loss): type(loss).from_config({**loss.get_config(),
                                                           "from_logits": True})
                        for index, _, loss, _ in (self._compiled_loss.entries
                                                  if self._compiled_loss else [])
                        if index in self._fused}
        self._has_regularizers = any(v.regularizer is not None for v in self.weights)
        self._input_dtypes = [input_dtype(t, self.dtype) for t in self.inputs]

    def compute_gradients(self, x, y, sample_weight=None):
        """Forward (training mode), loss, backward: fills every weight's
        gradient and returns (loss including regularization, output).
        Skips backward when the loss is not finite. With
        ``model.input_gradient_wanted = True``, ∂loss/∂x is left in
        ``self.input_gradient``.

        Overflow on the way (a diverging run) raises no NumPy warning: it
        shows up as a non-finite loss, which ``fit`` reports and stops on."""
        self._prepare()
        xs = x if isinstance(x, list) else [x]
        ys = y if isinstance(y, list) else [y]
        weights = None if sample_weight is None else (
            sample_weight if isinstance(sample_weight, list) else [sample_weight] * len(ys))
        loss, _, outputs = self._gradient_step(xs, ys, weights)
        return loss, outputs[0] if len(outputs) == 1 else outputs

    def _gradient_step(self, xs, ys, weights, update=False):
        """Forward, loss, backward (and with ``update`` the optimizer's step),
        where a diverging run's overflow raises no warning: it shows up as a
        non-finite loss, which fit reports and stops on."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            self._states = {}
            outputs = self._run_forward(xs, training=True)
            total, values, grads, z_grads = self._losses(ys, outputs, weights, True)
            if math.isfinite(total):
                input_grads = self._run_backward(grads, z_grads, self.input_gradient_wanted)
                if self.input_gradient_wanted:
                    self.input_gradient = input_grads[0] if len(input_grads) == 1 else \
                        input_grads
                if update:
                    self.optimizer.step(self._params, self._grads, self._layout)
            self._states = {}
        return total, values, outputs

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Keras 3's ``compute_loss``: the total loss of a batch as a Tensor, so
        a GradientTape records it (what an overridden ``train_step`` calls):
        Σ loss_weight · compiled loss(y, y_pred) + the regularization
        penalties (``self.losses``). Without ``y_pred``, ``self(x)`` gives it."""
        from glassnet.ops import math_ops

        if y_pred is None:
            y_pred = self(x, training=training)
        if self._compiled_loss is None and self._compile_args is not None:
            self._build_compiled()
        terms = []
        if self._compiled_loss is not None:
            preds = graph.flatten(y_pred) if isinstance(y_pred, (list, tuple, dict)) else \
                [y_pred]
            ys = per_output(y, self.output_names, "compute_loss: y",
                            list_of_one_is_a_value=True)
            weights = [None] * len(ys) if sample_weight is None else per_output(
                sample_weight, self.output_names, "compute_loss: sample_weight",
                list_of_one_is_a_value=True)
            for index, name, loss, weight in self._compiled_loss.entries:
                value = loss(ys[index], preds[index], weights[index])
                terms.append(value if weight == 1.0 else math_ops.multiply(value, weight))
        terms += self.losses
        if not terms:
            raise ValueError(f"compute_loss: model {self.name!r} has no loss: compile(loss=...) "
                             f"or compute the loss in your train_step")
        return terms[0] if len(terms) == 1 else math_ops.add_n(terms)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Keras 3's ``compute_metrics``: update the compiled metrics with this
        batch; returns every metric's result so far, by name."""
        self._update_compiled_metrics(y, y_pred, sample_weight, "compute_metrics")
        return self.get_metrics_result()

    def _update_compiled_metrics(self, y, y_pred, sample_weight, method):
        ys = per_output(y, self.output_names, f"{method}: y", list_of_one_is_a_value=True)
        preds = graph.flatten(y_pred) if isinstance(y_pred, (list, tuple, dict)) else [y_pred]
        metrics = self._compiled_metrics
        if metrics is not None:
            if not metrics.built:
                metrics.build([None if v is None else np.shape(v) for v in ys],
                              [np.shape(p) for p in preds])
            for index, _, metric, weighted in metrics.entries:
                metric.update_state(ys[index], preds[index],
                                    sample_weight=sample_weight if weighted else None)

    def compiled_loss(self, y, y_pred, sample_weight=None, regularization_losses=None):
        """Keras 2's ``self.compiled_loss(y, y_pred, regularization_losses=self.losses)``
        (what TensorFlow 2's guides call in a ``train_step``): the compiled
        loss of the batch plus the penalties given, as a Tensor; the "loss"
        metric takes it in, as Keras 2's did. Keras 3 spells it
        ``compute_loss``."""
        from glassnet.ops import math_ops

        if self._compiled_loss is None and self._compile_args is not None:
            self._build_compiled()
        if self._compiled_loss is None:
            raise ValueError(f"compiled_loss: model {self.name!r} was compiled without a "
                             f"loss: compile(loss=...)")
        preds = graph.flatten(y_pred) if isinstance(y_pred, (list, tuple, dict)) else [y_pred]
        ys = per_output(y, self.output_names, "compiled_loss: y", list_of_one_is_a_value=True)
        weights = [None] * len(ys) if sample_weight is None else per_output(
            sample_weight, self.output_names, "compiled_loss: sample_weight",
            list_of_one_is_a_value=True)
        terms = []
        for index, _, loss, weight in self._compiled_loss.entries:
            value = loss(ys[index], preds[index], weights[index])
            terms.append(value if weight == 1.0 else math_ops.multiply(value, weight))
        terms += list(regularization_losses or [])
        total = terms[0] if len(terms) == 1 else math_ops.add_n(terms)
        self._trackers["loss"].update_state(float(np.asarray(total)),
                                            sample_weight=len(np.asarray(preds[0])))
        return total

    @property
    def compiled_metrics(self):
        """Keras 2's ``self.compiled_metrics``: ``update_state(y, y_pred,
        sample_weight=None)`` updates the metrics given to ``compile``
        (``model.metrics`` lists them after the "loss" metric)."""
        return _CompiledMetrics(self)

    def get_metrics_result(self):
        """Every metric's result so far (the loss trackers' too), by name."""
        logs = {}
        for metric in self.metrics:
            result = metric.result()
            if isinstance(result, dict):
                logs.update(result)
            else:
                logs[metric.name] = result
        return _plain_logs(logs, "get_metrics_result")

    def _loss_from_layers(self):
        """Compiled without a loss, with layers of your own that may
        ``add_loss`` it (Keras's endpoint layers): fit minimises what they add."""
        if self._compile_args is None or self._compile_args[0] is not None or not self.built:
            return False
        from glassnet.layers.base import Layer

        def own(layer):
            return isinstance(layer, Layer) and (layer._calls_with_ops() or any(
                own(inner) for inner in getattr(layer, "layers", [])))
        return any(own(layer) for layer in self.layers)

    def _overrides(self, method):
        """Whether this model's class defines its own ``train_step`` (or test_step)."""
        return getattr(type(self), method) is not getattr(Engine, method)

    def _custom_step(self, method, batch):
        """Run an overridden train_step/test_step on a batch, given as Keras
        gives it: ``x``, ``(x, y)`` or ``(x, y, sample_weight)``, as Tensors."""
        from glassnet.ops.function import wrap

        def structure(values, names, like):  # as the model's inputs or outputs are given
            if len(values) == 1:
                return values[0]
            return dict(zip(names, values)) if isinstance(like, dict) else list(values)

        if self._stepper_only():  # no inputs or outputs of its own: the data as given
            x = wrap(structure(batch.xs, None, None))
            data = x if all(y is None for y in batch.ys) else \
                (x, wrap(structure(batch.ys, None, None)))
            if batch.weights is not None:
                data = data + (wrap(structure(batch.weights, None, None)),)
            return _plain_logs(getattr(self, method)(data), method)

        metrics = self._compiled_metrics
        if metrics is not None and not metrics.built and any(y is not None for y in batch.ys):
            metrics.build([None if y is None else y.shape for y in batch.ys],
                          [(batch.n,) + tuple(t.shape[1:]) for t in self.outputs])
        x = wrap(structure(batch.xs, self.input_names, self._inputs_struct))
        if all(y is None for y in batch.ys):
            data = x
        else:
            data = (x, wrap(structure(batch.ys, self.output_names, self._outputs_struct)))
            if batch.weights is not None and any(w is not None for w in batch.weights):
                data = data + (wrap(structure(batch.weights, self.output_names,
                                              self._outputs_struct)),)
        return _plain_logs(getattr(self, method)(data), method)

    def train_step(self, data):
        """Keras's ``train_step(data)``: one step on the batch ``data = (x, y)``
        or ``(x, y, sample_weight)``; returns the logs (the loss and the
        metrics so far)."""
        if not isinstance(data, tuple) or len(data) not in (2, 3):
            raise ValueError("train_step takes data = (x, y) or (x, y, sample_weight)")
        self._prepare()
        batch = self._batch(self._data(data[0], data[1], data[2] if len(data) == 3 else None,
                                       None, "train_step"), slice(None))
        loss, values, outputs = self._train_batch(batch)
        if math.isfinite(loss):
            self._update_metrics(batch, loss, values, outputs)
        return self._logs()

    def test_step(self, data):
        """Keras's ``test_step(data)``: the loss and metrics of one batch
        ``(x, y)`` or ``(x, y, sample_weight)`` added to those so far; returns
        the logs."""
        if not isinstance(data, tuple) or len(data) not in (2, 3):
            raise ValueError("test_step takes data = (x, y) or (x, y, sample_weight)")
        self._prepare()
        batch = self._batch(self._data(data[0], data[1], data[2] if len(data) == 3 else None,
                                       None, "test_step"), slice(None))
        outputs = self._run_forward(batch.xs, training=False)
        loss, values, _, _ = self._losses(batch.ys, outputs, batch.weights, False)
        self._update_metrics(batch, loss, values, outputs)
        return self._logs()

    def _train_batch(self, data):
        """One step on one batch: forward, loss, backward, update. Returns the
        loss, the per-output losses and the outputs; a non-finite loss leaves
        the weights untouched."""
        return self._gradient_step(data.xs, data.ys, data.weights, update=True)

    def _update_metrics(self, data, loss, values, outputs):
        batch = data.n
        self._trackers["loss"].update_state(loss, sample_weight=batch)
        if self._compiled_loss is not None and self._compiled_loss.several:
            for name, value in values.items():
                self._trackers[f"{name}_loss"].update_state(value, sample_weight=batch)
        metrics = self._compiled_metrics
        if not metrics.built:
            metrics.build([None if y is None else y.shape for y in data.ys],
                          [o.shape for o in outputs])
        for index, _, metric, weighted in metrics.entries:
            weight = data.weights[index] if weighted and data.weights is not None else None
            metric.update_state(data.ys[index], outputs[index], sample_weight=weight)

    def _logs(self):
        logs = {name: float(t.result()) for name, t in self._trackers.items()}
        for _, name, metric, _ in self._compiled_metrics.entries:
            logs[name] = float(metric.result())
        for metric in self._added_metrics():
            logs[metric.name] = float(metric.result())
        return logs

    # ------------------------------------------------------------ fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1, seed=None):
        """Train for ``epochs`` passes over (x, y) in mini-batches (Keras's
        arguments). Returns a History whose ``history`` dict holds one value
        per epoch for ``loss``, each metric, and ``val_``-prefixed ones when
        validating; for several outputs also ``<output>_loss`` and
        ``<output>_<metric>``. ``seed`` (glassnet's) makes the shuffling and
        dropout of this call reproducible."""
        self._require_compiled("fit", need_loss=False)
        steps_per_epoch = None if steps_per_epoch is None else _positive_int(
            steps_per_epoch, "steps_per_epoch")
        validation_steps = None if validation_steps is None else _positive_int(
            validation_steps, "validation_steps")
        source = batches_module.is_source(x)
        if source and (y is not None or sample_weight is not None):
            raise ValueError("fit: y and sample_weight come from the dataset or generator "
                             "itself; give x alone (yielding (x, y) or (x, y, sample_weight))")
        if source and validation_split:
            raise ValueError("fit: validation_split needs arrays; with a dataset or generator "
                             "give validation_data")
        batch_size = 32 if batch_size is None else _positive_int(batch_size, "batch_size")
        validation_batch_size = batch_size if validation_batch_size is None else \
            _positive_int(validation_batch_size, "validation_batch_size")
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"epochs must be an integer >= 0; received {epochs!r}")
        if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, (int, np.integer)) \
                or initial_epoch < 0:
            raise ValueError(f"initial_epoch must be an integer >= 0; received "
                             f"{initial_epoch!r}")
        verbose = _verbose(verbose, 1)
        validation_freq = _positive_int(validation_freq, "validation_freq")
        if not (isinstance(validation_split, (int, float)) and 0 <= validation_split < 1):
            raise ValueError(f"validation_split must be a number in [0, 1); received "
                             f"{validation_split!r}")
        if shuffle not in (True, False):
            raise NotImplementedError(f"fit: shuffle={shuffle!r} is not implemented in "
                                      f"glassnet (only True or False)")
        with utils.seeded(seed):
            custom = self._overrides("train_step")  # its own loss: none needed, nor y
            if source:
                batches = batches_module.SourceBatches(self, x, "fit", steps_per_epoch,
                                                       class_weight, y_optional=custom)
                self._build_from(batches.first_x())
            else:
                self._build_from(x)
            free = custom or self._loss_from_layers()  # no compiled loss needed, nor y
            if source:
                batches.y_optional = free
            self._require_compiled("fit", need_loss=not free)
            if not source:
                data = self._data(x, y, sample_weight, class_weight, "fit", y_optional=free)
            val = None
            if validation_data is not None:
                if validation_split:
                    raise ValueError("give validation_data or validation_split, not both")
                val = self._validation_batches(validation_data, validation_batch_size,
                                               validation_steps)
            elif validation_split:
                split = int(data.n * (1 - validation_split))  # Keras: the last fraction
                if split == 0 or split == data.n:
                    raise ValueError(f"validation_split={validation_split} leaves no samples "
                                     f"for training or validation with {data.n} samples")
                data, val = data.split(split)
                val = batches_module.ArrayBatches(self, val, validation_batch_size, False,
                                                  validation_steps)
            if not source:
                batches = batches_module.ArrayBatches(self, data, batch_size, shuffle,
                                                      steps_per_epoch)
            return self._fit_loop(batches, val, epochs, verbose, callbacks, initial_epoch,
                                  validation_freq)

    def _validation_batches(self, validation_data, batch_size, steps):
        if batches_module.is_source(validation_data):
            return batches_module.SourceBatches(self, validation_data, "fit validation_data",
                                                steps)
        if not (isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3)):
            raise ValueError("validation_data must be a tuple (x_val, y_val) or "
                             "(x_val, y_val, sample_weight_val), or a dataset")
        val = self._data(validation_data[0], validation_data[1],
                         validation_data[2] if len(validation_data) == 3 else None,
                         None, "fit validation_data")
        return batches_module.ArrayBatches(self, val, batch_size, False, steps)

    def _fit_loop(self, batches, val, epochs, verbose, callbacks, initial_epoch,
                  validation_freq):
        self._prepare()
        callback_list = callbacks_module.CallbackList(
            callbacks, model=self, add_history=True, add_progbar=True, verbose=verbose,
            params={"epochs": epochs, "steps": batches.steps})
        history = callback_list.history
        self.history = history
        self.stop_training = False
        generator = utils.rng()
        self._grads[...] = 0
        self._initial_epoch = None
        custom = self._overrides("train_step")
        if not self.trainable_weights:  # every layer frozen (after compile too): say so
            warnings.warn("The model does not have any trainable weights.", UserWarning,
                          stacklevel=3)
        callback_list.on_train_begin()
        if self._initial_epoch is not None:  # BackupAndRestore found a backup to resume from
            initial_epoch, self._initial_epoch = self._initial_epoch, None
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            callback_list.on_epoch_begin(epoch)
            seen, logs = 0, {}
            for step, batch in enumerate(batches.epoch(generator)):
                callback_list.on_train_batch_begin(step)
                if custom:  # the model's own train_step (Keras's recipe, on a tape)
                    logs = self._custom_step("train_step", batch)
                    loss = logs.get("loss", 0.0)
                else:
                    loss, values, outputs = self._train_batch(batch)
                if not math.isfinite(loss):
                    callback_list.on_train_batch_end(step, {**logs, "loss": loss} if custom
                                                     else {**self._logs(), "loss": loss})
                    self._stop_on_bad_loss(loss, epoch, step, history)
                    break
                seen += batch.n
                if not custom:
                    self._update_metrics(batch, loss, values, outputs)
                    logs = self._logs()
                callback_list.on_train_batch_end(step, logs)
                if self.stop_training:  # a callback or Ctrl-C asked: stop after this batch
                    break
            if not seen:
                break
            if batches.steps is None:  # a source of unknown length: now it is known
                batches.steps = step + 1
                for callback in callback_list.callbacks:
                    callback.params["steps"] = batches.steps
            logs = dict(sorted((logs if custom else self._logs()).items()))
            if val is not None and (epoch + 1 - initial_epoch) % validation_freq == 0:
                values = self._evaluate_batches(val, in_fit=True, callback_list=callback_list)
                logs.update({f"val_{k}": v for k, v in sorted(values.items())})
            callback_list.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        callback_list.on_train_end()
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
        warnings.warn(message, RuntimeWarning, stacklevel=4)

    # ------------------------------------------------------------ evaluation
    def _evaluate_data(self, data, batch_size, in_fit=False, callback_list=None):
        """The loss and metrics over arrays ``data`` (metrics reset first)."""
        return self._evaluate_batches(batches_module.ArrayBatches(self, data, batch_size, False),
                                      in_fit, callback_list)

    def _evaluate_batches(self, batches, in_fit=False, callback_list=None):
        """The loss and metrics over ``batches`` (metrics reset first)."""
        saved = None
        if in_fit:  # validation must not disturb the epoch's training metrics
            saved = (self._trackers, self._compiled_metrics)
            self._trackers = {name: metrics_module.Mean(name=name) for name in self._trackers}
            copy = CompiledMetrics(*self._compiled_metrics.specs,
                                    self._compiled_metrics.output_names)
            self._compiled_metrics = copy
        else:
            self.reset_metrics()
        custom = self._overrides("test_step")
        logs = {}
        if callback_list is not None:
            callback_list.on_test_begin()
        for step, batch in enumerate(batches.epoch(None)):
            if callback_list is not None:
                callback_list.on_test_batch_begin(step)
            if custom:
                logs = self._custom_step("test_step", batch)
            else:
                outputs = self._run_forward(batch.xs, training=False)
                loss, values, _, _ = self._losses(batch.ys, outputs, batch.weights, False)
                self._update_metrics(batch, loss, values, outputs)
                logs = self._logs()
            if callback_list is not None:
                callback_list.on_test_batch_end(step, logs)
        if not custom:
            logs = self._logs()
        if callback_list is not None:
            callback_list.on_test_end(logs)
        if saved is not None:
            self._trackers, self._compiled_metrics = saved
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False):
        """The loss and metrics on (x, y): ``[loss, metric, ...]`` (Keras's
        order: the loss, the per-output losses, then the metrics), or the
        loss alone (a float) when there is nothing else, as in Keras;
        ``return_dict=True`` gives a dict."""
        self._require_compiled("evaluate", need_loss=False)
        steps = None if steps is None else _positive_int(steps, "steps")
        batch_size = 32 if batch_size is None else _positive_int(batch_size, "batch_size")
        verbose = _verbose(verbose, 1)
        custom = self._overrides("test_step")
        if batches_module.is_source(x):
            if y is not None or sample_weight is not None:
                raise ValueError("evaluate: y and sample_weight come from the dataset or "
                                 "generator itself; give x alone")
            batches = batches_module.SourceBatches(self, x, "evaluate", steps,
                                                   y_optional=custom)
            self._build_from(batches.first_x())
            batches.y_optional = free = custom or self._loss_from_layers()
            self._require_compiled("evaluate", need_loss=not free)
        else:
            self._build_from(x)
            free = custom or self._loss_from_layers()
            self._require_compiled("evaluate", need_loss=not free)
            data = self._data(x, y, sample_weight, None, "evaluate", y_optional=free)
            batches = batches_module.ArrayBatches(self, data, batch_size, False, steps)
        self._prepare()
        callback_list = callbacks_module.CallbackList(
            callbacks, model=self, add_progbar=True, verbose=verbose,
            params={"steps": batches.steps})
        logs = self._evaluate_batches(batches, callback_list=callback_list)
        return self._result(logs, return_dict)

    def _result(self, logs, return_dict):
        if return_dict:
            return dict(sorted(logs.items()))
        values = [logs[name] for name in self.metrics_names]
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The model's outputs for x, computed in batches (one array, or a
        list/dict of them for several outputs)."""
        steps = None if steps is None else _positive_int(steps, "steps")
        batch_size = 32 if batch_size is None else _positive_int(batch_size, "batch_size")
        verbose = _verbose(verbose, 1)
        if batches_module.is_source(x):
            return self._predict_source(x, steps, verbose, callbacks)
        if steps is not None:  # Keras: the first steps batches of the arrays
            x = graph.pack_like(x, [v[:steps * batch_size] for v in graph.flatten(x)]) \
                if isinstance(x, (list, tuple, dict)) else x[:steps * batch_size]
        self._build_from(x)
        # no NaN scan here (a pass over all of x): NaN in, NaN out, as in Keras; fit refuses it
        xs = self._predict_inputs(x, "predict")
        utils.prepare_threads()
        n = len(xs[0])
        steps = math.ceil(n / batch_size)
        callback_list = callbacks_module.CallbackList(callbacks, model=self, add_progbar=True,
                                                      verbose=verbose, params={"steps": steps})
        callback_list.on_predict_begin()
        results = None
        for step in range(steps):
            part = slice(step * batch_size, (step + 1) * batch_size)
            callback_list.on_predict_batch_begin(step)
            outputs = self._run_forward([x[part].astype(input_dtype(t, self.dtype), copy=False)
                                         for x, t in zip(xs, self.inputs)], training=False)
            if results is None:
                results = [np.empty((n,) + o.shape[1:], dtype=o.dtype) for o in outputs]
            for result, output in zip(results, outputs):
                result[part] = output
            callback_list.on_predict_batch_end(step, {"outputs": outputs})
        callback_list.on_predict_end()
        return self._pack_outputs(results)

    def _predict_source(self, source, steps, verbose, callbacks):
        """``predict`` on a dataset or generator: the x of each batch, in order."""
        batches = batches_module.SourceBatches(self, source, "predict", steps)
        self._build_from(batches.first_x())
        utils.prepare_threads()
        callback_list = callbacks_module.CallbackList(callbacks, model=self, add_progbar=True,
                                                      verbose=verbose,
                                                      params={"steps": batches.steps})
        callback_list.on_predict_begin()
        parts = None
        for step, raw in enumerate(batches.raw_epoch()):
            callback_list.on_predict_batch_begin(step)
            x = batches_module.unpack(raw, "predict")[0]
            xs = self._predict_inputs(x, "predict")
            outputs = self._run_forward([v.astype(input_dtype(t, self.dtype), copy=False)
                                         for v, t in zip(xs, self.inputs)], training=False)
            parts = [[] for _ in outputs] if parts is None else parts
            for part, output in zip(parts, outputs):
                part.append(np.array(output, copy=True))
            callback_list.on_predict_batch_end(step, {"outputs": outputs})
        callback_list.on_predict_end()
        if parts is None:
            raise ValueError("predict: the data yielded no batch")
        return self._pack_outputs([np.concatenate(part) for part in parts])

    # ------------------------------------------------------------ one batch
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        """One training step on this batch; returns the loss and metrics so
        far (they accumulate until ``reset_metrics()``, as in Keras)."""
        self._build_from(x)
        self._require_compiled("train_on_batch")
        data = self._data(x, y, sample_weight, class_weight, "train_on_batch")
        self._prepare()
        batch = self._batch(data, slice(0, data.n))
        loss, values, outputs = self._train_batch(batch)
        if math.isfinite(loss):
            self._update_metrics(batch, loss, values, outputs)
        else:
            warnings.warn(f"train_on_batch: the loss became {loss} (not finite); the weights "
                          f"were not updated", RuntimeWarning, stacklevel=2)
            return loss
        return self._result(self._logs(), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """The loss and metrics on this batch (metrics reset first)."""
        self._build_from(x)
        self._require_compiled("test_on_batch")
        data = self._data(x, y, sample_weight, None, "test_on_batch")
        self._prepare()
        logs = self._evaluate_data(data, data.n)
        return self._result(logs, return_dict)

    def predict_on_batch(self, x):
        """The outputs for this batch, in one pass."""
        self._build_from(x)
        return self.predict(x, batch_size=len(self._predict_inputs(x, "predict_on_batch")[0]),
                            verbose=0)


class _CompiledMetrics:
    """What ``model.compiled_metrics`` gives: Keras 2's container of the
    compiled metrics, with its ``update_state``, ``reset_state`` and ``metrics``."""

    def __init__(self, model):
        self._model = model

    @property
    def metrics(self):
        compiled = self._model._compiled_metrics
        return [] if compiled is None else [m for _, _, m, _ in compiled.entries]

    def update_state(self, y, y_pred, sample_weight=None):
        self._model._update_compiled_metrics(y, y_pred, sample_weight,
                                             "compiled_metrics.update_state")

    def reset_state(self):
        for metric in self.metrics:
            metric.reset_state()

    reset_states = reset_state


def _plain_logs(logs, method):
    """``logs`` as {name: float}, nested dicts flattened (Keras's
    ``compile_metrics``), with an error naming ``method`` for anything else."""
    if not isinstance(logs, dict):
        raise TypeError(f"{method} must return a dict of numbers, e.g. "
                        f"{{m.name: m.result() for m in self.metrics}}; it returned "
                        f"{type(logs).__name__} {logs!r:.80}")
    plain = {}
    for name, value in logs.items():
        if isinstance(value, dict):
            plain.update(_plain_logs(value, method))
            continue
        try:
            plain[str(name)] = float(np.asarray(value))
        except (TypeError, ValueError):
            raise TypeError(f"{method} must return a dict of numbers; its value for {name!r} "
                            f"is {type(value).__name__} {value!r:.80}") from None
    return plain
