"""Pictures and the glassnet command: real PNGs, not blank, the right size."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import glassnet as gn
from glassnet import plot

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_real_png(path, width=1200, min_height=400):
    with open(path, "rb") as f:
        assert f.read(8) == PNG_SIGNATURE
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.width == width and min_height < image.height < 1200
        pixels = np.asarray(image.convert("RGB"), dtype=np.int16)
    not_white = (pixels < 245).any(axis=2).mean()
    colours = len(np.unique(pixels.reshape(-1, 3)[::7], axis=0))
    assert not_white > 0.02, f"{path} is almost blank ({not_white:.1%} ink)"
    assert colours > 20, f"{path} has only {colours} colours"
    return pixels


def curves(ax):
    return [line for line in ax.get_lines() if not line.get_label().startswith("_")]


def test_activations_figure_has_one_labelled_curve_each(tmp_path):
    fig = plot.activations(["sigmoid", "tanh", "relu"], path=tmp_path / "a.png")
    (ax,) = fig.axes
    assert [line.get_label() for line in curves(ax)] == ["sigmoid", "tanh", "relu"]
    assert ax.get_title() and ax.get_xlabel() == "x"
    x, y = curves(ax)[1].get_data()
    np.testing.assert_allclose(y, np.tanh(x))
    assert_real_png(tmp_path / "a.png")


def test_derivatives_panel(tmp_path):
    fig = plot.activations("sigmoid,relu", derivatives=True, path=tmp_path / "d.png")
    assert len(fig.axes) == 2
    x, dy = curves(fig.axes[1])[0].get_data()
    s = 1 / (1 + np.exp(-np.abs(x)))
    np.testing.assert_allclose(dy, s * (1 - s), atol=1e-12)
    assert_real_png(tmp_path / "d.png")


def test_default_names_are_the_lessons_four():
    fig = plot.activations()
    assert [ln.get_label() for ln in curves(fig.axes[0])] == list(plot.DEFAULT_ACTIVATIONS)


def test_activations_bad_names():
    with pytest.raises(ValueError, match="Valid names"):
        plot.activations(["sigmoid", "nope"])
    with pytest.raises(ValueError, match="softmax maps a whole vector"):
        plot.activations(["softmax"])
    with pytest.raises(ValueError, match="at least one"):
        plot.activations([])


def test_neuron_heat_map_and_boundary(tmp_path):
    node = gn.Neuron([0.5, 0.5], -0.7, activation="step")
    fig = plot.neuron(node, x1_range=(-0.5, 1.5), x2_range=(-0.5, 1.5),
                      points=[(0, 0), (1, 0), (0, 1), (1, 1)], path=tmp_path / "n.png")
    ax = fig.axes[0]
    image = ax.get_images()[0].get_array()
    assert set(np.unique(image)) == {0.0, 1.0}
    assert "step" in ax.get_title()
    assert [t.get_text() for t in ax.texts] == ["0", "0", "0", "1"]
    assert_real_png(tmp_path / "n.png")


def test_neuron_needs_two_inputs():
    with pytest.raises(ValueError, match="this node has 3 inputs"):
        plot.neuron(gn.Neuron([1.0, 2.0, 3.0], 0.0))
    with pytest.raises(TypeError, match="glassnet.Neuron"):
        plot.neuron("node")


def test_import_glassnet_loads_only_numpy():
    heavy = ["matplotlib", "PIL", "safetensors", "tqdm", "threadpoolctl", "urllib.request"]
    code = f"import sys, glassnet; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def glassnet_command():
    exe = shutil.which("glassnet")
    return [exe] if exe else [sys.executable, "-m", "glassnet"]


def run_cli(*args, cwd):
    return subprocess.run(glassnet_command() + list(args), capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, "MPLBACKEND": "Agg"})


def test_cli_plot_activations_default(tmp_path):
    result = run_cli("plot", "activations", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "wrote activations.png" in result.stdout
    assert_real_png(tmp_path / "activations.png")


def test_cli_plot_activations_options(tmp_path):
    out = tmp_path / "sub" / "act.png"
    result = run_cli("plot", "activations", "--names", "sigmoid,tanh,relu", "--derivatives",
                     "--out", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    pixels = assert_real_png(out)
    assert pixels.shape[1] == 1200


def test_cli_plot_neuron(tmp_path):
    result = run_cli("plot", "neuron", "--weights", "0.8,-0.6", "--bias", "0.2",
                     "--activation", "sigmoid", "--range=-3,3", "--out", "n.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert_real_png(tmp_path / "n.png")


def test_cli_errors_are_clear(tmp_path):
    result = run_cli("plot", "activations", "--names", "sigmoid,reluu", cwd=tmp_path)
    assert result.returncode == 2
    assert "Unknown activation 'reluu'" in result.stderr and "tanh" in result.stderr
    assert not (tmp_path / "activations.png").exists()
    result = run_cli("plot", "neuron", "--weights", "a,b", cwd=tmp_path)
    assert result.returncode == 2 and "comma-separated numbers" in result.stderr


def test_cli_help_and_version(tmp_path):
    for args in (["--help"], ["plot", "--help"], ["plot", "activations", "--help"]):
        result = run_cli(*args, cwd=tmp_path)
        assert result.returncode == 0 and "usage: glassnet" in result.stdout
    result = run_cli("--version", cwd=tmp_path)
    assert result.stdout.strip() == f"glassnet {gn.__version__}"


def test_gradient_through_time_and_hidden_states_pictures(tmp_path):
    from glassnet import keras

    x = np.random.default_rng(0).integers(1, 50, (16, 12))
    y = np.random.default_rng(1).integers(0, 2, (16, 1))
    runs = {}
    for kind in ("SimpleRNN", "LSTM"):
        gn.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((12,), dtype="int32"),
                                  keras.layers.Embedding(50, 4),
                                  getattr(keras.layers, kind)(5),
                                  keras.layers.Dense(1, activation="sigmoid")])
        model.compile("sgd", "binary_crossentropy")
        runs[kind] = gn.inspect.gradient_through_time(model, x, y)
    fig = plot.gradient_through_time(runs, path=tmp_path / "gtt.png")
    assert_real_png(tmp_path / "gtt.png", min_height=300)
    lines = curves(fig.axes[0])
    assert [line.get_label() for line in lines] == ["SimpleRNN", "LSTM"]
    np.testing.assert_allclose(lines[1].get_ydata(), runs["LSTM"]["relative"])
    assert lines[0].get_ydata()[-1] == 1.0
    states = gn.inspect.hidden_states(model, x[:1])[0]
    fig = plot.hidden_states(states, tokens=list(x[0]), path=tmp_path / "h.png")
    assert_real_png(tmp_path / "h.png", min_height=150)
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), states.T)
    with pytest.raises(ValueError, match="12 tokens for 3 steps"):
        plot.hidden_states(states[:3], tokens=list(x[0]))
    with pytest.raises(ValueError, match="must be what inspect.gradient_through_time"):
        plot.gradient_through_time({"x": [1, 2]})


def test_cli_plot_writes_the_format_its_name_asks_for_or_refuses_it(tmp_path):
    result = run_cli("plot", "activations", "--out", "a.svg", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "a.svg").read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text  # not PNG bytes
    result = run_cli("plot", "activations", "--out", "a.pdf", cwd=tmp_path)
    assert result.returncode == 0 and (tmp_path / "a.pdf").read_bytes().startswith(b"%PDF")
    result = run_cli("plot", "activations", "--out", "a.gif", cwd=tmp_path)
    assert result.returncode == 2 and not (tmp_path / "a.gif").exists()
    assert "asks for .gif" in result.stderr and ".svg" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("top", ["0", "-1", "two"])
def test_cli_predict_top_must_be_one_or_more(tmp_path, top):
    result = run_cli("predict", "model.safetensors", "x.png", "--top", top, cwd=tmp_path)
    assert result.returncode == 2
    assert "--top" in result.stderr and ("1 or more" in result.stderr or "whole number" in
                                          result.stderr)
