"""Convolution, pooling and batch normalization: Keras's shapes, gradient
checks in float64, PyTorch equality, bad input."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.gradcheck import check_gradients
from glassnet.layers import (AveragePooling2D, BatchNormalization, Conv2D, Dense, Flatten,
                             GlobalAveragePooling2D, Input, MaxPooling2D)

RNG = np.random.default_rng(11)


def ok(results):
    assert results
    for name, error in results.items():
        assert error < 1e-6, f"{name}: {error:.2e}"


def random_init(seed):
    return dict(kernel_initializer=gn.initializers.RandomNormal(stddev=0.5, seed=seed),
                bias_initializer=gn.initializers.RandomNormal(stddev=0.1, seed=seed + 1))


# Keras's output shapes (per sample), hard-coded: input 7x8, kernel (3, 2)
@pytest.mark.parametrize("padding,strides,expected", [
    ("valid", (1, 1), (5, 7, 4)), ("valid", (2, 2), (3, 4, 4)), ("valid", (2, 3), (3, 3, 4)),
    ("same", (1, 1), (7, 8, 4)), ("same", (2, 2), (4, 4, 4)), ("same", (2, 3), (4, 3, 4)),
])
def test_conv_output_shapes_match_keras(padding, strides, expected):
    layer = Conv2D(4, (3, 2), strides=strides, padding=padding)
    out = layer(np.zeros((2, 7, 8, 3), dtype=np.float32))
    assert out.shape == (2,) + expected and layer.output_shape == (None,) + expected
    assert layer.kernel.shape == (3, 2, 3, 4) and layer.bias.shape == (4,)


@pytest.mark.parametrize("padding,strides,kernel,channels", [
    ("valid", 1, (3, 3), 1), ("same", 1, (3, 3), 3), ("valid", 2, (3, 3), 3),
    ("same", 2, (3, 2), 1), ("valid", (1, 2), (2, 3), 3), ("same", (2, 1), (1, 3), 3),
])
def test_conv2d_gradient_check(padding, strides, kernel, channels):
    layer = Conv2D(2, kernel, strides=strides, padding=padding, activation="tanh",
                   kernel_regularizer="l2", **random_init(3))
    ok(check_gradients(layer, RNG.normal(size=(2, 6, 5, channels))))


def test_conv2d_by_hand_and_im2col_example():
    layer = Conv2D(1, 3, use_bias=False)
    layer.build((None, 4, 4, 1))
    layer.set_weights([np.ones((3, 3, 1, 1))])
    x = np.arange(1, 17, dtype=np.float32).reshape(1, 4, 4, 1)
    # the docstring's windows: sums 54, 63, 90, 99
    np.testing.assert_array_equal(layer(x)[0, :, :, 0], [[54, 63], [90, 99]])


def test_conv2d_large_batch_is_chunked_identically(monkeypatch):
    from glassnet.layers import conv

    x = RNG.normal(size=(9, 6, 6, 2)).astype(np.float32)
    layer = Conv2D(3, 3, padding="same", **random_init(5))
    whole = layer(x, training=True).copy()
    upstream = RNG.normal(size=whole.shape).astype(np.float32)
    grad_whole = layer.backward(upstream).copy()
    kernel_whole = layer.grad_kernel.copy()
    monkeypatch.setattr(conv, "IM2COL_BUDGET_BYTES", 1)  # one sample per chunk
    np.testing.assert_allclose(layer(x, training=True), whole, rtol=1e-6)
    np.testing.assert_allclose(layer.backward(upstream), grad_whole, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.grad_kernel, kernel_whole, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cls", [MaxPooling2D, AveragePooling2D])
@pytest.mark.parametrize("pool,strides,padding", [
    (2, None, "valid"), (3, None, "valid"), (2, 1, "valid"), (3, 2, "same"), (2, None, "same"),
])
def test_pooling_gradient_check(cls, pool, strides, padding):
    ok(check_gradients(cls(pool, strides=strides, padding=padding),
                       RNG.normal(size=(2, 7, 6, 3))))


# Keras's pooling shapes for a 7x6 input
@pytest.mark.parametrize("pool,strides,padding,expected", [
    (2, None, "valid", (3, 3)), (3, None, "valid", (2, 2)), (2, 1, "valid", (6, 5)),
    (3, 2, "same", (4, 3)), (2, None, "same", (4, 3)),
])
def test_pooling_shapes_match_keras(pool, strides, padding, expected):
    out = MaxPooling2D(pool, strides=strides, padding=padding)(np.zeros((1, 7, 6, 2)))
    assert out.shape == (1,) + expected + (2,)


def test_max_pooling_ties_send_the_gradient_to_one_element():
    layer = MaxPooling2D(2)
    x = np.ones((1, 2, 2, 1))
    layer(x, training=True)
    grad = layer.backward(np.array([[[[5.0]]]]))
    assert grad.sum() == 5.0 and np.count_nonzero(grad) == 1 and grad[0, 0, 0, 0] == 5.0


def test_average_pooling_same_averages_only_inside_values():
    x = np.arange(9, dtype=float).reshape(1, 3, 3, 1)
    out = AveragePooling2D(2, padding="same")(x)[0, :, :, 0]
    np.testing.assert_allclose(out, [[(0 + 1 + 3 + 4) / 4, (2 + 5) / 2], [(6 + 7) / 2, 8]])


def test_global_average_pooling():
    x = RNG.normal(size=(2, 4, 3, 5))
    np.testing.assert_allclose(GlobalAveragePooling2D()(x), x.mean(axis=(1, 2)), rtol=1e-5)  # float32
    ok(check_gradients(GlobalAveragePooling2D(), x))


@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 5, 2)])
def test_batch_normalization_training_gradient_and_statistics(shape):
    x = RNG.normal(loc=3, scale=2, size=shape)
    layer = BatchNormalization(momentum=0.9)
    out = layer(x, training=True)
    axes = tuple(range(len(shape) - 1))
    np.testing.assert_allclose(out.mean(axis=axes), 0, atol=1e-6)
    np.testing.assert_allclose(out.var(axis=axes), x.var(axis=axes) /
                               (x.var(axis=axes) + 1e-3), rtol=1e-5)
    np.testing.assert_allclose(layer.moving_mean, 0.1 * x.mean(axis=axes), rtol=1e-5)
    np.testing.assert_allclose(layer.moving_variance, 0.9 + 0.1 * x.var(axis=axes), rtol=1e-5)
    assert layer.weight_names == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert layer.trainable_weight_names == ["gamma", "beta"]
    layer.set_weights([RNG.normal(size=shape[-1]), RNG.normal(size=shape[-1]),
                       np.zeros(shape[-1]), np.ones(shape[-1])])
    ok(check_gradients(layer, x))


def test_batch_normalization_inference_uses_moving_statistics():
    layer = BatchNormalization()
    layer.build((None, 3))
    layer.set_weights([np.array([2.0, 1, 1]), np.array([0.5, 0, 0]), np.array([1.0, 2, 3]),
                       np.array([4.0, 1, 1])])
    out = layer(np.array([[3.0, 2, 3]]))
    np.testing.assert_allclose(out, [[2 * 2 / np.sqrt(4.001) + 0.5, 0, 0]], rtol=1e-6)


def test_small_cnn_model_gradient_check_and_training():
    gn.utils.set_random_seed(0)
    model = gn.Sequential([Input((8, 8, 1)), Conv2D(3, 3, activation="relu", **random_init(1)),
                           MaxPooling2D(), BatchNormalization(), Conv2D(4, 2, padding="same"),
                           GlobalAveragePooling2D(), Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    x = RNG.normal(size=(4, 8, 8, 1))
    y = np.array([0, 1, 1, 0])
    ok(check_gradients(model, x, y))
    assert model.count_params() == 30 + 12 + 52 + 10
    # learn a trivially separable task: bright vs dark images
    x = np.concatenate([np.full((32, 8, 8, 1), 1.0), np.full((32, 8, 8, 1), -1.0)])
    x += RNG.normal(scale=0.3, size=x.shape)
    y = np.array([0] * 32 + [1] * 32)
    model.compile(gn.optimizers.Adam(0.05), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=15, batch_size=16, verbose=0, seed=0)
    assert history.history["accuracy"][-1] > 0.95


def test_conv_and_pooling_match_pytorch():
    torch = pytest.importorskip("torch")
    x = RNG.normal(size=(2, 9, 8, 3))
    layer = gn.layers.deserialize(gn.layers.serialize(
        Conv2D(4, (3, 2), strides=(2, 1), padding="valid", activation="relu",
               **random_init(7))), dtype="float64", name="c64")
    out = layer(x, training=True)
    upstream = RNG.normal(size=out.shape)
    grad_x = layer.backward(upstream)
    tx = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)       # NCHW
    tw = torch.tensor(layer.kernel.transpose(3, 2, 0, 1), requires_grad=True)  # OIHW
    tb = torch.tensor(layer.bias, requires_grad=True)
    tout = torch.relu(torch.nn.functional.conv2d(tx, tw, tb, stride=(2, 1)))
    tout.backward(torch.tensor(upstream.transpose(0, 3, 1, 2)))
    np.testing.assert_allclose(out, tout.detach().numpy().transpose(0, 2, 3, 1), rtol=1e-10)
    np.testing.assert_allclose(grad_x, tx.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-9,
                               atol=1e-12)
    np.testing.assert_allclose(layer.grad_kernel, tw.grad.numpy().transpose(2, 3, 1, 0),
                               rtol=1e-9)
    pool = MaxPooling2D(2)
    xp = np.round(RNG.normal(size=(2, 6, 6, 3)), 1)  # rounding makes ties likely
    pooled = pool(xp, training=True)
    g = RNG.normal(size=pooled.shape)
    tx = torch.tensor(xp.transpose(0, 3, 1, 2), requires_grad=True)
    tp = torch.nn.functional.max_pool2d(tx, 2)
    tp.backward(torch.tensor(g.transpose(0, 3, 1, 2)))
    np.testing.assert_allclose(pooled, tp.detach().numpy().transpose(0, 2, 3, 1))
    np.testing.assert_allclose(pool.backward(g), tx.grad.numpy().transpose(0, 2, 3, 1))


def test_conv_bad_input():
    with pytest.raises(ValueError, match=r"padding must be one of \('valid', 'same'\); "
                                         r"received 'full'"):
        Conv2D(2, 3, padding="full")
    with pytest.raises(ValueError, match=r"expects inputs of shape \(batch, height, width, "
                                         r"channels\); received shape \(None, 28, 28\)"):
        Conv2D(2, 3, name="c1")(np.zeros((1, 28, 28)))
    with pytest.raises(ValueError, match=r"kernel height 5 is larger than the padded input "
                                         r"height 4"):
        Conv2D(2, 5)(np.zeros((1, 4, 6, 1)))
    layer = Conv2D(2, 3, name="c2")
    layer(np.zeros((1, 6, 6, 1)))
    with pytest.raises(ValueError, match=r"'c2' \(Conv2D\) expects input of shape "
                                         r"\(None, 6, 6, 1\); received input of shape "
                                         r"\(None, 6, 6, 3\)"):
        layer(np.zeros((1, 6, 6, 3)))
    with pytest.raises(ValueError, match="kernel_size must be a positive integer"):
        Conv2D(2, 0)


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_unknown_spatial_axes_give_what_a_fixed_size_model_gives(padding):
    """Input((None, None, 3)) and Input((None, 10)), as the notebooks write them:
    every size at call time, the same numbers as a model built for that size,
    and a float64 gradient check through it."""
    from glassnet import keras
    from glassnet.gradcheck import check_gradients

    def image_model(shape):
        i = keras.Input(shape)
        o = keras.layers.Conv2D(4, 3, padding=padding, name="c1")(i)
        o = keras.layers.MaxPooling2D(name="p")(o)
        o = keras.layers.Conv2D(3, 3, strides=2, padding=padding, activation="tanh",
                                name="c2")(o)
        o = keras.layers.GlobalAveragePooling2D(name="g")(o)
        return keras.Model(i, keras.layers.Dense(2, name="d")(o))

    def sequence_model(shape):
        i = keras.Input(shape)
        o = keras.layers.Conv1D(5, 3, padding="causal" if padding == "same" else "valid",
                                activation="tanh", name="c")(i)
        o = keras.layers.MaxPooling1D(2, name="p")(o)
        return keras.Model(i, keras.layers.GlobalMaxPooling1D(name="g")(o))

    rng = np.random.default_rng(0)
    for build, unknown, sizes in ((image_model, (None, None, 3), [(11, 9, 3), (14, 12, 3)]),
                                  (sequence_model, (None, 10), [(17, 10), (9, 10)])):
        flexible = build(unknown)
        assert flexible.layers[1].output_shape[1] is None
        for size in sizes:
            fixed = build(size)
            fixed.set_weights(flexible.get_weights())
            x = rng.normal(size=(3,) + size).astype("float32")
            np.testing.assert_allclose(flexible.predict(x, verbose=0),
                                       fixed.predict(x, verbose=0), rtol=1e-6, atol=1e-6)
            flexible.compile("sgd", "mse")
            y = rng.normal(size=(3,) + flexible.output_shape[1:])
            results = check_gradients(flexible, x[:2].astype("float64"), y[:2])
            assert max(results.values()) < 1e-6, results
