"""Embedding (a lookup table trained by backprop) and pad_sequences, checked
against closed forms, float64 numerical gradients, PyTorch and (where it is
installed) Keras."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import glassnet as gn
from glassnet import keras
from glassnet.gradcheck import check_gradients
from keras_twins import assert_same_step

RNG = np.random.default_rng(12)


# ------------------------------------------------------------ pad_sequences
def reference_pad(sequences, maxlen, padding, truncating, value):
    """The rule written out, one sequence at a time."""
    if maxlen is None:
        maxlen = max((len(s) for s in sequences), default=0)
    rows = []
    for s in sequences:
        s = list(s)
        kept = (s[-maxlen:] if truncating == "pre" else s[:maxlen]) if maxlen else []
        fill = [value] * (maxlen - len(kept))
        rows.append(fill + kept if padding == "pre" else kept + fill)
    return np.array(rows, dtype="int32").reshape(len(sequences), maxlen)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.integers(1, 1000), max_size=12), max_size=8),
       st.one_of(st.none(), st.integers(0, 15)), st.sampled_from(["pre", "post"]),
       st.sampled_from(["pre", "post"]), st.integers(-3, 3))
def test_pad_sequences_follows_the_rule(sequences, maxlen, padding, truncating, value):
    got = keras.utils.pad_sequences(sequences, maxlen=maxlen, padding=padding,
                                    truncating=truncating, value=value)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, reference_pad(sequences, maxlen, padding, truncating,
                                                     value))


def test_pad_sequences_defaults_and_names():
    texts = [[11, 12, 13, 14], [21], []]
    np.testing.assert_array_equal(keras.preprocessing.sequence.pad_sequences(texts, maxlen=3),
                                  [[12, 13, 14], [0, 0, 21], [0, 0, 0]])  # cut and pad at start
    assert keras.utils.pad_sequences is keras.preprocessing.sequence.pad_sequences
    floats = keras.utils.pad_sequences([[0.5, 1.5]], maxlen=3, dtype="float32", value=-1.0)
    np.testing.assert_array_equal(floats, [[-1.0, 0.5, 1.5]])
    vectors = keras.utils.pad_sequences([np.ones((2, 3)), np.ones((1, 3))], dtype="float32")
    assert vectors.shape == (2, 2, 3) and vectors[1, 0].sum() == 0
    words = keras.utils.pad_sequences([["a", "b"], ["c"]], dtype=object, value="<pad>")
    assert words.tolist() == [["a", "b"], ["<pad>", "c"]]
    # to_categorical on padded sequences: one-hot per step
    onehot = keras.utils.to_categorical(keras.utils.pad_sequences([[1, 2], [3]]), 4)
    assert onehot.shape == (2, 2, 4) and onehot[1, 0].tolist() == [1, 0, 0, 0]


@pytest.mark.parametrize("kwargs, message", [
    ({"padding": "middle"}, "padding must be 'pre' or 'post'"),
    ({"truncating": "left"}, "truncating must be 'pre' or 'post'"),
    ({"maxlen": -1}, "maxlen"),
    ({"value": "x"}, "dtype=object"),
])
def test_pad_sequences_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        keras.utils.pad_sequences([[1, 2]], **kwargs)
    with pytest.raises(ValueError, match="list of sequences"):
        keras.utils.pad_sequences([[1], 5])
    with pytest.raises(ValueError, match="shape"):
        keras.utils.pad_sequences([np.ones((2, 3)), np.ones((1, 4))])


# ------------------------------------------------------------ Embedding
def test_embedding_is_a_lookup_and_its_gradient_sums_repeated_ids():
    layer = keras.layers.Embedding(6, 3)
    table = layer.embeddings.numpy()
    assert table.shape == (6, 3) and np.abs(table).max() <= 0.05  # Keras's "uniform"
    ids = np.array([[1, 4, 1], [0, 5, 1]])
    out = layer.forward(ids)
    np.testing.assert_array_equal(out, table[ids])
    assert out.shape == (2, 3, 3) and layer.compute_output_shape((None, 3)) == (None, 3, 3)
    grad = RNG.normal(size=out.shape).astype("float32")
    assert np.array_equal(layer.backward(grad), np.zeros(ids.shape))  # ids have no gradient
    expected = np.zeros((6, 3), "float32")
    for (n, t), i in np.ndenumerate(ids):
        expected[i] += grad[n, t]
    np.testing.assert_allclose(layer.grad_embeddings, expected, rtol=1e-6)
    assert np.all(layer.grad_embeddings[[2, 3]] == 0)  # rows not looked up get nothing
    np.testing.assert_allclose(layer.grad_embeddings[1], grad[0, 0] + grad[0, 2] + grad[1, 2],
                               rtol=1e-6)


def test_embedding_model_passes_the_float64_gradient_check():
    gn.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Embedding(7, 3),
                              keras.layers.Conv1D(2, 2, activation="tanh"),
                              keras.layers.GlobalAveragePooling1D(),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    x = RNG.integers(0, 7, (5, 4))
    errors = check_gradients(model, x, RNG.integers(0, 3, 5))
    assert "input" not in errors  # token ids have no gradient
    assert len(errors) == 5 and max(errors.values()) < 1e-6, errors  # embeddings, conv, dense


def test_embedding_matches_pytorch():
    torch = pytest.importorskip("torch")
    layer = keras.layers.Embedding(10, 4)
    ids = RNG.integers(0, 10, (3, 6))
    theirs = torch.nn.Embedding(10, 4)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(layer.embeddings.numpy()))
    out = theirs(torch.tensor(ids))
    np.testing.assert_allclose(layer.forward(ids), out.detach().numpy(), atol=1e-7)
    grad = RNG.normal(size=(3, 6, 4)).astype("float32")
    out.backward(torch.tensor(grad))
    layer.backward(grad)
    np.testing.assert_allclose(layer.grad_embeddings, theirs.weight.grad.numpy(), atol=1e-6)


def test_embedding_trains_saves_and_checks_its_input(tmp_path):
    gn.utils.set_random_seed(0)
    # a toy "text" task: is token 3 in the sequence?
    x = RNG.integers(1, 10, (400, 6))
    y = (x == 3).any(axis=1).astype("int64")
    model = keras.Sequential([keras.layers.Embedding(10, 8, input_length=6),
                              keras.layers.GlobalMaxPooling1D(),
                              keras.layers.Dense(2, activation="softmax")])
    assert model.built and model.input_shape == (None, 6)  # tf.keras 2's input_length
    model.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.95
    for name in ("m.keras", "m.h5", "m.safetensors"):
        model.save(tmp_path / name)
        again = keras.models.load_model(tmp_path / name)
        np.testing.assert_allclose(again.predict(x[:20], verbose=0),
                                   model.predict(x[:20], verbose=0), atol=1e-6)
    embedding = model.layers[0]
    with pytest.raises(ValueError, match=r"token id 10 is outside \[0, 10\)"):
        embedding.forward(np.array([[1, 10, 2, 3, 4, 5]]))
    with pytest.raises(ValueError, match=r"token id -1"):
        model.predict(np.array([[1, -1, 2, 3, 4, 5]]), verbose=0)
    with pytest.raises(ValueError, match="integer token ids"):
        embedding.forward(np.array([[0.5, 1.0, 2.0, 3.0, 4.0, 5.0]]))
    np.testing.assert_array_equal(keras.layers.Embedding(10, 4, mask_zero=True).compute_mask(
        np.array([[0, 3, 0]])), [[False, True, False]])
    with pytest.raises(ValueError, match="input_dim must be a positive integer"):
        keras.layers.Embedding(0, 4)
    with pytest.raises(NotImplementedError, match="embeddings_constraint"):
        keras.layers.Embedding(5, 2, embeddings_constraint="non_neg")
    loaded = keras.layers.Embedding(3, 2, weights=[np.arange(6.0).reshape(3, 2)])
    np.testing.assert_array_equal(loaded.forward(np.array([2, 0])), [[4, 5], [0, 1]])


@pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
def test_embedding_matches_keras():
    real = pytest.importorskip("keras")
    if not real.__version__.startswith("3."):
        pytest.skip("needs Keras 3")
    ids = RNG.integers(0, 12, (16, 5))
    y = RNG.integers(0, 3, 16)

    def build(k):
        k.utils.set_random_seed(1)
        model = k.Sequential([k.Input((5,)), k.layers.Embedding(12, 4),
                              k.layers.GlobalAveragePooling1D(),
                              k.layers.Dense(3, activation="softmax")])
        model.compile(k.optimizers.SGD(0.5), "sparse_categorical_crossentropy")
        return model

    theirs, ours = build(real), build(keras)
    assert_same_step(theirs, ours, ids, y, atol=1e-6)
    assert ours.get_config()["layers"][1]["config"]["input_dim"] == 12


@pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
def test_embedding_files_open_both_ways(tmp_path):
    real = pytest.importorskip("keras")
    if not real.__version__.startswith("3."):
        pytest.skip("needs Keras 3")
    ids = RNG.integers(0, 30, (8, 7))
    theirs = real.Sequential([real.Input((7,)), real.layers.Embedding(30, 5),
                              real.layers.Flatten(), real.layers.Dense(2)])
    theirs.save(tmp_path / "k.keras")
    ours = keras.models.load_model(tmp_path / "k.keras")
    np.testing.assert_allclose(ours.predict(ids, verbose=0), theirs.predict(ids, verbose=0),
                               atol=1e-6)
    ours.save(tmp_path / "g.keras")
    again = real.models.load_model(tmp_path / "g.keras")
    np.testing.assert_allclose(again.predict(ids, verbose=0), theirs.predict(ids, verbose=0),
                               atol=1e-6)
