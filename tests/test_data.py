"""tf.data.Dataset on NumPy: every method's output against TensorFlow's.

The expected values are TensorFlow 2.21's (run once in a side venv and
written down here); TensorFlow is not imported."""

import numpy as np
import pytest

import glassnet as tf
from glassnet import data as gdata

D = tf.data.Dataset


def values(ds):
    """The elements as Python values (lists of numbers, tuples, dicts)."""
    def plain(x):
        if isinstance(x, dict):
            return {k: plain(v) for k, v in x.items()}
        if isinstance(x, tuple):
            return tuple(plain(v) for v in x)
        return np.asarray(x).tolist()
    return [plain(e) for e in ds.as_numpy_iterator()]


def dtypes(element):
    if isinstance(element, dict):
        return {k: dtypes(v) for k, v in element.items()}
    if isinstance(element, tuple):
        return tuple(dtypes(v) for v in element)
    return np.asarray(element).dtype.name


# ---------------------------------------------------------------- sources


def test_from_tensor_slices_python_lists_take_tensorflows_dtypes():
    assert values(D.from_tensor_slices([1, 2, 3])) == [1, 2, 3]
    assert dtypes(next(D.from_tensor_slices([1, 2, 3]).as_numpy_iterator())) == "int32"
    assert dtypes(next(D.from_tensor_slices([1.0, 2.0]).as_numpy_iterator())) == "float32"
    assert values(D.from_tensor_slices([[1, 2], [3, 4]])) == [[1, 2], [3, 4]]
    assert values(D.from_tensor_slices([True, False])) == [True, False]


def test_from_tensor_slices_numpy_arrays_and_tensors_keep_their_dtype():
    x = np.arange(6, dtype=np.uint8).reshape(3, 2)
    ds = D.from_tensor_slices(x)
    assert [e.dtype for e in ds.as_numpy_iterator()] == [np.uint8] * 3
    assert values(ds) == [[0, 1], [2, 3], [4, 5]]
    assert values(D.from_tensor_slices(tf.constant([1.5, 2.5]))) == [1.5, 2.5]
    assert D.from_tensor_slices(np.arange(3.0)).element_spec.dtype == np.float64
    # a list of arrays is one tensor (stacked), in the arrays' dtype, as TensorFlow
    spec = D.from_tensor_slices([np.zeros(3), np.ones(3)]).element_spec
    assert (tuple(spec.shape), spec.dtype) == ((3,), np.float64)


def test_from_tensor_slices_nested_tuple_and_dict():
    ds = D.from_tensor_slices({"a": [1, 2, 3], "b": ([1.0, 2.0, 3.0], [[1], [2], [3]])})
    assert values(ds) == [{"a": 1, "b": (1.0, [1])}, {"a": 2, "b": (2.0, [2])},
                          {"a": 3, "b": (3.0, [3])}]
    assert dtypes(next(ds.as_numpy_iterator())) == {"a": "int32", "b": ("float32", "int32")}
    spec = ds.element_spec
    assert repr(spec) == ("{'a': TensorSpec(shape=(), dtype=tf.int32, name=None), "
                          "'b': (TensorSpec(shape=(), dtype=tf.float32, name=None), "
                          "TensorSpec(shape=(1,), dtype=tf.int32, name=None))}")


def test_from_tensor_slices_errors_name_the_sizes():
    with pytest.raises(ValueError, match=r"from_tensor_slices.*component \[0\] has 3 and "
                                         r"component \[1\] has 4"):
        D.from_tensor_slices((np.zeros(3), np.ones(4)))
    with pytest.raises(ValueError, match=r"component \['a'\] has 2 and component "
                                         r"\['b'\]\[0\] has 1"):
        D.from_tensor_slices({"a": [1, 2], "b": ([1], [2, 3])})
    with pytest.raises(ValueError, match=r"from_tensor_slices: the tensor is a scalar"):
        D.from_tensor_slices(np.float32(3))
    with pytest.raises(ValueError, match="pad_sequences"):
        D.from_tensor_slices([[1, 2], [3]])
    with pytest.raises(TypeError, match=r"from_tensor_slices: tensors\[1\] is None"):
        D.from_tensor_slices(([1, 2], None))


def test_from_tensors_range_and_strings():
    assert values(D.from_tensors([1, 2])) == [[1, 2]]
    assert values(D.from_tensors(([1, 2], [3]))) == [([1, 2], [3])]
    assert repr(D.from_tensors(3.0).element_spec) == \
        "TensorSpec(shape=(), dtype=tf.float32, name=None)"
    assert values(D.range(5)) == [0, 1, 2, 3, 4]
    assert values(D.range(2, 10, 3)) == [2, 5, 8]
    assert values(D.range(10, 0, -3)) == [10, 7, 4, 1]
    assert values(D.range(3, 3)) == []
    assert all(isinstance(e, np.int64) for e in D.range(3).as_numpy_iterator())
    with pytest.raises(ValueError, match="step must not be 0"):
        D.range(0, 5, 0)
    # strings read back as bytes, as tf.string tensors do
    assert list(D.from_tensor_slices(["ab", "c"]).as_numpy_iterator()) == [b"ab", b"c"]
    batch = next(D.from_tensor_slices(["ab", "c"]).batch(2).as_numpy_iterator())
    assert batch.dtype == object and batch.tolist() == [b"ab", b"c"]


def test_pandas_like_columns_keep_their_dtype():
    class Column:  # what a pandas Series offers: __array__ and dtype
        dtype = np.dtype(np.float64)

        def __array__(self, dtype=None, copy=None):
            return np.array([1.0, 2.0])
    assert D.from_tensor_slices({"c": Column()}).element_spec["c"].dtype == np.float64


# ---------------------------------------------------------------- iteration


def test_iteration_yields_glassnet_tensors_and_restarts():
    ds = D.from_tensor_slices((np.arange(3, dtype=np.float32), [7, 8, 9]))
    seen = [(x, y) for x, y in ds]
    assert all(isinstance(x, tf.Tensor) and isinstance(y, tf.Tensor) for x, y in seen)
    assert [(float(x), int(y)) for x, y in seen] == [(0.0, 7), (1.0, 8), (2.0, 9)]
    assert seen[0][1].dtype == np.int32 and seen[0][0].shape == ()
    assert [int(y) for _, y in ds] == [7, 8, 9]  # a second pass starts over
    it = iter(D.range(2))
    assert int(it.get_next()) == 0 and int(next(it)) == 1
    with pytest.raises(StopIteration):
        next(it)


def test_as_numpy_iterator_yields_arrays_the_caller_owns():
    x = np.arange(12.0).reshape(6, 2)
    batches = list(D.from_tensor_slices(x).batch(4).as_numpy_iterator())
    assert all(type(b) is np.ndarray for b in batches)
    assert [b.tolist() for b in batches] == [x[:4].tolist(), x[4:].tolist()]
    batches[0][:] = -1  # the dataset's array is untouched
    assert x[0, 0] == 0.0
    scalars = list(D.range(2).as_numpy_iterator())
    assert all(isinstance(s, np.generic) for s in scalars)


# ---------------------------------------------------------------- batch, unbatch


def test_batch_and_drop_remainder():
    assert values(D.range(7).batch(3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert values(D.range(7).batch(3, drop_remainder=True)) == [[0, 1, 2], [3, 4, 5]]
    x = np.arange(6).reshape(3, 2)
    assert values(D.from_tensor_slices(x).batch(2, drop_remainder=True)) == [[[0, 1], [2, 3]]]
    assert repr(D.range(5).batch(2).element_spec) == \
        "TensorSpec(shape=(None,), dtype=tf.int64, name=None)"
    assert repr(D.range(5).batch(2, drop_remainder=True).element_spec) == \
        "TensorSpec(shape=(2,), dtype=tf.int64, name=None)"
    assert repr(D.range(3).batch(2)) == \
        "<_BatchDataset element_spec=TensorSpec(shape=(None,), dtype=tf.int64, name=None)>"


def test_batch_nested_structures():
    ds = D.from_tensor_slices({"a": [1, 2, 3], "b": ([1.0, 2.0, 3.0], [[1], [2], [3]])})
    assert values(ds.batch(2)) == [{"a": [1, 2], "b": ([1.0, 2.0], [[1], [2]])},
                                   {"a": [3], "b": ([3.0], [[3]])}]
    # the slow path (after map) gives the same
    same = ds.map(lambda d: d).batch(2)
    assert values(same) == values(ds.batch(2))
    assert dtypes(next(same.as_numpy_iterator())) == {"a": "int32", "b": ("float32", "int32")}


def test_batch_errors():
    with pytest.raises(ValueError, match=r"Dataset.batch: batch_size must be a positive "
                                         r"integer; received 0"):
        D.range(3).batch(0)
    with pytest.raises(ValueError, match="received -1"):
        D.range(3).batch(-1)
    with pytest.raises(TypeError, match=r"batch_size must be an integer; received 2.0"):
        D.range(3).batch(2.0)
    ragged = D.from_tensor_slices([1, 2]).map(lambda x: tf.fill([x], x))
    with pytest.raises(ValueError, match=r"different shapes: the first element has shape "
                                         r"\(1,\) and element 1 has shape \(2,\)"):
        list(ragged.batch(2))


def test_unbatch():
    assert values(D.range(6).batch(4).unbatch()) == [0, 1, 2, 3, 4, 5]
    nested = D.from_tensor_slices(([[1, 2], [3, 4]], [5, 6])).batch(2).unbatch()
    assert values(nested) == [([1, 2], 5), ([3, 4], 6)]
    d = D.from_tensors({"x": np.arange(6).reshape(3, 2), "y": np.array([0, 1, 0])}).unbatch()
    assert values(d) == [{"x": [0, 1], "y": 0}, {"x": [2, 3], "y": 1}, {"x": [4, 5], "y": 0}]
    assert int(d.cardinality()) == tf.data.UNKNOWN_CARDINALITY
    with pytest.raises(ValueError, match="unbatch: the tensor is a scalar"):
        list(D.range(2).unbatch())


def test_padded_batch():
    ds = D.from_tensor_slices([1, 2, 3, 4]).map(lambda x: tf.fill([x], x))
    assert values(ds.padded_batch(2)) == [[[1, 0], [2, 2]], [[3, 3, 3, 0], [4, 4, 4, 4]]]
    assert values(ds.padded_batch(2, padded_shapes=[5], padding_values=-1)) == [
        [[1, -1, -1, -1, -1], [2, 2, -1, -1, -1]], [[3, 3, 3, -1, -1], [4, 4, 4, 4, -1]]]
    assert repr(ds.padded_batch(2).element_spec) == \
        "TensorSpec(shape=(None, None), dtype=tf.int32, name=None)"
    with pytest.raises(ValueError, match="larger than padded_shapes"):
        list(ds.padded_batch(2, padded_shapes=[2]))


# ---------------------------------------------------------------- map, filter


def test_map_unpacks_tuples_and_passes_dicts_whole():
    assert values(D.from_tensor_slices(([1, 2, 3], [4, 5, 6])).map(lambda x, y: x + y)) == \
        [5, 7, 9]
    assert values(D.from_tensor_slices({"a": [1, 2], "b": [3, 4]}).map(
        lambda d: d["a"] * d["b"])) == [3, 8]
    seen = []
    list(D.range(2).map(lambda x: seen.append(type(x)) or x))
    assert seen == [tf.Tensor, tf.Tensor]


def test_map_with_glassnet_ops_normalizes_images():
    x = np.array([[0, 255], [51, 102]], dtype=np.uint8)
    ds = D.from_tensor_slices((x, [3, 4])).map(
        lambda x, y: (tf.cast(x, tf.float32) / 255.0, y), num_parallel_calls=tf.data.AUTOTUNE)
    out = list(ds.as_numpy_iterator())
    assert out[0][0].dtype == np.float32 and out[1][1].dtype == np.int32
    np.testing.assert_allclose(out[0][0], [0.0, 1.0])
    np.testing.assert_allclose(out[1][0], [0.2, 0.4], rtol=1e-6)
    # after batch, map sees the whole batch
    batched = D.from_tensor_slices((x, [3, 4])).batch(2).map(
        lambda x, y: (tf.reduce_sum(tf.cast(x, tf.float32), axis=1), y * 2))
    assert values(batched) == [([255.0, 153.0], [6, 8])]


def test_map_results_follow_tensorflows_conversions():
    # a list returned at the top is a tuple; a list inside is one tensor
    lists = D.range(3).map(lambda x: [x, x * 2])
    assert values(lists) == [(0, 0), (1, 2), (2, 4)]
    assert values(D.range(3).map(lambda x: (x, [x, x * 2]))) == [(0, [0, 0]), (1, [1, 2]),
                                                               (2, [2, 4])]
    assert dtypes(next(D.range(3).map(lambda x: (x, [x, x * 2])).as_numpy_iterator())) == \
        ("int64", "int64")
    assert repr(D.range(3).map(lambda x: 1.5).element_spec) == \
        "TensorSpec(shape=(), dtype=tf.float32, name=None)"
    assert repr(D.range(3).map(lambda x: (x, "a")).element_spec) == (
        "(TensorSpec(shape=(), dtype=tf.int64, name=None), "
        "TensorSpec(shape=(), dtype=tf.string, name=None))")
    with pytest.raises(TypeError, match="Dataset.map: map_func must be a function"):
        D.range(3).map(3)


def test_filter():
    assert values(D.range(10).filter(lambda x: x % 2 == 0)) == [0, 2, 4, 6, 8]
    pairs = D.from_tensor_slices(([1, 2, 3, 4], [0, 1, 0, 1])).filter(lambda x, y: y == 1)
    assert values(pairs) == [(2, 1), (4, 1)]
    with pytest.raises(ValueError, match=r"Dataset.filter: predicate must return a scalar "
                                         r"boolean .* it returned int64 of shape \(\)"):
        list(D.range(3).filter(lambda x: x))


# ---------------------------------------------------------------- take, skip, repeat


def test_take_skip_repeat():
    assert values(D.range(5).take(2)) == [0, 1]
    assert values(D.range(5).skip(3)) == [3, 4]
    assert values(D.range(7).take(-1)) == list(range(7))
    assert values(D.range(7).skip(-1)) == []
    assert values(D.range(3).repeat(2)) == [0, 1, 2, 0, 1, 2]
    assert values(D.range(3).repeat().take(7)) == [0, 1, 2, 0, 1, 2, 0]
    assert values(D.range(3).repeat(-1).skip(2).take(4)) == [2, 0, 1, 2]
    assert values(D.range(0).repeat()) == []  # an empty dataset repeated forever is empty
    assert values(D.range(3).repeat(0)) == []
    # the same through the slow path
    slow = D.range(3).map(lambda x: x + 10)
    assert values(slow.repeat().take(7)) == [10, 11, 12, 10, 11, 12, 10]
    assert values(slow.skip(1).repeat(2)) == [11, 12, 11, 12]
    with pytest.raises(TypeError, match=r"Dataset.take: count must be an integer"):
        D.range(3).take(1.5)


def test_repeat_then_batch_crosses_the_epoch_boundary():
    assert values(D.range(5).repeat(2).batch(4)) == [[0, 1, 2, 3], [4, 0, 1, 2], [3, 4]]
    assert values(D.range(5).batch(4).repeat(2)) == [[0, 1, 2, 3], [4], [0, 1, 2, 3], [4]]


# ---------------------------------------------------------------- shuffle


def test_shuffle_with_a_seed_is_reproducible_and_a_permutation():
    a = values(D.range(20).shuffle(20, seed=3))
    b = values(D.range(20).shuffle(20, seed=3))
    assert a == b and sorted(a) == list(range(20)) and a != list(range(20))
    assert values(D.range(20).shuffle(20, seed=4)) != a


def test_shuffle_buffer_of_one_is_the_identity():
    assert values(D.range(10).shuffle(1, seed=3)) == list(range(10))
    assert values(D.range(10).map(lambda x: x).shuffle(1)) == list(range(10))


def test_a_small_buffer_shuffles_only_locally():
    # the element emitted at position i was read by then: it is one of e₀ … e_{i+k-1}
    for seed in range(20):
        for ds in (D.range(50).shuffle(4, seed=seed),
                   D.range(50).map(lambda x: x).shuffle(4, seed=seed)):
            out = values(ds)
            assert sorted(out) == list(range(50))
            assert all(e <= i + 3 for i, e in enumerate(out))
    # and the first element is one of the first k
    firsts = {values(D.range(50).shuffle(4, seed=s))[0] for s in range(40)}
    assert firsts == {0, 1, 2, 3}


def test_reshuffle_each_iteration():
    ds = D.range(10).shuffle(10, seed=1)
    first, second = values(ds), values(ds)
    assert first != second and sorted(second) == list(range(10))
    again = D.range(10).shuffle(10, seed=1)  # a new dataset, the same two orders
    assert (values(again), values(again)) == (first, second)
    fixed = D.range(10).shuffle(3, seed=1, reshuffle_each_iteration=False)
    assert values(fixed) == values(fixed)
    unseeded = D.range(10).shuffle(10, reshuffle_each_iteration=False)
    assert values(unseeded) == values(unseeded)
    # shuffle then repeat: every epoch a new permutation
    epochs = np.array(values(D.range(10).shuffle(10, seed=5).repeat(3))).reshape(3, 10)
    assert all(sorted(e) == list(range(10)) for e in epochs.tolist())
    assert len({tuple(e) for e in epochs.tolist()}) == 3


def test_unseeded_shuffle_draws_from_glassnets_generator():
    tf.keras.utils.set_random_seed(7)
    a = values(D.range(30).shuffle(30))
    tf.keras.utils.set_random_seed(7)
    b = values(D.range(30).shuffle(30))
    assert a == b and sorted(a) == list(range(30))


def test_shuffle_errors():
    with pytest.raises(ValueError, match=r"Dataset.shuffle: buffer_size must be a positive "
                                         r"integer; received 0"):
        D.range(3).shuffle(0)


# ---------------------------------------------------------------- zip, concatenate, ...


def test_zip_concatenate_enumerate():
    assert values(D.zip((D.range(2), D.range(3)))) == [(0, 0), (1, 1)]
    assert values(D.zip(D.range(2), D.range(3))) == [(0, 0), (1, 1)]
    assert values(D.zip({"a": D.range(2), "b": D.range(3)})) == [{"a": 0, "b": 0},
                                                                 {"a": 1, "b": 1}]
    images = D.from_tensor_slices(np.arange(4.0))
    labels = D.from_tensor_slices([1, 0, 1, 0]).map(lambda y: y * 2)
    assert values(D.zip((images, labels)).batch(3)) == [([0.0, 1.0, 2.0], [2, 0, 2]),
                                                        ([3.0], [0])]
    assert values(D.range(3).concatenate(D.range(2))) == [0, 1, 2, 0, 1]
    with pytest.raises(TypeError, match="incompatible dataset elements"):
        D.range(3).concatenate(D.from_tensor_slices([1.0]))
    assert values(D.range(3).enumerate(5)) == [(5, 0), (6, 1), (7, 2)]
    assert values(D.from_tensor_slices(["a", "b"]).enumerate()) == [(0, b"a"), (1, b"b")]
    with pytest.raises(TypeError, match="Dataset.zip: expected a tuple or dict of Datasets"):
        D.zip((D.range(2), [1, 2]))


def test_flat_map_take_while_reduce_single_element():
    assert values(D.range(3).flat_map(lambda x: D.range(x))) == [0, 0, 1]
    assert values(D.range(10).take_while(lambda x: x < 3)) == [0, 1, 2]
    count = D.range(5).reduce(0, lambda state, _: state + 1)
    assert isinstance(count, tf.Tensor) and int(count) == 5 and count.dtype == np.int32
    total = D.range(5).reduce(np.int64(0), lambda state, x: state + x)
    assert int(total) == 10 and total.dtype == np.int64
    assert int(D.range(1).get_single_element()) == 0
    with pytest.raises(ValueError, match="exactly one element"):
        D.range(2).get_single_element()
    assert values(D.range(4).apply(lambda ds: ds.skip(2))) == [2, 3]


def test_prefetch_and_cache():
    assert values(D.range(4).prefetch(tf.data.AUTOTUNE)) == [0, 1, 2, 3]
    calls = []
    ds = D.range(4).map(lambda x: calls.append(1) or x * 2).cache()
    assert values(ds) == [0, 2, 4, 6] and values(ds) == [0, 2, 4, 6]
    assert len(calls) == 4  # the second pass replays the first
    assert values(D.range(4).cache().repeat(2)) == [0, 1, 2, 3, 0, 1, 2, 3]
    # a shuffle before cache is frozen by it, as TensorFlow's
    frozen = D.range(10).shuffle(10, seed=2).cache()
    assert values(frozen) == values(frozen)
    # an interrupted pass is not kept
    partial = D.range(5).map(lambda x: x + 1).cache()
    assert values(partial.take(2)) == [1, 2] and values(partial) == [1, 2, 3, 4, 5]


# ---------------------------------------------------------------- cardinality


def test_cardinality_as_tensorflow():
    evens = D.range(10).filter(lambda x: x % 2 == 0)
    card = lambda ds: int(ds.cardinality())  # noqa: E731
    assert (card(D.range(10)), card(D.range(10).batch(3)),
            card(D.range(10).batch(3, drop_remainder=True))) == (10, 4, 3)
    assert (card(evens), card(evens.repeat()), card(evens.take(3)), card(evens.batch(2))) == \
        (-2, -1, -2, -2)
    assert (card(D.range(10).repeat().take(3)), card(D.range(10).repeat().skip(3)),
            card(D.range(0).repeat())) == (3, -1, 0)
    assert card(D.range(10).batch(3).unbatch()) == -2
    assert (card(D.zip((D.range(3), D.range(10).repeat()))),
            card(D.zip((evens, D.range(10).repeat()))), card(D.zip((evens, D.range(3))))) == \
        (3, -2, -2)
    assert (card(D.range(3).concatenate(D.range(2).repeat())),
            card(D.range(3).repeat().concatenate(evens)),
            card(evens.concatenate(D.range(3).repeat()))) == (-1, -1, -1)
    assert (card(D.range(3).enumerate()), card(D.range(10).repeat().enumerate())) == (3, -1)
    assert (card(D.range(7).skip(-1)), card(D.range(7).take(-1))) == (0, 7)
    assert (card(D.range(7).repeat(-1)), card(D.range(7).repeat(0))) == (-1, 0)
    assert card(D.range(7).shuffle(3).map(lambda x: x).prefetch(1)) == 7
    assert tf.data.INFINITE_CARDINALITY == -1 and tf.data.UNKNOWN_CARDINALITY == -2
    assert tf.data.AUTOTUNE == -1 and tf.data.experimental.AUTOTUNE == -1
    assert int(tf.data.experimental.cardinality(D.range(4))) == 4
    assert D.range(4).cardinality().dtype == np.int64


def test_len():
    assert len(D.range(10).batch(3)) == 4
    assert len(D.from_tensor_slices((np.zeros((5, 2)), np.ones(5))).repeat(2)) == 10
    with pytest.raises(TypeError, match="The dataset is infinite."):
        len(D.range(3).repeat())
    with pytest.raises(TypeError, match="The dataset length is unknown."):
        len(D.range(3).filter(lambda x: x > 1))
    assert bool(D.range(3).repeat())  # truthiness does not ask len()


# ---------------------------------------------------------------- from_generator


def test_from_generator():
    def gen():
        for i in range(3):
            yield i, [i] * 2
    ds = D.from_generator(gen, output_signature=(tf.data.TensorSpec((), tf.int32),
                                                 tf.data.TensorSpec((2,), tf.float32)))
    assert values(ds) == [(0, [0.0, 0.0]), (1, [1.0, 1.0]), (2, [2.0, 2.0])]
    assert values(ds) == values(ds)  # each pass calls the generator again
    assert dtypes(next(ds.as_numpy_iterator())) == ("int32", "float32")
    assert int(ds.cardinality()) == -2
    old = D.from_generator(gen, output_types=(tf.int64, tf.int64), output_shapes=((), (None,)))
    assert values(old) == [(0, [0, 0]), (1, [1, 1]), (2, [2, 2])]
    assert repr(old.element_spec) == ("(TensorSpec(shape=(), dtype=tf.int64, name=None), "
                                      "TensorSpec(shape=(None,), dtype=tf.int64, name=None))")
    assert values(ds.batch(2)) == [([0, 1], [[0.0, 0.0], [1.0, 1.0]]), ([2], [[2.0, 2.0]])]


def test_from_generator_errors():
    def gen():
        yield [1, 2, 3]
    with pytest.raises(TypeError, match="output_signature"):
        D.from_generator(gen)
    with pytest.raises(TypeError, match="not a call of it"):
        D.from_generator(gen(), output_signature=tf.data.TensorSpec((3,), tf.int32))
    wrong = D.from_generator(gen, output_signature=tf.data.TensorSpec((2,), tf.int32))
    with pytest.raises(ValueError, match=r"yielded an element of shape \(3,\) where an "
                                         r"element of shape \(2,\) was expected"):
        list(wrong)


# ---------------------------------------------------------------- the fast path


def test_batching_slices_gathers_once_per_batch(monkeypatch):
    x = np.zeros((60000, 784), dtype=np.uint8)
    y = np.arange(60000)
    gathers = []
    real_gather = gdata._gather
    monkeypatch.setattr(gdata, "_gather", lambda flat, rows: gathers.append(1) or
                        real_gather(flat, rows))

    def no_stacking(*args, **kwargs):
        raise AssertionError("the fast path stacked elements")
    monkeypatch.setattr(gdata, "_stack", no_stacking)
    ds = D.from_tensor_slices((x, y)).shuffle(60000, seed=0).batch(32).prefetch(1)
    labels = [b[1] for b in ds._numpy_batches()]
    assert len(gathers) == len(labels) == 1875
    assert all(isinstance(b, np.ndarray) for b in labels)
    seen = np.concatenate(labels)
    assert sorted(seen.tolist()) == list(range(60000)) and seen[:100].tolist() != list(range(100))
    # unshuffled batches are slices of the arrays: views, no copies
    first = next(D.from_tensor_slices((x, y)).batch(32)._numpy_batches())
    assert np.shares_memory(first[0], x)
    # take, skip, repeat and a small buffer keep the fast path
    gathers.clear()
    small = D.from_tensor_slices((x, y)).skip(100).take(1000).repeat(2).shuffle(64).batch(100)
    assert sum(1 for _ in small._numpy_batches()) == 20 and len(gathers) == 20


def test_map_before_batch_stacks_and_cache_makes_it_fast_again(monkeypatch):
    stacks, gathers = [], []
    real_stack, real_gather = gdata._stack, gdata._gather
    monkeypatch.setattr(gdata, "_stack", lambda *a, **k: stacks.append(1) or
                        real_stack(*a, **k))
    monkeypatch.setattr(gdata, "_gather", lambda *a: gathers.append(1) or real_gather(*a))
    x = np.arange(40, dtype=np.uint8).reshape(20, 2)
    ds = D.from_tensor_slices((x, np.arange(20))).map(
        lambda a, b: (tf.cast(a, tf.float32) / 255.0, b)).cache().shuffle(20, seed=1).batch(8)
    first = list(ds._numpy_batches())
    assert len(gathers) == 0 and len(stacks) == 4  # 3 batches, and the cache stacked once
    gathers.clear()
    second = list(ds._numpy_batches())
    assert len(gathers) == 3 and len(stacks) == 4
    for batches in (first, second):
        labels = np.concatenate([b[1] for b in batches])
        assert sorted(labels.tolist()) == list(range(20))
        images = np.concatenate([b[0] for b in batches])
        np.testing.assert_allclose(images, x[labels] / np.float32(255.0), rtol=1e-6)
        assert images.dtype == np.float32


def test_numpy_batches_of_a_dict_pipeline():
    x = {"image": np.arange(10.0).reshape(5, 2), "meta": np.arange(5)}
    ds = D.from_tensor_slices((x, np.arange(5) % 2)).batch(2)
    batches = list(ds._numpy_batches())
    assert [b[0]["meta"].tolist() for b in batches] == [[0, 1], [2, 3], [4]]
    assert batches[2][0]["image"].tolist() == [[8.0, 9.0]]
    assert [b[1].tolist() for b in batches] == [[0, 1], [0, 1], [0]]
