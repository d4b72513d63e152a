"""Keras's files: `.keras`, legacy `.h5` and `.weights.h5`, read and written.

The files under tests/data/keras/<version>/ were written by real Keras 3.3.3,
3.8.0 and 3.15.1 and by tf.keras 2.15 (tests/data/keras/make_fixtures.py), each
with the inputs and the outputs Keras gave. These tests need no Keras; the
ones at the end that run real Keras on glassnet's files skip without it.
"""

import glob
import io
import json
import os
import pathlib
import warnings
import zipfile

import h5py
import numpy as np
import pytest

import glassnet as gn
from glassnet import keras
from glassnet.saving import FileFormatError

DATA = os.path.join(os.path.dirname(__file__), "data", "keras")
VERSIONS = sorted(os.path.basename(os.path.dirname(p))
                  for p in glob.glob(os.path.join(DATA, "*", "README.json")))
MODELS = ("mlp", "cnn", "cnn_train", "two_io", "residual")
CONTINUED = ("cnn_train", "two_io", "residual")


def fixture(version, model):
    base = os.path.join(DATA, version, model)
    data = np.load(base + ".npz")
    xs = [data[k] for k in sorted(data) if k.startswith("x")]
    preds = [data[k] for k in sorted(data) if k.startswith("pred")]
    return base, data, (xs if len(xs) > 1 else xs[0]), preds


def outputs(model, x):
    out = model.predict(x, verbose=0)
    return out if isinstance(out, list) else [out]


def read_member(path, name):
    with zipfile.ZipFile(path) as archive:
        return archive.read(name)


def saved_layer_names(base):
    config = json.loads(read_member(base + ".keras", "config.json"))
    return [layer["config"]["name"] for layer in config["config"]["layers"]
            if layer["class_name"] != "InputLayer"]


def test_the_corpus_covers_five_keras_versions():
    assert {"3.3.3", "3.8.0", "3.15.1", "tf-keras-2.13.1", "tf-keras-2.15.0"} <= set(VERSIONS)
    for version in VERSIONS:
        for model in MODELS:
            for extension in (".keras", ".h5", ".weights.h5", ".npz"):
                assert os.path.isfile(os.path.join(DATA, version, model + extension))


# ------------------------------------------------------------ reading Keras's files
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("model_name", MODELS)
@pytest.mark.parametrize("extension", [".keras", ".h5"])
def test_load_model_predicts_what_keras_predicted(version, model_name, extension):
    base, _, x, preds = fixture(version, model_name)
    model = keras.models.load_model(base + extension)
    got = outputs(model, x)
    assert len(got) == len(preds)
    for mine, theirs in zip(got, preds):
        assert mine.shape == theirs.shape
        np.testing.assert_allclose(mine, theirs, atol=1e-5, rtol=0)
    names = [layer.name for layer in model.layers if type(layer).__name__ != "InputLayer"]
    assert names == saved_layer_names(base)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("extension", [".keras", ".h5"])
def test_load_model_keeps_the_compile_state(version, extension):
    base, _, x, preds = fixture(version, "mlp")
    model = keras.models.load_model(base + extension)
    assert model.compiled
    assert type(model.optimizer).__name__ == "Adam"
    assert model.optimizer.iterations == 3  # 48 samples, batch 16, one epoch
    assert abs(float(model.optimizer.learning_rate) - 1e-3) < 1e-9
    logs = model.evaluate(x, preds[0].argmax(axis=1), verbose=0, return_dict=True)
    assert sorted(logs) == ["accuracy", "loss"] and logs["accuracy"] == 1.0
    # Adam's moments came back: not the zeros of a fresh optimizer
    assert np.abs(model.optimizer._state["m"]).max() > 0
    assert np.abs(model.optimizer._state["v"]).max() > 0
    two = keras.models.load_model(fixture(version, "two_io")[0] + extension)
    assert type(two.optimizer).__name__ == "SGD" and two.optimizer.momentum == 0.9
    assert two.output_names == ["cls", "reg"]
    uncompiled = keras.models.load_model(base + extension, compile=False)
    assert not uncompiled.compiled


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("model_name", CONTINUED)
@pytest.mark.parametrize("extension", [".keras", ".h5"])
def test_fit_continues_where_keras_stopped(version, model_name, extension):
    """Keras trained one epoch and saved; glassnet trains the second. Its
    weights are those Keras's own second epoch gave."""
    base, data, _, _ = fixture(version, model_name)
    model = keras.models.load_model(base + extension)
    tx = [data[k] for k in sorted(data) if k.startswith("train_x")]
    ty = [data[k] for k in sorted(data) if k.startswith("train_y")]
    y = {"cls": ty[0], "reg": ty[1]} if len(ty) > 1 else ty[0]
    model.fit(tx if len(tx) > 1 else tx[0], y, epochs=1, batch_size=16, shuffle=False,
              verbose=0)
    weights = model.get_weights()
    expected = [data[f"after2_{i}"] for i in range(len(weights))]
    for mine, theirs in zip(weights, expected):
        np.testing.assert_allclose(mine, theirs, atol=1e-4, rtol=0)
    assert model.optimizer.iterations == 6


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("model_name", MODELS)
def test_load_weights_reads_keras_weights_files(version, model_name):
    base, _, x, preds = fixture(version, model_name)
    model = keras.models.clone_model(keras.models.load_model(base + ".keras", compile=False))
    assert not np.allclose(outputs(model, x)[0], preds[0], atol=1e-3)
    model.load_weights(base + ".weights.h5")
    for mine, theirs in zip(outputs(model, x), preds):
        np.testing.assert_allclose(mine, theirs, atol=1e-5, rtol=0)
    legacy = keras.models.clone_model(model)
    legacy.load_weights(base + ".h5")  # a full legacy model file holds the weights too
    np.testing.assert_allclose(outputs(legacy, x)[0], preds[0], atol=1e-5, rtol=0)


# ------------------------------------------------------------ glassnet's own round trips
def two_branch_model():
    gn.utils.set_random_seed(5)
    a, b = keras.Input((6,), name="a"), keras.Input((3, 3, 1), name="b")
    inner = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(8, activation="relu")], name="inner")
    h1 = inner(a)  # a Sequential nested in the functional model
    h2 = keras.layers.Flatten()(keras.layers.BatchNormalization()(
        keras.layers.Conv2D(2, 2, activation="relu")(b)))
    h = keras.layers.Concatenate()([h1, h2])
    out1 = keras.layers.Dense(3, activation="softmax", name="cls")(h)
    out2 = keras.layers.Dense(1, name="reg")(keras.layers.Dropout(0.2)(h))
    model = keras.Model([a, b], [out1, out2])
    model.compile(optimizer=keras.optimizers.Adam(0.01, amsgrad=True),
                  loss=["sparse_categorical_crossentropy", "mse"], loss_weights=[1.0, 0.3],
                  metrics=[["accuracy"], ["mae"]])
    rng = np.random.default_rng(0)
    x = [rng.normal(size=(40, 6)).astype("float32"),
         rng.normal(size=(40, 3, 3, 1)).astype("float32")]
    y = [rng.integers(0, 3, 40), rng.normal(size=(40, 1)).astype("float32")]
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    return model, x, y


@pytest.mark.parametrize("name", ["m.keras", "m.h5", "m.safetensors"])
def test_glassnet_round_trip_keeps_everything(tmp_path, name):
    model, x, y = two_branch_model()
    path = tmp_path / name
    model.save(path)
    loaded = keras.models.load_model(path)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    for mine, theirs in zip(outputs(loaded, x), outputs(model, x)):
        np.testing.assert_allclose(mine, theirs, atol=1e-6, rtol=0)
    assert loaded.optimizer.iterations == model.optimizer.iterations == 10
    assert loaded.optimizer.amsgrad
    for slot in ("m", "v", "v_hat"):
        np.testing.assert_array_equal(loaded.optimizer._state[slot], model.optimizer._state[slot])
    gn.utils.set_random_seed(7)  # the same Dropout masks for both
    model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    gn.utils.set_random_seed(7)
    loaded.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for mine, theirs in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_allclose(mine, theirs, atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", ["w.weights.h5", "w.h5", "w.safetensors"])
def test_save_weights_round_trip(tmp_path, name):
    model, x, _ = two_branch_model()
    model.save_weights(tmp_path / name)
    other = keras.models.clone_model(model)
    other.load_weights(tmp_path / name)
    for mine, theirs in zip(outputs(other, x), outputs(model, x)):
        np.testing.assert_allclose(mine, theirs, atol=1e-6, rtol=0)


def test_the_keras_zip_has_keras_layout(tmp_path):
    model, *_ = two_branch_model()
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        names = archive.namelist()
        config = json.loads(archive.read("config.json"))
        metadata = json.loads(archive.read("metadata.json"))
        weights = archive.read("model.weights.h5")
    assert sorted(names) == ["config.json", "metadata.json", "model.weights.h5"]
    assert config["class_name"] in ("Model", "Functional") and config["module"] == "keras"
    dense = next(c for c in config["config"]["layers"] if c["class_name"] == "Dense")
    assert dense["module"] == "keras.layers" and dense["registered_name"] is None
    assert dense["config"]["kernel_initializer"]["module"] == "keras.initializers"
    assert config["compile_config"]["optimizer"]["class_name"] == "Adam"
    assert metadata["keras_version"].startswith("3.")
    with h5py.File(io.BytesIO(weights)) as f:
        assert f["layers/sequential/layers/dense/vars/0"].shape == (6, 8)  # the nested model
        assert f["layers/batch_normalization/vars"].attrs["name"].startswith(
            "batch_normalization")
        assert len(f["layers/batch_normalization/vars"]) == 4  # gamma, beta, mean, variance
        assert int(f["optimizer/vars/0"][()]) == 10  # the step count
        # iteration, learning rate, then m and v of each trainable weight, then v_hat
        trainable = len(model.trainable_weights)
        assert len(f["optimizer/vars"]) == 2 + 3 * trainable


def test_save_picks_the_format_by_extension(tmp_path):
    model, *_ = two_branch_model()
    with pytest.raises(ValueError, match=r"\.keras, \.h5, \.safetensors"):
        model.save(tmp_path / "m.pkl")
    with pytest.raises(ValueError, match=r"\.weights\.h5, \.h5, \.safetensors"):
        model.save_weights(tmp_path / "w.bin")
    with pytest.raises(ValueError, match="save_weights"):
        model.save(tmp_path / "m.weights.h5")
    model.save(tmp_path / "m.keras")
    model.save(tmp_path / "m.h5")
    assert pathlib.Path(tmp_path / "m.keras").read_bytes()[:4] == b"PK\x03\x04"
    assert pathlib.Path(tmp_path / "m.h5").read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"
    with pytest.raises(FileExistsError):
        model.save(tmp_path / "m.keras", overwrite=False)


# ------------------------------------------------------------ bad input and safety
def rewrite_config(source, target, change):
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    change(config)
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return target


def mlp_path():
    return os.path.join(DATA, "3.15.1", "mlp.keras")


def test_a_lambda_layer_is_refused_by_name(tmp_path):
    def add_lambda(config):
        config["config"]["layers"].insert(2, {
            "module": "keras.layers", "class_name": "Lambda", "registered_name": None,
            "config": {"name": "sneaky", "function": {"class_name": "__lambda__", "config": {
                "code": "import os; os.system('echo pwned')"}}}})
    path = rewrite_config(mlp_path(), tmp_path / "lambda.keras", add_lambda)
    with pytest.raises(ValueError, match=r"'sneaky' \(Lambda\).*never runs code"):
        keras.models.load_model(path)
    # safe_mode=False is refused too, and the message names the Lambda layer it found
    with pytest.raises(ValueError, match=r"safe_mode=False is refused.*'sneaky' \(Lambda\)"):
        keras.models.load_model(path, safe_mode=False)


@pytest.mark.parametrize("change, message", [
    (lambda c: c["config"]["layers"][1].update(module="evil.layers"), "not Keras's"),
    (lambda c: c["config"]["layers"][1].update(registered_name="my_pkg>Dense"),
     "custom object"),
    (lambda c: c["config"]["layers"][1].update(class_name="MyDense"), r"\(MyDense\).*no layer"),
    (lambda c: c.update(class_name="MyModel", registered_name="my>MyModel"), "custom object"),
    (lambda c: c["config"]["layers"][1]["config"]["kernel_initializer"].update(
        module="os", class_name="system"), "not Keras's"),
    (lambda c: c["config"]["layers"][1]["config"].update(units="many"), "dense"),
])
def test_custom_or_foreign_objects_are_refused(tmp_path, change, message):
    path = rewrite_config(mlp_path(), tmp_path / "bad.keras", change)
    with pytest.raises(ValueError, match=message):
        keras.models.load_model(path)


def test_safe_mode_false_is_refused():
    with pytest.raises(ValueError, match="safe_mode=False"):
        keras.models.load_model(mlp_path(), safe_mode=False)


@pytest.mark.parametrize("member", ["../evil.json", "/etc/passwd", "assets/../../x",
                                    "model.weights.h5.bak"])
def test_unexpected_zip_members_are_refused(tmp_path, member):
    path = tmp_path / "traversal.keras"
    with zipfile.ZipFile(mlp_path()) as source, zipfile.ZipFile(path, "w") as target:
        for name in source.namelist():
            target.writestr(name, source.read(name))
        target.writestr(member, b"{}")
    with pytest.raises(ValueError, match="zip member"):
        keras.models.load_model(path)
    assert not os.path.exists(tmp_path / "evil.json")


def test_a_member_larger_than_its_cap_is_refused(tmp_path, monkeypatch):
    from glassnet import saving

    monkeypatch.setitem(saving._LIMITS, "config.json", 10_000)
    path = rewrite_config(mlp_path(), tmp_path / "bomb.keras",
                          lambda c: c.update(padding="0" * 1_000_000))
    with zipfile.ZipFile(path) as archive:  # a megabyte that deflates to a few kilobytes
        assert archive.getinfo("config.json").compress_size < 10_000
    with pytest.raises(ValueError, match="config.json.*10000"):
        keras.models.load_model(path)


def test_hdf5_external_links_and_virtual_datasets_are_refused(tmp_path):
    model = keras.models.load_model(mlp_path(), compile=False)
    secret = tmp_path / "secret.h5"
    with h5py.File(secret, "w") as f:
        f["data"] = np.zeros((8, 16), "float32")
    linked = tmp_path / "linked.weights.h5"
    model.save_weights(linked)
    with h5py.File(linked, "a") as f:
        del f["layers/dense/vars/0"]
        f["layers/dense/vars/0"] = h5py.ExternalLink(str(secret), "data")
    with pytest.raises(ValueError, match="external link"):
        model.load_weights(linked)
    virtual = tmp_path / "virtual.weights.h5"
    model.save_weights(virtual)
    with h5py.File(virtual, "a") as f:
        del f["layers/dense/vars/0"]
        layout = h5py.VirtualLayout(shape=(8, 16), dtype="float32")
        layout[:] = h5py.VirtualSource(str(secret), "data", shape=(8, 16))
        f.create_virtual_dataset("layers/dense/vars/0", layout)
    with pytest.raises(ValueError, match="virtual dataset"):
        model.load_weights(virtual)


@pytest.mark.parametrize("extension", [".keras", ".h5", ".weights.h5"])
def test_truncated_and_corrupt_files_name_the_file(tmp_path, extension):
    source = os.path.join(DATA, "3.15.1", "cnn" + extension)
    data = pathlib.Path(source).read_bytes()
    model = keras.models.load_model(os.path.join(DATA, "3.15.1", "cnn.keras"), compile=False)
    assert issubclass(FileFormatError, ValueError)
    for cut in (10, len(data) // 3, len(data) - 100):
        path = tmp_path / f"cut{cut}{extension}"
        path.write_bytes(data[:cut])
        with pytest.raises(FileFormatError, match=str(path.name)):
            if extension == ".weights.h5":
                model.load_weights(path)
            else:
                keras.models.load_model(path)
    junk = tmp_path / ("junk" + extension)
    junk.write_bytes(b"this is not a model " * 50)
    with pytest.raises(ValueError, match="junk"):
        keras.models.load_model(junk)


def test_weights_of_another_architecture_name_the_layer_and_shapes(tmp_path):
    base = os.path.join(DATA, "3.15.1", "mlp")
    wider = keras.Sequential([keras.Input((8,)), keras.layers.Dense(17, activation="relu"),
                              keras.layers.Dropout(0.3),
                              keras.layers.Dense(3, activation="softmax")])
    before = wider.get_weights()
    for source in (base + ".weights.h5", base + ".h5", base + ".keras"):
        with pytest.raises(ValueError, match=r"layer 'dense\w*' \(Dense\).*\(8, 17\).*\(8, 16\)"):
            wider.load_weights(source)
        for kept, now in zip(before, wider.get_weights()):  # nothing half-loaded
            np.testing.assert_array_equal(kept, now)
    deeper = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16),
                               keras.layers.Dense(16), keras.layers.Dense(3)])
    with pytest.raises(ValueError, match="does not fit"):
        deeper.load_weights(base + ".weights.h5")


@pytest.mark.parametrize("name", ["m.keras", "m.h5", "m.safetensors", "w.weights.h5"])
def test_a_failing_save_leaves_the_old_file(tmp_path, monkeypatch, name):
    model, *_ = two_branch_model()
    path = tmp_path / name
    save = model.save_weights if name.startswith("w") else model.save
    save(path)
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    # fail halfway through writing the temporary file
    target = {"m.keras": "zipfile.ZipFile.writestr",
              "m.h5": "glassnet.saving.keras_weights.write_legacy_weights",
              "m.safetensors": "safetensors.numpy.save_file",
              "w.weights.h5": "glassnet.saving.keras_weights.write_weights"}[name]
    monkeypatch.setattr(target, broken)
    with pytest.raises(OSError, match="disk full"):
        save(path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == [name]


def test_saving_into_a_read_only_folder_names_it(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root can write anywhere")
    model, *_ = two_branch_model()
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(OSError, match="locked"):
            model.save(folder / "m.keras")
    finally:
        folder.chmod(0o700)


def test_saving_into_a_file_that_is_a_folder_names_it(tmp_path):
    model, *_ = two_branch_model()
    (tmp_path / "m.keras").mkdir()
    with pytest.raises(OSError):
        model.save(tmp_path / "m.keras")
    assert sorted(os.listdir(tmp_path)) == ["m.keras"]


# ------------------------------------------------------------ fuzz
def mutations(rng, data, members):
    """A mutated copy of a file: truncation, byte flips, or (for a zip)
    swapped, renamed, dropped or bogus members."""
    kind = rng.integers(0, 6 if members else 3)
    if kind == 0:
        return data[:int(rng.integers(0, len(data)))]
    if kind in (1, 2):
        out = bytearray(data)
        for _ in range(int(rng.integers(1, 20))):
            out[int(rng.integers(0, len(out)))] = int(rng.integers(0, 256))
        return bytes(out)
    names = list(members)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if kind == 3:  # swap the contents of two members
            i, j = rng.choice(len(names), 2, replace=False)
            swapped = dict(members)
            swapped[names[i]], swapped[names[j]] = members[names[j]], members[names[i]]
            for name, value in swapped.items():
                archive.writestr(name, value)
        elif kind == 4:  # rename or drop one
            victim = names[int(rng.integers(0, len(names)))]
            for name, value in members.items():
                if name != victim:
                    archive.writestr(name, value)
                elif rng.random() < 0.5:
                    archive.writestr(name.upper(), value)
        else:  # a bogus config: JSON with values changed at random
            config = json.loads(members["config.json"])

            def scramble(node):
                if isinstance(node, dict):
                    for key in list(node):
                        if rng.random() < 0.08:
                            node[key] = [None, -1, "x", 10 ** 9, [], {}, 0.5, True][
                                int(rng.integers(0, 8))]
                        else:
                            scramble(node[key])
                elif isinstance(node, list):
                    for item in node:
                        scramble(item)
            scramble(config)
            for name, value in members.items():
                archive.writestr(name, json.dumps(config) if name == "config.json" else value)
    return buffer.getvalue()


def test_fuzzed_files_load_or_fail_cleanly(tmp_path):
    rng = np.random.default_rng(2026)
    sources = [os.path.join(DATA, v, m + e) for v in ("3.15.1", "tf-keras-2.15.0")
               for m in ("mlp", "cnn", "two_io") for e in (".keras", ".h5", ".weights.h5")]
    clean = {"mlp": None, "cnn": None, "two_io": None}
    for name in clean:
        clean[name] = keras.models.load_model(os.path.join(DATA, "3.15.1", name + ".keras"),
                                              compile=False)
    outcomes = {"loaded": 0, "ValueError": 0}
    for trial in range(1000):
        source = sources[trial % len(sources)]
        data = pathlib.Path(source).read_bytes()
        members = None
        if source.endswith(".keras"):
            with zipfile.ZipFile(source) as archive:
                members = {n: archive.read(n) for n in archive.namelist()}
        path = tmp_path / f"fuzz{trial}{os.path.splitext(source)[1]}"
        path.write_bytes(mutations(rng, data, members))
        try:
            with warnings.catch_warnings():  # a load may warn (an optimizer state dropped)
                warnings.simplefilter("ignore", RuntimeWarning)
                if source.endswith(".weights.h5"):
                    target = keras.models.clone_model(
                        clean[os.path.basename(source).split(".")[0]])
                    target.load_weights(path)
                else:
                    keras.models.load_model(path)
            outcomes["loaded"] += 1
        except ValueError as error:
            assert str(path.name) in str(error) or "fuzz" in str(error), str(error)
            outcomes["ValueError"] += 1
        path.unlink()
    assert sum(outcomes.values()) == 1000
    assert outcomes["ValueError"] > 450 and outcomes["loaded"] > 50, outcomes


# ------------------------------------------------------------ real Keras opens glassnet's files
def real_keras():
    pytest.importorskip("keras")
    import keras as real

    if not real.__version__.startswith("3."):
        pytest.skip("needs Keras 3")
    return real


# Keras 3 with NumPy 2 warns inside its own code (Variable.__array__)
@pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
@pytest.mark.parametrize("name", ["m.keras", "m.h5"])
def test_real_keras_loads_glassnet_models(tmp_path, name):
    real = real_keras()
    model, x, _ = two_branch_model()
    model.save(tmp_path / name)
    theirs = real.models.load_model(tmp_path / name)
    for mine, other in zip(outputs(model, x), theirs.predict(x, verbose=0)):
        np.testing.assert_allclose(np.asarray(other), mine, atol=1e-5, rtol=0)
    assert [layer.name for layer in theirs.layers] == [layer.name for layer in model.layers]
    if name.endswith(".keras"):
        assert int(theirs.optimizer.iterations.numpy()) == 10


@pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
def test_real_keras_load_weights_reads_glassnet_weights(tmp_path):
    real = real_keras()
    model, x, _ = two_branch_model()
    model.save(tmp_path / "m.keras")
    model.save_weights(tmp_path / "w.weights.h5")
    theirs = real.models.load_model(tmp_path / "m.keras")
    fresh = real.models.clone_model(theirs)
    fresh.load_weights(tmp_path / "w.weights.h5")
    for mine, other in zip(outputs(model, x), fresh.predict(x, verbose=0)):
        np.testing.assert_allclose(np.asarray(other), mine, atol=1e-5, rtol=0)


def test_saved_files_get_the_usual_permissions(tmp_path):
    model, *_ = two_branch_model()
    mask = os.umask(0o022)
    try:
        for name in ("m.keras", "m.h5", "m.safetensors"):
            model.save(tmp_path / name)
            assert (os.stat(tmp_path / name).st_mode & 0o777) == 0o644, name
        os.chmod(tmp_path / "m.keras", 0o600)  # a file the user made private stays private
        model.save(tmp_path / "m.keras")
        assert (os.stat(tmp_path / "m.keras").st_mode & 0o777) == 0o600
    finally:
        os.umask(mask)


def test_keras_saving_namespace_and_save_format(tmp_path):
    model, x, _ = two_branch_model()
    keras.saving.save_model(model, tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(outputs(loaded, x)[0], outputs(model, x)[0], atol=1e-6)
    model.save(tmp_path / "m.h5", save_format="h5")  # tf.keras 2's spelling, consistent
    assert keras.models.load_model(tmp_path / "m.h5").optimizer.iterations == 10
    with pytest.raises(ValueError, match="save_format='h5' does not match"):
        model.save(tmp_path / "m.keras", save_format="h5")
    with pytest.raises(NotImplementedError, match="SavedModel"):
        model.save(tmp_path / "m_dir", save_format="tf")


def test_files_that_crash_or_hang_the_hdf5_library_are_value_errors(tmp_path, monkeypatch):
    """Found by the fuzz test: one makes h5py segfault, one makes it loop."""
    import signal
    import time

    from glassnet.saving import h5_reader

    corrupt = os.path.join(DATA, "corrupt")
    start = time.monotonic()
    with pytest.raises(FileFormatError, match=r"crashed reading it \(signal 11\)"):
        keras.models.load_model(os.path.join(corrupt, "crashes-hdf5.h5"))
    with pytest.raises(FileFormatError, match="global heap .* is corrupt"):
        keras.models.load_model(os.path.join(corrupt, "hangs-hdf5.h5"))
    assert time.monotonic() - start < 5

    def hang(data, path):
        time.sleep(60)

    monkeypatch.setattr(h5_reader, "_walk_bytes", hang)  # runs in the child
    monkeypatch.setattr(h5_reader, "CHILD_SECONDS", 1)
    start = time.monotonic()
    with pytest.raises(FileFormatError, match="did not finish"):
        keras.models.load_model(os.path.join(DATA, "3.15.1", "mlp.h5"))
    assert time.monotonic() - start < 5

    def crash(data, path):
        os.kill(os.getpid(), signal.SIGABRT)

    monkeypatch.setattr(h5_reader, "_walk_bytes", crash)
    with pytest.raises(FileFormatError, match=r"signal 6"):
        keras.models.load_model(os.path.join(DATA, "3.15.1", "mlp.h5"))


@pytest.mark.parametrize("name", ["m.keras", "m.h5", "m.safetensors", "m.weights.h5"])
def test_saving_into_a_folder_that_does_not_exist_raises_and_creates_nothing(tmp_path, name):
    """As Keras: model.save("/nonexistent/m.keras") is an error; it does not
    create the folder (it used to make one, even at the filesystem root)."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    target = tmp_path / "missing" / "deeper" / name
    save = model.save_weights if name.endswith(".weights.h5") else model.save
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save(str(target))
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize("key", ["model_config", "weight_order", "user_metadata"])
def test_safetensors_metadata_nested_50000_deep_is_a_clean_error(tmp_path, key):
    """It ended in RecursionError in load_model and in evaluate; .keras and .h5
    already turned the same input into a clean error."""
    from safetensors.numpy import save_file

    from glassnet.saving import native

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.save(str(tmp_path / "good.safetensors"))
    tensors, metadata = native.read_file(str(tmp_path / "good.safetensors"))
    raw = {k: (json.dumps(v) if isinstance(v, (dict, list)) else v) for k, v in
           metadata.items()}
    raw[key] = "[" * 50000 + "]" * 50000
    save_file(tensors, str(tmp_path / "deep.safetensors"), metadata=raw)
    with pytest.raises(ValueError, match="deep.safetensors"):
        keras.models.load_model(str(tmp_path / "deep.safetensors"))


def test_a_zip_bomb_weights_member_is_refused_unread(tmp_path, monkeypatch):
    """A .keras whose model.weights.h5 claimed 2 GB (of zeros) was loaded: 39 s
    and 3.8 GB of memory. Now its packing ratio gives it away before a byte is
    unpacked (here 64 MB of zeros stand for the 2 GB)."""
    from glassnet.saving import files

    path = tmp_path / "bomb.keras"
    with zipfile.ZipFile(mlp_path()) as source, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            if name != "model.weights.h5":
                target.writestr(name, source.read(name))
        target.writestr("model.weights.h5", bytes(64 << 20))
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("model.weights.h5")
        assert info.file_size / info.compress_size > 500
    opened = []
    original = zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open",
                        lambda self, name, *a, **k: opened.append(getattr(name, "filename",
                                                                          name)) or
                        original(self, name, *a, **k))
    with pytest.raises(ValueError, match=r"model.weights.h5.*a zip bomb\? .*nothing of it "
                                         r"was read"):
        keras.models.load_model(path)
    assert "model.weights.h5" not in opened
    # the weights of real models pack about 1.1 to 1: the fixtures load as before
    assert files.BOMB_RATIO >= 100
    assert keras.models.load_model(mlp_path()).count_params() > 0


@pytest.mark.parametrize("stored, accuracy", [
    # tf.keras 2.15's per-output metrics, under the names it logs them by
    ({"cls": [{"class_name": "MeanMetricWrapper", "config": {
        "name": "cls_accuracy", "dtype": "float32", "fn": "sparse_categorical_accuracy"}}],
      "reg": [{"class_name": "MeanMetricWrapper", "config": {
          "name": "reg_mae", "dtype": "float32", "fn": "mean_absolute_error"}}]},
     "cls_accuracy"),
    ({"cls": ["cls_sparse_categorical_accuracy"], "reg": ["reg_mae"]},
     "cls_sparse_categorical_accuracy"),
])
def test_a_tf_keras_215_h5_with_per_output_metrics_loads_compiled(tmp_path, stored, accuracy):
    """It failed with "Unknown metric 'cls_accuracy'"."""
    import shutil

    path = tmp_path / "two_io.h5"
    shutil.copy(os.path.join(DATA, "tf-keras-2.15.0", "two_io.h5"), path)
    with h5py.File(path, "r+") as f:
        training = json.loads(f.attrs["training_config"])
        training["metrics"] = stored
        f.attrs["training_config"] = json.dumps(training)
    model = keras.models.load_model(str(path))
    assert model.compiled
    data = np.load(os.path.join(DATA, "tf-keras-2.15.0", "two_io.npz"))
    x, y = [data["train_x0"], data["train_x1"]], [data["train_y0"], data["train_y1"]]
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    predicted = model.predict(x, verbose=0)
    assert logs[accuracy] == pytest.approx(
        np.mean(predicted[0].argmax(axis=1) == y[0]))
    mae = [v for k, v in logs.items() if k.startswith("reg_m") and "loss" not in k]
    assert mae == [pytest.approx(float(np.mean(np.abs(predicted[1] - y[1]))), rel=1e-5)]


def test_a_keras_315_functional_model_with_a_mask_zero_embedding_loads():
    """Keras 3.15 records the mask of Embedding(mask_zero=True) as a NotEqual
    operation passed as the next layer's mask=; glassnet refused the file
    ("no layer 'NotEqual'"). Its graph carries the mask itself."""
    path = os.path.join(DATA, "3.15.1", "masked_functional.keras")
    with zipfile.ZipFile(path) as archive:
        assert b'"NotEqual"' in archive.read("config.json")
    data = np.load(os.path.join(DATA, "3.15.1", "masked_functional.npz"))
    model = keras.models.load_model(path)
    np.testing.assert_allclose(model.predict(data["x"], verbose=0), data["predictions"],
                               rtol=1e-5, atol=1e-6)
