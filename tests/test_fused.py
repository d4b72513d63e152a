"""Conv2D + MaxPooling2D run as one step (glassnet/layers/fused.py): the same
outputs and gradients as the two layers one after the other, chunked or not."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.gradcheck import check_gradients
from glassnet.layers import Conv2D, Dense, Flatten, Input, MaxPooling2D, conv, fused

RNG = np.random.default_rng(0)


def cnn(activation="relu", padding="valid", size=(9, 9, 2), pool=2, dtype="float32", seed=0,
        kernel=3, strides=1):
    gn.utils.set_random_seed(seed)
    init = dict(kernel_initializer=gn.initializers.RandomNormal(stddev=0.5, seed=seed),
                bias_initializer=gn.initializers.RandomNormal(stddev=0.1, seed=seed + 1))
    model = gn.Sequential([Input(size), Conv2D(3, kernel, strides=strides, activation=activation,
                                               padding=padding, dtype=dtype, **init),
                           MaxPooling2D(pool, dtype=dtype),
                           Conv2D(4, 2, activation=activation, dtype=dtype, **init),
                           MaxPooling2D(dtype=dtype), Flatten(dtype=dtype),
                           Dense(3, activation="softmax", dtype=dtype)])
    model.compile("sgd", "sparse_categorical_crossentropy")
    return model


def unfused(model):
    """The same model run layer by layer (the engine's fusion switched off)."""
    model._fusion = False
    model._invalidate_plan()
    return model


def runners(model):
    return [step.runner for step in model._plan_steps()]


def layer_by_layer(model, x, y):
    """Output, every gradient and ∂L/∂x with the layers run one at a time."""
    loss, out = unfused(model).compute_gradients(x, y)
    assert not any(isinstance(r, fused.Conv2DMaxPooling) for r in runners(model))
    grads = [v.grad.copy() for v in model.trainable_weights]
    return loss, out.copy(), grads


def test_the_plan_fuses_relu_and_linear_conv_with_tiling_max_pooling():
    steps = runners(cnn())
    assert [type(s).__name__ for s in steps] == ["Conv2DMaxPooling", "Conv2DMaxPooling",
                                                 "Flatten", "Dense"]
    assert all(isinstance(s, fused.Conv2DMaxPooling) for s in runners(cnn("linear"))[:2])
    assert not any(isinstance(s, fused.Conv2DMaxPooling) for s in runners(cnn("tanh")))
    # overlapping windows (stride 1) do not tile: not fused
    model = gn.Sequential([Input((8, 8, 1)), Conv2D(2, 3, activation="relu"),
                           MaxPooling2D(2, strides=1)])
    assert not any(isinstance(s, fused.Conv2DMaxPooling) for s in runners(model))


def test_the_plan_fuses_inside_a_functional_model_but_not_when_others_read_the_conv():
    inputs = gn.keras.Input((8, 8, 1))
    c = Conv2D(2, 3, activation="relu")(inputs)
    pooled = MaxPooling2D()(c)
    model = gn.Model(inputs, pooled)
    assert isinstance(runners(model)[0], fused.Conv2DMaxPooling)
    both = gn.Model(inputs, [pooled, c])  # the convolution's output is read twice
    assert not any(isinstance(s, fused.Conv2DMaxPooling) for s in runners(both))


@pytest.mark.parametrize("activation,padding,size,pool,kernel,strides", [
    ("relu", "valid", (9, 9, 2), 2, 3, 1),    # odd sizes: a row and a column no window covers
    ("relu", "same", (8, 10, 1), 2, 3, 1),
    ("linear", "valid", (10, 10, 3), 2, 3, 1),
    ("relu", "same", (26, 20, 2), 3, (3, 2), (2, 1)),  # 3x3 pool, strided non-square kernel
    ("relu", "valid", (8, 8, 2), (1, 2), 2, 1),        # a 1x2 pool
])
@pytest.mark.parametrize("chunk_bytes", [None, 1])  # 1: one sample per chunk, cols not kept
def test_fused_equals_layer_by_layer(activation, padding, size, pool, kernel, strides,
                                     chunk_bytes, monkeypatch):
    if chunk_bytes:
        monkeypatch.setattr(conv, "CACHE_CHUNK_BYTES", chunk_bytes)
        monkeypatch.setattr(conv, "IM2COL_BUDGET_BYTES", chunk_bytes)
    x = RNG.normal(size=(7,) + size).astype(np.float32)
    y = RNG.integers(0, 3, 7)
    model = cnn(activation, padding, size, pool=pool, kernel=kernel, strides=strides)
    assert isinstance(runners(model)[0], fused.Conv2DMaxPooling)
    loss, out = model.compute_gradients(x, y)
    out = out.copy()
    grads = [model._grads.copy()]
    expected_loss, expected_out, expected_grads = layer_by_layer(model, x, y)
    np.testing.assert_allclose(out, expected_out, rtol=1e-6, atol=1e-7)
    assert loss == pytest.approx(expected_loss, rel=1e-6)
    np.testing.assert_allclose(grads[0], np.concatenate([g.ravel() for g in expected_grads]),
                               rtol=1e-5, atol=1e-6)


def test_fused_model_gradient_check_float64():
    model = cnn("relu", "same", (8, 9, 2), dtype="float64")
    assert isinstance(runners(model)[0], fused.Conv2DMaxPooling)
    x = RNG.normal(size=(3, 8, 9, 2))
    results = check_gradients(model, x, np.array([0, 2, 1]))
    assert results and max(results.values()) < 1e-6, results


def test_conv_last_output_is_recomputed_for_the_recorder():
    model = cnn()
    x = RNG.normal(size=(5, 9, 9, 2)).astype(np.float32)
    model.compute_gradients(x, RNG.integers(0, 3, 5))
    first = model.layers[0]
    assert first.a is None  # skipped by the fused step
    expected = first.forward(x)  # the layer on its own
    np.testing.assert_allclose(first.last_output(), expected, rtol=1e-6, atol=1e-7)
    recorder = gn.inspect.Recorder(every=1)
    model.fit(x, RNG.integers(0, 3, 5), epochs=1, batch_size=5, verbose=0,
              callbacks=[recorder])
    assert first.name in recorder.epochs[0]["dead"]


def test_predict_uses_the_fused_step_and_matches_layer_by_layer():
    model = cnn()
    x = RNG.normal(size=(6, 9, 9, 2)).astype(np.float32)
    fast = model.predict(x)
    np.testing.assert_allclose(fast, unfused(model).predict(x), rtol=1e-6, atol=1e-7)


def test_fused_cnn_step_matches_pytorch():
    torch = pytest.importorskip("torch")
    model = cnn("relu", "valid", (12, 12, 2), dtype="float64")
    x = RNG.normal(size=(4, 12, 12, 2))
    y = np.array([0, 1, 2, 1])
    loss, out = model.compute_gradients(x, y)
    c1, c2, dense = model.layers[0], model.layers[2], model.layers[5]
    nn = torch.nn
    net = nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(3, 4, 2),
                        nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16, 3)).double()
    with torch.no_grad():
        for layer, torch_layer in ((c1, net[0]), (c2, net[3])):
            torch_layer.weight.copy_(torch.tensor(layer.kernel.transpose(3, 2, 0, 1)))
            torch_layer.bias.copy_(torch.tensor(layer.bias))
        # NHWC flatten order (2, 2, 4) vs NCHW (4, 2, 2)
        kernel = dense.kernel.reshape(2, 2, 4, 3).transpose(2, 0, 1, 3).reshape(16, 3)
        net[7].weight.copy_(torch.tensor(kernel.T))
        net[7].bias.copy_(torch.tensor(dense.bias))
    tx = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    torch_loss = nn.functional.cross_entropy(net(tx), torch.tensor(y))
    torch_loss.backward()
    assert loss == pytest.approx(torch_loss.item(), rel=1e-10)
    np.testing.assert_allclose(c1.grad_kernel, net[0].weight.grad.numpy().transpose(2, 3, 1, 0),
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(c1.grad_bias, net[0].bias.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(c2.grad_kernel, net[3].weight.grad.numpy().transpose(2, 3, 1, 0),
                               rtol=1e-9, atol=1e-12)
