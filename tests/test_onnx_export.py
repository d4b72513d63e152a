"""ONNX export (issue 13, first part): every exported layer and activation,
in a model, passes onnx.checker and matches predict in onnxruntime for batch
sizes 1 and 37; what is not supported is refused by name."""

import os

import numpy as np
import pytest

import glassnet as gn
from glassnet import keras

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

L = keras.layers
RNG = np.random.default_rng(13)
ACTIVATIONS = ["relu", "sigmoid", "tanh", "softplus", "softsign", "exponential", "elu", "selu",
               "leaky_relu", "relu6", "hard_sigmoid", "silu", "swish", "mish", "gelu", "linear",
               "softmax", "log_softmax"]


def run_both(model, x, tmp_path, name="m", rtol=1e-5, atol=1e-5):
    path = tmp_path / f"{name}.onnx"
    model.export(str(path), format="onnx", verbose=False)
    onnx.checker.check_model(onnx.load(str(path)))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed_name = session.get_inputs()[0].name
    for n in (1, 37):
        got = session.run(None, {feed_name: x[:n]})[0]
        np.testing.assert_allclose(got, model.predict(x[:n], verbose=0), rtol=rtol, atol=atol)
    return path


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation(activation, tmp_path):
    gn.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((6,)), L.Dense(5, activation=activation)])
    run_both(model, RNG.normal(size=(40, 6)).astype("float32") * 2, tmp_path)


def test_the_lesson_mlp_and_cnn_with_every_padding_and_pooling(tmp_path):
    gn.utils.set_random_seed(2)
    mlp = keras.Sequential([keras.Input((28, 28)), L.Rescaling(1 / 255), L.Flatten(),
                            L.Dense(64, activation="relu"), L.Dropout(0.2),
                            L.Dense(10, activation="softmax")])
    mlp.metadata = {"class_names": ["a"] * 10, "dataset": "fashion-mnist"}
    path = run_both(mlp, RNG.integers(0, 255, (40, 28, 28)).astype("float32"), tmp_path, "mlp")
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert props["class_names"].startswith('["a"') and props["dataset"] == '"fashion-mnist"'
    graph = onnx.load(str(path)).graph
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert onnx.load(str(path)).opset_import[0].version == 17
    cnn = keras.Sequential([keras.Input((27, 27, 2)),
                            L.Conv2D(8, 3, activation="relu", padding="same", strides=2),
                            L.BatchNormalization(), L.MaxPooling2D(padding="same"),
                            L.Conv2D(4, (3, 2), strides=(1, 2)), L.ReLU(max_value=6),
                            L.AveragePooling2D(padding="same"), L.MaxPooling2D(2, strides=1),
                            L.GlobalAveragePooling2D(keepdims=True), L.Flatten(),
                            L.Dense(10), L.Softmax()])
    bn = cnn.layers[1]
    bn.moving_mean.assign(RNG.normal(size=8))
    bn.moving_variance.assign(RNG.random(8) + 0.5)
    run_both(cnn, RNG.random((40, 27, 27, 2)).astype("float32"), tmp_path, "cnn")


def test_functional_merges_and_normalization(tmp_path):
    gn.utils.set_random_seed(3)
    a, b = keras.Input((8,), name="a"), keras.Input((8,), name="b")
    h = L.Dense(8, activation="elu")(a)
    merged = [L.Add()([h, a]), L.Subtract()([h, a]), L.Multiply()([h, a]),
              L.Maximum()([h, a, b]), L.Minimum()([h, a]), L.Average()([h, a])]
    out = L.LayerNormalization()(L.Concatenate()(merged))
    out = L.Reshape((6, 8))(L.LeakyReLU(0.1)(out))
    model = keras.Model([a, b], L.GlobalMaxPooling1D()(out))
    path = tmp_path / "f.onnx"
    model.export(str(path), verbose=False)  # the name says onnx
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    xa, xb = RNG.normal(size=(37, 8)).astype("float32"), RNG.normal(size=(37, 8)).astype("float32")
    got = session.run(None, {"a": xa, "b": xb})[0]
    np.testing.assert_allclose(got, model.predict([xa, xb], verbose=0), atol=1e-5)


def test_what_is_not_exported_is_refused_by_name(tmp_path):
    model = keras.Sequential([keras.Input((5,), dtype="int32"), L.Embedding(9, 3),
                              L.LSTM(2)])
    with pytest.raises(NotImplementedError, match=r"layer 'embedding.*' \(Embedding\).*exports"):
        model.export(str(tmp_path / "x.onnx"), verbose=False)
    assert not (tmp_path / "x.onnx").exists()
    dense = keras.Sequential([keras.Input((3,)), L.Dense(2)])
    with pytest.raises(NotImplementedError, match="format 'tf_saved_model' is not implemented"):
        dense.export(str(tmp_path / "saved"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        dense.export(str(tmp_path / "missing" / "m.onnx"), verbose=False)
    unbuilt = keras.Sequential([L.Dense(2)])
    with pytest.raises(ValueError, match="is not built"):
        unbuilt.export(str(tmp_path / "u.onnx"), verbose=False)
    assert sorted(os.listdir(tmp_path)) == []


def test_cli_export_and_check_a_glassnet_run_and_a_keras_file(tmp_path, fashion_mnist):
    from test_plot_cli import run_cli

    result = run_cli("train", "--limit", "2000", "--epochs", "1", "--out", str(tmp_path / "run"),
                     "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    result = run_cli("export", str(tmp_path / "run" / "model.safetensors"),
                     str(tmp_path / "mlp.onnx"), "--check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    difference = float(result.stdout.split("max |onnxruntime - predict| = ")[1].split(";")[0])
    assert difference < 1e-5 and "1,000 test samples of fashion-mnist" in result.stdout
    keras_file = os.path.join(os.path.dirname(__file__), "data", "keras", "fashion",
                              "best-cnn-model.keras")
    result = run_cli("export", keras_file, str(tmp_path / "cnn.onnx"), "--check", "--dataset",
                     "fashion-mnist", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout.split("= ")[1].split(";")[0]) < 1e-5


def test_check_without_onnxruntime_says_how_to_install(tmp_path, monkeypatch):
    import sys

    from glassnet import recipes

    gn.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), L.Dense(2)])
    model.save(str(tmp_path / "m.safetensors"))
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(ImportError, match="pip install onnxruntime"):
        recipes.export(str(tmp_path / "m.safetensors"), str(tmp_path / "m.onnx"), check=True,
                       log=lambda *a: None)
