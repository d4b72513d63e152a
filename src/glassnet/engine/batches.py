"""Where fit, evaluate and predict get their batches, one epoch at a time.

- arrays: a new permutation of the samples each epoch, cut into batches;
- a ``tf.data.Dataset``: one pass over it each epoch (its own batching);
- a ``keras.utils.PyDataset`` (Keras 2's ``Sequence``): ``ds[0]``,
  ``ds[1]``, ... ``ds[len(ds) - 1]``, then ``ds.on_epoch_end()``;
- a Python generator: batches as it yields them, one stream over all epochs.

With ``steps_per_epoch``, an epoch is that many batches, and the stream goes
on where the last epoch stopped (a dataset or PyDataset starts a new pass
when one ends; a generator that runs out ends training, with a warning, as
in Keras). Every batch from a source goes through the same checks as arrays.
"""

from __future__ import annotations

import math
import types
import warnings

__all__ = ["PyDataset", "is_source", "unpack", "ArrayBatches", "SourceBatches"]


class PyDataset:
    """Keras's ``keras.utils.PyDataset`` (``Sequence`` in Keras 2): a dataset
    that Python code serves batch by batch. Subclasses define
    ``__len__`` (the number of batches) and ``__getitem__(index)`` (a batch:
    ``x``, ``(x, y)`` or ``(x, y, sample_weight)``), and may define
    ``on_epoch_end``. glassnet reads it in order, in this process; the
    arguments for workers are accepted and change nothing."""

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self.workers, self.use_multiprocessing = workers, use_multiprocessing
        self.max_queue_size = max_queue_size

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index)")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def on_epoch_end(self):
        pass

    @property
    def num_batches(self):
        return len(self)


def is_source(x):
    """Data that comes in batches: a Dataset, a PyDataset or an iterator."""
    return (hasattr(x, "_numpy_batches") or isinstance(x, PyDataset)
            or _is_sequence(x) or isinstance(x, types.GeneratorType)
            or (hasattr(x, "__next__") and hasattr(x, "__iter__")))


def _is_sequence(x):
    """Keras 2's ``Sequence`` duck-typed: __getitem__, __len__ and on_epoch_end."""
    return all(hasattr(type(x), name) for name in ("__getitem__", "__len__", "on_epoch_end"))


def unpack(batch, what):
    """Keras's ``unpack_x_y_sample_weight``: (x, y, sample_weight) of a batch."""
    if isinstance(batch, list):
        batch = tuple(batch)
    if not isinstance(batch, tuple):
        return batch, None, None
    if len(batch) == 1:
        return batch[0], None, None
    if len(batch) == 2:
        return batch[0], batch[1], None
    if len(batch) == 3:
        return batch
    raise ValueError(f"{what}: a batch is x, (x, y) or (x, y, sample_weight); received a "
                     f"tuple of {len(batch)}")


class ArrayBatches:
    """Batches of in-memory arrays (``engine.data.Data``)."""

    def __init__(self, model, data, batch_size, shuffle, steps=None):
        self.model, self.data, self.batch_size, self.shuffle = model, data, batch_size, shuffle
        self.full = math.ceil(data.n / batch_size)
        self.steps = self.full if steps is None else steps
        self.per_epoch = steps
        self._stream = None

    def epoch(self, generator):
        if self.per_epoch is None:
            yield from self._pass(generator)
            return
        if self._stream is None:  # steps_per_epoch: one stream of passes, cut into epochs
            self._stream = self._passes(generator)
        for _ in range(self.per_epoch):
            yield next(self._stream)

    def _passes(self, generator):
        while True:
            yield from self._pass(generator)

    def _pass(self, generator):
        n, size = self.data.n, self.batch_size
        order = generator.permutation(n) if self.shuffle else None
        for step in range(self.full):
            part = slice(step * size, min((step + 1) * size, n))
            yield self.model._batch(self.data, part if order is None else order[part])


class SourceBatches:
    """Batches from a Dataset, a PyDataset or a generator, each checked as
    arrays are (``model._data``)."""

    def __init__(self, model, source, what, steps=None, class_weight=None, y_optional=False):
        self.model, self.source, self.what = model, source, what
        self.class_weight, self.y_optional = class_weight, y_optional
        if hasattr(source, "_numpy_batches"):
            self.kind = "dataset"
        elif isinstance(source, PyDataset) or _is_sequence(source):
            self.kind = "pydataset"
        else:
            self.kind = "iterator"
        self.per_epoch = steps
        self.steps = steps if steps is not None else self._length()
        self._stream = None
        self._pending = []
        self.exhausted = False

    def _length(self):
        if self.kind == "pydataset":
            return len(self.source)
        if self.kind == "dataset":
            try:
                count = int(self.source.cardinality())
            except (AttributeError, TypeError, ValueError):
                return None
            return count if count >= 0 else None
        return None

    def first_x(self):
        """The first batch's x (the model builds on it); a generator's first
        batch is kept for the first epoch, a dataset is only looked at."""
        if self.kind == "pydataset" and len(self.source):
            return unpack(self.source[0], self.what)[0]
        if self.kind == "dataset":
            for batch in self.source._numpy_batches():
                return unpack(batch, self.what)[0]
        if not self._pending:
            try:
                self._pending.append(next(self._raw()))
            except StopIteration:
                raise ValueError(f"{self.what}: the data yielded no batch") from None
        return unpack(self._pending[0], self.what)[0]

    def _one_pass(self):
        if self.kind == "dataset":
            yield from self.source._numpy_batches()
        elif self.kind == "pydataset":
            for index in range(len(self.source)):
                yield self.source[index]
            self.source.on_epoch_end()
        else:
            yield from self.source

    def _raw(self):
        """The raw batches, as one stream (kept between epochs where needed)."""
        if self._stream is None:
            if self.kind == "iterator" or self.per_epoch is not None:
                self._stream = self._cycle()
            else:
                return self._one_pass()
        return self._stream

    def _cycle(self):
        while True:
            produced = False
            for batch in self._one_pass():
                produced = True
                yield batch
            if self.kind == "iterator" or not produced:
                return

    def raw_epoch(self):
        """One epoch of raw batches."""
        pending, self._pending = self._pending, []
        stream = self._raw()
        count = 0
        for batch in pending:
            yield batch
            count += 1
        if self.per_epoch is None and self.kind != "iterator":
            for batch in stream:
                yield batch
            return
        while self.per_epoch is None or count < self.per_epoch:
            try:
                batch = next(stream)
            except StopIteration:
                if self.per_epoch is not None:
                    self.exhausted = True
                    warnings.warn(f"{self.what}: your input ran out of data after {count} "
                                  f"batch(es) of the {self.per_epoch} asked for in this epoch; "
                                  f"training stops (give a dataset that repeats, or fewer "
                                  f"steps_per_epoch)", UserWarning, stacklevel=4)
                else:
                    self.exhausted = True
                    if count == 0:
                        warnings.warn(f"{self.what}: your input ran out of data (a generator "
                                      f"is read once); give steps_per_epoch and a generator "
                                      f"that loops, or a Dataset", UserWarning, stacklevel=4)
                return
            yield batch
            count += 1

    def epoch(self, generator=None):
        model = self.model
        for batch in self.raw_epoch():
            x, y, weights = unpack(batch, self.what)
            data = model._data(x, y, weights, self.class_weight, self.what,
                               y_optional=self.y_optional)
            yield model._batch(data, slice(None))
