"""``tf.data.Dataset``: input pipelines, lazy, on NumPy arrays.

A Dataset is a recipe for a sequence of elements e₀, e₁, …: nothing runs until
it is iterated, and every iteration starts again from e₀. An element is an
array or a structure of them (tuples, dicts, nested). Each method returns a
new Dataset::

    from_tensor_slices(x)   eᵢ = x[i]               (every component sliced along axis 0)
    from_tensors(x)         e₀ = x                   (one element)
    range(a, b, s)          eᵢ = a + i·s, while before b   (int64)
    zip((A, B))             eᵢ = (aᵢ, bᵢ)            (as long as the shortest)
    concatenate(B)          a₀ … a_{N−1}, b₀, b₁, …
    enumerate(k)            eᵢ ↦ (k + i, eᵢ)
    map(f)                  eᵢ ↦ f(*eᵢ)              (f(eᵢ) when eᵢ is not a tuple)
    filter(p)               the eᵢ with p(eᵢ) true
    take(n), skip(n)        e₀ … e_{n−1};   e_n, e_{n+1}, …
    repeat(r)               e₀ … e_{N−1}, e₀ … e_{N−1}, …   r times (None: forever)
    shuffle(k)              a buffer of k elements: emit a random one, put the
                            next input in its place (k ≥ N: a full permutation)
    batch(b)                Eⱼ = stack(e_{jb}, …, e_{jb+b−1})   (the last one
                            shorter, or dropped with drop_remainder=True)
    padded_batch(b)         the same, each zero-padded to the largest shape
    unbatch()               the rows of E₀, then of E₁, …
    cache()                 the first full pass, kept; later passes replay it

    >>> import glassnet as tf
    >>> ds = tf.data.Dataset.from_tensor_slices(([1, 2, 3, 4, 5], [0, 1, 0, 1, 0]))
    >>> [x.tolist() for x, y in ds.batch(2).as_numpy_iterator()]
    [[1, 2], [3, 4], [5]]
    >>> [int(x) for x in ds.map(lambda x, y: x * 10).filter(lambda x: x > 20)]
    [30, 40, 50]

Iterating gives ``glassnet.Tensor``s (TensorFlow gives EagerTensors);
``as_numpy_iterator()`` gives NumPy arrays. ``len(ds)`` is the number of
elements, and a TypeError where it is infinite or unknown (after ``filter``).

The fast path: a pipeline of ``from_tensor_slices``, ``take``, ``skip``,
``repeat``, ``shuffle`` and ``cache`` only moves row numbers, never rows, so
``batch`` gathers each batch with one fancy index per array (``x[rows]``),
as ``fit`` on arrays does. ``map`` or ``filter`` before ``batch`` calls Python
per element, as TensorFlow's does in C++; after ``batch`` it is per batch.
"""

from __future__ import annotations

import itertools
import operator

import numpy as np

from glassnet.tensor import Tensor, TensorShape, as_dtype, to_array

__all__ = ["Dataset", "TensorSpec", "AUTOTUNE", "INFINITE_CARDINALITY",
           "UNKNOWN_CARDINALITY", "experimental"]

AUTOTUNE = -1
INFINITE_CARDINALITY = -1
UNKNOWN_CARDINALITY = -2
INFINITE, UNKNOWN = INFINITE_CARDINALITY, UNKNOWN_CARDINALITY

_PEEK = [0]  # > 0 while element_spec reads a first element: no shuffling, no caching


# ---------------------------------------------------------------- structures


def _flatten(structure):
    """The leaves of a structure (dicts in their own key order)."""
    if isinstance(structure, dict):
        return [leaf for value in structure.values() for leaf in _flatten(value)]
    if isinstance(structure, tuple):
        return [leaf for value in structure for leaf in _flatten(value)]
    return [structure]


def _paths(structure, prefix=""):
    """The names of the leaves, as ``[0]['image']``, in _flatten's order."""
    if isinstance(structure, dict):
        return [p for k, v in structure.items() for p in _paths(v, f"{prefix}[{k!r}]")]
    if isinstance(structure, tuple):
        return [p for i, v in enumerate(structure) for p in _paths(v, f"{prefix}[{i}]")]
    return [prefix or "the tensor"]


def _component(path):
    """' in component [0]', or '' for an element that is one tensor."""
    return "" if path == "the tensor" else f" in component {path}"


def _scalar(path):
    return "the tensor" if path == "the tensor" else f"component {path}"


def _build(structure, leaves):
    if isinstance(structure, dict):
        return {key: _build(value, leaves) for key, value in structure.items()}
    if isinstance(structure, tuple):
        items = [_build(value, leaves) for value in structure]
        return type(structure)(*items) if hasattr(structure, "_fields") else tuple(items)
    return next(leaves)


def _packer(structure):
    """A function from the flat leaves back to ``structure``."""
    if not isinstance(structure, (tuple, dict)):
        return operator.itemgetter(0)
    if type(structure) is tuple and not any(isinstance(v, (tuple, dict)) for v in structure):
        return tuple
    return lambda flat: _build(structure, iter(flat))


def _map_structure(fn, structure):
    return _packer(structure)([fn(leaf) for leaf in _flatten(structure)])


def _same_structure(a, b):
    if isinstance(a, dict) or isinstance(b, dict):
        return isinstance(a, dict) and isinstance(b, dict) and list(a) == list(b) and all(
            _same_structure(a[k], b[k]) for k in a)
    if isinstance(a, tuple) or isinstance(b, tuple):
        return isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b) and all(
            _same_structure(x, y) for x, y in zip(a, b))
    return True


# ---------------------------------------------------------------- leaves


def _as_bytes(array, what):
    """TensorFlow's strings: Python str and NumPy text become bytes (an
    object array of them), as ``tf.string`` tensors read back."""
    if array.dtype.kind == "U":
        return np.char.encode(array, "utf-8").astype(object)
    if array.dtype.kind == "S":
        return array.astype(object)
    flat = array.ravel()
    if all(isinstance(v, (bytes, str)) for v in flat):
        out = np.empty(array.shape, dtype=object)
        out.ravel()[:] = [v.encode("utf-8") if isinstance(v, str) else v for v in flat]
        return out
    raise ValueError(f"{what} holds Python objects (dtype object), not numbers or strings; "
                     f"sequences of different lengths must be padded to one length first: "
                     f"keras.utils.pad_sequences(x, maxlen=...)")


def _to_leaf(value, what):
    """One component as a NumPy array: Tensors and Variables unwrapped, NumPy
    arrays (and pandas columns) as they are, Python values in TensorFlow's
    dtypes (floats float32, ints int32)."""
    if value is None:
        raise TypeError(f"{what} is None; a dataset's components must be tensors, arrays "
                        f"or numbers")
    if isinstance(value, Dataset):
        raise TypeError(f"{what} is a Dataset; a dataset's components must be tensors or "
                        f"arrays (Dataset.zip combines datasets)")
    if isinstance(value, np.ndarray):
        array = value
    elif isinstance(value, (np.generic, bytes, str)):
        array = np.asarray(value)
    elif hasattr(value, "_value"):  # Tensor, Variable
        array = np.asarray(value._value)
    elif hasattr(value, "__array__") and hasattr(value, "dtype"):  # pandas Series, ...
        array = np.asarray(value)
    else:
        try:
            array = np.asarray([np.asarray(getattr(v, "_value", v)) for v in value]) if \
                isinstance(value, (list, tuple)) and _holds_arrays(value) else to_array(value)
        except ValueError as error:
            raise ValueError(f"{what} is not a rectangular array (sequences of different "
                             f"lengths? pad them first: keras.utils.pad_sequences); "
                             f"{error}") from None
    if array.dtype.kind in "USO":
        array = _as_bytes(array, what)
    return array


def _holds_arrays(value):
    """Whether a list holds arrays or tensors (TensorFlow keeps their dtype
    when it stacks them; Python numbers take its defaults)."""
    while isinstance(value, (list, tuple)) and value:
        value = value[0]
    return isinstance(value, (np.ndarray, np.generic)) or hasattr(value, "_value")


def _normalize(value, what, top=False):
    """A structure of tuples and dicts with array leaves. Lists are tensors
    (TensorFlow stacks them), except a list a function returns at the top,
    which TensorFlow makes a tuple."""
    if isinstance(value, dict):
        return {key: _normalize(v, f"{what}[{key!r}]") for key, v in value.items()}
    if isinstance(value, tuple) or top and isinstance(value, list):
        items = [_normalize(v, f"{what}[{i}]") for i, v in enumerate(value)]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    return _to_leaf(value, what)


def _as_array(leaf):
    return leaf if isinstance(leaf, np.ndarray) else np.asarray(
        leaf, dtype=object if isinstance(leaf, bytes) else None)


def _tensors(element):
    """An element as TensorFlow hands it over: its leaves as Tensors."""
    return _map_structure(lambda leaf: Tensor(_as_array(leaf)), element)


def _numpy(element):
    """An element as ``as_numpy_iterator`` gives it: arrays the caller owns,
    0-d ones as NumPy scalars (bytes for strings), as TensorFlow's."""
    def leaf(value):
        if isinstance(value, np.ndarray):
            if value.ndim == 0:
                return value[()]
            return value if value.flags.owndata else value.copy()
        return value
    return _map_structure(leaf, element)


def _call(fn, element):
    """``fn`` on an element: a tuple's components as separate arguments, as
    TensorFlow does; no tape records it (a pipeline is not differentiated)."""
    from glassnet.tape import only

    args = _tensors(element)
    with only():
        return fn(*args) if type(args) is tuple else fn(args)


def _integer(value, method, argument, minimum=None, none=False):
    """An integer argument, checked; ``minimum`` is the smallest allowed."""
    if value is None and none:
        return None
    if isinstance(value, Tensor) and value.ndim == 0 and value.dtype.kind in "iu":
        value = int(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"Dataset.{method}: {argument} must be an integer; received "
                        f"{value!r} ({type(value).__name__})")
    value = int(value)
    if minimum is not None and value < minimum:
        kind = "a positive integer" if minimum == 1 else f"an integer ≥ {minimum}"
        raise ValueError(f"Dataset.{method}: {argument} must be {kind}; received {value}")
    return value


def _callable(fn, method, argument):
    if not callable(fn):
        raise TypeError(f"Dataset.{method}: {argument} must be a function; received "
                        f"{type(fn).__name__}")
    return fn


# ---------------------------------------------------------------- specs


class TensorSpec:
    """The shape and dtype of one component (TensorFlow's ``tf.TensorSpec``);
    ``None`` in ``shape`` is a size not known in advance."""

    def __init__(self, shape=None, dtype="float32", name=None):
        self.shape = None if shape is None else TensorShape(
            None if d is None or d == -1 else int(d) for d in shape)
        self.dtype = as_dtype(dtype, "TensorSpec: dtype")
        self.name = name

    @classmethod
    def from_tensor(cls, tensor, name=None):
        array = _as_array(getattr(tensor, "_value", tensor))
        return cls(array.shape, array.dtype, name)

    def is_compatible_with(self, other):
        shape = getattr(other, "shape", None)
        dtype = getattr(other, "dtype", None)
        if dtype is not None and np.dtype(dtype) != self.dtype:
            return False
        return _shape_fits(shape, self.shape)

    def __eq__(self, other):
        return isinstance(other, TensorSpec) and (self.shape, self.dtype, self.name) == (
            other.shape, other.dtype, other.name)

    def __hash__(self):
        return hash((self.shape, self.dtype, self.name))

    def __repr__(self):
        shape = "<unknown>" if self.shape is None else str(tuple(self.shape)) \
            if len(self.shape) != 1 else f"({self.shape[0]},)"
        dtype = "string" if self.dtype == object else self.dtype.name
        return f"TensorSpec(shape={shape}, dtype=tf.{dtype}, name={self.name!r})"


def _shape_fits(shape, expected):
    if expected is None or shape is None:
        return True
    shape = tuple(shape)
    return len(shape) == len(expected) and all(
        e is None or d is None or e == d for d, e in zip(shape, expected))


def _leaf_spec(leaf):
    array = _as_array(leaf)
    return TensorSpec(array.shape, array.dtype)


def _batched_spec(spec, size):
    return _map_structure(lambda s: TensorSpec(None if s.shape is None else (size,) + tuple(
        s.shape), s.dtype), spec)


def _is_spec(value):
    return hasattr(value, "shape") and hasattr(value, "dtype") and not isinstance(
        value, np.ndarray)


# ---------------------------------------------------------------- rows (the fast path)


class _RangeArray:
    """The rows start, start + step, … of ``Dataset.range``, computed when
    indexed (a range of 2⁶³ takes no memory)."""

    ndim = 1

    def __init__(self, start, step, n, dtype):
        self.start, self.step, self.n, self.dtype = start, step, n, np.dtype(dtype)

    @property
    def shape(self):
        return (self.n,)

    def __len__(self):
        return self.n

    def cut(self, begin, end):
        return _RangeArray(self.start + begin * self.step, self.step, max(0, end - begin),
                           self.dtype)

    def __getitem__(self, index):
        if isinstance(index, slice):
            rows = range(self.n)[index]
            return np.arange(self.start + rows.start * self.step,
                             self.start + rows.stop * self.step, rows.step * self.step,
                             dtype=self.dtype)
        if isinstance(index, (int, np.integer)):
            return self.dtype.type(self.start + int(index) * self.step)
        return (self.start + np.asarray(index, dtype=np.int64) * self.step).astype(self.dtype)


def _cut(leaf, begin, end):
    return leaf.cut(begin, end) if isinstance(leaf, _RangeArray) else leaf[begin:end]


class _View:
    """A dataset whose elements are rows of arrays: element = arrays[i] for
    each row number i of ``chunks()`` (one pass: slices and int arrays).
    ``plain``: the rows are 0 … n−1 in order."""

    def __init__(self, arrays, chunks, plain=False):
        self.arrays, self.chunks, self.plain = arrays, chunks, plain
        self.flat = _flatten(arrays)
        self.pack = _packer(arrays)
        self.n = len(self.flat[0])


def _plain_view(arrays):
    n = len(_flatten(arrays)[0])
    return _View(arrays, lambda: iter([slice(0, n)] if n else []), plain=True)


def _chunk_len(chunk):
    return chunk.stop - chunk.start if isinstance(chunk, slice) else len(chunk)


def _chunk_part(chunk, begin, end):
    if isinstance(chunk, slice):
        return slice(chunk.start + begin, chunk.start + end)
    return chunk[begin:end]


def _chunk_rows(chunk):
    return range(chunk.start, chunk.stop) if isinstance(chunk, slice) else chunk.tolist()


def _chunk_array(chunk):
    return np.arange(chunk.start, chunk.stop) if isinstance(chunk, slice) else chunk


def _row_elements(view):
    flat, pack = view.flat, view.pack
    for chunk in view.chunks():
        for i in _chunk_rows(chunk):
            yield pack([leaf[i] for leaf in flat])


def _take_chunks(chunks, count):
    left = count
    if left == 0:
        return
    for chunk in chunks:
        n = _chunk_len(chunk)
        if n >= left:
            yield _chunk_part(chunk, 0, left)
            return
        yield chunk
        left -= n


def _skip_chunks(chunks, count):
    left = count
    for chunk in chunks:
        n = _chunk_len(chunk)
        if left >= n:
            left -= n
            continue
        yield _chunk_part(chunk, left, n) if left else chunk
        left = 0


def _batch_rows(chunks, size, drop):
    """The row numbers of each batch: a slice where the rows run in order
    (the batch is then a view, no copy), else one int array."""
    parts, have = [], 0
    for chunk in chunks:
        n, begin = _chunk_len(chunk), 0
        while begin < n:
            end = min(n, begin + size - have)
            parts.append(_chunk_part(chunk, begin, end))
            have += end - begin
            begin = end
            if have == size:
                yield parts[0] if len(parts) == 1 else np.concatenate(
                    [_chunk_array(p) for p in parts])
                parts, have = [], 0
    if parts and not drop:
        yield parts[0] if len(parts) == 1 else np.concatenate([_chunk_array(p) for p in parts])


def _gather(flat, rows):
    """One batch of the fast path: every array indexed once by the batch's
    row numbers (a slice or an int array)."""
    return [leaf[rows] for leaf in flat]


def _stack(elements, what="Dataset.batch"):
    """One batch of the slow path: the elements' components stacked."""
    first = _flatten(elements[0])
    flats = [first] + [_flatten(e) for e in elements[1:]]
    if any(len(f) != len(first) for f in flats):
        raise ValueError(f"{what}: the elements have different structures (a first element "
                         f"of {len(first)} components)")
    columns = []
    for k, column in enumerate(zip(*flats)):
        if isinstance(column[0], bytes):
            array = np.empty(len(column), dtype=object)
            array[:] = column
        else:
            try:
                array = np.stack(column)
            except ValueError:
                paths = _paths(elements[0])
                shapes = [np.shape(v) for v in column]
                j = next(i for i, s in enumerate(shapes) if s != shapes[0])
                raise ValueError(
                    f"{what}: cannot batch elements of different shapes{_component(paths[k])}:"
                    f" the first element has shape {shapes[0]} and element {j} has shape "
                    f"{shapes[j]} (padded_batch pads them to one shape)") from None
        columns.append(array)
    return _packer(elements[0])(columns)


# ---------------------------------------------------------------- shuffling


def _buffered_shuffle(items, size, rng):
    """TensorFlow's shuffle: fill a buffer with ``size`` items; then each
    output is a uniformly random item of the buffer, whose place the next
    input takes; at the end the buffer empties in random order."""
    it = iter(items)
    buffer = list(itertools.islice(it, size))
    n = len(buffer)
    picks, k = [], 0
    for item in it:
        if k == len(picks):
            picks, k = rng.integers(0, n, 4096).tolist(), 0
        j = picks[k]
        k += 1
        yield buffer[j]
        buffer[j] = item
    for j in rng.permutation(len(buffer)).tolist():
        yield buffer[j]


# ---------------------------------------------------------------- Dataset


class Dataset:
    """TensorFlow's ``tf.data.Dataset`` (see the module's doc). Made by its
    static methods (``from_tensor_slices``, ``range``, ``zip``, …), never
    directly."""

    _kind = "Dataset"

    # ------------------------------------------------ what each kind defines
    def _rows(self):
        """A ``_View`` when the elements are rows of arrays (the fast path)."""
        return None

    def _generic(self):
        raise NotImplementedError

    def _card(self):
        raise NotImplementedError

    def _spec(self):
        """The element_spec: by default read off a first element."""
        _PEEK[0] += 1
        try:
            element = next(iter(self._elements()), None)
        finally:
            _PEEK[0] -= 1
        if element is None:
            raise ValueError(f"{self._kind}: element_spec: the dataset is empty, so its "
                             f"element shapes are unknown")
        return _map_structure(_leaf_spec, element)

    def _elements(self):
        """One pass over the elements, as NumPy structures."""
        view = self._rows()
        return _row_elements(view) if view is not None else self._generic()

    def _numpy_batches(self):
        """One pass over the elements as NumPy structures (arrays, NumPy
        scalars, tuples, dicts), without Tensors and without copies: for
        ``fit``, where the elements are batches. Arrays may be views of the
        arrays the dataset was made from: read them, do not write them."""
        return self._elements()

    # ------------------------------------------------ sources
    @staticmethod
    def from_tensor_slices(tensors, name=None):
        """Elements eᵢ = tensors[i]: every component sliced along its first axis."""
        arrays = _normalize(tensors, "Dataset.from_tensor_slices: tensors")
        flat, paths = _flatten(arrays), _paths(arrays)
        if not flat:
            raise ValueError("Dataset.from_tensor_slices: tensors is empty (no components)")
        for leaf, path in zip(flat, paths):
            if leaf.ndim == 0:
                raise ValueError(f"Dataset.from_tensor_slices: {_scalar(path)} is a scalar "
                                 f"(shape ()); slicing needs an axis 0 to slice along "
                                 f"(Dataset.from_tensors makes one element of it)")
        sizes = [len(leaf) for leaf in flat]
        if len(set(sizes)) > 1:
            j = next(i for i, s in enumerate(sizes) if s != sizes[0])
            raise ValueError(f"Dataset.from_tensor_slices: all components must have the same "
                             f"size in their first dimension; component {paths[0]} has "
                             f"{sizes[0]} and component {paths[j]} has {sizes[j]}")
        return _Source(arrays, "_TensorSliceDataset")

    @staticmethod
    def from_tensors(tensors, name=None):
        """One element: ``tensors`` itself."""
        arrays = _normalize(tensors, "Dataset.from_tensors: tensors")
        return _Source(_map_structure(lambda a: a[np.newaxis], arrays), "_TensorDataset")

    @staticmethod
    def range(*args, output_type="int64", name=None):
        """eᵢ = start + i·step while before stop, as Python's ``range`` (int64)."""
        if not 1 <= len(args) <= 3:
            raise TypeError(f"Dataset.range takes 1 to 3 arguments (stop; start, stop; start, "
                            f"stop, step); received {len(args)}")
        values = [_integer(a, "range", n, none=False) for a, n in zip(
            args, ("stop",) if len(args) == 1 else ("start", "stop", "step"))]
        start, stop, step = (0, values[0], 1) if len(values) == 1 else (*values, 1)[:3]
        if step == 0:
            raise ValueError("Dataset.range: step must not be 0")
        dtype = as_dtype(output_type, "Dataset.range: output_type")
        n = len(range(start, stop, step))
        return _Source(_RangeArray(start, step, n, dtype), "_RangeDataset")

    @staticmethod
    def zip(*args, datasets=None, name=None):
        """eᵢ = (aᵢ, bᵢ, …) (or a dict), as long as the shortest dataset."""
        if datasets is None:
            if not args:
                raise TypeError("Dataset.zip: expected datasets (a tuple or a dict of "
                                "Datasets); received none")
            datasets = args[0] if len(args) == 1 else tuple(args)
        elif args:
            raise TypeError("Dataset.zip: give the datasets positionally or as datasets=, "
                            "not both")
        flat = _flatten(datasets)
        for path, ds in zip(_paths(datasets), flat):
            if not isinstance(ds, Dataset):
                raise TypeError(f"Dataset.zip: expected a tuple or dict of Datasets; "
                                f"datasets{'' if path == 'the tensor' else path} is a "
                                f"{type(ds).__name__}")
        if not isinstance(datasets, (tuple, dict)):
            return datasets
        return _Zip(datasets)

    @staticmethod
    def from_generator(generator, output_types=None, output_shapes=None, args=None,
                       output_signature=None, name=None):
        """The elements ``generator(*args)`` yields, converted by
        ``output_signature`` (a structure of ``tf.TensorSpec``); each
        iteration calls ``generator`` again."""
        if not callable(generator):
            raise TypeError(f"Dataset.from_generator: generator must be a callable that "
                            f"returns an iterator (the generator function, not a call of it); "
                            f"received {type(generator).__name__}")
        if output_signature is None:
            if output_types is None:
                raise TypeError("Dataset.from_generator: To specify the output signature you "
                                "need to provide either the `output_signature` argument or "
                                "the `output_types` argument")
            signature = _signature_from_types(output_types, output_shapes)
        else:
            if output_types is not None or output_shapes is not None:
                raise TypeError("Dataset.from_generator: give output_signature, or "
                                "output_types and output_shapes, not both")
            signature = _normalize_signature(output_signature)
        return _Generator(generator, tuple(args) if args is not None else (), signature)

    # ------------------------------------------------ transformations
    def map(self, map_func, num_parallel_calls=None, deterministic=None, name=None):
        """eᵢ ↦ map_func(*eᵢ) (map_func(eᵢ) when eᵢ is not a tuple)."""
        return _Map(self, _callable(map_func, "map", "map_func"))

    def filter(self, predicate, name=None):
        """The elements for which predicate(*eᵢ) is true."""
        return _Filter(self, _callable(predicate, "filter", "predicate"))

    def take(self, count, name=None):
        """The first ``count`` elements (all of them for −1)."""
        return _Take(self, _integer(count, "take", "count", minimum=-1))

    def skip(self, count, name=None):
        """All but the first ``count`` elements (none for −1)."""
        return _Skip(self, _integer(count, "skip", "count", minimum=-1))

    def repeat(self, count=None, name=None):
        """The elements ``count`` times over (None or −1: forever)."""
        count = _integer(count, "repeat", "count", minimum=-1, none=True)
        return _Repeat(self, None if count is None or count < 0 else count)

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=True, name=None):
        """A buffer of ``buffer_size`` elements; each output is a random one
        of them, replaced by the next input. A seed makes it reproducible;
        each iteration shuffles anew unless reshuffle_each_iteration=False."""
        size = _integer(buffer_size, "shuffle", "buffer_size", minimum=1)
        if seed is not None:
            seed = _integer(seed, "shuffle", "seed", minimum=0)
        return _Shuffle(self, size, seed, bool(reshuffle_each_iteration))

    def batch(self, batch_size, drop_remainder=False, num_parallel_calls=None,
              deterministic=None, name=None):
        """Eⱼ = stack(e_{jb} … e_{jb+b−1}); the last batch is shorter, or
        dropped with drop_remainder=True."""
        return _Batch(self, _integer(batch_size, "batch", "batch_size", minimum=1),
                      bool(drop_remainder))

    def padded_batch(self, batch_size, padded_shapes=None, padding_values=None,
                     drop_remainder=False, name=None):
        """As batch, each component padded (with 0, or padding_values) to the
        largest shape in its batch, or to padded_shapes where they are given."""
        return _PaddedBatch(self, _integer(batch_size, "padded_batch", "batch_size",
                                           minimum=1), padded_shapes, padding_values,
                            bool(drop_remainder))

    def unbatch(self, name=None):
        """The rows of each element, in order."""
        return _Unbatch(self)

    def concatenate(self, dataset, name=None):
        """This dataset's elements, then ``dataset``'s."""
        if not isinstance(dataset, Dataset):
            raise TypeError(f"Dataset.concatenate: dataset must be a Dataset; received "
                            f"{type(dataset).__name__}")
        return _Concatenate(self, dataset)

    def enumerate(self, start=0, name=None):
        """eᵢ ↦ (start + i, eᵢ), the count in int64."""
        start = _integer(start, "enumerate", "start")
        counter = Dataset.range(start, np.iinfo(np.int64).max)
        zipped = _Zip((counter, self))
        zipped._enumerated = self
        return zipped

    def flat_map(self, map_func, name=None):
        """The elements of the dataset map_func(*eᵢ) returns, for e₀, e₁, …"""
        return _FlatMap(self, _callable(map_func, "flat_map", "map_func"))

    def take_while(self, predicate, name=None):
        """The elements up to the first for which predicate(*eᵢ) is false."""
        return _TakeWhile(self, _callable(predicate, "take_while", "predicate"))

    def cache(self, filename="", name=None):
        """The first full pass, kept in memory; later passes replay it
        (a filename is accepted and ignored: glassnet caches in memory)."""
        return _Cache(self)

    def prefetch(self, buffer_size, name=None):
        """The same elements (glassnet computes them when asked, on one thread)."""
        _integer(buffer_size, "prefetch", "buffer_size", minimum=-1)
        return _Same(self, "_PrefetchDataset")

    def with_options(self, options, name=None):
        return self

    def apply(self, transformation_func):
        """transformation_func(self)."""
        return transformation_func(self)

    # ------------------------------------------------ reading
    def reduce(self, initial_state, reduce_func, name=None):
        """state ← reduce_func(state, eᵢ) for every element; the last state."""
        _callable(reduce_func, "reduce", "reduce_func")
        from glassnet.tape import only

        state = _normalize(initial_state, "Dataset.reduce: initial_state")
        for element in self._elements():
            with only():
                result = reduce_func(_tensors(state), _tensors(element))
            state = _normalize(result, "Dataset.reduce: reduce_func's result", top=True)
        return _tensors(state)

    def get_single_element(self, name=None):
        """The one element of a dataset of one element."""
        elements = list(itertools.islice(self._elements(), 2))
        if len(elements) != 1:
            raise ValueError(f"Dataset.get_single_element: the dataset must have exactly one "
                             f"element; it has {'none' if not elements else 'more than one'}")
        return _tensors(elements[0])

    def as_numpy_iterator(self):
        """The elements as NumPy arrays (0-d ones as NumPy scalars)."""
        return _Iterator(map(_numpy, self._elements()))

    def __iter__(self):
        return _Iterator(map(_tensors, self._elements()))

    def cardinality(self):
        """The number of elements, as an int64 Tensor: INFINITE_CARDINALITY
        (−1) for a dataset that never ends, UNKNOWN_CARDINALITY (−2) after
        filter and the like."""
        return Tensor(np.asarray(self._card(), dtype=np.int64))

    def __len__(self):
        n = self._card()
        if n == INFINITE:
            raise TypeError("The dataset is infinite.")
        if n == UNKNOWN:
            raise TypeError("The dataset length is unknown.")
        return n

    def __bool__(self):
        return True

    @property
    def element_spec(self):
        """The structure of ``TensorSpec``s of one element."""
        return self._spec()

    def __repr__(self):
        try:
            return f"<{self._kind} element_spec={self._spec()}>"
        except Exception:  # a map_func that fails, an empty dataset
            return f"<{self._kind}>"


class _Iterator:
    """What ``iter(dataset)`` returns: ``next`` and TensorFlow's ``get_next``."""

    def __init__(self, elements):
        self._elements = elements

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._elements)

    def get_next(self):
        return next(self._elements)


# ---------------------------------------------------------------- the kinds


class _Source(Dataset):
    """from_tensor_slices, from_tensors, range, and zip of those: rows of arrays."""

    def __init__(self, arrays, kind):
        self._arrays, self._kind = arrays, kind
        self._view = _plain_view(arrays)

    def _rows(self):
        return self._view

    def _card(self):
        return self._view.n

    def _spec(self):
        return _map_structure(lambda a: TensorSpec(a.shape[1:], a.dtype), self._arrays)


class _Unary(Dataset):
    """A transformation of one input; by default the same elements, spec and count."""

    def __init__(self, input_dataset):
        self._input = input_dataset

    def _card(self):
        return self._input._card()

    def _spec(self):
        return self._input._spec()


class _Same(_Unary):
    def __init__(self, input_dataset, kind):
        super().__init__(input_dataset)
        self._kind = kind

    def _rows(self):
        return self._input._rows()

    def _elements(self):
        return self._input._elements()


class _Take(_Unary):
    _kind = "_TakeDataset"

    def __init__(self, input_dataset, count):
        super().__init__(input_dataset)
        self._count = count

    def _card(self):
        n = self._input._card()
        if self._count < 0:
            return n
        if n == INFINITE:
            return self._count
        return UNKNOWN if n == UNKNOWN else min(n, self._count)

    def _rows(self):
        view = self._input._rows()
        if view is None or self._count < 0:
            return view
        if view.plain:
            m = min(view.n, self._count)
            return _plain_view(_map_structure(lambda a: _cut(a, 0, m), view.arrays))
        return _View(view.arrays, lambda: _take_chunks(view.chunks(), self._count))

    def _generic(self):
        elements = self._input._elements()
        return elements if self._count < 0 else itertools.islice(elements, self._count)


class _Skip(_Unary):
    _kind = "_SkipDataset"

    def __init__(self, input_dataset, count):
        super().__init__(input_dataset)
        self._count = count

    def _card(self):
        n = self._input._card()
        if self._count < 0:
            return 0
        return n if n in (INFINITE, UNKNOWN) else max(0, n - self._count)

    def _rows(self):
        view = self._input._rows()
        if view is None or self._count < 0:
            return None if view is None else _View(view.arrays, lambda: iter([]))
        if view.plain:
            k = min(view.n, self._count)
            return _plain_view(_map_structure(lambda a: _cut(a, k, view.n), view.arrays))
        return _View(view.arrays, lambda: _skip_chunks(view.chunks(), self._count))

    def _generic(self):
        if self._count < 0:
            return iter([])
        return itertools.islice(self._input._elements(), self._count, None)


class _Repeat(_Unary):
    _kind = "_RepeatDataset"

    def __init__(self, input_dataset, count):
        super().__init__(input_dataset)
        self._count = count  # None: forever

    def _card(self):
        n, count = self._input._card(), self._count
        if count == 0 or n == 0:
            return 0
        if count is None:
            return INFINITE
        return n if n in (INFINITE, UNKNOWN) else n * count

    def _passes(self, one_pass):
        done = 0
        while self._count is None or done < self._count:
            empty = True
            for item in one_pass():
                empty = False
                yield item
            if empty:  # an empty dataset repeated forever is empty
                return
            done += 1

    def _rows(self):
        view = self._input._rows()
        if view is None:
            return None
        return _View(view.arrays, lambda: self._passes(view.chunks))

    def _generic(self):
        return self._passes(self._input._elements)


class _Shuffle(_Unary):
    _kind = "_ShuffleDataset"

    def __init__(self, input_dataset, size, seed, reshuffle):
        from glassnet import utils

        super().__init__(input_dataset)
        self._size, self._seed, self._reshuffle = size, seed, reshuffle
        self._epoch = 0
        if seed is None and not reshuffle:  # one order, fixed now, for every iteration
            self._seed = int(utils.rng().integers(2 ** 63))

    def _rng(self):
        """The generator of one pass: the seed's (a new one each pass unless
        reshuffle_each_iteration=False), else glassnet's."""
        from glassnet import utils

        epoch = self._epoch
        self._epoch += 1
        if self._seed is None:
            return utils.rng()
        return np.random.default_rng([self._seed, epoch] if self._reshuffle else self._seed)

    def _fits(self):
        n = self._input._card()
        return 0 <= n <= self._size

    def _rows(self):
        view = self._input._rows()
        if view is None or _PEEK[0]:
            return view

        def chunks():
            rng = self._rng()
            if self._fits():  # the buffer holds everything: a uniform permutation
                rows = [_chunk_array(c) for c in view.chunks()]
                if rows:
                    rows = np.concatenate(rows) if len(rows) > 1 else rows[0]
                    yield rows[rng.permutation(len(rows))]
                return
            order = _buffered_shuffle(itertools.chain.from_iterable(
                map(_chunk_rows, view.chunks())), self._size, rng)
            while True:
                block = np.fromiter(itertools.islice(order, 4096), dtype=np.int64)
                if not len(block):
                    return
                yield block
        return _View(view.arrays, chunks)

    def _generic(self):
        if _PEEK[0]:
            yield from self._input._elements()
            return
        rng = self._rng()
        if self._fits():
            elements = list(self._input._elements())
            for j in rng.permutation(len(elements)).tolist():
                yield elements[j]
            return
        yield from _buffered_shuffle(self._input._elements(), self._size, rng)


class _Cache(_Unary):
    _kind = "_CacheDataset"

    def __init__(self, input_dataset):
        super().__init__(input_dataset)
        self._stored = None  # a _View of the first full pass
        self._list = None    # or its elements, where they do not stack into arrays

    def _rows(self):
        if self._stored is not None:
            return self._stored
        if self._list is not None:
            return None
        view = self._input._rows()
        if view is None or view.plain:
            return view

        def recording():
            chunks = []
            for chunk in view.chunks():
                chunks.append(chunk)
                yield chunk
            if not _PEEK[0]:
                self._stored = _View(view.arrays, lambda: iter(chunks))
        return _View(view.arrays, recording)

    def _elements(self):
        if self._list is not None:
            return iter(self._list)
        return super()._elements()

    def _generic(self):
        elements = []
        for element in self._input._elements():
            elements.append(element)
            yield element
        if _PEEK[0]:
            return
        try:  # stacked, later passes take the fast path
            self._stored = _plain_view(_stack(elements)) if elements else None
        except ValueError:
            self._stored = None
        if self._stored is None:
            self._list = elements


class _Batch(_Unary):
    _kind = "_BatchDataset"

    def __init__(self, input_dataset, size, drop):
        super().__init__(input_dataset)
        self._size, self._drop = size, drop

    def _card(self):
        n = self._input._card()
        if n in (INFINITE, UNKNOWN):
            return n
        return n // self._size if self._drop else -(-n // self._size)

    def _spec(self):
        return _batched_spec(self._input._spec(), self._size if self._drop else None)

    def _elements(self):
        view = self._input._rows()
        if view is not None:  # the fast path: one gather per batch
            flat, pack = view.flat, view.pack
            for rows in _batch_rows(view.chunks(), self._size, self._drop):
                yield pack(_gather(flat, rows))
            return
        batch = []
        for element in self._input._elements():
            batch.append(element)
            if len(batch) == self._size:
                yield _stack(batch)
                batch = []
        if batch and not self._drop:
            yield _stack(batch)


class _PaddedBatch(_Batch):
    _kind = "_PaddedBatchDataset"

    def __init__(self, input_dataset, size, padded_shapes, padding_values, drop):
        super().__init__(input_dataset, size, drop)
        self._shapes, self._values = padded_shapes, padding_values

    def _targets(self, structure):
        """The padded shape (None: the batch's largest) and the padding value
        of each component."""
        n = len(_flatten(structure))
        if self._shapes is None:
            shapes = [None] * n
        elif not isinstance(structure, (tuple, dict)):
            shapes = [self._shapes]
        else:
            shapes = _flatten_up_to(structure, self._shapes, "padded_batch", "padded_shapes")
        if self._values is None:
            values = [None] * n
        elif not isinstance(self._values, (tuple, dict)):
            values = [self._values] * n
        else:
            values = _flatten_up_to(structure, self._values, "padded_batch", "padding_values")
        return shapes, values

    def _spec(self):
        inner = self._input._spec()
        shapes, _ = self._targets(inner)
        size = self._size if self._drop else None

        def padded(spec, wanted):
            if spec.shape is None:
                return TensorSpec(None, spec.dtype)
            wanted = [None] * len(spec.shape) if wanted is None else list(
                getattr(wanted, "as_list", lambda: wanted)())
            return TensorSpec([size] + [None if w is None or w == -1 else w for w in wanted],
                              spec.dtype)
        return _packer(inner)([padded(s, w) for s, w in zip(_flatten(inner), shapes)])

    def _elements(self):
        batch = []
        for element in self._input._elements():
            batch.append(element)
            if len(batch) == self._size:
                yield self._pad(batch)
                batch = []
        if batch and not self._drop:
            yield self._pad(batch)

    def _pad(self, batch):
        shapes, values = self._targets(batch[0])
        paths = _paths(batch[0])
        columns = []
        for k, column in enumerate(zip(*[_flatten(e) for e in batch])):
            arrays = [_as_array(v) for v in column]
            ranks = {a.ndim for a in arrays}
            if len(ranks) > 1:
                raise ValueError(f"Dataset.padded_batch: component {paths[k]} has elements "
                                 f"of different ranks {sorted(ranks)}")
            largest = tuple(max(a.shape[d] for a in arrays) for d in range(arrays[0].ndim))
            target = largest
            if shapes[k] is not None:
                wanted = tuple(getattr(shapes[k], "as_list", lambda: shapes[k])())
                if len(wanted) != len(largest):
                    raise ValueError(f"Dataset.padded_batch: padded_shapes for {paths[k]} is "
                                     f"{wanted}, of rank {len(wanted)}; the elements have "
                                     f"rank {len(largest)}")
                target = tuple(m if w is None or w == -1 else int(w)
                               for w, m in zip(wanted, largest))
                if any(t < m for t, m in zip(target, largest)):
                    raise ValueError(f"Dataset.padded_batch: an element of {paths[k]} has "
                                     f"shape {largest}, larger than padded_shapes {wanted}")
            dtype = arrays[0].dtype
            pad = values[k]
            if pad is None:
                pad = b"" if dtype == object else 0
            out = np.full((len(arrays),) + target, _to_leaf(pad, "padding_values"),
                          dtype=dtype)
            for i, a in enumerate(arrays):
                out[(i,) + tuple(slice(0, d) for d in a.shape)] = a
            columns.append(out)
        return _packer(batch[0])(columns)


def _flatten_up_to(structure, shallow, method, argument):
    """The items of ``shallow`` (shapes, values) at the leaves of ``structure``."""
    if isinstance(structure, dict):
        if not isinstance(shallow, dict):
            raise TypeError(f"Dataset.{method}: {argument} must be a dict like the elements")
        return [x for k, v in structure.items() for x in _flatten_up_to(
            v, shallow[k], method, argument)]
    if isinstance(structure, tuple):
        if not isinstance(shallow, (tuple, list)) or len(shallow) != len(structure):
            raise TypeError(f"Dataset.{method}: {argument} must have the elements' structure "
                            f"({len(structure)} components); received {shallow!r}")
        return [x for v, s in zip(structure, shallow) for x in _flatten_up_to(
            v, s, method, argument)]
    return [shallow]


class _Unbatch(_Unary):
    _kind = "_UnbatchDataset"

    def _card(self):
        return UNKNOWN

    def _spec(self):
        return _map_structure(lambda s: TensorSpec(None if s.shape is None else s.shape[1:],
                                                   s.dtype), self._input._spec())

    def _generic(self):
        pack, paths = None, None
        for element in self._input._elements():
            flat = [_as_array(v) for v in _flatten(element)]
            if pack is None:
                pack, paths = _packer(element), _paths(element)
            for leaf, path in zip(flat, paths):
                if leaf.ndim == 0:
                    raise ValueError(f"Dataset.unbatch: {_scalar(path)} is a scalar; "
                                     f"unbatching needs a first axis (rank ≥ 1)")
            sizes = [len(leaf) for leaf in flat]
            if len(set(sizes)) > 1:
                j = next(i for i, s in enumerate(sizes) if s != sizes[0])
                raise ValueError(f"Dataset.unbatch: the components of an element must have "
                                 f"the same first dimension; component {paths[0]} has {sizes[0]} "
                                 f"and component {paths[j]} has {sizes[j]}")
            for i in range(sizes[0]):
                yield pack([leaf[i] for leaf in flat])


class _Map(_Unary):
    _kind = "_MapDataset"

    def __init__(self, input_dataset, fn):
        super().__init__(input_dataset)
        self._fn = fn
        self._spec_value = None

    def _spec(self):
        if self._spec_value is None:
            self._spec_value = Dataset._spec(self)
        return self._spec_value

    def _generic(self):
        fn = self._fn
        for element in self._input._elements():
            yield _normalize(_call(fn, element), "Dataset.map: map_func's result", top=True)


def _truth(value, method):
    array = _as_array(getattr(value, "_value", value))
    if array.shape != () or array.dtype.kind != "b":
        raise ValueError(f"Dataset.{method}: predicate must return a scalar boolean (a "
                         f"tf.bool tensor of shape ()); it returned {array.dtype} of shape "
                         f"{array.shape}")
    return bool(array)


class _Filter(_Unary):
    _kind = "_FilterDataset"

    def __init__(self, input_dataset, predicate):
        super().__init__(input_dataset)
        self._predicate = predicate

    def _card(self):
        return UNKNOWN

    def _generic(self):
        for element in self._input._elements():
            if _truth(_call(self._predicate, element), "filter"):
                yield element


class _TakeWhile(_Filter):
    _kind = "_TakeWhileDataset"

    def _generic(self):
        for element in self._input._elements():
            if not _truth(_call(self._predicate, element), "take_while"):
                return
            yield element


class _FlatMap(_Unary):
    _kind = "_FlatMapDataset"

    def __init__(self, input_dataset, fn):
        super().__init__(input_dataset)
        self._fn = fn

    def _card(self):
        return UNKNOWN

    def _spec(self):
        return Dataset._spec(self)

    def _generic(self):
        for element in self._input._elements():
            dataset = _call(self._fn, element)
            if not isinstance(dataset, Dataset):
                raise TypeError(f"Dataset.flat_map: map_func must return a Dataset; it "
                                f"returned {type(dataset).__name__}")
            yield from dataset._elements()


class _Zip(Dataset):
    _kind = "_ZipDataset"
    _enumerated = None  # enumerate: the dataset counted

    def __init__(self, datasets):
        self._datasets = datasets
        self._flat = _flatten(datasets)
        self._pack = _packer(datasets)

    def _card(self):
        if self._enumerated is not None:
            return self._enumerated._card()
        cards = [d._card() for d in self._flat]
        if UNKNOWN in cards:
            return UNKNOWN
        finite = [c for c in cards if c != INFINITE]
        return min(finite) if finite else INFINITE

    def _spec(self):
        return self._pack([d._spec() for d in self._flat])

    def _rows(self):
        views = [d._rows() for d in self._flat]
        if not all(v is not None and v.plain for v in views):
            return None
        n = min(v.n for v in views)
        return _plain_view(self._pack([_map_structure(lambda a: _cut(a, 0, n), v.arrays)
                                       for v in views]))

    def _generic(self):
        pack = self._pack
        for elements in zip(*[d._elements() for d in self._flat]):
            yield pack(list(elements))


class _Concatenate(Dataset):
    _kind = "_ConcatenateDataset"

    def __init__(self, first, second):
        self._first, self._second = first, second
        try:
            a, b = first._spec(), second._spec()
        except ValueError:  # an empty dataset: nothing to compare
            return
        if not _same_structure(a, b) or any(
                x.dtype != y.dtype for x, y in zip(_flatten(a), _flatten(b))):
            raise TypeError(f"Dataset.concatenate: incompatible dataset elements: {a} vs. {b}")

    def _card(self):
        a, b = self._first._card(), self._second._card()
        if INFINITE in (a, b):
            return INFINITE
        return UNKNOWN if UNKNOWN in (a, b) else a + b

    def _spec(self):
        a, b = self._first._spec(), self._second._spec()

        def common(x, y):
            if x.shape is None or y.shape is None or len(x.shape) != len(y.shape):
                return TensorSpec(None, x.dtype)
            return TensorSpec([d if d == e else None for d, e in zip(x.shape, y.shape)],
                              x.dtype)
        return _packer(a)([common(x, y) for x, y in zip(_flatten(a), _flatten(b))])

    def _generic(self):
        yield from self._first._elements()
        yield from self._second._elements()


# ---------------------------------------------------------------- from_generator


def _normalize_signature(signature):
    if isinstance(signature, dict):
        return {k: _normalize_signature(v) for k, v in signature.items()}
    if isinstance(signature, (tuple, list)):
        items = [_normalize_signature(v) for v in signature]
        return type(signature)(*items) if hasattr(signature, "_fields") else tuple(items)
    if not _is_spec(signature):
        raise TypeError(f"Dataset.from_generator: output_signature must be a structure of "
                        f"tf.TensorSpec; received {signature!r}")
    shape = signature.shape
    return TensorSpec(None if shape is None else tuple(shape), signature.dtype)


def _signature_from_types(types, shapes):
    if isinstance(types, (list, tuple, dict)) and not isinstance(types, str):
        structure = tuple(types) if isinstance(types, list) else types
    else:
        structure = types
    leaves = _flatten(structure)
    if shapes is None:
        shape_leaves = [None] * len(leaves)
    elif isinstance(structure, (tuple, dict)):
        shape_leaves = _flatten_up_to(structure, shapes, "from_generator", "output_shapes")
    else:
        shape_leaves = [shapes]
    return _packer(structure)([
        TensorSpec(None if s is None else tuple(getattr(s, "as_list", lambda s=s: s)()), t)
        for t, s in zip(leaves, shape_leaves)])


class _Generator(Dataset):
    _kind = "_FlatMapDataset"

    def __init__(self, generator, args, signature):
        self._generator, self._args, self._signature = generator, args, signature
        self._specs, self._paths = _flatten(signature), _paths(signature)

    def _card(self):
        return UNKNOWN

    def _spec(self):
        return self._signature

    def _generic(self):
        pack = _packer(self._signature)
        for value in self._generator(*self._args):
            values = _flatten_up_to(self._signature, value, "from_generator",
                                    "the generator's element") if isinstance(
                self._signature, (tuple, dict)) else [value]
            yield pack([self._convert(v, s, p) for v, s, p in zip(
                values, self._specs, self._paths)])

    @staticmethod
    def _convert(value, spec, path):
        array = _to_leaf(value, f"Dataset.from_generator: {path}")
        if array.dtype != spec.dtype:
            if array.dtype.kind == "f" and spec.dtype.kind in "iub" or (
                    array.dtype == object) != (spec.dtype == object):
                raise TypeError(f"Dataset.from_generator: `generator` yielded an element of "
                                f"dtype {array.dtype}{_component(path)}, which cannot be "
                                f"converted to the expected dtype {spec.dtype}")
            array = array.astype(spec.dtype)
        if not _shape_fits(array.shape, spec.shape):
            raise ValueError(f"Dataset.from_generator: `generator` yielded an element of "
                             f"shape {array.shape}{_component(path)} where an element of "
                             f"shape {tuple(spec.shape)} was expected")
        return array


# ---------------------------------------------------------------- tf.data.experimental


class _Experimental:
    """``tf.data.experimental``: the constants, and ``cardinality(dataset)``."""

    AUTOTUNE = AUTOTUNE
    INFINITE_CARDINALITY = INFINITE_CARDINALITY
    UNKNOWN_CARDINALITY = UNKNOWN_CARDINALITY

    @staticmethod
    def cardinality(dataset):
        return dataset.cardinality()


experimental = _Experimental()
