"""Masks, as in Keras: Embedding(mask_zero=True) and Masking mark padded steps;
SimpleRNN, LSTM and GRU carry their states across them; GlobalAveragePooling1D
averages over the real steps; a masked output's loss counts only the real
steps. Checked against the same sequences without padding, numerical
gradients, PyTorch's packed sequences, and (where installed) Keras."""

import warnings

import numpy as np
import pytest

import glassnet as gn
from glassnet import keras
from glassnet.gradcheck import check_gradients, numerical_gradient, relative_error
from keras_twins import assert_same_step

RNG = np.random.default_rng(5)
LAYERS = ["SimpleRNN", "LSTM", "GRU"]


def text_model(name, steps, return_sequences=False, go_backwards=False, units=3, seed=1):
    gn.utils.set_random_seed(seed)
    inputs = keras.Input((steps,), dtype="int32")
    h = keras.layers.Embedding(12, 4, mask_zero=True)(inputs)
    h = getattr(keras.layers, name)(units, return_sequences=return_sequences,
                                    go_backwards=go_backwards)(h)
    return keras.Model(inputs, h)


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("go_backwards", [False, True])
def test_padding_changes_nothing_wherever_it_is(name, go_backwards):
    """[a b c] alone, [0 0 a b c] and [a b c 0 0] give the same final state."""
    ids = np.array([[3, 7, 5]])
    short = text_model(name, 3, go_backwards=go_backwards)
    long = text_model(name, 5, go_backwards=go_backwards)
    long.set_weights(short.get_weights())
    expected = short.predict(ids, verbose=0)
    for padded in ([[0, 0, 3, 7, 5]], [[3, 7, 5, 0, 0]], [[3, 0, 7, 0, 5]]):
        np.testing.assert_allclose(long.predict(np.array(padded), verbose=0), expected,
                                   rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", LAYERS)
def test_masked_steps_output_the_last_real_output(name):
    model = text_model(name, 5, return_sequences=True)
    out = model.predict(np.array([[0, 4, 0, 6, 0]]), verbose=0)[0]
    np.testing.assert_array_equal(out[0], 0)          # before the first real step: zeros
    np.testing.assert_array_equal(out[2], out[1])     # a masked step repeats the output
    np.testing.assert_array_equal(out[4], out[3])
    assert not np.allclose(out[3], out[1])


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("options", [{}, {"return_sequences": True},
                                     {"go_backwards": True, "return_sequences": True},
                                     {"zero_output_for_mask": True, "return_sequences": True}])
def test_masked_backpropagation_through_time_matches_numerical_gradients(name, options):
    layer = getattr(keras.layers, name)(3, **options)
    x = RNG.normal(size=(4, 6, 2))
    mask = np.array([[1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0],
                     [1, 0, 1, 0, 1, 0]], dtype=bool)
    clone = type(layer).from_config({**layer.get_config(), "dtype": "float64"})
    y = RNG.normal(size=clone(x, mask=mask).shape)
    x = x.copy()

    def loss(_):
        return float(np.sum(clone.forward(x, training=True, mask=mask) * y))

    clone.forward(x, training=True, mask=mask)
    dx = clone.backward(y)
    errors = {"input": relative_error(dx, numerical_gradient(loss, x))}
    for weight in ("kernel", "recurrent_kernel", "bias"):
        analytic = getattr(clone, "grad_" + weight).copy()
        errors[weight] = relative_error(analytic, numerical_gradient(
            loss, getattr(clone, weight).value))
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("name", LAYERS)
def test_masked_model_gradients(name):
    """Embedding(mask_zero) → recurrent → GlobalAveragePooling1D over the real
    steps → softmax: every weight against numerical gradients."""
    gn.utils.set_random_seed(3)
    inputs = keras.Input((6,), dtype="int32")
    h = keras.layers.Embedding(9, 3, mask_zero=True)(inputs)
    h = getattr(keras.layers, name)(4, return_sequences=True)(h)
    h = keras.layers.GlobalAveragePooling1D()(h)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(h))
    model.compile("sgd", "sparse_categorical_crossentropy")
    x = RNG.integers(1, 9, size=(5, 6))
    x[0, :3] = 0
    x[1, 4:] = 0
    x[2, ::2] = 0
    errors = check_gradients(model, x, RNG.integers(0, 2, 5))
    assert len(errors) == 1 + 3 + 2  # embeddings, the recurrent weights, Dense
    assert max(errors.values()) < 1e-6, errors


def test_global_average_pooling_averages_the_real_steps():
    layer = keras.layers.GlobalAveragePooling1D()
    x = np.arange(12, dtype="float32").reshape(1, 4, 3)
    mask = np.array([[True, False, True, False]])
    np.testing.assert_allclose(layer(x, mask=mask), (x[:, 0] + x[:, 2]) / 2)
    grad = layer.backward(np.ones((1, 3), dtype="float32"))
    np.testing.assert_allclose(grad[0, :, 0], [0.5, 0, 0.5, 0])
    np.testing.assert_allclose(layer(x), x.mean(axis=1))


def test_masking_layer_marks_steps_equal_to_the_mask_value():
    x = RNG.normal(size=(2, 4, 3)).astype("float32")
    x[0, 1] = -1
    x[1, 3] = -1
    layer = keras.layers.Masking(mask_value=-1)
    np.testing.assert_array_equal(layer.compute_mask(x), [[1, 0, 1, 1], [1, 1, 1, 0]])
    out = layer(x)
    np.testing.assert_array_equal(out[0, 1], 0)
    np.testing.assert_array_equal(out[0, 0], x[0, 0])
    grad = RNG.normal(size=x.shape).astype("float32")  # a = m·x, so ∂L/∂x = m·∂L/∂a
    expected = grad * layer.compute_mask(x)[..., None]
    np.testing.assert_array_equal(layer.backward(grad), expected)
    # away from the mask value the layer is the identity: the numerical check holds there
    smooth = keras.layers.Masking(mask_value=-1)
    assert max(check_gradients(smooth, RNG.normal(size=(2, 3, 2))).values()) < 1e-8
    gn.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4, 3)), keras.layers.Masking(-1),
                              keras.layers.LSTM(2)])
    short = keras.Sequential([keras.Input((3, 3)), keras.layers.LSTM(2)])
    short.set_weights(model.get_weights())
    np.testing.assert_allclose(model.predict(x[:1], verbose=0),
                               short.predict(x[:1, [0, 2, 3]], verbose=0), atol=1e-6)


def test_masked_sequence_loss_counts_only_the_real_steps():
    """A tagger: LSTM(return_sequences) → Dense per step; the mask reaches the
    loss, which is the mean over real steps (Keras's rule)."""
    gn.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input((5,), dtype="int32"),
                              keras.layers.Embedding(10, 3, mask_zero=True),
                              keras.layers.LSTM(4, return_sequences=True),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    x = np.array([[1, 2, 3, 0, 0], [4, 5, 6, 7, 8]])
    y = RNG.integers(0, 3, size=(2, 5))
    p = model.predict(x, verbose=0)
    per_step = -np.log(np.take_along_axis(p, y[..., None], axis=-1)[..., 0])
    real = x != 0
    assert model.evaluate(x, y, verbose=0) == pytest.approx(per_step[real].mean(), rel=1e-5)
    errors = check_gradients(model, x, y)
    assert max(errors.values()) < 1e-6, errors


def test_mask_errors_and_warnings():
    layer = keras.layers.LSTM(2)
    with pytest.raises(ValueError, match=r"mask must have shape.*\(2, 4\).*\(2, 3\)"):
        layer(np.zeros((2, 4, 3), dtype="float32"), mask=np.ones((2, 3), bool))
    with pytest.raises(TypeError, match=r"Layer 'd' \(Dense\) takes no mask"):
        keras.layers.Dense(2, name="d")(np.zeros((2, 3)), mask=np.ones((2,), bool))
    inputs = keras.Input((4,), dtype="int32")
    h = keras.layers.Embedding(5, 2, mask_zero=True)(inputs)
    with pytest.warns(UserWarning, match="'flat' .* does not support masking"):
        keras.layers.Flatten(name="flat")(h)
    with pytest.raises(NotImplementedError, match="BatchNormalization .*masked"):
        keras.layers.BatchNormalization()(h)
    with pytest.raises(NotImplementedError, match="Concatenate .*masked"):
        keras.layers.Concatenate()([h, h])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        keras.layers.Add()([keras.layers.Dense(2)(h), h])  # Dense passes the mask on


# ------------------------------------------------------------ PyTorch
@pytest.mark.parametrize("name", LAYERS)
def test_same_as_pytorch_packed_sequences(name):
    """Post-padded sequences with a mask = PyTorch's pack_padded_sequence."""
    torch = pytest.importorskip("torch")
    from test_recurrent import torch_twin

    layer = getattr(keras.layers, name)(5, return_state=True)
    x = RNG.normal(size=(4, 7, 3)).astype("float32")
    lengths = np.array([7, 3, 5, 1])
    mask = np.arange(7)[None, :] < lengths[:, None]
    x[~mask] = 0
    ours = layer(x, mask=mask)
    net, _ = torch_twin(layer, torch)
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.from_numpy(x), lengths,
                                                     batch_first=True, enforce_sorted=False)
    _, state = net(packed)
    h = (state[0] if name == "LSTM" else state)[0].detach().numpy()
    np.testing.assert_allclose(ours[0], h, atol=1e-5)
    np.testing.assert_allclose(ours[1], h, atol=1e-5)
    if name == "LSTM":
        np.testing.assert_allclose(ours[2], state[1][0].detach().numpy(), atol=1e-5)


# ------------------------------------------------------------ Keras
@pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
@pytest.mark.parametrize("name", LAYERS)
def test_same_as_keras_with_masks(name):
    real = pytest.importorskip("keras")
    if not real.__version__.startswith("3."):
        pytest.skip("needs Keras 3")
    x = RNG.integers(1, 20, size=(8, 7)).astype("int32")
    x[:3, :4] = 0
    x[3:6, 5:] = 0
    x[6, ::2] = 0
    y = RNG.integers(0, 2, size=(8, 1)).astype("float32")

    def build(k):
        k.utils.set_random_seed(4)
        model = k.Sequential([k.Input((7,), dtype="int32"),
                              k.layers.Embedding(20, 4, mask_zero=True),
                              getattr(k.layers, name)(5, return_sequences=True),
                              k.layers.GlobalAveragePooling1D(),
                              k.layers.Dense(1, activation="sigmoid")])
        model.compile(k.optimizers.SGD(0.5), "binary_crossentropy")
        return model

    assert_same_step(build(real), build(keras), x, y, atol=1e-5)


def test_ragged_lists_point_to_pad_sequences_and_return_state_in_sequential():
    model = keras.Sequential([keras.Input((None,), dtype="int32"), keras.layers.Embedding(9, 2),
                              keras.layers.LSTM(2), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    reviews = [[1, 2, 3], [4, 5]]
    with pytest.raises(ValueError, match=r"different lengths.*pad_sequences"):
        model.fit(reviews, np.ones(2), verbose=0)
    as_keras_returns = np.empty(2, dtype=object)
    as_keras_returns[:] = reviews
    with pytest.raises(ValueError, match=r"different lengths.*pad_sequences"):
        model.predict(as_keras_returns, verbose=0)
    padded = keras.utils.pad_sequences(reviews)
    assert model.predict(padded, verbose=0).shape == (2, 1)
    inputs = keras.Input((5, 3))
    with pytest.raises(NotImplementedError, match="initial_state= is not implemented"):
        keras.layers.LSTM(4)(inputs, initial_state=[inputs, inputs])
    with pytest.raises(ValueError, match=r"single output tensor.*functional API.*return_state"):
        keras.Sequential([keras.Input((5, 3)), keras.layers.LSTM(4, return_state=True),
                          keras.layers.Dense(1)])


@pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
def test_masking_layer_same_as_keras():
    real = pytest.importorskip("keras")
    if not real.__version__.startswith("3."):
        pytest.skip("needs Keras 3")
    x = RNG.normal(size=(6, 5, 3)).astype("float32")
    x[:2, :2] = 0.0
    x[3, 4] = 0.0
    y = RNG.normal(size=(6, 2)).astype("float32")

    def build(k):
        k.utils.set_random_seed(2)
        model = k.Sequential([k.Input((5, 3)), k.layers.Masking(0.0), k.layers.LSTM(4),
                              k.layers.Dense(2)])
        model.compile(k.optimizers.SGD(0.1), "mse")
        return model

    assert_same_step(build(real), build(keras), x, y, atol=1e-5)
