"""keras.utils.plot_model: the model's graph drawn with matplotlib (no Graphviz)."""

import numpy as np
import pytest
from PIL import Image

from glassnet import keras
from glassnet.keras import layers
from glassnet.plot import _graph_boxes


def branched():
    a, b = keras.Input((4,), name="pa"), keras.Input((3,), name="pb")
    h = layers.Concatenate(name="pjoin")([layers.Dense(5, name="pd")(a), b])
    return keras.Model([a, b], [layers.Dense(2, activation="softmax", name="pcls")(h),
                                layers.Dense(1, name="preg")(h)])


def test_plot_model_writes_the_graph_and_returns_an_image(tmp_path):
    model = branched()
    path = tmp_path / "model.png"
    shown = keras.utils.plot_model(model, to_file=path, show_shapes=True, show_layer_names=True,
                                   show_layer_activations=True, show_trainable=True, dpi=100)
    assert type(shown).__name__ == "Image" and shown.filename == str(path)  # IPython's
    with Image.open(path) as picture:
        width, height = picture.size
        pixels = np.asarray(picture.convert("L"))
    assert 300 < width < 3000 and 300 < height < 3000
    assert (pixels < 128).mean() > 0.005  # text and arrows, not an empty page
    boxes, edges, rank = _graph_boxes(model, True, False, True, True, True)
    by_name = {layer.name: depth for layer, depth in rank.items()}
    # inputs just above their first reader, the merge below both branches, the heads last
    assert by_name == {"pa": 0, "pd": 1, "pb": 1, "pjoin": 2, "pcls": 3, "preg": 3}
    assert len(edges) == 5
    assert boxes[model.get_layer("pcls")] == ["pcls (Dense)", "activation: softmax",
                                              "input: (None, 8)", "output: (None, 2)",
                                              "trainable: Y"]


def test_plot_model_sequential_left_to_right_and_errors(tmp_path):
    seq = keras.Sequential([keras.Input((8,)), layers.Dense(4), layers.Dense(2)])
    keras.utils.plot_model(seq, to_file=tmp_path / "seq.png", rankdir="LR", dpi=50)
    with Image.open(tmp_path / "seq.png") as picture:
        width, height = picture.size
    assert width > 2 * height  # drawn left to right
    with pytest.raises(ValueError, match="rankdir must be 'TB' or 'LR'"):
        keras.utils.plot_model(seq, to_file=tmp_path / "x.png", rankdir="BT")
    old = tmp_path / "keep.png"
    old.write_bytes(b"old picture")
    with pytest.raises(ValueError):
        keras.utils.plot_model(seq, to_file=tmp_path / "keep.xyz")  # not a picture format
    assert old.read_bytes() == b"old picture" and not list(tmp_path.glob("*.partial"))
    with pytest.raises(ValueError, match="built model"):
        keras.utils.plot_model(keras.Sequential([layers.Dense(2)]))


@pytest.mark.parametrize("rankdir", ["TB", "LR"])
def test_skip_connections_go_round_the_boxes(rankdir):
    """A residual edge (and an input merged late) would run straight through
    the boxes between; it is drawn in a lane beside them instead."""
    from matplotlib.patches import FancyBboxPatch

    from glassnet import plot

    inputs = keras.Input((6,), name="rx")
    side = keras.Input((2,), name="rside")
    d1 = layers.Dense(6, name="rd1")(inputs)
    h = layers.Dense(6, name="rd2")(d1)
    h = layers.Add(name="radd")([inputs, h])
    h = layers.Concatenate(name="rcat")([layers.Dense(3, name="rd3")(h), side, d1])
    model = keras.Model([inputs, side], layers.Dense(1, name="rout")(h))
    figure = plot.model_graph(model, rankdir=rankdir)
    ax = figure.axes[0]
    boxes = [p.get_bbox() for p in ax.patches if isinstance(p, FancyBboxPatch)]
    assert len(boxes) == 8
    routed = ax.lines  # straight edges are arrows; routed ones are polylines
    assert len(routed) == 2  # rx -> radd past rd1 and rd2; rd1 -> rcat past rd2, radd, rd3
    for line in routed:
        xs, ys = line.get_xdata(), line.get_ydata()
        for (x0, y0), (x1, y1) in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
            for t in np.linspace(0.02, 0.98, 25):  # no point of a segment inside a box
                x, y = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
                assert not any(b.x0 + 0.01 < x < b.x1 - 0.01 and b.y0 + 0.01 < y < b.y1 - 0.01
                               for b in boxes), (x, y)
    lanes = {round(float(max(line.get_xdata() if rankdir == "TB" else -line.get_ydata())), 2)
             for line in routed}
    assert len(lanes) == 2  # two lanes, not one line drawn over the other


def test_expand_nested_draws_the_inner_layers_in_place(tmp_path):
    inner = keras.Sequential([keras.Input((4,)), layers.Dense(3, name="n1"),
                              layers.Dense(2, name="n2")], name="block")
    x = keras.Input((4,), name="nx")
    y = layers.Dense(1, name="nout")(layers.Concatenate(name="ncat")([inner(x), x]))
    model = keras.Model(x, y)
    boxes, edges, _ = _graph_boxes(model, False, False, True, False, False)
    assert [b[0] for b in boxes.values()] == ["nx (InputLayer)", "block (Sequential)",
                                              "ncat (Concatenate)", "nout (Dense)"]
    boxes, edges, rank = _graph_boxes(model, True, False, True, False, False,
                                      expand_nested=True)
    names = {layer.name: lines for layer, lines in boxes.items()}
    assert [lines[0] for lines in boxes.values()] == [
        "nx (InputLayer)", "block/n1 (Dense)", "block/n2 (Dense)", "ncat (Concatenate)",
        "nout (Dense)"]
    assert names["n1"][1:] == ["input: (None, 4)", "output: (None, 3)"]
    pairs = {(a.name, b.name) for a, b in edges}
    assert pairs == {("nx", "n1"), ("n1", "n2"), ("n2", "ncat"), ("nx", "ncat"),
                     ("ncat", "nout")}
    assert {layer.name: depth for layer, depth in rank.items()} == {
        "nx": 0, "n1": 1, "n2": 2, "ncat": 3, "nout": 4}
    shown = keras.utils.plot_model(model, to_file=tmp_path / "nested.png", expand_nested=True,
                                   show_layer_names=True, dpi=60)
    assert shown.filename == str(tmp_path / "nested.png")
