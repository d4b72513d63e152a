"""Conv2DTranspose, Cropping2D, RepeatVector, GaussianNoise and
ActivityRegularization against real Keras 3.15 (tests/data/layers/new_layers.npz
and new_layers.keras, written by make_new_layers.py next to them) and PyTorch.
The harness (tests/test_layer_harness.py) checks each one's gradients, tape,
config, files and ONNX export."""

import json
import pathlib

import numpy as np
import pytest

import glassnet as gn
from glassnet import keras
from glassnet import layers as L
from glassnet.gradcheck import check_gradients
from glassnet.testing import run_layer_test

DATA = pathlib.Path(__file__).parent / "data" / "layers"
FIXTURE = np.load(DATA / "new_layers.npz")
CASES = json.loads(str(FIXTURE["conv_transpose_cases"]))
RNG = np.random.default_rng(11)


def sgd_model(layers, shape):
    model = keras.Sequential([keras.Input(shape[1:])] + layers)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


# ---------------------------------------------------------------- Conv2DTranspose
def test_the_fixture_is_keras_3_15():
    assert str(FIXTURE["keras_version"]) == "3.15.1"
    assert len(CASES) == 7


@pytest.mark.parametrize("case", CASES)
def test_conv2d_transpose_output_and_sgd_step_match_keras(case):
    f = {k: FIXTURE[f"{case}_{k}"] for k in ("x", "kernel", "bias", "y", "target", "loss",
                                             "kernel_after", "bias_after")}
    kwargs = json.loads(str(FIXTURE[f"{case}_kwargs"]))
    layer = L.Conv2DTranspose(**kwargs)
    model = sgd_model([layer], f["x"].shape)
    assert layer.kernel.shape == f["kernel"].shape  # (kh, kw, filters, in_channels)
    layer.set_weights([f["kernel"], f["bias"]])
    y = model.predict(f["x"], verbose=0)
    assert y.shape == f["y"].shape
    np.testing.assert_allclose(y, f["y"], atol=1e-5)
    loss = model.train_on_batch(f["x"], f["target"])
    np.testing.assert_allclose(loss, f["loss"], rtol=1e-5)
    np.testing.assert_allclose(layer.kernel.numpy(), f["kernel_after"], atol=1e-5)
    np.testing.assert_allclose(layer.bias.numpy(), f["bias_after"], atol=1e-5)


def torch_conv_transpose(x, kernel, bias, strides, out_size, pads):
    """torch.nn.functional.conv_transpose2d with glassnet's/Keras's kernel
    (kh, kw, out, in) as torch's weight (in, out, kh, kw): a transpose of the
    axes, no spatial flip (both layers are the transpose of the same
    cross-correlation). Torch cuts its padding off both sides alike, Keras
    (TensorFlow) may cut one more at the end; so torch computes the full
    scatter, (n - 1)·s + k (padding 0, plus an output_padding where Keras's
    output reaches beyond it), and that is cut to Keras's [top, top + out).
    Returns the output (NHWC) and the leaf tensors (x, weight, bias)."""
    torch = pytest.importorskip("torch")
    leaves = [torch.tensor(v, requires_grad=True) for v in (
        np.transpose(x, (0, 3, 1, 2)), np.transpose(kernel, (3, 2, 0, 1)), bias)]
    full = [(n - 1) * s + k for n, s, k in zip(x.shape[1:3], strides, kernel.shape[:2])]
    extra = [max(top + o - f, 0) for top, o, f in zip(pads, out_size, full)]
    out = torch.nn.functional.conv_transpose2d(*leaves, stride=strides, output_padding=extra)
    out = out[:, :, pads[0]: pads[0] + out_size[0], pads[1]: pads[1] + out_size[1]]
    return out.permute(0, 2, 3, 1), leaves


TORCH_CASES = [dict(filters=3, kernel_size=3), dict(filters=2, kernel_size=3, strides=2,
                                                    padding="same"),
               dict(filters=2, kernel_size=(3, 2), strides=2, output_padding=1),
               dict(filters=2, kernel_size=3, strides=2, padding="same", output_padding=(1, 0)),
               dict(filters=3, kernel_size=1, strides=(2, 3)),
               dict(filters=2, kernel_size=2, strides=2, padding="same"),
               dict(filters=2, kernel_size=(4, 5), strides=(3, 2), padding="same")]


@pytest.mark.parametrize("kwargs", TORCH_CASES, ids=lambda k: json.dumps(k))
def test_conv2d_transpose_output_and_gradients_match_pytorch(kwargs):
    torch = pytest.importorskip("torch")
    layer = L.Conv2DTranspose(**kwargs, dtype="float64")
    x = RNG.normal(size=(2, 3, 4, 2))
    layer.forward(x)  # builds it
    layer.set_weights([RNG.normal(size=layer.kernel.shape), RNG.normal(size=layer.bias.shape)])
    out = layer.forward(x, training=True)
    upstream = RNG.normal(size=out.shape)
    dx = layer.backward(upstream)
    pads = [before for before, _ in layer._pads(*out.shape[1:3])]
    tout, (tx, weight, bias) = torch_conv_transpose(
        x, layer.kernel.numpy(), layer.bias.numpy(), layer.strides, out.shape[1:3], pads)
    tout.backward(torch.tensor(upstream))
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, np.transpose(tx.grad.numpy(), (0, 2, 3, 1)),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.grad_kernel,
                               np.transpose(weight.grad.numpy(), (2, 3, 1, 0)),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.grad_bias, bias.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_conv2d_transpose_is_the_transpose_of_conv2d():
    """⟨Conv2D(z), x⟩ = ⟨z, Conv2DTranspose(x)⟩ with the same kernel: the
    layer is exactly the adjoint of the convolution of its output's size."""
    for padding, strides, size in (("valid", 2, (7, 9)), ("same", 2, (6, 8)),
                                   ("same", 3, (9, 12)), ("valid", 1, (5, 6))):
        up = L.Conv2DTranspose(2, 3, strides=strides, padding=padding, use_bias=False,
                               dtype="float64")
        x = RNG.normal(size=(1, 3, 4, 4))
        up.forward(x)
        down = L.Conv2D(4, 3, strides=strides, padding=padding, use_bias=False,
                        dtype="float64")
        z = RNG.normal(size=(1,) + size + (2,))
        down.forward(z)
        down.set_weights(up.get_weights())  # (kh, kw, 2, 4): in 2, out 4 for the Conv2D
        assert up.compute_output_shape((None, 3, 4, 4))[1:3] == size
        np.testing.assert_allclose(np.sum(down.forward(z) * x), np.sum(z * up.forward(x)),
                                   rtol=1e-10)


def test_conv2d_transpose_output_sizes_are_keras_3s():
    sizes = {("valid", 1, None): 6, ("valid", 2, None): 9, ("valid", 4, None): 16,
             ("same", 1, None): 4, ("same", 2, None): 8, ("valid", 2, 1): 10,
             ("same", 2, 1): 8, ("same", 2, 0): 7}
    for (padding, strides, output_padding), want in sizes.items():
        layer = L.Conv2DTranspose(1, 3, strides=strides, padding=padding,
                                  output_padding=output_padding)
        assert layer.compute_output_shape((None, 4, 4, 2)) == (None, want, want, 1)
        assert layer(np.zeros((1, 4, 4, 2), "float32")).shape == (1, want, want, 1)
    layer = L.Conv2DTranspose(2, 3, strides=2)
    assert layer.compute_output_shape((None, None, 5, 3)) == (None, None, 11, 2)


def test_conv2d_transpose_refuses_what_it_does_not_implement():
    with pytest.raises(NotImplementedError, match="data_format"):
        L.Conv2DTranspose(2, 3, data_format="channels_first")
    with pytest.raises(NotImplementedError, match="dilation_rate"):
        L.Conv2DTranspose(2, 3, dilation_rate=2)
    with pytest.raises(NotImplementedError, match="kernel_constraint"):
        L.Conv2DTranspose(2, 3, kernel_constraint="non_neg")
    with pytest.raises(NotImplementedError, match="activity_regularizer"):
        L.Conv2DTranspose(2, 3, activity_regularizer="l2")
    with pytest.raises(TypeError, match="groups"):
        L.Conv2DTranspose(2, 3, groups=2)
    with pytest.raises(ValueError, match="output_padding"):
        L.Conv2DTranspose(2, 3, strides=2, output_padding=2)
    with pytest.raises(ValueError, match="output_padding"):
        L.Conv2DTranspose(2, 3, output_padding=1)  # strides 1: nothing can be < 1
    # an even kernel, "same", output_padding=0: no convolution maps the output back
    # (TensorFlow refuses it too)
    with pytest.raises(ValueError, match="TensorFlow refuses it too"):
        L.Conv2DTranspose(2, 2, strides=2, padding="same", output_padding=0).forward(
            np.zeros((1, 3, 3, 1)))
    with pytest.raises(ValueError, match=r"\(batch, height, width, channels\)"):
        L.Conv2DTranspose(2, 3).forward(np.zeros((1, 3, 3)))


def test_conv2d_transpose_trains_a_tiny_decoder():
    """An autoencoder's decoder end: Conv2DTranspose with sigmoid and binary
    cross-entropy (the engine computes that loss from the logits)."""
    gn.utils.set_random_seed(0)
    x = (RNG.random((16, 8, 8, 1)) > 0.5).astype("float32")
    model = keras.Sequential([keras.Input((8, 8, 1)),
                              L.Conv2D(4, 3, strides=2, padding="same", activation="relu"),
                              L.Conv2DTranspose(1, 3, strides=2, padding="same",
                                                activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    history = model.fit(x, x, epochs=15, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    errors = check_gradients(model, x[:2].astype("float64"), x[:2])
    assert max(errors.values()) < 1e-6, errors


# ---------------------------------------------------------------- Cropping2D, RepeatVector
@pytest.mark.parametrize("name, cropping", [("int", 1), ("pair", (2, 1)),
                                            ("pairs", ((1, 0), (2, 3)))])
def test_cropping2d_matches_keras(name, cropping):
    x = FIXTURE["cropping_x"]
    layer = L.Cropping2D(cropping)
    np.testing.assert_array_equal(layer(x).numpy(), FIXTURE[f"cropping_{name}_y"])
    assert layer.compute_output_shape((None,) + x.shape[1:]) == \
        (None,) + FIXTURE[f"cropping_{name}_y"].shape[1:]
    grad = layer.backward(np.ones(FIXTURE[f"cropping_{name}_y"].shape, "float32"))
    assert grad.shape == x.shape and grad.sum() == FIXTURE[f"cropping_{name}_y"].size


def test_cropping2d_errors():
    with pytest.raises(ValueError, match="cropping"):
        L.Cropping2D(((1, 2, 3), (0, 0)))
    with pytest.raises(ValueError, match="cropping"):
        L.Cropping2D(-1)
    with pytest.raises(ValueError, match="leaves nothing"):
        L.Cropping2D(((2, 2), (0, 0))).forward(np.zeros((1, 4, 4, 1)))
    with pytest.raises(NotImplementedError, match="data_format"):
        L.Cropping2D(1, data_format="channels_first")
    assert L.Cropping2D(1).compute_output_shape((None, None, 5, 2)) == (None, None, 3, 2)


def test_repeat_vector_matches_keras():
    layer = L.RepeatVector(3)
    y = layer(FIXTURE["repeat_x"]).numpy()
    np.testing.assert_array_equal(y, FIXTURE["repeat_y"])
    np.testing.assert_array_equal(layer.backward(np.ones_like(y)),
                                  np.full(FIXTURE["repeat_x"].shape, 3.0))
    with pytest.raises(ValueError, match=r"\(batch, features\)"):
        L.RepeatVector(2).forward(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="positive integer"):
        L.RepeatVector(0)


def test_repeat_vector_in_a_sequence_to_sequence_model():
    """The Keras guides' encoder-decoder: LSTM → RepeatVector → LSTM(return_sequences)."""
    model = keras.Sequential([keras.Input((5, 2)), L.LSTM(4), L.RepeatVector(3),
                              L.LSTM(4, return_sequences=True),
                              L.TimeDistributed(L.Dense(2))])
    model.compile(optimizer="sgd", loss="mse")
    x = RNG.normal(size=(2, 5, 2))
    errors = check_gradients(model, x, RNG.normal(size=(2, 3, 2)))
    assert max(errors.values()) < 1e-6, errors


# ---------------------------------------------------------------- GaussianNoise
def test_gaussian_noise_is_the_identity_at_inference_as_keras():
    np.testing.assert_array_equal(L.GaussianNoise(0.5, seed=1)(FIXTURE["repeat_x"]).numpy(),
                                  FIXTURE["noise_y"])


def test_gaussian_noise_in_training():
    x = np.zeros((200, 300), "float32")
    layer = L.GaussianNoise(0.3)
    out = layer.forward(x, training=True)
    assert out.dtype == np.float32
    assert abs(out.mean()) < 0.01 and abs(out.std() - 0.3) < 0.01
    assert not np.array_equal(out, layer.forward(x, training=True))  # fresh each batch
    grad = RNG.normal(size=x.shape)
    assert layer.backward(grad) is grad
    seeded = [L.GaussianNoise(0.2, seed=4).forward(x[:3], training=True) for _ in range(2)]
    np.testing.assert_array_equal(*seeded)
    gn.utils.set_random_seed(5)
    a = L.GaussianNoise(0.2).forward(x[:3], training=True)
    gn.utils.set_random_seed(5)
    np.testing.assert_array_equal(a, L.GaussianNoise(0.2).forward(x[:3], training=True))
    with pytest.raises(ValueError, match="stddev"):
        L.GaussianNoise(1.5)


# ---------------------------------------------------------------- ActivityRegularization
def activity_model():
    model = keras.Sequential([keras.Input((5,)), L.Dense(4, activation="tanh"),
                              L.ActivityRegularization(l1=0.03, l2=0.05), L.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    model.set_weights([FIXTURE[f"activity_w{i}"] for i in range(4)])
    return model


def test_activity_regularization_penalty_is_keras_3s():
    """Keras 3 divides the penalty by the batch size: (l1·Σ|h| + l2·Σh²) / N."""
    model = activity_model()
    x = FIXTURE["activity_x"]
    model(x)
    h = np.tanh(x @ FIXTURE["activity_w0"] + FIXTURE["activity_w1"]).astype(np.float64)
    penalty = (0.03 * np.abs(h).sum() + 0.05 * np.square(h).sum()) / len(x)
    np.testing.assert_allclose(float(FIXTURE["activity_penalty"]), penalty, rtol=1e-5)
    layer = model.layers[1]
    np.testing.assert_allclose(layer.activity_loss(), penalty, rtol=1e-5)
    np.testing.assert_allclose(model.activity_loss(), penalty, rtol=1e-5)
    # layer.losses and model.losses hold it after a call, as Keras's
    np.testing.assert_allclose(sum(float(t) for t in layer.losses), penalty, rtol=1e-5)
    np.testing.assert_allclose(sum(float(t) for t in model.losses), penalty, rtol=1e-5)


def test_fit_and_evaluate_report_the_penalty_and_train_as_keras():
    model = activity_model()
    x, y = FIXTURE["activity_x"], FIXTURE["activity_y"]
    mse = float(np.mean((model.predict(x, verbose=0) - y) ** 2))
    loss = model.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(loss, FIXTURE["activity_eval_loss"], rtol=1e-5)
    np.testing.assert_allclose(loss - mse, FIXTURE["activity_penalty"], rtol=1e-4)
    history = model.fit(x, y, batch_size=len(x), epochs=1, verbose=0, shuffle=False)
    np.testing.assert_allclose(history.history["loss"][0], FIXTURE["activity_train_loss"],
                               rtol=1e-5)
    for i, w in enumerate(model.get_weights()):  # the penalty's gradient: Keras's step
        np.testing.assert_allclose(w, FIXTURE[f"activity_w{i}_after"], atol=1e-6)
    model = activity_model()
    np.testing.assert_allclose(model.train_on_batch(x, y), FIXTURE["activity_train_loss"],
                               rtol=1e-5)


def test_activity_regularization_gradients_in_a_model_float64():
    model = activity_model()
    errors = check_gradients(model, FIXTURE["activity_x"], FIXTURE["activity_y"])
    assert max(errors.values()) < 1e-6, errors


def test_a_shared_activity_regularization_counts_every_call():
    inputs = keras.Input((3,))
    act = L.ActivityRegularization(l2=0.5)
    first, second = L.Dense(3), L.Dense(3)
    h = first(inputs)
    model = keras.Model(inputs, L.Add()([act(h), act(second(h))]))
    model.compile(optimizer="sgd", loss="mse")
    x, y = RNG.normal(size=(4, 3)), RNG.normal(size=(4, 3))
    h1 = x @ first.kernel.numpy() + first.bias.numpy()
    h2 = h1 @ second.kernel.numpy() + second.bias.numpy()
    penalty = 0.5 * (np.square(h1).sum() + np.square(h2).sum()) / len(x)
    mse = float(np.mean((model.predict(x, verbose=0) - y) ** 2))
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), mse + penalty, rtol=1e-5)
    errors = check_gradients(model, x, y)
    assert max(errors.values()) < 1e-6, errors


def test_the_harness_sees_a_backward_without_the_penalty():
    """The harness's float64 check differentiates Σ output · upstream plus
    the penalty (activity_loss()), so a backward that forgets the penalty's
    gradient fails it."""
    class Forgetful(L.ActivityRegularization):
        def backward(self, grad):
            return grad

    with pytest.raises(AssertionError, match="check 'gradients' failed"):
        run_layer_test(Forgetful(0.1, 0.2), (3, 4), files=False, onnx=False)


def test_activity_regularization_under_a_tape_with_compute_loss():
    """A hand-written step (Keras's recipe) with compute_loss: the loss has the
    penalty (model.losses), the gradients are fit's."""
    model = activity_model()
    x, y = FIXTURE["activity_x"], FIXTURE["activity_y"]
    with gn.GradientTape() as tape:
        loss = model.compute_loss(x, y, model(x, training=True))
    grads = tape.gradient(loss, model.trainable_weights)
    np.testing.assert_allclose(float(loss), FIXTURE["activity_eval_loss"], rtol=1e-5)
    model.optimizer.apply_gradients(zip(grads, model.trainable_weights))
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, FIXTURE[f"activity_w{i}_after"], atol=1e-6)


def test_activity_regularization_errors():
    with pytest.raises(ValueError, match="l1"):
        L.ActivityRegularization(l1=-1)
    with pytest.raises(TypeError, match="unrecognized"):
        L.ActivityRegularization(l3=1)


# ---------------------------------------------------------------- configs and files
KERAS_ONLY = {"activity_regularizer", "kernel_constraint", "bias_constraint"}


@pytest.mark.parametrize("name, layer", [
    ("Conv2DTranspose", lambda: L.Conv2DTranspose(2, 3, strides=2, padding="same",
                                                  output_padding=1, name="ct")),
    ("Cropping2D", lambda: L.Cropping2D(((1, 0), (2, 3)), name="crop")),
    ("RepeatVector", lambda: L.RepeatVector(3, name="repeat")),
    ("GaussianNoise", lambda: L.GaussianNoise(0.2, seed=3, name="noise")),
    ("ActivityRegularization", lambda: L.ActivityRegularization(0.01, 0.02, name="act"))])
def test_configs_have_keras_keys_and_values(name, layer):
    theirs = json.loads(str(FIXTURE[f"config_{name}"]))
    ours = layer().get_config()
    assert set(ours) <= set(theirs), set(ours) - set(theirs)
    assert all(theirs[k] is None for k in set(theirs) - set(ours)), set(theirs) - set(ours)
    assert set(theirs) - set(ours) <= KERAS_ONLY
    for key in set(ours) - {"dtype", "kernel_initializer", "bias_initializer"}:
        assert ours[key] == theirs[key], key
    assert L.deserialize({"class_name": name, "config": {
        k: v for k, v in theirs.items() if k != "dtype"}}).get_config() == ours


def test_a_keras_file_with_every_new_layer_loads_and_predicts_the_same(tmp_path):
    model = keras.models.load_model(DATA / "new_layers.keras")
    assert [type(v).__name__ for v in model.layers] == [
        "Conv2DTranspose", "Cropping2D", "GaussianNoise", "ActivityRegularization", "Flatten",
        "Dense", "RepeatVector"]
    x = FIXTURE["new_layers_x"]
    np.testing.assert_allclose(model.predict(x, verbose=0), FIXTURE["new_layers_y"],
                               atol=1e-5)
    onnxruntime = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    path = model.export(tmp_path / "new_layers.onnx", format="onnx", verbose=False)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, FIXTURE["new_layers_y"], atol=1e-5)
