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
               "softmax", "log_softmax", "step"]


def run_both(model, x, tmp_path, name="m", rtol=1e-5, atol=1e-5):
    path = tmp_path / f"{name}.onnx"
    model.export(str(path), format="onnx", verbose=False)
    onnx.checker.check_model(onnx.load(str(path)))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed_name = session.get_inputs()[0].name
    for n in (1, 37):
        got = session.run(None, {feed_name: x[:n]})
        want = model.predict(x[:n], verbose=0)
        want = want if isinstance(want, list) else [want]
        assert len(got) == len(want)
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
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
    # TextVectorization runs before a glassnet model (strings never enter one); asked
    # to convert it, the exporter says why not and what to export instead
    from glassnet.saving import onnx_export

    vectorizer = L.TextVectorization(max_tokens=20, output_sequence_length=4)
    with pytest.raises(NotImplementedError, match=r"\(TextVectorization\).*regular expressions"
                                                  r".*get_vocabulary"):
        onnx_export._apply(None, vectorizer, ["x"], [(None,)],
                           "layer 'v' (TextVectorization)", [None], [None])
    stateful = keras.Sequential([keras.Input((4, 2), batch_size=3), L.GRU(2, stateful=True)])
    with pytest.raises(NotImplementedError, match=r"\(GRU\) with stateful=True"):
        stateful.export(str(tmp_path / "s.onnx"), verbose=False)
    assert not (tmp_path / "x.onnx").exists() and not (tmp_path / "s.onnx").exists()
    dense = keras.Sequential([keras.Input((3,)), L.Dense(2)])
    with pytest.raises(NotImplementedError, match="format 'tf_saved_model' is not implemented"):
        dense.export(str(tmp_path / "saved"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        dense.export(str(tmp_path / "missing" / "m.onnx"), verbose=False)
    unbuilt = keras.Sequential([L.Dense(2)])
    with pytest.raises(ValueError, match="is not built"):
        unbuilt.export(str(tmp_path / "u.onnx"), verbose=False)
    assert sorted(os.listdir(tmp_path)) == []


def test_every_layer_class_is_exported():
    """Coverage: every layer glassnet has converts, but TextVectorization (strings,
    refused above with the way round it)."""
    import inspect

    from glassnet.saving import onnx_export

    classes = {type(obj).__name__ if not inspect.isclass(obj) else obj.__name__
               for obj in vars(gn.layers).values()
               if inspect.isclass(obj) and issubclass(obj, gn.layers.Layer)}
    canonical = {getattr(gn.layers, name).__name__ for name in classes}  # aliases: one class
    missing = canonical - set(onnx_export.supported()) - {"Layer", "TextVectorization"}
    assert missing == set()


SEQ = RNG.normal(size=(40, 9, 5)).astype("float32")
CELLS = ["SimpleRNN", "LSTM", "GRU"]
RECURRENT_CASES = [
    ({}, "RNN"), ({"return_sequences": True}, "RNN"),
    ({"go_backwards": True, "return_sequences": True, "use_bias": False}, "RNN"),
    ({"activation": "relu"}, "RNN"),
    ({"activation": "gelu", "recurrent_activation": "hard_sigmoid"}, "Scan"),
    ({"activation": "softsign", "return_sequences": True, "go_backwards": True}, "Scan"),
]


def _op_types(path):
    return {node.op_type for node in onnx.load(str(path)).graph.node}


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("case", range(len(RECURRENT_CASES)))
def test_recurrent_layers_match_in_onnx_op_or_scan(cell, case, tmp_path):
    arguments, form = RECURRENT_CASES[case]
    if cell == "SimpleRNN":
        arguments = {k: v for k, v in arguments.items() if k != "recurrent_activation"}
    gn.utils.set_random_seed(4 + case)
    model = keras.Sequential([keras.Input((9, 5)), getattr(L, cell)(6, **arguments)])
    layer = model.layers[0]
    if layer.use_bias:  # not the zeros it starts with
        layer.bias.assign(RNG.normal(size=layer.bias.shape) * 0.5)
    path = run_both(model, SEQ, tmp_path)
    ops = _op_types(path)
    if form == "RNN":  # ONNX's own operator, no loop
        assert {"SimpleRNN": "RNN", "LSTM": "LSTM", "GRU": "GRU"}[cell] in ops
        assert "Scan" not in ops
    else:              # an activation ONNX's operators lack: the step in a Scan loop
        assert "Scan" in ops and not {"RNN", "LSTM", "GRU"} & ops


def test_returned_states_and_bidirectional_merge_modes(tmp_path):
    gn.utils.set_random_seed(5)
    inp = keras.Input((9, 5))
    out, h, c = L.LSTM(4, return_state=True)(inp)
    run_both(keras.Model(inp, [out, h, c]), SEQ, tmp_path, "states")
    inp = keras.Input((9, 5))
    outs = L.Bidirectional(L.LSTM(3, return_sequences=True, return_state=True),
                           merge_mode=None)(inp)
    assert len(outs) == 6  # forward and backward sequences, then h, c of each
    run_both(keras.Model(inp, outs), SEQ, tmp_path, "bidirectional_states")
    for mode in ("concat", "sum", "mul", "ave"):
        model = keras.Sequential([keras.Input((9, 5)), L.Bidirectional(
            L.GRU(3, return_sequences=mode != "sum"), merge_mode=mode)])
        run_both(model, SEQ, tmp_path, mode)


def _padded_ids():
    ids = RNG.integers(1, 20, (40, 9))
    ids[:, :3] = 0             # pre-padding (pad_sequences' default)
    ids[7, 6:] = 0             # and post-padding
    ids[9, 4] = 0              # a gap inside
    return ids


@pytest.mark.parametrize("cell", CELLS)
def test_masks_carry_the_state_as_in_the_layers(cell, tmp_path):
    """Embedding(mask_zero) → RNN(return_sequences) → Bidirectional RNN → masked
    average: every masked step exported (a Scan loop), and the mask matters."""
    gn.utils.set_random_seed(6)
    ids = _padded_ids()
    layers = [L.Embedding(20, 4, mask_zero=True),
              getattr(L, cell)(6, return_sequences=True),
              L.Bidirectional(getattr(L, cell)(5, return_sequences=True)),
              L.GlobalAveragePooling1D()]
    model = keras.Sequential([keras.Input((9,), dtype="int64")] + layers)
    model.layers[0].embeddings.assign(RNG.normal(size=(20, 4)))
    run_both(model, ids, tmp_path)
    unmasked = keras.Sequential([keras.Input((9,), dtype="int64"), L.Embedding(20, 4)] +
                                [L.deserialize(L.serialize(x)) for x in layers[1:]])
    unmasked.set_weights(model.get_weights())
    assert np.abs(unmasked.predict(ids, verbose=0) - model.predict(ids, verbose=0)).max() > 0.01
    # a float input of token ids, a last state after masked steps, and Masking
    last = keras.Sequential([keras.Input((9,)), L.Embedding(20, 4, mask_zero=True),
                             getattr(L, cell)(3)])
    run_both(last, ids.astype("float32"), tmp_path, "last")
    x = SEQ.copy()
    x[:, :2] = 0
    x[3, 5] = 0
    masking = keras.Sequential([keras.Input((9, 5)), L.Masking(0.0),
                                getattr(L, cell)(4, return_sequences=True,
                                                 zero_output_for_mask=True),
                                L.TimeDistributed(L.Dense(3, activation="tanh"))])
    run_both(masking, x, tmp_path, "masking")


def test_sequences_images_and_their_padding(tmp_path):
    gn.utils.set_random_seed(7)
    model = keras.Sequential([
        keras.Input((9, 5)), L.Conv1D(4, 3, padding="causal", activation="relu"),
        L.MaxPooling1D(2, padding="same"), L.Conv1D(6, 2, strides=2, padding="same"),
        L.AveragePooling1D(2, strides=1, padding="same"), L.Conv1D(3, 2),
        L.AveragePooling1D(2), L.TimeDistributed(L.Dense(2)), L.GlobalMaxPooling1D()])
    run_both(model, SEQ, tmp_path, "conv1d")
    images = keras.Sequential([keras.Input((7, 7, 3)), L.ZeroPadding2D(((1, 2), (0, 1))),
                               L.UpSampling2D((2, 3)), L.Conv2D(2, 3, strides=2),
                               L.TimeDistributed(L.Flatten())])
    run_both(images, RNG.normal(size=(40, 7, 7, 3)).astype("float32"), tmp_path, "images")


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
    result = run_cli("train", "--model", "cnn", "--limit", "1000", "--epochs", "1", "--out",
                     str(tmp_path / "cnn"), "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    result = run_cli("export", str(tmp_path / "cnn" / "model.safetensors"),
                     str(tmp_path / "lesson_cnn.onnx"), "--check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout.split("= ")[1].split(";")[0]) < 1e-5
    assert "Conv" in {n.op_type for n in onnx.load(str(tmp_path / "lesson_cnn.onnx")).graph.node}
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



def test_a_read_only_folder_or_a_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    gn.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), L.Dense(2)])
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        # root writes into any folder: then /proc, where no file can be made, stands in
        folder = locked if not os.access(locked, os.W_OK) else "/proc"
        with pytest.raises(OSError, match=rf"Cannot write .*{os.path.basename(folder)}"
                                          rf".*m\.onnx.*writable"):
            model.export(os.path.join(folder, "m.onnx"), verbose=False)
        assert not [name for name in os.listdir(folder) if "m.onnx" in name]  # no partial file
    finally:
        locked.chmod(0o755)
    # an old file stays as it was when the new one cannot be written
    path = tmp_path / "old.onnx"
    model.export(str(path), verbose=False)
    before = path.read_bytes()
    wider = keras.Sequential([keras.Input((3,)), L.Dense(4)])

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("glassnet.saving.onnx_export._serialize", fail)
    with pytest.raises(OSError, match="disk full"):
        wider.export(str(path), verbose=False)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["locked", "old.onnx"]


def test_cli_names_a_corrupt_model_file(tmp_path):
    from test_plot_cli import run_cli

    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    result = run_cli("export", str(bad), str(tmp_path / "out.onnx"), cwd=tmp_path)
    assert result.returncode != 0 and "broken.safetensors" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out.onnx").exists()


def test_unknown_image_sizes_export_with_tensorflows_same_padding(tmp_path):
    """Input((None, None, 3)): "same" as ONNX's auto_pad SAME_UPPER (the extra
    zero at the end, as TensorFlow), checked by onnxruntime at two sizes."""
    gn.utils.set_random_seed(5)
    model = keras.Sequential([keras.Input((None, None, 3)),
                              L.Conv2D(4, 3, strides=2, padding="same", activation="relu"),
                              L.MaxPooling2D(padding="same"), L.Conv2D(2, 3, padding="valid"),
                              L.GlobalAveragePooling2D()])
    path = tmp_path / "flexible.onnx"
    model.export(str(path), format="onnx", verbose=False)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    for size in ((13, 11), (16, 20)):
        x = RNG.normal(size=(2,) + size + (3,)).astype("float32")
        np.testing.assert_allclose(session.run(None, {name: x})[0],
                                   model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", range(len(RECURRENT_CASES)))
def test_gru_reset_before_exports_in_onnx_op_or_scan(case, tmp_path):
    """GRU(reset_after=False): ONNX's GRU with linear_before_reset=0, or the
    same step in a Scan loop; onnxruntime gives predict's numbers."""
    arguments, form = RECURRENT_CASES[case]
    gn.utils.set_random_seed(40 + case)
    model = keras.Sequential([keras.Input((9, 5)), L.GRU(6, reset_after=False, **arguments)])
    layer = model.layers[0]
    if layer.use_bias:
        layer.bias.assign(RNG.normal(size=layer.bias.shape) * 0.5)
    path = run_both(model, SEQ, tmp_path)
    nodes = [n for n in onnx.load(str(path)).graph.node if n.op_type == "GRU"]
    if form == "RNN":
        (node,) = nodes
        assert {a.name: a.i for a in node.attribute}.get("linear_before_reset", 0) == 0
    else:
        assert not nodes and "Scan" in _op_types(path)


def test_masked_gru_reset_before_exports_as_a_scan(tmp_path):
    gn.utils.set_random_seed(41)
    model = keras.Sequential([keras.Input((7,), dtype="int64"), L.Embedding(30, 4, mask_zero=True),
                              L.GRU(5, reset_after=False, return_sequences=True)])
    model.layers[-1].bias.assign(RNG.normal(size=(15,)) * 0.5)
    x = RNG.integers(1, 30, size=(40, 7))
    x[::3, 4:] = 0
    run_both(model, x, tmp_path)


def test_a_masked_global_average_is_exported_with_its_mask(tmp_path):
    """GlobalAveragePooling1D after Embedding(mask_zero=True) averages the real
    steps only; its export took the unmasked path (found with attention)."""
    pytest.importorskip("onnxruntime")
    import onnxruntime

    gn.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,), dtype="int32"),
                              L.Embedding(20, 4, mask_zero=True), L.GlobalAveragePooling1D(),
                              L.Dense(2)])
    ids = np.array([[3, 4, 5, 0, 0, 0], [1, 2, 3, 4, 5, 6]], dtype="int32")
    path = model.export(str(tmp_path / "m.onnx"), verbose=False)
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    out = session.run(None, {session.get_inputs()[0].name: ids})[0]
    np.testing.assert_allclose(out, model.predict(ids, verbose=0), atol=1e-6)
    table, (kernel, bias) = model.layers[0].get_weights()[0], model.layers[2].get_weights()
    np.testing.assert_allclose(out[0], table[[3, 4, 5]].mean(0) @ kernel + bias, atol=1e-6)
