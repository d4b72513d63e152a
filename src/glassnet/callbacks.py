"""Callbacks: code that runs at points of ``fit`` (Keras's hooks and semantics).

``fit`` calls, for every callback: ``on_train_begin``, then per epoch
``on_epoch_begin``, ``on_train_batch_end`` after each batch, ``on_epoch_end``
with the epoch's logs (``loss``, ``accuracy``, ``val_loss``, ...), and finally
``on_train_end``. A callback may set ``model.stop_training = True``.
"""

from __future__ import annotations

import math
import sys
import time
import warnings

import numpy as np

__all__ = ["Callback", "History", "ProgbarLogger", "EarlyStopping", "ModelCheckpoint"]


class Callback:
    model = None
    params = None  # {"epochs", "steps", "verbose"}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_end(self, batch, logs=None):
        pass


class History(Callback):
    """``history.history``: metric name -> one value per epoch; ``history.epoch``."""

    def __init__(self):
        self.history = {}
        self.epoch = []
        self.stopped_reason = None

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self):
        return f"<History epochs={len(self.epoch)} keys={sorted(self.history)}>"


def format_logs(logs):
    """'accuracy: 0.8213 - loss: 0.5012 - val_accuracy: ...' (Keras's order:
    training metrics by name, then validation ones)."""
    train = sorted(k for k in logs if not k.startswith("val_"))
    val = sorted(k for k in logs if k.startswith("val_"))
    return " - ".join(f"{k}: {logs[k]:.4f}" for k in train + val)


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
    """

    def __init__(self, verbose=1, file=None):
        self.verbose = verbose
        self.file = file
        self.bar = None

    def _out(self):
        return self.file or sys.stdout

    def _live(self):
        """Redraw in place only where a carriage return works: a terminal or
        Jupyter. In a log file, write the finished bar once per epoch instead."""
        out = self._out()
        return (hasattr(out, "isatty") and out.isatty()) or "ipykernel" in sys.modules

    def on_epoch_begin(self, epoch, logs=None):
        print(f"Epoch {epoch + 1}/{self.params['epochs']}", file=self._out(), flush=True)
        self.start = time.perf_counter()
        self.seen = 0
        if self.verbose == 1 and self._live():
            from tqdm import tqdm

            self.bar = tqdm(total=self.params["steps"], file=self._out(), ascii=" ━",
                            bar_format="{n_fmt}/{total_fmt} {bar:20} {desc}", leave=True,
                            mininterval=0.1, dynamic_ncols=False)

    def _timing(self, done):
        elapsed = time.perf_counter() - self.start
        per_step = elapsed / max(done, 1)
        return elapsed, per_step

    def on_train_batch_end(self, batch, logs=None):
        self.seen = batch + 1
        if self.bar is not None:
            elapsed, per_step = self._timing(self.seen)
            eta = per_step * (self.params["steps"] - self.seen)
            self.bar.set_description_str(
                f"{format_seconds(eta)} {format_seconds(per_step)}/step - {format_logs(logs)}",
                refresh=False)
            self.bar.update(1)

    def on_epoch_end(self, epoch, logs=None):
        elapsed, per_step = self._timing(self.seen)
        steps = f"{self.seen}/{self.params['steps']}"
        timing = f"{format_seconds(elapsed)} {format_seconds(per_step)}/step"
        if self.bar is not None:
            self.bar.set_description_str(f"{timing} - {format_logs(logs)}", refresh=False)
            self.bar.close()  # draws the final state once
            self.bar = None
        elif self.verbose == 1:
            filled = round(20 * self.seen / max(self.params["steps"], 1))
            bar = "━" * filled + " " * (20 - filled)
            print(f"{steps} {bar} {timing} - {format_logs(logs)}", file=self._out(), flush=True)
        else:
            print(f"{steps} - {format_seconds(elapsed)} - {format_seconds(per_step)}/step - "
                  f"{format_logs(logs)}", file=self._out(), flush=True)

    def on_train_end(self, logs=None):
        if self.bar is not None:  # training was interrupted mid-epoch
            self.bar.close()
            self.bar = None


def _monitor_op(monitor, mode, owner):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{owner} mode must be 'auto', 'min' or 'max'; received {mode!r}")
    if mode == "auto":
        mode = "max" if ("acc" in monitor or monitor.endswith("auc")) else "min"
    return mode


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for
    ``patience`` epochs. ``restore_best_weights`` puts back the weights of the
    best epoch at the end of training (Keras 3)."""

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        self.monitor = monitor
        self.min_delta = abs(float(min_delta))
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping patience must be an integer >= 0; received "
                             f"{patience!r}")
        self.patience = patience
        self.verbose = verbose
        self.mode = _monitor_op(monitor, mode, "EarlyStopping")
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch

    def _improved(self, value, reference):
        if reference is None:
            return True
        if self.mode == "max":
            return value - self.min_delta > reference
        return value + self.min_delta < reference

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = self.baseline
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(f"EarlyStopping: {self.monitor!r} is not among the logged metrics "
                          f"{sorted(logs or {})}; it has nothing to watch", RuntimeWarning,
                          stacklevel=2)
            return
        if epoch < self.start_from_epoch:
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


class ModelCheckpoint(Callback):
    """Save the model after each epoch to ``filepath``, which may hold
    ``{epoch:02d}`` and log fields like ``{val_loss:.3f}``. With
    ``save_best_only`` only when ``monitor`` improved."""

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", initial_value_threshold=None):
        self.filepath = str(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.mode = _monitor_op(monitor, mode, "ModelCheckpoint")
        self.best = initial_value_threshold

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.save_best_only:
            value = logs.get(self.monitor)
            if value is None:
                warnings.warn(f"ModelCheckpoint: {self.monitor!r} is not among the logged "
                              f"metrics {sorted(logs)}; saving nothing", RuntimeWarning,
                              stacklevel=2)
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
