"""The layers Keras tutorials use beyond Dense and Conv2D: activation layers,
merges, 1-D convolution and pooling, global max pooling, padding,
up-sampling, layer normalization. Each: a float64 gradient check, and outputs
and gradients equal to PyTorch's (or to the formula)."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import layers as L
from glassnet.gradcheck import check_gradients

RNG = np.random.default_rng(7)
TOL = 1e-6


def ok(results):
    assert results, "nothing was checked"
    for name, error in results.items():
        assert error < TOL, f"{name}: relative error {error:.2e}"


def torch_or_skip():
    return pytest.importorskip("torch")


def against_torch(layer, x, torch_fn, rtol=1e-10):
    """Our forward and backward (float64) against torch_fn on the same input."""
    torch = torch_or_skip()
    xs = x if isinstance(x, list) else [x]
    out = layer.forward(x, training=True)
    upstream = RNG.normal(size=out.shape)
    grads = layer.backward(upstream)
    grads = grads if isinstance(grads, list) else [grads]
    txs = [torch.tensor(v, requires_grad=True) for v in xs]
    tout = torch_fn(*txs)
    tout.backward(torch.tensor(upstream))
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=rtol, atol=1e-12)
    for g, tx in zip(grads, txs):
        np.testing.assert_allclose(g, tx.grad.numpy(), rtol=rtol, atol=1e-12)


# ---------------------------------------------------------------- activations
@pytest.mark.parametrize("axis", [-1, 1, 2])
def test_softmax_layer(axis):
    x = RNG.normal(size=(3, 4, 5))
    ok(check_gradients(L.Softmax(axis=axis), x))
    against_torch(L.Softmax(axis=axis, dtype="float64"), x,
                  lambda t: __import__("torch").softmax(t, dim=axis))
    np.testing.assert_allclose(L.Softmax(axis=axis)(x).sum(axis=axis), 1, rtol=1e-6)


@pytest.mark.parametrize("kwargs", [{}, {"max_value": 1.0}, {"negative_slope": 0.1},
                                    {"threshold": 0.5, "negative_slope": 0.2},
                                    {"max_value": 6.0, "negative_slope": 0.05}])
def test_relu_layer_options(kwargs):
    x = RNG.normal(scale=2, size=(6, 7))
    x[np.abs(x) < 1e-3] = 0.5  # away from the kinks for the numerical gradient
    for kink in (kwargs.get("max_value"), kwargs.get("threshold")):
        if kink is not None:
            x[np.abs(x - kink) < 1e-3] += 0.01
    layer = L.ReLU(**kwargs)
    m, s, t = kwargs.get("max_value"), kwargs.get("negative_slope", 0.0), \
        kwargs.get("threshold", 0.0)
    expected = np.where(x >= t, x, s * (x - t))
    if m is not None:
        expected = np.minimum(expected, m)
    np.testing.assert_allclose(layer(x), expected, rtol=1e-6)
    ok(check_gradients(L.ReLU(**kwargs), x))


def test_leaky_relu_and_elu_layers():
    torch = torch_or_skip()
    x = RNG.normal(size=(5, 6))
    assert L.LeakyReLU().negative_slope == 0.3  # Keras's layer default
    assert L.LeakyReLU(alpha=0.2).negative_slope == 0.2  # Keras 2's name
    against_torch(L.LeakyReLU(0.3, dtype="float64"), x,
                  lambda t: torch.nn.functional.leaky_relu(t, 0.3))
    against_torch(L.ELU(0.7, dtype="float64"), x, lambda t: torch.nn.functional.elu(t, 0.7))
    ok(check_gradients(L.LeakyReLU(0.1), x))
    ok(check_gradients(L.ELU(1.3), x))


# ---------------------------------------------------------------- merges
MERGES = {"Add": lambda *t: sum(t), "Subtract": lambda a, b: a - b,
          "Multiply": lambda a, b, c: a * b * c,
          "Average": lambda a, b: (a + b) / 2,
          "Maximum": lambda a, b, c: __import__("torch").maximum(
              __import__("torch").maximum(a, b), c),
          "Minimum": lambda a, b: __import__("torch").minimum(a, b)}
COUNTS = {"Add": 3, "Subtract": 2, "Multiply": 3, "Average": 2, "Maximum": 3, "Minimum": 2}


@pytest.mark.parametrize("name", sorted(MERGES))
def test_merge_layers(name):
    xs = [RNG.normal(size=(4, 5)) for _ in range(COUNTS[name])]
    ok(check_gradients(getattr(L, name)(), xs))
    against_torch(getattr(L, name)(dtype="float64"), xs, MERGES[name])
    functional = getattr(L, name.lower())
    a, b = gn.keras.Input((5,)), gn.keras.Input((5,))
    if COUNTS[name] == 2:
        assert functional([a, b]).shape == (None, 5)


def test_merge_broadcasts_a_size_one_axis_and_sums_its_gradient():
    xs = [RNG.normal(size=(3, 4, 5)), RNG.normal(size=(3, 1, 5))]
    layer = L.Add(dtype="float64")
    assert layer.compute_output_shape([(None, 4, 5), (None, 1, 5)]) == (None, 4, 5)
    ok(check_gradients(L.Multiply(), xs))
    against_torch(layer, xs, lambda a, b: a + b)


def test_maximum_ties_go_to_the_first_input():
    a = np.array([[1.0, 2.0]])
    layer = L.Maximum()
    layer.forward([a, a.copy()], training=True)
    g0, g1 = layer.backward(np.ones((1, 2)))
    np.testing.assert_array_equal(g0, [[1, 1]]) and np.testing.assert_array_equal(g1, [[0, 0]])


@pytest.mark.parametrize("axis", [-1, 1, 2])
def test_concatenate(axis):
    torch = torch_or_skip()
    xs = [RNG.normal(size=(2, 3, 4)), RNG.normal(size=(2, 3, 4))]
    if axis == 1:
        xs[1] = RNG.normal(size=(2, 5, 4))
    ok(check_gradients(L.Concatenate(axis=axis), xs))
    against_torch(L.Concatenate(axis=axis, dtype="float64"), xs,
                  lambda a, b: torch.cat([a, b], dim=axis))


def test_merge_bad_input():
    with pytest.raises(ValueError, match="takes a list of tensors"):
        L.Add()(gn.keras.Input((3,)))
    with pytest.raises(ValueError, match=r"inputs of shapes \[\(None, 3\), \(None, 4\)\] do not"):
        L.Add()([gn.keras.Input((3,)), gn.keras.Input((4,))])
    with pytest.raises(ValueError, match="Subtract .* takes exactly 2 inputs"):
        L.Subtract()([gn.keras.Input((3,))] * 3)
    with pytest.raises(ValueError, match="the other axes must match"):
        L.Concatenate()([gn.keras.Input((2, 3)), gn.keras.Input((4, 3))])


# ---------------------------------------------------------------- 1-D
@pytest.mark.parametrize("padding,strides,kernel", [("valid", 1, 3), ("same", 2, 3),
                                                    ("causal", 1, 4), ("same", 1, 2)])
def test_conv1d(padding, strides, kernel):
    torch = torch_or_skip()
    x = RNG.normal(size=(3, 11, 2))
    layer = L.Conv1D(4, kernel, strides=strides, padding=padding, activation="tanh",
                     dtype="float64", bias_initializer="random_normal")
    out = layer(x)
    expected_steps = {"valid": (11 - kernel) // strides + 1, "same": -(-11 // strides),
                      "causal": 11}[padding]
    assert out.shape == (3, expected_steps, 4) and layer.kernel.shape == (kernel, 2, 4)
    ok(check_gradients(L.Conv1D(4, kernel, strides=strides, padding=padding,
                                activation="tanh"), x))

    def reference(t):
        t = t.transpose(1, 2)  # (n, channels, steps)
        if padding == "causal":
            t = torch.nn.functional.pad(t, (kernel - 1, 0))
        elif padding == "same":
            total = max((expected_steps - 1) * strides + kernel - 11, 0)
            t = torch.nn.functional.pad(t, (total // 2, total - total // 2))
        weight = torch.tensor(layer.kernel.numpy().transpose(2, 1, 0))
        z = torch.nn.functional.conv1d(t, weight, torch.tensor(layer.bias.numpy()),
                                       stride=strides)
        return torch.tanh(z).transpose(1, 2)

    against_torch(layer, x, reference)


@pytest.mark.parametrize("cls,fn", [("MaxPooling1D", "max_pool1d"),
                                    ("AveragePooling1D", "avg_pool1d")])
@pytest.mark.parametrize("pool,strides", [(2, None), (3, 1), (2, 3)])
def test_pooling1d(cls, fn, pool, strides):
    torch = torch_or_skip()
    x = RNG.normal(size=(2, 10, 3))
    layer = getattr(L, cls)(pool, strides=strides, dtype="float64")
    ok(check_gradients(getattr(L, cls)(pool, strides=strides), x))
    against_torch(layer, x, lambda t: getattr(torch.nn.functional, fn)(
        t.transpose(1, 2), pool, strides or pool).transpose(1, 2))
    assert layer.output_shape == (None, (10 - pool) // (strides or pool) + 1, 3)


def test_global_poolings():
    torch = torch_or_skip()
    x2, x1 = RNG.normal(size=(3, 4, 5, 2)), RNG.normal(size=(3, 6, 2))
    against_torch(L.GlobalMaxPooling2D(dtype="float64"), x2, lambda t: t.amax(dim=(1, 2)))
    against_torch(L.GlobalMaxPooling1D(dtype="float64"), x1, lambda t: t.amax(dim=1))
    against_torch(L.GlobalAveragePooling1D(dtype="float64"), x1, lambda t: t.mean(dim=1))
    for layer, x in ((L.GlobalMaxPooling2D(), x2), (L.GlobalMaxPooling1D(), x1),
                     (L.GlobalAveragePooling1D(), x1),
                     (L.GlobalAveragePooling2D(keepdims=True), x2),
                     (L.GlobalMaxPooling2D(keepdims=True), x2)):
        ok(check_gradients(layer, x))
    assert L.GlobalMaxPooling2D(keepdims=True)(x2).shape == (3, 1, 1, 2)
    with pytest.raises(ValueError, match=r"\(batch, steps, channels\)"):
        L.GlobalMaxPooling1D()(x2)


# ---------------------------------------------------------------- images
@pytest.mark.parametrize("padding,expected", [(1, ((1, 1), (1, 1))), ((2, 1), ((2, 2), (1, 1))),
                                              (((1, 0), (0, 3)), ((1, 0), (0, 3)))])
def test_zero_padding2d(padding, expected):
    torch = torch_or_skip()
    x = RNG.normal(size=(2, 3, 4, 2))
    layer = L.ZeroPadding2D(padding, dtype="float64")
    assert layer.padding == expected
    (t, b), (left, r) = expected
    against_torch(layer, x, lambda v: torch.nn.functional.pad(v, (0, 0, left, r, t, b)))
    ok(check_gradients(L.ZeroPadding2D(padding), x))
    assert layer.output_shape == (None, 3 + t + b, 4 + left + r, 2)


@pytest.mark.parametrize("size", [2, (2, 3), (1, 2)])
def test_upsampling2d(size):
    torch = torch_or_skip()
    x = RNG.normal(size=(2, 3, 4, 2))
    sh, sw = (size, size) if isinstance(size, int) else size
    against_torch(L.UpSampling2D(size, dtype="float64"), x, lambda v: v.repeat_interleave(
        sh, dim=1).repeat_interleave(sw, dim=2))
    ok(check_gradients(L.UpSampling2D(size), x))
    with pytest.raises(NotImplementedError, match="interpolation='bilinear'"):
        L.UpSampling2D(interpolation="bilinear")


# ---------------------------------------------------------------- normalization
@pytest.mark.parametrize("shape", [(4, 6), (2, 3, 5)])
def test_layer_normalization(shape):
    torch = torch_or_skip()
    x = RNG.normal(loc=2, scale=3, size=shape)
    layer = L.LayerNormalization(dtype="float64", gamma_initializer="random_normal",
                                 beta_initializer="random_normal")
    out = layer(x)
    assert layer.weight_names == ["gamma", "beta"] and layer.gamma.shape == (shape[-1],)
    gamma, beta = layer.gamma.numpy(), layer.beta.numpy()
    torch_gamma = torch.tensor(gamma, requires_grad=True)
    against_torch(layer, x, lambda t: torch.nn.functional.layer_norm(
        t, (shape[-1],), torch_gamma, torch.tensor(beta), eps=1e-3))
    np.testing.assert_allclose(out, (x - x.mean(-1, keepdims=True)) /
                               np.sqrt(x.var(-1, keepdims=True) + 1e-3) * gamma + beta,
                               rtol=1e-10)
    ok(check_gradients(L.LayerNormalization(gamma_initializer="random_normal"), x))
    np.testing.assert_allclose(layer.grad_gamma, torch_gamma.grad.numpy(), rtol=1e-10)


def test_batch_normalization_frozen_runs_in_inference_mode():
    x = RNG.normal(loc=5, size=(8, 3))
    layer = L.BatchNormalization()
    layer.build((None, 3))
    layer.trainable = False
    out = layer(x, training=True)  # Keras: a frozen BatchNormalization uses its moving stats
    np.testing.assert_allclose(out, x / np.sqrt(1 + 1e-3), rtol=1e-5)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), 0)
    ok(check_gradients(layer, x))


# ---------------------------------------------------------------- Keras's arguments
def test_unknown_and_unimplemented_arguments():
    with pytest.raises(TypeError, match=r"Dense 'd': unrecognized keyword argument 'unit'\. "
                                        r"Valid arguments: units, activation, use_bias"):
        L.Dense(3, unit=4, name="d")
    with pytest.raises(ValueError):  # also a ValueError, as Keras raises
        L.Conv2D(3, 3, filter_size=2)
    for make, argument in ((lambda: L.Conv2D(2, 3, data_format="channels_first"),
                            "data_format='channels_first'"),
                           (lambda: L.Conv2D(2, 3, dilation_rate=2), "dilation_rate=2"),
                           (lambda: L.Conv2D(2, 3, groups=2), "groups=2"),
                           (lambda: L.Conv1D(2, 3, dilation_rate=(2,)), "dilation_rate=(2,)"),
                           (lambda: L.Dense(2, kernel_constraint="max_norm"),
                            "kernel_constraint='max_norm'"),
                           (lambda: L.Dense(2, activity_regularizer="l2"),
                            "activity_regularizer='l2'"),
                           (lambda: L.Dropout(0.5, noise_shape=(None, 1)), "noise_shape"),
                           (lambda: L.MaxPooling2D(data_format="channels_first"),
                            "data_format")):
        with pytest.raises(NotImplementedError, match=argument.replace("(", r"\(").replace(
                ")", r"\)")):
            make()
    assert L.Conv2D(2, 3, data_format="channels_last", dilation_rate=(1, 1), groups=1)
    assert L.Dense(3, input_shape=(4,))._input_shape_arg == (4,)


def test_keras_aliases_are_the_same_classes():
    assert L.MaxPool2D is L.MaxPooling2D and L.Convolution1D is L.Conv1D
    assert gn.keras.layers.GlobalAvgPool1D is L.GlobalAveragePooling1D
    config = gn.layers.serialize(L.MaxPool1D(3, name="p"))
    assert config["class_name"] == "MaxPooling1D" and config["config"]["pool_size"] == [3]
    assert gn.layers.deserialize(config).get_config() == config["config"]
