"""glassnet.inspect: the numbers the course's figures are made of, asserted."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import inspect
from glassnet.layers import Dense, Input

RNG = np.random.default_rng(0)


def deep_net(activation, initializer, layers=6, width=64, seed=0):
    gn.utils.set_random_seed(seed)
    model = gn.Sequential([Input((width,))] + [
        Dense(width, activation=activation, kernel_initializer=initializer)
        for _ in range(layers)] + [Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    return model


def book_net(initializer, seed=0):
    """The book's weight-initialization experiment: 5 sigmoid layers of 100."""
    gn.utils.set_random_seed(seed)
    return gn.Sequential([Input((100,))] + [
        Dense(100, activation="sigmoid", kernel_initializer=initializer) for _ in range(5)])


def test_sigmoid_with_std_1_saturates_and_xavier_does_not():
    # measured over seeds 0-3: layer 1 64%, layers 2-5 43-53% saturated; Xavier 0%.
    # (Layers 2-5 sit near 49% by construction: z = Σ aᵢwᵢ has std √(Σaᵢ²) ≈ 6.6 there,
    # and P(|z| > 4.6) for that normal is 0.49 -- so "> 50%" would be a coin flip.)
    x = RNG.normal(size=(1000, 100))
    std1 = [s["saturated"] for s in inspect.activation_stats(
        book_net(gn.initializers.RandomNormal(stddev=1)), x)]
    xavier = [s["saturated"] for s in inspect.activation_stats(book_net("glorot_normal"), x)]
    assert std1[0] > 0.6 and np.mean(std1) > 0.45, std1   # outputs pile up at 0 and 1
    assert min(std1) > 0.4, std1
    assert max(xavier) < 0.01, xavier
    stats = inspect.activation_stats(deep_net("sigmoid", "glorot_normal"), x[:, :64])
    assert stats[0]["activation"] == "sigmoid" and stats[-1]["saturated"] is None


def test_vanishing_gradients_in_a_deep_sigmoid_net_but_not_relu_he():
    x = RNG.normal(size=(200, 64))
    y = RNG.integers(0, 3, 200)
    sigmoid = inspect.gradient_norms(deep_net("sigmoid", "glorot_uniform"), x, y)
    relu = inspect.gradient_norms(deep_net("relu", "he_normal"), x, y)
    names = list(sigmoid)
    first, last = sigmoid[names[0]]["kernel"], sigmoid[names[5]]["kernel"]
    assert first < last / 100, (first, last)         # orders of magnitude smaller
    names = list(relu)
    ratio = relu[names[0]]["kernel"] / relu[names[5]]["kernel"]
    assert 0.1 < ratio < 10, ratio


def test_layer_outputs_and_dead_relus():
    model = deep_net("relu", "he_normal", layers=2, width=8)
    model.layers[0].bias[...] = -100  # every unit of the first layer is dead
    outputs = inspect.layer_outputs(model, RNG.normal(size=(10, 8)))
    assert list(outputs) == [layer.name for layer in model.layers]
    assert outputs[model.layers[-1].name].shape == (10, 3)
    stats = inspect.activation_stats(model, RNG.normal(size=(10, 8)))
    assert stats[0]["dead"] == 1.0 and stats[1]["dead"] == 1.0  # no input reaches layer 2


def test_recorder_reads_what_training_left_behind():
    model = deep_net("sigmoid", "glorot_uniform", layers=3, width=16)
    x, y = RNG.normal(size=(256, 16)), RNG.integers(0, 3, 256)
    recorder = inspect.Recorder(every=2)
    model.fit(x, y, epochs=3, batch_size=32, verbose=0, callbacks=[recorder])
    assert len(recorder.epochs) == 3
    epoch = recorder.epochs[-1]
    assert set(epoch["gradient_norm"]) == {layer.name for layer in model.layers}
    assert set(epoch["saturated"]) == {layer.name for layer in model.layers[:3]}
    assert all(value > 0 for value in epoch["gradient_norm"].values())
    # the recorded norm equals gradient_norms on the same kind of batch, order of magnitude
    direct = inspect.gradient_norms(model, x[:32], y[:32])
    name = model.layers[0].name
    assert 0.1 < epoch["gradient_norm"][name] / np.sqrt(
        sum(v ** 2 for v in direct[name].values())) < 10


def test_inspect_bad_input():
    with pytest.raises(ValueError, match="built model"):
        inspect.layer_outputs(gn.Sequential([Dense(2)]), np.ones((1, 3)))
    model = gn.Sequential([Input((3,)), Dense(2)])
    with pytest.raises(ValueError, match="compiled model"):
        inspect.gradient_norms(model, np.ones((1, 3)), [0])
    with pytest.raises(ValueError, match="every must be a positive integer"):
        inspect.Recorder(every=0)


def test_inside_pictures(tmp_path):
    from glassnet import plot
    from glassnet.datasets import toy
    from test_plot_cli import assert_real_png

    fig = plot.layer_activations(book_net(gn.initializers.RandomNormal(stddev=1)),
                                 RNG.normal(size=(300, 100)), path=tmp_path / "a.png")
    assert len(fig.axes) == 5 and "saturated" in fig.axes[0].get_title()
    assert_real_png(tmp_path / "a.png", min_height=250)
    x, y = toy.spiral(300, noise=0.1, seed=1)
    model = gn.Sequential([Input((2,)), Dense(32, activation="tanh"),
                           Dense(3, activation="softmax")])
    model.compile(gn.optimizers.Adam(0.02), "sparse_categorical_crossentropy")
    recorder = inspect.Recorder(every=3)
    model.fit(x, y, epochs=3, batch_size=32, verbose=0, callbacks=[recorder])
    fig = plot.gradient_flow(recorder, path=tmp_path / "g.png")
    assert [line.get_label() for line in fig.axes[0].get_lines()] == \
        [f"{k}: {layer.name}" for k, layer in enumerate(model.layers, start=1)]
    assert_real_png(tmp_path / "g.png")
    # several runs side by side, from Recorders or their saved epochs lists
    fig = plot.gradient_flow({"tanh": recorder, "again": recorder.epochs}, path=tmp_path / "g2.png")
    assert [ax.get_title().split(":")[0] for ax in fig.axes] == ["tanh", "again"]
    assert fig.axes[0].get_yscale() == "log"
    assert_real_png(tmp_path / "g2.png")
    fig = plot.decision_boundary(model, x, y, path=tmp_path / "b.png")
    assert "training accuracy" in fig.axes[0].get_title()
    assert_real_png(tmp_path / "b.png")
    with pytest.raises(ValueError, match=r"2-D inputs of shape \(n, 2\); received shape "
                                         r"\(300, 3\)"):
        plot.decision_boundary(model, np.ones((300, 3)), y)
    with pytest.raises(ValueError, match="built model"):
        plot.layer_activations(gn.Sequential([Dense(2)]), np.ones((2, 2)))
    with pytest.raises(ValueError, match="Recorder that was passed to fit"):
        plot.gradient_flow(inspect.Recorder())
    with pytest.raises(ValueError, match="'relu'"):
        plot.gradient_flow({"tanh": recorder, "relu": []})


def test_cli_plot_boundary(tmp_path):
    from test_plot_cli import assert_real_png, run_cli

    result = run_cli("plot", "boundary", "--dataset", "circles", "--activation", "relu",
                     "--epochs", "20", "--out", str(tmp_path / "c.png"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert_real_png(tmp_path / "c.png")
    result = run_cli("plot", "boundary", "--dataset", "mnist", cwd=tmp_path)
    assert result.returncode == 2 and "invalid choice: 'mnist'" in result.stderr


def test_plot_weights_and_its_command(tmp_path):
    from glassnet import plot
    from test_plot_cli import assert_real_png, run_cli

    model = deep_net("relu", "he_normal", layers=3, width=32)
    fig = plot.weights(model, path=tmp_path / "w.png")
    assert len(fig.axes) == 4 and "(32, 32), std" in fig.axes[0].get_title()
    std = float(fig.axes[0].get_title().split("std ")[1])
    assert std == pytest.approx(np.sqrt(2 / 32), rel=0.15)  # He: √(2 / fan_in)
    assert_real_png(tmp_path / "w.png", min_height=250)
    model.save(tmp_path / "m.safetensors")
    result = run_cli("plot", "weights", str(tmp_path / "m.safetensors"), "--out",
                     str(tmp_path / "cw.png"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert_real_png(tmp_path / "cw.png", min_height=250)
    with pytest.raises(ValueError, match="Dense or Conv2D"):
        plot.weights(gn.Sequential([Input((3,)), gn.layers.Flatten()]))


def test_gradient_through_time_and_hidden_states():
    """Linear SimpleRNN with recurrent kernel a·I and the loss on the last
    state: ∂L/∂h_t = aᵀ⁻ᵗ ∂L/∂h_T exactly, so the relative norms are powers of a."""
    from glassnet import keras

    gn.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 2)),
                              keras.layers.SimpleRNN(3, activation="linear", use_bias=False),
                              keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.layers[0].recurrent_kernel.assign(0.5 * np.eye(3, dtype="float32"))
    x = np.random.default_rng(0).normal(size=(4, 8, 2)).astype("float32")
    result = gn.inspect.gradient_through_time(model, x, np.ones((4, 1)))
    np.testing.assert_allclose(result["relative"], 0.5 ** np.arange(7, -1, -1), rtol=1e-5)
    assert result["layer"] == model.layers[0].name and result["hidden"].shape == (4, 8, 3)
    hidden = gn.inspect.hidden_states(model, x)
    np.testing.assert_allclose(hidden[:, -1], model.layers[0](x), atol=1e-6)
    with pytest.raises(ValueError, match="is not recurrent"):
        gn.inspect.hidden_states(model, x, layer=model.layers[1].name)


def test_layer_outputs_follow_masks_as_predict_does():
    # one runner: inspect walks the engine's own forward, so masks flow as in predict
    from glassnet import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,), dtype="int32"),
                              keras.layers.Embedding(20, 4, mask_zero=True),
                              keras.layers.LSTM(5), keras.layers.Dense(2)])
    x = np.array([[3, 4, 5, 0, 0, 0], [1, 2, 3, 4, 5, 6]])
    outputs = inspect.layer_outputs(model, x)
    assert list(outputs) == [layer.name for layer in model.layers]
    np.testing.assert_allclose(outputs[model.layers[-1].name], model.predict(x, verbose=0),
                               rtol=1e-6)
    # and the mask mattered: the LSTM without it gives another answer for the padded row
    embedded = outputs[model.layers[0].name]
    unmasked = model.layers[1].forward(embedded, training=False)
    assert not np.allclose(unmasked[0], outputs[model.layers[1].name][0], atol=1e-4)
    np.testing.assert_allclose(unmasked[1], outputs[model.layers[1].name][1], rtol=1e-5)
