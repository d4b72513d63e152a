"""Bidirectional and TimeDistributed: gradients, merge modes, states, masks,
PyTorch's bidirectional=True, and (where installed) Keras: the same outputs,
the same training step, each other's files."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import keras
from glassnet.gradcheck import check_gradients
from keras_twins import assert_files_both_ways, assert_same_step

RNG = np.random.default_rng(8)
LAYERS = ["SimpleRNN", "LSTM", "GRU"]


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
def test_bidirectional_gradients(name, merge_mode):
    layer = keras.layers.Bidirectional(getattr(keras.layers, name)(3, return_sequences=True),
                                       merge_mode=merge_mode)
    errors = check_gradients(layer, RNG.normal(size=(3, 5, 2)))
    assert len(errors) == 7
    assert max(errors.values()) < 1e-6, errors


def test_bidirectional_is_forward_and_backward_merged():
    gn.utils.set_random_seed(1)
    layer = keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True),
                                       merge_mode=None)
    x = RNG.normal(size=(2, 6, 3)).astype("float32")
    y, y_rev = layer(x)
    assert [w.name for w in layer.weights] == ["kernel", "recurrent_kernel", "bias"] * 2
    assert layer.forward_layer.name.startswith("forward_") and \
        layer.backward_layer.name.startswith("backward_")
    forward = keras.layers.LSTM(4, return_sequences=True)
    backward = keras.layers.LSTM(4, return_sequences=True)
    forward(x), backward(x)
    forward.set_weights(layer.forward_layer.get_weights())
    backward.set_weights(layer.backward_layer.get_weights())
    np.testing.assert_allclose(y, forward(x), atol=1e-6)
    np.testing.assert_allclose(y_rev, backward(x[:, ::-1])[:, ::-1], atol=1e-6)
    concat = keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True))
    concat(x)
    concat.set_weights(layer.get_weights())
    np.testing.assert_allclose(concat(x), np.concatenate([y, y_rev], axis=-1), atol=1e-6)


def test_bidirectional_states_and_model_gradients():
    gn.utils.set_random_seed(2)
    inputs = keras.Input((5,), dtype="int32")
    h = keras.layers.Embedding(9, 3, mask_zero=True)(inputs)
    out, h_f, c_f, h_b, c_b = keras.layers.Bidirectional(
        keras.layers.LSTM(4, return_state=True))(h)
    assert [tuple(t.shape) for t in (out, h_f, c_f, h_b, c_b)] == [(None, 8)] + [(None, 4)] * 4
    merged = keras.layers.Concatenate()([out, h_b])
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(merged))
    model.compile("sgd", "sparse_categorical_crossentropy")
    x = RNG.integers(1, 9, size=(4, 5))
    x[0, :2] = 0
    x[1, 3:] = 0
    errors = check_gradients(model, x, RNG.integers(0, 2, 4))
    assert max(errors.values()) < 1e-6, errors


def test_bidirectional_reads_padding_as_nothing():
    gn.utils.set_random_seed(3)

    def model(steps):
        gn.utils.set_random_seed(3)
        return keras.Sequential([keras.Input((steps,), dtype="int32"),
                                 keras.layers.Embedding(10, 3, mask_zero=True),
                                 keras.layers.Bidirectional(keras.layers.GRU(4))])

    short, long = model(3), model(6)
    np.testing.assert_allclose(long.predict(np.array([[0, 0, 0, 4, 2, 7]]), verbose=0),
                               short.predict(np.array([[4, 2, 7]]), verbose=0), atol=1e-6)
    np.testing.assert_allclose(long.predict(np.array([[4, 2, 7, 0, 0, 0]]), verbose=0),
                               short.predict(np.array([[4, 2, 7]]), verbose=0), atol=1e-6)


def test_time_distributed_applies_one_layer_to_every_step():
    gn.utils.set_random_seed(4)
    layer = keras.layers.TimeDistributed(keras.layers.Dense(3, activation="tanh"))
    x = RNG.normal(size=(2, 4, 5)).astype("float32")
    out = layer(x)
    assert out.shape == (2, 4, 3)
    np.testing.assert_allclose(out[:, 2], layer.layer(x[:, 2]), atol=1e-6)
    errors = check_gradients(layer, x.astype("float64"))
    assert max(errors.values()) < 1e-6, errors
    conv = keras.layers.TimeDistributed(keras.layers.Conv2D(2, 3))
    assert conv(RNG.normal(size=(2, 3, 6, 6, 1)).astype("float32")).shape == (2, 3, 4, 4, 2)
    assert max(check_gradients(conv, RNG.normal(size=(2, 3, 5, 5, 1))).values()) < 1e-6


def test_a_tagger_trains_and_saves(tmp_path):
    gn.utils.set_random_seed(5)
    x = RNG.integers(1, 8, size=(200, 6))
    y = (x % 2).astype("int64")     # tag each token: odd or even
    model = keras.Sequential([keras.Input((6,), dtype="int32"), keras.layers.Embedding(8, 8),
                              keras.layers.Bidirectional(keras.layers.LSTM(8,
                                                                           return_sequences=True)),
                              keras.layers.TimeDistributed(keras.layers.Dense(2,
                                                                              activation="softmax"))])
    model.compile(keras.optimizers.Adam(0.02), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.97
    for name in ("m.keras", "m.h5", "m.safetensors"):
        model.save(tmp_path / name)
        again = keras.models.load_model(tmp_path / name)
        np.testing.assert_allclose(again.predict(x[:9], verbose=0),
                                   model.predict(x[:9], verbose=0), atol=1e-6)


def test_wrapper_errors():
    with pytest.raises(ValueError, match="merge_mode must be one of"):
        keras.layers.Bidirectional(keras.layers.LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="wraps a recurrent layer"):
        keras.layers.Bidirectional(keras.layers.Dense(2))
    with pytest.raises(ValueError, match="opposite directions"):
        keras.layers.Bidirectional(keras.layers.LSTM(2), backward_layer=keras.layers.LSTM(2))
    with pytest.raises(ValueError, match="must be a glassnet layer"):
        keras.layers.TimeDistributed("dense")


# ------------------------------------------------------------ PyTorch
@pytest.mark.parametrize("name", ["LSTM", "GRU"])
def test_same_as_pytorch_bidirectional(name):
    torch = pytest.importorskip("torch")
    from test_recurrent import torch_twin

    layer = keras.layers.Bidirectional(getattr(keras.layers, name)(4, return_sequences=True))
    x = RNG.normal(size=(3, 6, 2)).astype("float32")
    ours = layer(x)
    fw, perm = torch_twin(layer.forward_layer, torch)
    bw, _ = torch_twin(layer.backward_layer, torch)
    net = getattr(torch.nn, name)(2, 4, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for suffix, twin in (("", fw), ("_reverse", bw)):
            for weight in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(net, f"{weight}_l0{suffix}").copy_(getattr(twin, f"{weight}_l0"))
    theirs, _ = net(torch.from_numpy(x))
    np.testing.assert_allclose(ours, theirs.detach().numpy(), atol=1e-5)


# ------------------------------------------------------------ Keras
@pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
@pytest.mark.parametrize("name", LAYERS)
def test_same_as_keras(name, tmp_path):
    real = pytest.importorskip("keras")
    if not real.__version__.startswith("3."):
        pytest.skip("needs Keras 3")
    x = RNG.integers(1, 20, size=(8, 7)).astype("int32")
    x[:3, :2] = 0
    y = RNG.integers(0, 2, size=(8, 7, 1)).astype("float32")

    def build(k):
        k.utils.set_random_seed(4)
        model = k.Sequential([k.Input((7,), dtype="int32"),
                              k.layers.Embedding(20, 4),
                              k.layers.Bidirectional(getattr(k.layers, name)(
                                  5, return_sequences=True), merge_mode="sum"),
                              k.layers.TimeDistributed(k.layers.Dense(1,
                                                                      activation="sigmoid"))])
        model.compile(k.optimizers.SGD(0.5), "binary_crossentropy")
        return model

    theirs, ours = build(real), build(keras)
    assert_same_step(theirs, ours, x, y, atol=1e-5)
    assert_files_both_ways(real, theirs, ours, x, tmp_path)
