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
           "ModelCheckpoint", "BackupAndRestore", "TensorBoard", "ReduceLROnPlateau", "LearningRateScheduler", "CSVLogger",
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
            eta = per_step * (self.total - self.seen) if self.total else 0.0
            description = f"{format_seconds(eta)} {format_seconds(per_step)}/step"
            if logs:
                description += f" - {format_logs(logs)}"
            self.bar.set_description_str(description, refresh=False)
            self.bar.update(1)

    def _finish(self, logs):
        if not self._verbose():
            return
        elapsed, per_step = self._timing(self.seen)
        steps = f"{self.seen}/{self.total if self.total is not None else self.seen}"
        timing = f"{format_seconds(elapsed)} {format_seconds(per_step)}/step"
        tail = f" - {format_logs(logs)}" if logs else ""
        if self.bar is not None:
            self.bar.set_description_str(f"{timing}{tail}", refresh=False)
            self.bar.close()  # draws the final state once
            self.bar = None
        elif self._verbose() == 1:
            filled = round(20 * self.seen / max(self.total or self.seen, 1))
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


def _check_frequency(owner, argument, value):
    """``"epoch"`` or a positive number of batches."""
    if value != "epoch" and (isinstance(value, bool) or not isinstance(
            value, (int, np.integer)) or value < 1):
        raise ValueError(f"{owner}: unrecognized {argument}={value!r}; expected 'epoch' or a "
                         f"positive number of batches")


class ModelCheckpoint(_Monitor):
    """Save the model (or, with ``save_weights_only``, its weights) during
    ``fit``, as Keras 3 does.

    ``filepath`` may hold ``{epoch:02d}``, ``{batch}`` and any logged value
    (``{val_loss:.2f}``); its extension picks the format: ``.keras``,
    ``.h5`` or ``.safetensors`` for models, ``.weights.h5``, ``.h5`` or
    ``.safetensors`` for weights. ``save_freq="epoch"`` saves at the end of
    each epoch; a number saves every that many batches (with the batch's
    running logs). With ``save_best_only``, a file is written only when
    ``monitor`` beats the best so far (``mode``: min, max or auto by the
    name); ``initial_value_threshold`` is the value to beat at first.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__(monitor, mode, 0, initial_value_threshold, "ModelCheckpoint")
        from glassnet import saving

        _check_frequency("ModelCheckpoint", "save_freq", save_freq)
        self.filepath = os.fspath(filepath)
        kind = "weights" if save_weights_only else "model"
        try:  # a name that cannot be saved fails now, not after the first epoch
            saving._extension(self.filepath, saving.WEIGHTS_FORMATS if save_weights_only
                              else saving.MODEL_FORMATS, kind)
        except ValueError as error:
            raise ValueError(f"ModelCheckpoint(save_weights_only={bool(save_weights_only)}): "
                             f"{error}") from None
        if not save_weights_only and self.filepath.lower().endswith(".weights.h5"):
            raise ValueError(f"ModelCheckpoint: {self.filepath!r} names a weights file; pass "
                             f"save_weights_only=True, or save the model as .keras")
        self.verbose = verbose
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.save_freq = save_freq
        self.initial_value_threshold = initial_value_threshold
        self._current_epoch = 0
        self._batches_since_save = 0
        self._last_batch = -1

    def on_train_begin(self, logs=None):
        self._batches_since_save, self._last_batch = 0, -1

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        added = batch + 1 if batch <= self._last_batch else batch - self._last_batch
        self._last_batch = batch
        self._batches_since_save += added
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._current_epoch, batch, logs or {})

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs or {})

    def file_path(self, epoch, batch, logs):
        """The file name for this epoch (and batch): ``filepath`` formatted
        with ``epoch`` (counted from 1), ``batch`` and the logs."""
        fields = {k: float(v) if isinstance(v, (np.floating, np.integer)) else v
                  for k, v in logs.items()}
        try:
            if batch is None or "batch" in fields:
                return self.filepath.format(epoch=epoch + 1, **fields)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **fields)
        except (KeyError, IndexError) as error:
            raise KeyError(f"ModelCheckpoint cannot format its filepath {self.filepath!r}: "
                           f"{error} is not among epoch, batch and the logged values "
                           f"{sorted(fields)}") from None

    def _save(self, epoch, batch, logs):
        path = self.file_path(epoch, batch, logs)
        if self.save_best_only:
            value = self._value(logs, "saving nothing")
            if value is None:
                return
            value = float(value)
            best = self.best
            if not np.isfinite(value) or not (best is None or self._improved(value, best)):
                if self.verbose:
                    shown = "inf" if best is None else f"{best:.5f}"
                    print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {shown}")
                return
            if self.verbose:
                previous = ("-inf" if self.mode == "max" else "inf") if best is None else \
                    f"{best:.5f}"
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {previous} to "
                      f"{value:.5f}, saving model to {path}")
            self.best = value
        elif self.verbose:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        folder = os.path.dirname(path)
        if folder:  # Keras's ModelCheckpoint makes the checkpoints' folder
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path, overwrite=True)
        else:
            self.model.save(path, overwrite=True)


class BackupAndRestore(Callback):
    """Keep a backup of the training state in ``backup_dir`` so that an
    interrupted ``fit`` (a crash, Ctrl-C, a lost Colab session) can be run
    again and resume where it stopped, as Keras 3's callback does.

    After each epoch (or every ``save_freq`` batches) it writes
    ``latest.weights.h5`` (the weights and the optimizer's state) and
    ``training_metadata.json`` (the epoch reached). When ``fit`` starts and a
    backup exists, the model takes its weights and optimizer state and
    training continues from the next epoch. A fit that finishes deletes
    the backup (``delete_checkpoint``); only these files are removed, and the
    folder if nothing else is in it. With ``double_checkpoint`` the previous
    backup is kept too and used if the latest cannot be read.

    A backup saved mid-epoch (``save_freq`` a number) resumes at the start of
    that epoch, from the weights it had then.
    """

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False,
                 delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("BackupAndRestore: backup_dir must be a folder name; received "
                             f"{backup_dir!r}")
        _check_frequency("BackupAndRestore", "save_freq", save_freq)
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = bool(double_checkpoint)
        self.delete_checkpoint = bool(delete_checkpoint)
        self._weights_path = os.path.join(self.backup_dir, "latest.weights.h5")
        self._metadata_path = os.path.join(self.backup_dir, "training_metadata.json")
        self._previous_weights = self._weights_path + ".bkp"
        self._previous_metadata = self._metadata_path + ".bkp"
        self._current_epoch = 0
        self._batches = 0

    def on_train_begin(self, logs=None):
        if not self.model.built:
            raise ValueError("BackupAndRestore: the model must be built before fit() so its "
                             "backup can be loaded (give it an Input, or call build())")
        for weights, metadata in ((self._weights_path, self._metadata_path),
                                  (self._previous_weights, self._previous_metadata)):
            if os.path.exists(weights) and os.path.exists(metadata):
                try:
                    self._restore(weights, metadata)
                    return
                except (OSError, ValueError) as error:
                    if not self.double_checkpoint:
                        raise ValueError(f"BackupAndRestore: cannot resume from the backup in "
                                         f"{self.backup_dir!r}: {error}") from None
                    warnings.warn(f"BackupAndRestore: the backup {weights!r} cannot be read "
                                  f"({error}); trying the previous one", RuntimeWarning,
                                  stacklevel=2)

    def _restore(self, weights, metadata):
        import json

        with open(metadata, encoding="utf-8") as f:
            state = json.load(f)
        epoch = state.get("epoch") if isinstance(state, dict) else None
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"{metadata!r} holds no epoch count")
        self.model.load_weights(weights)
        self.model._initial_epoch = epoch
        self._current_epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch
        self._batches = 0

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq != "epoch":
            self._batches += 1
            if self._batches % self.save_freq == 0:
                self._save(self._current_epoch)

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        if self.save_freq == "epoch":
            self._save(epoch + 1)

    def _save(self, epoch):
        import json
        import shutil

        from glassnet.saving import atomic_write

        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint and os.path.exists(self._weights_path):
            shutil.copyfile(self._weights_path, self._previous_weights)
            if os.path.exists(self._metadata_path):
                shutil.copyfile(self._metadata_path, self._previous_metadata)
        self.model.save_weights(self._weights_path, overwrite=True)

        def write(temp):
            with open(temp, "w", encoding="utf-8") as f:
                json.dump({"epoch": epoch, "batch": self._batches}, f)

        atomic_write(self._metadata_path, write)

    def on_train_end(self, logs=None):
        if not self.delete_checkpoint:
            return
        for path in (self._weights_path, self._metadata_path, self._previous_weights,
                     self._previous_metadata):
            if os.path.exists(path):
                os.remove(path)
        try:
            os.rmdir(self.backup_dir)
        except OSError:
            pass  # not empty (the user's own files) or already gone


class TensorBoard(Callback):
    """Write what ``fit`` logs as TensorBoard event files, as Keras 3 does:
    ``log_dir/train`` and ``log_dir/validation`` each get ``epoch_loss``,
    ``epoch_<metric>`` and (train) ``epoch_learning_rate`` per epoch, and
    ``evaluation_<name>_vs_iterations`` after each validation. With
    ``update_freq`` a number (or ``"batch"``, 1), ``batch_<name>`` every that
    many batches. With ``histogram_freq=N``, every N epochs each weight's
    histogram (``dense/kernel/histogram``) and glassnet's own
    ``gradient_norm/<layer>``: the L2 norm of the layer's weight gradients,
    averaged over the epoch's batches (vanishing gradients show as the norms
    of the first layers falling). ``write_graph`` writes the model's
    summary as text (TensorBoard's graph view needs a TensorFlow graph).

    Open the files with ``tensorboard --logdir logs``. The writer is
    tensorboardX (``pip install glassnet[tensorboard]``).
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0,
                 embeddings_freq=0, embeddings_metadata=None):
        super().__init__()
        for argument, value, default in (("write_images", write_images, False),
                                         ("profile_batch", profile_batch, 0),
                                         ("embeddings_freq", embeddings_freq, 0),
                                         ("embeddings_metadata", embeddings_metadata, None)):
            if value != default and not (argument == "profile_batch" and value in (None,)):
                raise NotImplementedError(f"TensorBoard: the Keras argument {argument}={value!r} "
                                          f"is not implemented in glassnet")
        if isinstance(histogram_freq, bool) or not isinstance(histogram_freq, int) or \
                histogram_freq < 0:
            raise ValueError(f"TensorBoard: histogram_freq must be an integer >= 0; received "
                             f"{histogram_freq!r}")
        if update_freq == "batch":
            update_freq = 1
        _check_frequency("TensorBoard", "update_freq", update_freq)
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = bool(write_graph)
        self.write_steps_per_second = bool(write_steps_per_second)
        self.update_freq = update_freq
        self._writers = {}
        self._global_train_batch = 0
        self._norms = None
        try:  # say it now, not after the first epoch of training
            import tensorboardX  # noqa: F401
        except ImportError:
            raise ImportError("The TensorBoard callback writes with tensorboardX: pip install "
                              "'glassnet[tensorboard]' (or pip install tensorboardX)") from None

    def _writer(self, which):
        if which not in self._writers:
            try:
                from tensorboardX import SummaryWriter
            except ImportError:
                raise ImportError("The TensorBoard callback writes with tensorboardX: pip "
                                  "install 'glassnet[tensorboard]' (or pip install "
                                  "tensorboardX)") from None
            self._writers[which] = SummaryWriter(os.path.join(self.log_dir, which))
        return self._writers[which]

    def on_train_begin(self, logs=None):
        self._global_train_batch = 0
        self._epoch_start = time.perf_counter()
        self._previous_iterations = self._iterations()
        if self.write_graph:
            lines = []
            self.model.summary(print_fn=lines.append)
            text = "\n".join("    " + line for line in lines)  # markdown code block
            self._writer("train").add_text("model/summary", text, 0)

    def _iterations(self):
        optimizer = getattr(self.model, "optimizer", None)
        return int(getattr(optimizer, "iterations", 0) or 0)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()
        self._previous_iterations = self._iterations()
        self._norms = {} if self.histogram_freq and epoch % self.histogram_freq == 0 else None
        self._norm_batches = 0

    def _leaf_layers(self):
        found = []
        for layer in self.model.layers:
            if hasattr(layer, "layers") and hasattr(layer, "_nodes"):
                found.extend(layer.layers)
            else:
                found.append(layer)
        return found

    def on_train_batch_end(self, batch, logs=None):
        self._global_train_batch += 1
        if self.update_freq != "epoch" and self._global_train_batch % self.update_freq == 0:
            writer = self._writer("train")
            for name, value in (logs or {}).items():
                writer.add_scalar(f"batch_{name}", float(value), self._global_train_batch)
        if self._norms is not None:
            self._norm_batches += 1
            for layer in self._leaf_layers():
                grads = [v.grad for v in layer.trainable_weights if v.grad is not None]
                if grads:
                    norm = math.sqrt(sum(float(np.dot(g.reshape(-1), g.reshape(-1)))
                                         for g in grads))
                    self._norms[layer.name] = self._norms.get(layer.name, 0.0) + norm

    def on_test_end(self, logs=None):
        if not logs or not getattr(self.model, "optimizer", None):
            return
        writer = self._writer("validation")
        for name, value in logs.items():
            writer.add_scalar(f"evaluation_{name}_vs_iterations", float(value),
                              self._iterations())

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        validation = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and "learning_rate" not in train:
            train["learning_rate"] = optimizer.current_learning_rate()
        if self.write_steps_per_second:
            seconds = time.perf_counter() - self._epoch_start
            train["steps_per_second"] = (self._iterations() - self._previous_iterations) / \
                max(seconds, 1e-9)
        writer = self._writer("train")
        for name, value in train.items():
            writer.add_scalar(f"epoch_{name}", float(value), epoch)
        if validation:
            val_writer = self._writer("validation")
            for name, value in validation.items():
                val_writer.add_scalar(f"epoch_{name}", float(value), epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            for layer in self._leaf_layers():
                for weight in layer.weights:
                    writer.add_histogram(f"{weight.path}/histogram",
                                         np.asarray(weight.numpy(), dtype=np.float64), epoch,
                                         bins="tensorflow")
            for name, total in (self._norms or {}).items():
                writer.add_scalar(f"gradient_norm/{name}", total / max(self._norm_batches, 1),
                                  epoch)
        for w in self._writers.values():
            w.flush()

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}


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
