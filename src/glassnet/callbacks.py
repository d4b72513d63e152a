"""Callbacks: code that runs at points of ``fit`` (Keras's hooks and semantics).

``fit`` calls, for every callback: ``on_train_begin``, then per epoch
``on_epoch_begin``, ``on_train_batch_begin`` / ``on_train_batch_end`` around
each batch, ``on_epoch_end`` with the epoch's logs (``loss``, ``accuracy``,
``val_loss``, ...), and finally ``on_train_end``; ``evaluate`` and
``predict`` call the ``on_test_*`` and ``on_predict_*`` hooks. A callback
may set ``model.stop_training = True``, and may add entries to the epoch's
logs (``ReduceLROnPlateau`` adds ``learning_rate``), which History records.
"""

from __future__ import annotations

import csv
import math
import os
import sys
import time
import warnings

import numpy as np

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger", "EarlyStopping",
           "ModelCheckpoint", "ReduceLROnPlateau", "LearningRateScheduler", "CSVLogger",
           "LambdaCallback", "TerminateOnNaN"]


class Callback:
    """Base class; every hook does nothing until overridden."""

    def __init__(self):
        self.model = None
        self.params = {}  # {"epochs", "steps", "verbose"}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_batch_begin(self, batch, logs=None): self.on_batch_begin(batch, logs)
    def on_train_batch_end(self, batch, logs=None): self.on_batch_end(batch, logs)
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass


class CallbackList:
    """The callbacks of one fit/evaluate/predict call: each hook called on
    all of them in order. Keras adds a ProgbarLogger (when verbose) and a
    History unless the list has one."""

    def __init__(self, callbacks=None, model=None, add_history=False, add_progbar=False,
                 verbose=1, params=None):
        callbacks = list(callbacks or [])
        for callback in callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(f"callbacks must be keras.callbacks.Callback objects; received "
                                f"{type(callback).__name__} {callback!r:.60}")
        if add_progbar and verbose and not any(isinstance(c, ProgbarLogger) for c in callbacks):
            callbacks.insert(0, ProgbarLogger())
        self.history = None
        if add_history:
            self.history = next((c for c in callbacks if isinstance(c, History)), None)
            if self.history is None:
                self.history = History()
                callbacks.append(self.history)
        self.callbacks = callbacks
        for callback in callbacks:
            callback.set_model(model)
            callback.set_params({"verbose": verbose, **(params or {})})

    def __getattr__(self, hook):
        if not hook.startswith("on_"):
            raise AttributeError(hook)
        # every hook gets its logs (an empty dict when there are none), as in Keras
        count = 1 if hook.split("_")[1] in ("train", "test", "predict") and \
            "batch" not in hook else 2

        methods = [getattr(callback, hook) for callback in self.callbacks]

        def call(*args):
            args = args + ({},) * (count - len(args))
            for method in methods:
                method(*args)

        setattr(self, hook, call)  # made once per hook: fit calls some per batch
        return call


class History(Callback):
    """``history.history``: metric name -> one value per epoch; ``history.epoch``."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []
        self.stopped_reason = None

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        if self.model is not None:
            self.model.history = self

    def __repr__(self):
        return f"<History epochs={len(self.epoch)} keys={sorted(self.history)}>"


def format_logs(logs):
    """'accuracy: 0.8213 - loss: 0.5012 - val_accuracy: ...' (Keras's order:
    training metrics by name, then validation ones)."""
    train = sorted(k for k in logs if not k.startswith("val_"))
    val = sorted(k for k in logs if k.startswith("val_"))
    return " - ".join(f"{k}: {_format_value(logs[k])}" for k in train + val)


def _format_value(value):
    value = float(value)
    return f"{value:.4f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.4e}"


def format_seconds(seconds):
    """2s, 236ms, 420us: Keras's units."""
    if seconds >= 1:
        return f"{seconds:.0f}s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms"
    return f"{seconds * 1e6:.0f}us"


class ProgbarLogger(Callback):
    """Keras's progress display. verbose=1: ``Epoch 1/5`` then a bar that
    updates in place (tqdm; also in Jupyter)::

        422/422 ━━━━━━━━━━━━━━━━━━━━ 2s 4ms/step - accuracy: 0.8213 - loss: 0.5012

    verbose=2: one line per epoch, ``422/422 - 2s - 4ms/step - accuracy: ...``.
    evaluate and predict show one bar for the whole pass.
    """

    def __init__(self, verbose=None, file=None):
        super().__init__()
        self.verbose = verbose
        self.file = file
        self.bar = None
        self.seen = 0
        self.in_fit = False

    def _out(self):
        return self.file or sys.stdout

    def _verbose(self):
        return self.verbose if self.verbose is not None else self.params.get("verbose", 1)

    def _live(self):
        """Redraw in place only where a carriage return works: a terminal or
        Jupyter. In a log file, write the finished bar once instead."""
        out = self._out()
        return (hasattr(out, "isatty") and out.isatty()) or "ipykernel" in sys.modules

    def _start(self, total):
        self.start = time.perf_counter()
        self.seen = 0
        self.total = total
        if self._verbose() == 1 and self._live():
            from tqdm import tqdm

            self.bar = tqdm(total=total, file=self._out(), ascii=" ━",
                            bar_format="{n_fmt}/{total_fmt} {bar:20} {desc}", leave=True,
                            mininterval=0.1, dynamic_ncols=False)

    def _step(self, batch, logs):
        self.seen = batch + 1
        if self.bar is not None:
            elapsed, per_step = self._timing(self.seen)
            eta = per_step * (self.total - self.seen)
            description = f"{format_seconds(eta)} {format_seconds(per_step)}/step"
            if logs:
                description += f" - {format_logs(logs)}"
            self.bar.set_description_str(description, refresh=False)
            self.bar.update(1)

    def _finish(self, logs):
        if not self._verbose():
            return
        elapsed, per_step = self._timing(self.seen)
        steps = f"{self.seen}/{self.total}"
        timing = f"{format_seconds(elapsed)} {format_seconds(per_step)}/step"
        tail = f" - {format_logs(logs)}" if logs else ""
        if self.bar is not None:
            self.bar.set_description_str(f"{timing}{tail}", refresh=False)
            self.bar.close()  # draws the final state once
            self.bar = None
        elif self._verbose() == 1:
            filled = round(20 * self.seen / max(self.total, 1))
            bar = "━" * filled + " " * (20 - filled)
            print(f"{steps} {bar} {timing}{tail}", file=self._out(), flush=True)
        else:
            print(f"{steps} - {format_seconds(elapsed)} - {format_seconds(per_step)}/step"
                  f"{tail}", file=self._out(), flush=True)

    def _timing(self, done):
        elapsed = time.perf_counter() - self.start
        return elapsed, elapsed / max(done, 1)

    def on_train_begin(self, logs=None):
        self.in_fit = True  # validation inside fit draws no bar of its own

    def on_epoch_begin(self, epoch, logs=None):
        if self._verbose():
            print(f"Epoch {epoch + 1}/{self.params['epochs']}", file=self._out(), flush=True)
        self._start(self.params["steps"])

    def on_train_batch_end(self, batch, logs=None):
        self._step(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._finish(logs)

    def on_test_begin(self, logs=None):
        if not self.in_fit:
            self._start(self.params["steps"])

    def on_test_batch_end(self, batch, logs=None):
        if not self.in_fit:
            self._step(batch, logs)

    def on_test_end(self, logs=None):
        if not self.in_fit:
            self._finish(logs)

    def on_predict_begin(self, logs=None):
        self._start(self.params["steps"])

    def on_predict_batch_end(self, batch, logs=None):
        self._step(batch, None)

    def on_predict_end(self, logs=None):
        self._finish(None)

    def on_train_end(self, logs=None):
        self.in_fit = False
        if self.bar is not None:  # training was interrupted mid-epoch
            self.bar.close()
            self.bar = None


_UP = ("acc", "accuracy", "auc", "precision", "recall")


def _monitor_mode(monitor, mode, owner):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{owner} mode must be 'auto', 'min' or 'max'; received {mode!r}")
    if mode == "auto":
        name = monitor.removeprefix("val_")
        up = any(name == u or name.endswith("_" + u) or name.startswith(u + "_") for u in _UP)
        mode = "max" if up and not name.endswith("loss") else "min"
    return mode


class _Monitor(Callback):
    def __init__(self, monitor, mode, min_delta, baseline, owner):
        super().__init__()
        self.monitor = monitor
        self.mode = _monitor_mode(monitor, mode, owner)
        self.min_delta = abs(float(min_delta))
        self.baseline = baseline
        self.best = baseline

    def _improved(self, value, reference):
        if reference is None:
            return True
        if self.mode == "max":
            return value - self.min_delta > reference
        return value + self.min_delta < reference

    def _value(self, logs, what):
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(f"{type(self).__name__}: {self.monitor!r} is not among the logged "
                          f"metrics {sorted(logs or {})}; {what}", RuntimeWarning, stacklevel=3)
        return value


class EarlyStopping(_Monitor):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for
    ``patience`` epochs. ``restore_best_weights`` puts back the weights of the
    best epoch at the end of training (Keras 3)."""

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor, mode, min_delta, baseline, "EarlyStopping")
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping patience must be an integer >= 0; received "
                             f"{patience!r}")
        self.patience = patience
        self.verbose = verbose
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = self.baseline
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        value = self._value(logs, "it has nothing to watch")
        if value is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
        self.wait += 1
        if self._improved(value, self.best):
            self.best = value
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(_Monitor):
    """Save the model after each epoch to ``filepath``, which may hold
    ``{epoch:02d}`` and log fields like ``{val_loss:.3f}``. With
    ``save_best_only`` only when ``monitor`` improved."""

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__(monitor, mode, 0, initial_value_threshold, "ModelCheckpoint")
        if save_freq != "epoch":
            raise NotImplementedError("ModelCheckpoint: save_freq other than 'epoch' is not "
                                      "implemented in glassnet yet")
        self.filepath = os.fspath(filepath)
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.save_best_only:
            value = self._value(logs, "saving nothing")
            if value is None:
                return
            better = self.best is None or not math.isfinite(self.best) or (
                value > self.best if self.mode == "max" else value < self.best)
            if not (better and np.isfinite(value)):
                if self.verbose:
                    print(f"Epoch {epoch + 1}: {self.monitor} did not improve from "
                          f"{self.best:.5f}")
                return
            if self.verbose:
                previous = "inf" if self.best is None else f"{self.best:.5f}"
                print(f"Epoch {epoch + 1}: {self.monitor} improved from {previous} to "
                      f"{value:.5f}, saving model to {path}")
            self.best = value
        elif self.verbose:
            print(f"Epoch {epoch + 1}: saving model to {path}")
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)


class ReduceLROnPlateau(_Monitor):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not
    improved (by ``min_delta``) for ``patience`` epochs, then wait
    ``cooldown`` epochs; never below ``min_lr``. Adds ``learning_rate`` to
    each epoch's logs."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):
        super().__init__(monitor, mode, min_delta, None, "ReduceLROnPlateau")
        if "epsilon" in kwargs:  # Keras 2's name for min_delta
            self.min_delta = abs(float(kwargs.pop("epsilon")))
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau: unrecognized arguments {sorted(kwargs)}")
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0; received "
                             f"factor={factor}")
        self.factor, self.patience, self.verbose = float(factor), patience, verbose
        self.cooldown, self.min_lr = cooldown, float(min_lr)

    def on_train_begin(self, logs=None):
        self.best, self.wait, self.cooldown_counter = None, 0, 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer
        logs["learning_rate"] = float(optimizer.learning_rate)
        value = self._value(logs, "the learning rate is left alone")
        if value is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(value, self.best):
            self.best, self.wait = value, 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = float(optimizer.learning_rate)
                if old > np.float32(self.min_lr):
                    new = max(old * self.factor, self.min_lr)
                    optimizer.learning_rate = new
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                              f"to {new}.")
                    self.cooldown_counter, self.wait = self.cooldown, 0


class LearningRateScheduler(Callback):
    """Before each epoch, set the learning rate to ``schedule(epoch, lr)``
    (or ``schedule(epoch)``); adds ``learning_rate`` to each epoch's logs."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        try:
            rate = self.schedule(epoch, float(optimizer.learning_rate))
        except TypeError:
            rate = self.schedule(epoch)
        if not isinstance(rate, (float, int, np.floating, np.integer)) or isinstance(rate, bool):
            raise ValueError(f"The output of the LearningRateScheduler's schedule should be a "
                             f"float; received {rate!r}")
        optimizer.learning_rate = float(rate)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                  f"{float(rate)}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class CSVLogger(Callback):
    """Write each epoch's logs as a row of a CSV file: ``epoch`` and the log
    names in sorted order (as Keras)."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep, self.append = separator, append
        self.file = self.writer = self.keys = None

    def on_train_begin(self, logs=None):
        header = True
        if self.append and os.path.exists(self.filename):
            with open(self.filename) as f:
                header = not f.readline()
        if self.file is not None and not self.file.closed:
            self.file.close()
        self.file = open(self.filename, "a" if self.append else "w", newline="")
        self.writer, self.keys, self.header = None, None, header

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys += [f"val_{k}" for k in self.keys]
        if self.writer is None:
            class Dialect(csv.excel):
                delimiter = self.sep

            self.writer = csv.DictWriter(self.file, fieldnames=["epoch"] + self.keys,
                                         dialect=Dialect)
            if self.header:
                self.writer.writeheader()
        self.writer.writerow({"epoch": epoch, **{k: logs.get(k, "NA") for k in self.keys}})
        self.file.flush()

    def on_train_end(self, logs=None):
        if self.file is not None and not self.file.closed:
            self.file.close()
        self.writer = None


class LambdaCallback(Callback):
    """A callback from functions: ``LambdaCallback(on_epoch_end=lambda epoch,
    logs: print(logs["loss"]))``."""

    _HOOKS = ("on_epoch_begin", "on_epoch_end", "on_train_begin", "on_train_end",
              "on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end")

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs):
        super().__init__()
        given = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end,
                 "on_train_begin": on_train_begin, "on_train_end": on_train_end,
                 "on_train_batch_begin": on_train_batch_begin,
                 "on_train_batch_end": on_train_batch_end}
        for name, function in kwargs.items():
            if not name.startswith("on_") or not hasattr(Callback, name):
                raise TypeError(f"LambdaCallback: unknown hook {name!r}")
            given[name] = function
        for name, function in given.items():
            if function is not None:
                setattr(self, name, function)


class TerminateOnNaN(Callback):
    """Stop training when a batch's loss is NaN or infinite."""

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True
