"""Checking and batching the data of fit, evaluate and predict: x, y and
sample weights, with errors that name the input, the expected shape and the
received one."""

from __future__ import annotations

import numpy as np

from glassnet import utils
from glassnet.engine.compiled import per_output

__all__ = ["Data", "DataChecks"]


class Data:
    """Arrays of one fit/evaluate call: inputs, targets (None where an output
    has no loss) and sample weights, all with the same number of samples."""

    def __init__(self, xs, ys, weights, n):
        self.xs, self.ys, self.weights, self.n = xs, ys, weights, n

    def take(self, index):
        """The samples at ``index`` (a slice, or an array of positions)."""
        return Data([x[index] for x in self.xs],
                     [None if y is None else y[index] for y in self.ys],
                     None if self.weights is None else [None if w is None else w[index]
                                                        for w in self.weights],
                     len(range(self.n)[index]) if isinstance(index, slice) else len(index))

    def split(self, at):
        return self.take(slice(0, at)), self.take(slice(at, self.n))


class DataChecks:
    """The data checks of the engine."""

    def _standardize_inputs(self, x, what, check_finite=True):
        names = self.input_names
        if isinstance(x, dict):
            missing = [n for n in names if n not in x]
            if missing:
                raise ValueError(f"{what}: x is a dict without the input(s) {missing}; the "
                                 f"model's inputs are {names}")
            extra = sorted(set(x) - set(names))
            if extra:
                raise ValueError(f"{what}: x has keys {extra} that are not the model's inputs "
                                 f"{names}")
            xs = [x[n] for n in names]
        elif isinstance(x, (list, tuple)) and len(names) > 1:
            if len(x) != len(names):
                raise ValueError(f"{what}: the model has {len(names)} inputs {names}; received "
                                 f"a list of {len(x)} arrays")
            xs = list(x)
        elif isinstance(x, (list, tuple)) and len(x) == 1 and isinstance(
                x[0], (np.ndarray, list, tuple)) and np.ndim(x[0]) >= 1 and not np.isscalar(
                x[0]) and _looks_like_array_list(x):
            xs = [x[0]]
        else:
            if len(names) > 1:
                raise ValueError(f"{what}: the model has {len(names)} inputs {names}; give a "
                                 f"list or a dict of arrays")
            xs = [x]
        return [self._check_input(value, tensor, what, check_finite) for value, tensor in
                zip(xs, self.inputs)]

    def _check_input(self, value, tensor, what, check_finite=True):
        name = tensor.name
        if value is None:
            raise ValueError(f"{what}: no data for input {name!r}")
        ragged = (f"{what}: input {name!r} holds sequences of different lengths; pad them to "
                  f"one length first: keras.utils.pad_sequences(x, maxlen=...)")
        try:
            array = np.asarray(value)
        except ValueError as error:
            if isinstance(value, (list, tuple)) and value and all(
                    isinstance(v, (list, tuple, np.ndarray)) for v in value):
                raise ValueError(ragged) from None
            raise ValueError(f"{what}: x is not a rectangular array ({error})") from None
        if array.dtype.kind == "O" and array.ndim == 1 and len(array) and all(
                isinstance(v, (list, tuple, np.ndarray)) for v in array[:100]):
            raise ValueError(ragged)  # what imdb.load_data returns: an object array of lists
        if array.dtype.kind == "O" and array.ndim == 0:
            raise TypeError(f"{what}: input {name!r} must be a NumPy array (or the whole x a "
                            f"tf.data.Dataset, a keras.utils.PyDataset or a generator); "
                            f"received {type(value).__name__}")
        if array.dtype.kind not in "biuf":
            raise ValueError(f"{what}: x must be numeric; received dtype {array.dtype}")
        if array.ndim < 1 or len(array) == 0:
            raise ValueError(f"{what}: x must hold at least one sample; received shape "
                             f"{array.shape}")
        expected = tensor.shape
        if array.ndim == len(expected) + 1 and array.shape[-1] == 1:
            array = array[..., 0]
        elif array.ndim == len(expected) - 1 and expected[-1] == 1:
            array = array[..., np.newaxis]  # Keras adds a missing channel axis of 1
        if len(expected) != array.ndim or any(
                e is not None and e != a for e, a in zip(expected[1:], array.shape[1:])):
            layer = self._first_layer_reading(tensor)
            raise ValueError(f"{what}: {layer} expects input of shape {tuple(expected)}; "
                             f"received x of shape {array.shape}")
        if check_finite and array.dtype.kind == "f" and not np.isfinite(array).all():
            bad = int(array.size - np.count_nonzero(np.isfinite(array)))
            raise ValueError(f"{what}: x contains {bad} NaN or infinite values; clean the data "
                             f"before training")
        return array

    def _first_layer_reading(self, tensor):
        for node in self._nodes:
            if any(t is tensor for t in node.input_tensors):
                return f"layer {node.operation.name!r} ({type(node.operation).__name__})"
        return f"input {tensor.name!r}"

    def _standardize_targets(self, y, n, what, needed, x_shape):
        names, count = self.output_names, len(self.output_names)
        if y is None:
            raise ValueError(f"{what} needs targets y (or a dataset or generator that yields "
                             f"(x, y) batches)")
        ys = per_output(y, names, f"{what}: y", list_of_one_is_a_value=True)
        checked = []
        for index, (value, name) in enumerate(zip(ys, names)):
            loss = needed.get(index)
            if value is None:
                if loss is not None:
                    raise ValueError(f"{what}: no targets for output {name!r}, which has a "
                                     f"loss")
                checked.append(None)
                continue
            value = np.asarray(value)
            if value.ndim == 0 or len(value) != n:
                raise ValueError(f"{what}: x and y must hold the same number of samples; "
                                 f"received x of shape {x_shape} and y of shape {value.shape}"
                                 f"{'' if count == 1 else f' for output {name!r}'}")
            if value.dtype.kind == "f" and not np.isfinite(value).all():
                raise ValueError(f"{what}: y contains NaN or infinite values")
            if loss is not None:
                value = loss.check_targets(value, (n,) + tuple(self.outputs[index].shape[1:]))
            if value.dtype.kind == "f":
                value = value.astype(self.dtype, copy=False)
            checked.append(value)
        return checked

    def _standardize_weights(self, sample_weight, class_weight, ys, n, what):
        count = len(self.output_names)
        weights = None
        if sample_weight is not None:
            weights = per_output(sample_weight, self.output_names, f"{what}: sample_weight",
                                  list_of_one_is_a_value=True)
            checked = []
            for w in weights:
                if w is None:
                    checked.append(None)
                    continue
                w = np.asarray(w, dtype=np.float64)
                if w.ndim == 0 or len(w) != n:
                    raise ValueError(f"{what}: sample_weight must hold one weight per sample "
                                     f"({n}); received shape {w.shape}")
                if not np.isfinite(w).all() or (w < 0).any():
                    raise ValueError(f"{what}: sample_weight must be finite and >= 0")
                checked.append(w)
            weights = checked
        if class_weight is not None:
            if count > 1:
                raise ValueError(f"{what}: class_weight is only supported for models with one "
                                 f"output (use sample_weight per output)")
            if not isinstance(class_weight, dict):
                raise ValueError(f"{what}: class_weight must be a dict {{class: weight}}; "
                                 f"received {type(class_weight).__name__}")
            y = ys[0]
            labels = y.argmax(axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else \
                np.asarray(y).reshape(len(y), -1)[:, 0]
            labels = np.rint(labels).astype(np.int64)
            table = np.ones(int(max(labels.max(initial=0), max(class_weight))) + 1)
            for key, value in class_weight.items():
                table[int(key)] = float(value)
            from_classes = table[labels]
            weights = [from_classes if weights is None or weights[0] is None
                       else weights[0] * from_classes]
        return weights

    def _data(self, x, y, sample_weight, class_weight, what, y_optional=False):
        if self._stepper_only():
            return _raw_data(x, y, sample_weight, what)
        xs = self._standardize_inputs(x, what)
        n = len(xs[0])
        for value, tensor in zip(xs, self.inputs):
            if len(value) != n:
                raise ValueError(f"{what}: all inputs must hold the same number of samples; "
                                 f"input {tensor.name!r} has {len(value)}, not {n}")
        needed = {} if self._compiled_loss is None else \
            {index: loss for index, _, loss, _ in self._compiled_loss.entries}
        if y is None and y_optional:  # a train_step of your own may need no targets (a GAN)
            ys = [None] * len(self.output_names)
        else:
            ys = self._standardize_targets(y, n, what, needed, xs[0].shape)
        weights = self._standardize_weights(sample_weight, class_weight, ys, n, what)
        return Data(xs, ys, weights, n)

    def _batch(self, data, index):
        batch = data.take(index)
        if self._stepper_only():  # no inputs of its own: floats as floatx, as Keras's adapters
            batch.xs = [x.astype(utils.floatx(), copy=False) if x.dtype.kind == "f" else x
                        for x in batch.xs]
            return batch
        batch.xs = [x.astype(dtype, copy=False)  # one gather, one cast
                    for x, dtype in zip(batch.xs, self._input_dtypes)]
        return batch

    def _stepper_only(self):
        """A subclass of Model with its own train_step (or test_step), no
        ``call`` and no graph: fit and evaluate just run its steps."""
        from glassnet.models import Model

        return (not self.built and type(self).call is Model.call
                and (self._overrides("train_step") or self._overrides("test_step")))

    def _build_from(self, x):
        """A model that does not know its input shape yet (a Sequential model
        with no Input, a subclass of Model) builds on its first data. A subclass
        with a ``train_step`` of its own and no ``call`` (keras.io's GAN, which
        holds its networks as attributes) has nothing to build: its steps run
        as they are."""
        if not self.built and not self._stepper_only():
            if isinstance(x, dict):  # the model decides (a subclass may trace on the dict)
                self._maybe_build({name: (None,) + tuple(np.shape(v)[1:])
                                   for name, v in x.items()})
                arrays = None
            elif isinstance(x, (list, tuple)) and x and all(isinstance(v, np.ndarray)
                                                            for v in x):
                arrays = list(x)
            else:
                arrays = [x]
            if arrays is not None:
                from glassnet.layers.base import probed_shape

                shapes = [probed_shape((None,) + tuple(np.shape(a)[1:])) for a in arrays]
                self.build(shapes[0] if len(shapes) == 1 else shapes)
        if self.compiled and self._compiled_loss is None and self._compile_args[0] is not None:
            self._build_compiled()

    def _predict_inputs(self, x, what):
        xs = self._standardize_inputs(x, what, check_finite=False)
        n = len(xs[0])
        if any(len(v) != n for v in xs):
            raise ValueError(f"{what}: all inputs must hold the same number of samples")
        return xs


def input_dtype(tensor, float_dtype):
    dtype = np.dtype(tensor.dtype)
    return float_dtype if dtype.kind == "f" else dtype


def _looks_like_array_list(x):
    """A list holding one array (not a list of numbers, which is one array)."""
    return isinstance(x[0], np.ndarray) or (isinstance(x[0], (list, tuple)) and len(x) == 1
                                            and np.ndim(x[0]) >= 2)


def _raw_data(x, y, sample_weight, what):
    """The data of a model that only has a train_step (no inputs to check
    against): each part as arrays, a list for several."""
    def arrays(value, part):
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        out = [np.asarray(v) for v in values]
        if any(a.ndim == 0 for a in out):
            raise ValueError(f"{what}: {part} must be arrays with a batch axis")
        return out

    xs = arrays(x, "x")
    n = len(xs[0])
    ys = [None] if y is None else arrays(y, "y")
    weights = None if sample_weight is None else arrays(sample_weight, "sample_weight")
    for part in xs + [v for v in ys + (weights or []) if v is not None]:
        if len(part) != n:
            raise ValueError(f"{what}: all arrays must hold the same number of samples; "
                             f"received {n} and {len(part)}")
    return Data(xs, ys, weights, n)
