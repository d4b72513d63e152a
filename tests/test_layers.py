"""Layers: shapes, Keras weight layouts, gradient checks in float64, PyTorch."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.gradcheck import check_gradients
from glassnet.layers import Activation, Dense, Dropout, Flatten, Input, Reshape

TOL = 1e-6
RNG = np.random.default_rng(42)


def assert_gradients_ok(results):
    assert results, "nothing was checked"
    for name, error in results.items():
        assert error < TOL, f"{name}: relative error {error:.2e}"


def test_dense_weights_have_keras_layout():
    layer = Dense(5, activation="relu")
    out = layer(np.ones((3, 4), dtype=np.float32))
    assert out.shape == (3, 5) and out.dtype == np.float32
    kernel, bias = layer.get_weights()
    assert kernel.shape == (4, 5) and bias.shape == (5,)
    assert layer.weight_names == ["kernel", "bias"] and layer.count_params() == 25
    np.testing.assert_array_equal(bias, 0)
    limit = np.sqrt(6 / (4 + 5))
    assert np.abs(kernel).max() <= limit


def test_dense_math_by_hand():
    layer = Dense(2, activation="sigmoid")
    layer.build((None, 3))  # Keras's convention: the batch axis is None
    assert layer.built and layer.input_shape == (None, 3) and layer.output_shape == (None, 2)
    kernel = np.array([[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]])
    bias = np.array([0.05, -0.05])
    layer.set_weights([kernel, bias])
    x = np.array([[1.0, 2.0, 3.0]])
    expected = 1 / (1 + np.exp(-(x @ kernel + bias)))
    np.testing.assert_allclose(layer(x), expected, rtol=1e-6)


# step is left out: its gradient is zero everywhere, so there is nothing to check
SMOOTH_ACTIVATIONS = [n for n in gn.activations.names(include_aliases=False) if n != "step"]


@pytest.mark.parametrize("activation", SMOOTH_ACTIVATIONS)
def test_dense_with_each_activation_passes_gradient_check(activation):
    layer = Dense(4, activation=activation, kernel_initializer=gn.initializers.RandomNormal(
        stddev=0.5, seed=1), bias_initializer=gn.initializers.RandomNormal(stddev=0.1, seed=2))
    x = RNG.normal(size=(5, 3))
    assert_gradients_ok(check_gradients(layer, x))


@pytest.mark.parametrize("activation", SMOOTH_ACTIVATIONS)
def test_activation_layer_passes_gradient_check(activation):
    x = RNG.normal(size=(4, 6))
    assert_gradients_ok(check_gradients(Activation(activation), x))


def test_dense_on_nd_input_applies_to_last_axis():
    layer = Dense(3, activation="tanh", kernel_initializer=gn.initializers.RandomNormal(
        stddev=0.5, seed=0))
    x = RNG.normal(size=(2, 4, 5))
    out = layer(x)
    assert out.shape == (2, 4, 3)
    assert_gradients_ok(check_gradients(layer, x))


def test_dense_without_bias_and_with_regularizers():
    layer = Dense(3, use_bias=False, kernel_regularizer=gn.regularizers.L1L2(0.01, 0.02))
    x = RNG.normal(size=(4, 2))
    layer(x)
    assert layer.weight_names == ["kernel"]
    assert layer.regularization_loss() == pytest.approx(
        0.01 * np.abs(layer.kernel).sum() + 0.02 * np.square(layer.kernel).sum(), rel=1e-5)
    assert_gradients_ok(check_gradients(layer, x))
    assert_gradients_ok(check_gradients(Dense(3, kernel_regularizer="l2", bias_regularizer="l1",
                                              bias_initializer="ones"), x))


def test_dropout_inverted_and_checked():
    layer = Dropout(0.25, seed=3)
    x = np.ones((2000, 50), dtype=np.float32)
    out = layer(x, training=True)
    kept = out != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(out[kept], 1 / 0.75, rtol=1e-6)
    assert out.mean() == pytest.approx(1.0, abs=0.02)
    np.testing.assert_array_equal(layer(x, training=False), x)
    assert_gradients_ok(check_gradients(Dropout(0.5, seed=1), RNG.normal(size=(6, 7))))


def test_dropout_seed_reproducible_and_bad_rate():
    x = np.ones((3, 8))
    np.testing.assert_array_equal(Dropout(0.5, seed=7)(x, training=True),
                                  Dropout(0.5, seed=7)(x, training=True))
    for bad in (1.0, -0.1, "0.5", True):
        with pytest.raises(ValueError, match="Dropout .*rate must be a number in"):
            Dropout(bad)


def test_flatten_and_reshape():
    x = RNG.normal(size=(3, 4, 5))
    assert Flatten()(x).shape == (3, 20)
    assert_gradients_ok(check_gradients(Flatten(), x))
    reshape = Reshape((10, -1))
    assert reshape(x).shape == (3, 10, 2)
    assert reshape.output_shape == (None, 10, 2)
    assert_gradients_ok(check_gradients(Reshape((2, 10)), x))
    with pytest.raises(ValueError, match="cannot reshape inputs of shape \\(None, 4, 5\\)"):
        Reshape((3, 7))(x)
    with pytest.raises(ValueError, match="at most one -1"):
        Reshape((-1, -1))


@pytest.mark.parametrize("make", [lambda: Dense(3, activation="softmax"),
                                  lambda: Activation("tanh"), lambda: Flatten(),
                                  lambda: Dropout(0.5, seed=0), lambda: Reshape((4, -1))])
def test_backward_never_changes_its_argument(make):
    layer = make()
    out = layer(RNG.normal(size=(2, 8)), training=True)
    grad = RNG.normal(size=out.shape)
    before = grad.copy()
    layer.backward(grad)
    np.testing.assert_array_equal(grad, before)


def test_wrong_input_shape_names_layer_and_shapes():
    layer = Dense(4, name="hidden")
    layer(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"'hidden' \(Dense\) expects input of shape "
                                         r"\(None, 3\); received input of shape \(None, 5\)"):
        layer(np.ones((2, 5)))


def test_set_weights_checks_count_and_shapes():
    layer = Dense(2, name="out")
    layer(np.ones((1, 3)))
    with pytest.raises(ValueError, match="'out' has 2 weights"):
        layer.set_weights([np.zeros((3, 2))])
    with pytest.raises(ValueError, match=r"'out' weight 'kernel' has shape \(3, 2\); received "
                                         r"an array of shape \(2, 3\)"):
        layer.set_weights([np.zeros((2, 3)), np.zeros(2)])


def test_bad_layer_arguments():
    with pytest.raises(ValueError, match="units"):
        Dense(0)
    with pytest.raises(ValueError, match="Valid names"):
        Dense(3, activation="rellu")
    with pytest.raises(ValueError, match="Unknown initializer 'glorot'.*glorot_uniform"):
        Dense(3, kernel_initializer="glorot")
    with pytest.raises(ValueError, match="Unknown regularizer"):
        Dense(3, kernel_regularizer="l3")
    with pytest.raises(ValueError, match="dtype"):
        Dense(3, dtype="int32")
    with pytest.raises(ValueError, match="positive integers"):
        Input((0, 3))
    assert Input((None, 3)).shape == (None, None, 3)  # a sequence of any length, as Keras


def test_layer_config_round_trip():
    layer = Dense(7, activation="elu", use_bias=False, kernel_initializer="he_normal",
                  kernel_regularizer=gn.regularizers.L2(0.003), name="d")
    clone = gn.layers.deserialize(gn.layers.serialize(layer))
    assert clone.get_config() == layer.get_config()


def test_dense_matches_pytorch_linear():
    torch = pytest.importorskip("torch")
    layer = Dense(4, activation="tanh")
    x = RNG.normal(size=(6, 3)).astype(np.float64)
    layer_64 = gn.layers.deserialize(gn.layers.serialize(layer), dtype="float64", name="d64")
    out = layer_64(x, training=True)
    upstream = RNG.normal(size=out.shape)
    grad_x = layer_64.backward(upstream)
    linear = torch.nn.Linear(3, 4).double()
    with torch.no_grad():
        linear.weight.copy_(torch.tensor(layer_64.kernel.T))  # torch stores (out, in)
        linear.bias.copy_(torch.tensor(layer_64.bias))
    tx = torch.tensor(x, requires_grad=True)
    tout = torch.tanh(linear(tx))
    tout.backward(torch.tensor(upstream))
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer_64.grad_kernel, linear.weight.grad.numpy().T, rtol=1e-10)
    np.testing.assert_allclose(layer_64.grad_bias, linear.bias.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(grad_x, tx.grad.numpy(), rtol=1e-10)


def test_initializers_statistics():
    shape = (400, 300)
    for name, std in [("glorot_normal", np.sqrt(2 / 700)), ("he_normal", np.sqrt(2 / 400)),
                      ("lecun_normal", np.sqrt(1 / 400)), ("glorot_uniform", np.sqrt(2 / 700)),
                      ("he_uniform", np.sqrt(2 / 400))]:
        w = gn.initializers.get(name)(shape, seed=0)
        assert w.dtype == np.float32
        assert w.std() == pytest.approx(std, rel=0.02), name
        assert abs(w.mean()) < 0.01 * std * 10
    w = gn.initializers.get("he_normal")(shape, seed=0)
    assert np.abs(w).max() <= 2 * np.sqrt(2 / 400) / 0.87962566103423978 + 1e-6
    np.testing.assert_array_equal(gn.initializers.get("ones")((2, 2)), 1)
    assert gn.initializers.RandomNormal(stddev=0.05, seed=1)((1000,)).std() == pytest.approx(
        0.05, rel=0.1)
    np.testing.assert_array_equal(gn.initializers.GlorotUniform(seed=5)((3, 3)),
                                  gn.initializers.GlorotUniform(seed=5)((3, 3)))
    assert gn.initializers.compute_fans((3, 3, 16, 32)) == (144, 288)


def test_rescaling_layer():
    layer = gn.layers.Rescaling(1 / 255, offset=-0.5)
    x = np.array([[0, 255, 51]], dtype=np.uint8)
    np.testing.assert_allclose(layer(x), [[-0.5, 0.5, -0.3]], rtol=1e-6)
    assert layer(x).dtype == np.float32
    assert_gradients_ok(check_gradients(gn.layers.Rescaling(0.1, 2.0), RNG.normal(size=(3, 4))))
