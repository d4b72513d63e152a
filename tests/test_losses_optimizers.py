"""Losses (values, gradients, fused softmax-CE, bad targets) and optimizers
(Keras's update rules, one step against PyTorch)."""

import math

import numpy as np
import pytest

import glassnet as gn
from glassnet import losses, optimizers
from glassnet.gradcheck import numerical_gradient, relative_error

RNG = np.random.default_rng(7)


def probabilities(n, k):
    z = RNG.normal(size=(n, k))
    return np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)


def one_hot(labels, k):
    return np.eye(k)[labels]


CASES = {
    "mse": lambda: (RNG.normal(size=(5, 3)), RNG.normal(size=(5, 3))),
    "mae": lambda: (RNG.normal(size=(5, 3)), RNG.normal(size=(5, 3))),
    "binary_crossentropy": lambda: (RNG.integers(0, 2, (6, 2)).astype(float),
                                    RNG.uniform(0.05, 0.95, (6, 2))),
    "categorical_crossentropy": lambda: (one_hot(RNG.integers(0, 4, 6), 4), probabilities(6, 4)),
    "sparse_categorical_crossentropy": lambda: (RNG.integers(0, 4, 6), probabilities(6, 4)),
}


def reference_value(name, y, p):
    if name == "mse":
        return np.mean((p - y) ** 2)
    if name == "mae":
        return np.mean(np.abs(p - y))
    if name == "binary_crossentropy":
        return np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p)))
    if name == "categorical_crossentropy":
        return np.mean(-np.sum(y * np.log(p), axis=1))
    return np.mean(-np.log(p[np.arange(len(y)), y]))


@pytest.mark.parametrize("name", sorted(CASES))
def test_loss_value_and_numerical_gradient(name):
    y, p = CASES[name]()
    loss = losses.get(name)
    assert loss(y, p) == pytest.approx(reference_value(name, y, p), rel=1e-12)
    y_checked = loss.check_targets(y, p.shape)
    analytic = loss.gradient(y_checked, p)
    numeric = numerical_gradient(lambda v: loss.value(y_checked, v), p.copy(), h=1e-6)
    assert relative_error(analytic, numeric) < 1e-6


@pytest.mark.parametrize("name", ["binary_crossentropy", "categorical_crossentropy",
                                  "sparse_categorical_crossentropy"])
def test_from_logits_gradient_and_agreement(name):
    y, _ = CASES[name]()
    z = RNG.normal(size=(6, 2 if name.startswith("binary") else 4)) * 3
    if name.startswith("binary"):
        y = RNG.integers(0, 2, z.shape).astype(float)
        p = 1 / (1 + np.exp(-z))
    else:
        p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    logits_loss = type(losses.get(name))(from_logits=True)
    prob_loss = losses.get(name)
    yc = logits_loss.check_targets(y, z.shape)
    assert logits_loss.value(yc, z) == pytest.approx(prob_loss.value(yc, p), rel=1e-9)
    value, grad = logits_loss.value_and_gradient(yc, z)
    numeric = numerical_gradient(lambda v: logits_loss.value(yc, v), z.copy(), h=1e-6)
    assert relative_error(grad, numeric) < 1e-6
    if not name.startswith("binary"):  # fused softmax-CE: the gradient is p - y, over N
        targets = one_hot(yc, 4) if yc.ndim == 1 else yc
        np.testing.assert_allclose(grad, (p - targets) / len(z), rtol=1e-10, atol=1e-15)


def test_fused_softmax_ce_is_exact_where_probabilities_saturate():
    z = np.array([[1000.0, 0.0, -1000.0]])
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    assert loss.value(np.array([1]), z) == pytest.approx(1000.0)
    # the same on clipped probabilities stops at -log(1e-7)
    p = gn.activations.softmax(z)
    assert losses.get("sparse_categorical_crossentropy")([1], p) == pytest.approx(
        -math.log(1e-7), rel=1e-6)


def test_loss_target_errors_name_shapes_and_the_right_loss():
    p = probabilities(4, 3)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\).*from 0 to 3"):
        losses.get("sparse_categorical_crossentropy")([0, 1, 2, 3], p)
    with pytest.raises(ValueError, match=r"shape \(4,\).*shape \(4, 3\).*categorical_crossentropy"):
        losses.get("sparse_categorical_crossentropy")(one_hot([0, 1, 2, 0], 3), p)
    with pytest.raises(ValueError, match=r"one-hot targets.*\(4, 3\).*\(4,\).*sparse_categorical"):
        losses.get("categorical_crossentropy")([0, 1, 2, 0], p)
    with pytest.raises(ValueError, match="whole numbers"):
        losses.get("sparse_categorical_crossentropy")([0.5, 1, 2, 0], p)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        losses.get("binary_crossentropy")([[2.0]], [[0.5]])
    with pytest.raises(ValueError, match="Valid names: .*mse"):
        losses.get("cross_entropy")


def test_losses_match_pytorch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    z = RNG.normal(size=(8, 5))
    labels = RNG.integers(0, 5, 8)
    t = torch.tensor(z, requires_grad=True)
    F.cross_entropy(t, torch.tensor(labels)).backward()
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    value, grad = loss.value_and_gradient(labels, z)
    assert value == pytest.approx(F.cross_entropy(torch.tensor(z), torch.tensor(labels)).item(),
                                  rel=1e-12)
    np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-10, atol=1e-15)
    y = RNG.integers(0, 2, (8, 5)).astype(float)
    t = torch.tensor(z, requires_grad=True)
    F.binary_cross_entropy_with_logits(t, torch.tensor(y)).backward()
    bce = losses.BinaryCrossentropy(from_logits=True)
    np.testing.assert_allclose(bce.gradient(y, z), t.grad.numpy(), rtol=1e-10, atol=1e-15)
    t = torch.tensor(z, requires_grad=True)
    F.mse_loss(t, torch.tensor(y)).backward()
    np.testing.assert_allclose(losses.get("mse").gradient(y, z), t.grad.numpy(), rtol=1e-12)


# ----------------------------------------------------------------- optimizers
def reference_steps(kind, w, grads, **cfg):
    """The Keras formulas, written plainly, one array at a time."""
    w = w.copy()
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    s = np.full_like(w, cfg.get("initial_accumulator_value", 0.1))
    for t, g in enumerate(grads, start=1):
        lr = cfg.get("learning_rate", 0.01 if kind == "sgd" else 0.001)
        if kind == "sgd":
            mu = cfg.get("momentum", 0.0)
            m = mu * m - lr * g
            w = w + (mu * m - lr * g if cfg.get("nesterov") else m) if mu else w - lr * g
        elif kind == "adam":
            b1, b2, eps = 0.9, 0.999, cfg.get("epsilon", 1e-7)
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            alpha = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
            w = w - alpha * m / (np.sqrt(v) + eps)
        elif kind == "rmsprop":
            v = 0.9 * v + 0.1 * g * g
            w = w - lr * g / np.sqrt(v + cfg.get("epsilon", 1e-7))
        elif kind == "adagrad":
            s = s + g * g
            w = w - lr * g / np.sqrt(s + cfg.get("epsilon", 1e-7))
    return w


@pytest.mark.parametrize("kind,cfg", [
    ("sgd", {}), ("sgd", {"momentum": 0.9}), ("sgd", {"momentum": 0.9, "nesterov": True}),
    ("adam", {}), ("rmsprop", {}), ("adagrad", {}), ("adam", {"learning_rate": 0.1}),
])
def test_optimizers_follow_keras_formulas(kind, cfg):
    w = RNG.normal(size=50)
    grads = [RNG.normal(size=50) for _ in range(6)]
    optimizer = optimizers.get({"class_name": {"sgd": "SGD", "adam": "Adam", "rmsprop":
                                               "RMSprop", "adagrad": "Adagrad"}[kind],
                                "config": cfg})
    ours = w.copy()
    for g in grads:
        g_copy = g.copy()
        optimizer.apply(ours, g_copy)
        np.testing.assert_array_equal(g_copy, g)  # the gradient is not consumed
    np.testing.assert_allclose(ours, reference_steps(kind, w, grads, **cfg), rtol=1e-12,
                               atol=1e-15)
    assert optimizer.iterations == 6


def torch_step(torch, name, w, grads, **kwargs):
    p = torch.nn.Parameter(torch.tensor(w))
    opt = getattr(torch.optim, name)([p], **kwargs)
    for g in grads:
        p.grad = torch.tensor(g)
        opt.step()
    return p.detach().numpy()


def test_one_step_matches_pytorch():
    torch = pytest.importorskip("torch")
    w = RNG.normal(size=20)
    g = [RNG.normal(size=20)]
    # Adam: Keras adds ε to √v̂·√(1-β₂ᵗ); PyTorch to √v̂, so ε_torch = ε / √(1-β₂) at step 1
    cases = [
        (optimizers.SGD(0.1), "SGD", {"lr": 0.1}),
        (optimizers.SGD(0.1, momentum=0.9), "SGD", {"lr": 0.1, "momentum": 0.9}),
        (optimizers.SGD(0.1, momentum=0.9, nesterov=True), "SGD",
         {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
        (optimizers.Adam(0.01), "Adam", {"lr": 0.01, "eps": 1e-7 / math.sqrt(1 - 0.999)}),
        (optimizers.RMSprop(0.01, epsilon=0.0), "RMSprop", {"lr": 0.01, "alpha": 0.9,
                                                            "eps": 0.0}),
        (optimizers.Adagrad(0.01, epsilon=0.0), "Adagrad",
         {"lr": 0.01, "initial_accumulator_value": 0.1, "eps": 0.0}),
    ]
    for ours, name, kwargs in cases:
        mine = w.copy()
        ours.apply(mine, g[0].copy())
        np.testing.assert_allclose(mine, torch_step(torch, name, w, g, **kwargs), rtol=1e-6,
                                   atol=1e-9, err_msg=name)
    # several momentum steps: Keras's v = μv - lr·g equals PyTorch's -lr·(μv + g)
    grads = [RNG.normal(size=20) for _ in range(5)]
    mine = w.copy()
    sgd = optimizers.SGD(0.05, momentum=0.8, nesterov=True)
    for step in grads:
        sgd.apply(mine, step)
    np.testing.assert_allclose(mine, torch_step(torch, "SGD", w, grads, lr=0.05, momentum=0.8,
                                                nesterov=True), rtol=1e-10)


def test_learning_rate_schedule_and_bad_arguments():
    seen = []
    opt = optimizers.SGD(learning_rate=lambda step: seen.append(step) or 0.1 / (1 + step))
    w = np.ones(3)
    opt.apply(w, np.ones(3))
    opt.apply(w, np.ones(3))
    assert seen == [0, 1]
    np.testing.assert_allclose(w, 1 - 0.1 - 0.05)
    for bad in (-1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="learning_rate must be a finite number >= 0"):
            optimizers.Adam(learning_rate=bad)
    frozen = optimizers.Adam(learning_rate=0)  # Keras takes 0: the weights stay put
    w = np.ones(3)
    frozen.apply(w, np.ones(3))
    np.testing.assert_array_equal(w, np.ones(3))
    assert float(frozen.learning_rate) == 0.0 and frozen.iterations == 1
    with pytest.raises(ValueError, match=r"momentum must lie in \[0, 1\)"):
        optimizers.SGD(momentum=1.5)
    with pytest.raises(ValueError, match="Unknown optimizer 'adamx'. Valid names: adagrad, adam"):
        optimizers.get("adamx")
    with pytest.raises(ValueError, match="differ in shape"):
        optimizers.SGD().apply(np.ones(3), np.ones(4))


def test_schedules_follow_keras_formulas_and_survive_saving(tmp_path):
    cosine = optimizers.CosineDecay(0.1, decay_steps=100, alpha=0.1)
    assert cosine(0) == pytest.approx(0.1)
    assert cosine(50) == pytest.approx(0.1 * (0.9 * 0.5 + 0.1))
    assert cosine(100) == cosine(1000) == pytest.approx(0.01)
    expo = optimizers.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=True)
    assert expo(9) == pytest.approx(0.1) and expo(10) == pytest.approx(0.05)
    inverse = optimizers.InverseTimeDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert inverse(20) == pytest.approx(0.1 / 2) and inverse(5) == pytest.approx(0.1 / 1.25)
    assert optimizers.InverseTimeDecay(0.1, 10, 0.5, staircase=True)(19) == pytest.approx(
        0.1 / 1.5)
    poly = optimizers.PolynomialDecay(0.1, decay_steps=10, end_learning_rate=0.01, power=2)
    assert poly(5) == pytest.approx(0.09 * 0.25 + 0.01) and poly(50) == pytest.approx(0.01)
    steps = optimizers.PiecewiseConstantDecay([10, 20], [0.1, 0.01, 0.001])
    assert [steps(t) for t in (10, 11, 20, 21)] == [0.1, 0.01, 0.01, 0.001]
    with pytest.raises(ValueError, match="decay_rate must be a finite number > 0"):
        optimizers.ExponentialDecay(0.1, 10, 0)
    model = gn.Sequential([gn.layers.Input((3,)), gn.layers.Dense(2, activation="softmax")])
    model.compile(optimizers.Adam(cosine), "sparse_categorical_crossentropy")
    model.fit(RNG.normal(size=(8, 3)), RNG.integers(0, 2, 8), verbose=0)
    model.save(tmp_path / "m.safetensors")
    loaded = gn.load_model(tmp_path / "m.safetensors")
    schedule = loaded.optimizer._learning_rate  # Keras 3 keeps the schedule there too
    assert isinstance(schedule, optimizers.CosineDecay) and schedule.get_config() == \
        cosine.get_config()
    assert loaded.optimizer.current_learning_rate() == pytest.approx(cosine(1))


def test_set_num_threads():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    gn.set_num_threads(1)
    try:
        blas = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
        assert blas and all(i["num_threads"] == 1 for i in blas)
    finally:
        gn.set_num_threads(None)
    with pytest.raises(ValueError, match="positive integer"):
        gn.set_num_threads(0)


@pytest.mark.parametrize("value", ["abc", [0.1, 0.2], None])
def test_a_learning_rate_that_is_not_a_number_is_named(value):
    from glassnet import keras

    with pytest.raises(ValueError, match="Adam learning_rate must be a number"):
        keras.optimizers.Adam(value)
