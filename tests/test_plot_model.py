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
    with pytest.raises(NotImplementedError, match="expand_nested"):
        keras.utils.plot_model(seq, expand_nested=True)
    with pytest.raises(ValueError, match="rankdir must be 'TB' or 'LR'"):
        keras.utils.plot_model(seq, to_file=tmp_path / "x.png", rankdir="BT")
    old = tmp_path / "keep.png"
    old.write_bytes(b"old picture")
    with pytest.raises(ValueError):
        keras.utils.plot_model(seq, to_file=tmp_path / "keep.xyz")  # not a picture format
    assert old.read_bytes() == b"old picture" and not list(tmp_path.glob("*.partial"))
    with pytest.raises(ValueError, match="built model"):
        keras.utils.plot_model(keras.Sequential([layers.Dense(2)]))
