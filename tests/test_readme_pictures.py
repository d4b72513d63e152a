"""examples/readme_pictures.py regenerates the README's pictures: it runs, and
the sigmoid net's gradients really do vanish while relu's do not."""

import pathlib
import runpy

import pytest
from PIL import Image

from test_plot_cli import assert_real_png

SCRIPT = pathlib.Path(__file__).parent.parent / "examples" / "readme_pictures.py"


def test_readme_pictures_script(tmp_path, fashion_mnist, capsys, monkeypatch):
    import glassnet as gn

    recorded = {}
    original = gn.plot.gradient_flow

    def keep(recorders, **kwargs):
        recorded.update(recorders)
        return original(recorders, **kwargs)

    monkeypatch.setattr(gn.plot, "gradient_flow", keep)
    script = runpy.run_path(str(SCRIPT))
    script["main"](str(tmp_path))
    assert_real_png(tmp_path / "gradient_flow.png")
    assert_real_png(tmp_path / "decision_boundary.png")
    with Image.open(tmp_path / "plot_model.png") as drawn:  # the graph, one box per layer
        assert drawn.width > 600 and drawn.height > 1000
    last = {name: list(r.epochs[-1]["gradient_norm"].values()) for name, r in recorded.items()}
    assert last["sigmoid"][-1] / last["sigmoid"][0] > 100      # measured 325
    assert 0.1 < last["relu"][-1] / last["relu"][0] < 10       # measured 0.47
    out = capsys.readouterr().out
    assert "sigmoid: training accuracy 0.1" in out             # stuck at chance (0.101)
    relu_accuracy = float(out.split("relu: training accuracy ")[1].split()[0])
    assert relu_accuracy > 0.75, out                           # measured 0.804
    assert_real_png(tmp_path / "gradient_through_time.png", min_height=300)
    assert_real_png(tmp_path / "hidden_states.png", min_height=300)
    start = {kind: float(out.split(f"{kind}: gradient at step 1 relative to step 32 ")[1].split()[0])
             for kind in ("SimpleRNN", "LSTM", "GRU")}
    assert start["SimpleRNN"] > 0.5, out                       # measured 0.9: it carries
    assert start["LSTM"] < 0.05 and start["GRU"] < 0.05, out   # measured 0.014, 0.017
    assert_real_png(tmp_path / "tape_gan.png", min_height=300)
    assert float(out.split("GAN step: generator gradient norm ")[1].split()[0]) > 0


def test_committed_pictures_exist():
    images = SCRIPT.parent.parent / "docs" / "images"
    for name in ("gradient_flow.png", "decision_boundary.png", "tape_gan.png"):
        assert_real_png(images / name)
    with Image.open(images / "plot_model.png") as drawn:  # plot_model's own size: 80 dpi
        drawn.verify()
    with Image.open(images / "plot_model.png") as drawn:
        assert drawn.width > 600 and drawn.height > 1000
