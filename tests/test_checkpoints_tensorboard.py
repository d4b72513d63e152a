"""ModelCheckpoint (patterns, save_freq, best-only, every format),
BackupAndRestore (an interrupted fit resumes), TensorBoard event files read
back with TensorBoard's own reader, and the CLI on a CNN that Keras trained."""

import json
import os

import numpy as np
import pytest

import glassnet as gn
from glassnet import keras

DATA = os.path.join(os.path.dirname(__file__), "data", "keras")


def data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int64")
    return x, y


def model(seed=1, activation="relu"):
    gn.utils.set_random_seed(seed)
    m = keras.Sequential([keras.Input((5,)), keras.layers.Dense(6, activation=activation),
                          keras.layers.Dense(2, activation="softmax")])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


# ------------------------------------------------------------ ModelCheckpoint
def test_checkpoint_file_names_follow_the_pattern(tmp_path):
    x, y = data()
    m = model()
    pattern = str(tmp_path / "ck" / "model-{epoch:02d}-{val_loss:.3f}.keras")
    history = m.fit(x, y, epochs=3, batch_size=16, validation_data=(x, y), verbose=0,
                    callbacks=[keras.callbacks.ModelCheckpoint(pattern)])
    expected = [f"model-{e + 1:02d}-{v:.3f}.keras" for e, v in
                enumerate(history.history["val_loss"])]
    assert sorted(os.listdir(tmp_path / "ck")) == expected
    last = keras.models.load_model(tmp_path / "ck" / expected[-1])
    np.testing.assert_allclose(last.predict(x, verbose=0), m.predict(x, verbose=0), atol=1e-6)
    assert last.optimizer.iterations == 12


@pytest.mark.parametrize("name, weights_only", [("m.keras", False), ("m.h5", False),
                                                ("m.safetensors", False),
                                                ("w.weights.h5", True), ("w.h5", True),
                                                ("w.safetensors", True)])
def test_checkpoint_writes_every_format(tmp_path, name, weights_only):
    x, y = data()
    m = model()
    path = tmp_path / name
    m.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[
        keras.callbacks.ModelCheckpoint(path, save_weights_only=weights_only)])
    if weights_only:
        other = model(seed=9)
        other.load_weights(path)
    else:
        other = keras.models.load_model(path)
    np.testing.assert_allclose(other.predict(x, verbose=0), m.predict(x, verbose=0), atol=1e-6)


def test_checkpoint_refuses_a_name_it_cannot_save_at_once(tmp_path):
    with pytest.raises(ValueError, match=r"\.keras, \.h5, \.safetensors"):
        keras.callbacks.ModelCheckpoint(tmp_path / "model.ckpt")
    with pytest.raises(ValueError, match="weights file"):
        keras.callbacks.ModelCheckpoint(tmp_path / "model.weights.h5")
    with pytest.raises(ValueError, match=r"\.weights\.h5, \.h5, \.safetensors"):
        keras.callbacks.ModelCheckpoint(tmp_path / "w.keras5", save_weights_only=True)
    with pytest.raises(ValueError, match="save_freq"):
        keras.callbacks.ModelCheckpoint(tmp_path / "m.keras", save_freq="batch")
    x, y = data()
    with pytest.raises(KeyError, match="val_acc"):
        model().fit(x, y, epochs=1, verbose=0, callbacks=[
            keras.callbacks.ModelCheckpoint(str(tmp_path / "m-{val_acc:.2f}.keras"))])


def test_save_freq_counts_batches_across_epochs(tmp_path):
    x, y = data()  # 64 samples, batch 16: 4 batches an epoch
    pattern = str(tmp_path / "w-{epoch}-{batch}.weights.h5")
    model().fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[
        keras.callbacks.ModelCheckpoint(pattern, save_weights_only=True, save_freq=3)])
    # batches 3, 6, 9, 12 of the run: (epoch 1, batch 3), (2, 2), (3, 1), (3, 4)
    assert sorted(os.listdir(tmp_path)) == ["w-1-3.weights.h5", "w-2-2.weights.h5",
                                            "w-3-1.weights.h5", "w-3-4.weights.h5"]


def test_save_best_only_with_mode_and_threshold(tmp_path, capsys):
    x, y = data()
    m = model()
    best = tmp_path / "best.keras"
    history = m.fit(x, y, epochs=6, batch_size=16, validation_data=(x, y), verbose=0,
                    callbacks=[keras.callbacks.ModelCheckpoint(best, monitor="val_accuracy",
                                                               save_best_only=True, verbose=1)])
    accuracies = history.history["val_accuracy"]
    best_epoch = int(np.argmax(accuracies))  # the first epoch with the highest accuracy
    saved = keras.models.load_model(best)
    assert saved.optimizer.iterations == 4 * (best_epoch + 1)
    out = capsys.readouterr().out
    assert out.count("improved from") == len({i for i in range(len(accuracies))
                                               if accuracies[i] > max(accuracies[:i] or [-1])})
    # a threshold no epoch beats: nothing is written
    never = tmp_path / "never.keras"
    model().fit(x, y, epochs=2, batch_size=16, validation_data=(x, y), verbose=0,
                callbacks=[keras.callbacks.ModelCheckpoint(
                    never, monitor="val_loss", save_best_only=True,
                    initial_value_threshold=1e-9)])
    assert not never.exists()


# ------------------------------------------------------------ BackupAndRestore
class Interrupt(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


@pytest.mark.parametrize("shuffle", [False, True])
def test_an_interrupted_fit_resumes_where_it_stopped(tmp_path, shuffle):
    x, y = data()
    whole = model()
    gn.utils.set_random_seed(11)
    whole.fit(x, y, epochs=5, batch_size=16, shuffle=False, verbose=0)
    backup = tmp_path / "backup"
    first = model()
    with pytest.raises(KeyboardInterrupt):
        first.fit(x, y, epochs=5, batch_size=16, shuffle=shuffle, verbose=0, callbacks=[
            keras.callbacks.BackupAndRestore(backup), Interrupt(3)])
    assert json.loads((backup / "training_metadata.json").read_text())["epoch"] == 3
    second = model(seed=99)  # a fresh session: other initial weights
    history = second.fit(x, y, epochs=5, batch_size=16, shuffle=shuffle, verbose=0,
                         callbacks=[keras.callbacks.BackupAndRestore(backup)])
    assert history.epoch == [3, 4]
    assert second.optimizer.iterations == 20
    assert not backup.exists()  # a finished fit deletes its backup
    if not shuffle:
        for mine, theirs in zip(second.get_weights(), whole.get_weights()):
            np.testing.assert_allclose(mine, theirs, atol=1e-6)


def test_backup_keeps_the_users_files_and_checks_its_input(tmp_path):
    x, y = data()
    (tmp_path / "notes.txt").write_text("mine")
    model().fit(x, y, epochs=2, verbose=0,
                callbacks=[keras.callbacks.BackupAndRestore(tmp_path)])
    assert sorted(os.listdir(tmp_path)) == ["notes.txt"]
    with pytest.raises(ValueError, match="backup_dir"):
        keras.callbacks.BackupAndRestore("")
    with pytest.raises(ValueError, match="save_freq"):
        keras.callbacks.BackupAndRestore(tmp_path, save_freq=0)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "latest.weights.h5").write_bytes(b"not hdf5 at all")
    (broken / "training_metadata.json").write_text('{"epoch": 1}')
    with pytest.raises(ValueError, match="cannot resume"):
        model().fit(x, y, epochs=2, verbose=0,
                    callbacks=[keras.callbacks.BackupAndRestore(broken)])


# ------------------------------------------------------------ TensorBoard
def read_events(folder):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0,
                                                               "tensors": 0})
    accumulator.Reload()
    return accumulator


def test_tensorboard_writes_what_fit_logged(tmp_path):
    x, y = data()
    m = model(activation="sigmoid")
    callbacks = [keras.callbacks.ReduceLROnPlateau(monitor="loss", patience=0, factor=0.5,
                                                   min_delta=10),
                 keras.callbacks.TensorBoard(tmp_path / "logs", histogram_freq=1)]
    history = m.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0,
                    callbacks=callbacks)
    train = read_events(tmp_path / "logs" / "train")
    validation = read_events(tmp_path / "logs" / "validation")
    for name in ("loss", "accuracy"):
        values = [e.value for e in train.Scalars(f"epoch_{name}")]
        np.testing.assert_allclose(values, history.history[name], rtol=1e-6)
        assert [e.step for e in train.Scalars(f"epoch_{name}")] == [0, 1, 2]
        values = [e.value for e in validation.Scalars(f"epoch_{name}")]
        np.testing.assert_allclose(values, history.history[f"val_{name}"], rtol=1e-6)
    rates = [e.value for e in train.Scalars("epoch_learning_rate")]
    np.testing.assert_allclose(rates, history.history["learning_rate"], rtol=1e-6)
    assert rates[0] > rates[-1]  # the plateau callback halved it, and TensorBoard saw it
    histograms = train.Tags()["histograms"]
    assert sorted(histograms) == sorted(f"{w.path}/histogram" for w in m.weights)
    kernel = train.Histograms(f"{m.layers[0].kernel.path}/histogram")[-1].histogram_value
    assert kernel.num == 30 and abs(kernel.min - m.layers[0].kernel.numpy().min()) < 1e-6
    norms = {name: [e.value for e in train.Scalars(f"gradient_norm/{name}")]
             for name in (m.layers[0].name, m.layers[1].name)}
    assert all(len(v) == 3 and all(n > 0 for n in v) for v in norms.values())
    assert "model/summary/text_summary" in train.Tags()["tensors"]
    assert [e.step for e in validation.Scalars("evaluation_loss_vs_iterations")] == [3, 6, 9]


def test_tensorboard_batch_updates_and_bad_arguments(tmp_path):
    x, y = data()
    model().fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[
        keras.callbacks.TensorBoard(tmp_path, update_freq=3, write_graph=False)])
    train = read_events(tmp_path / "train")
    assert [e.step for e in train.Scalars("batch_loss")] == [3, 6]
    assert not [t for t in train.Tags()["scalars"] if t.startswith("gradient_norm")]
    assert not train.Tags()["tensors"]  # no summary text without write_graph
    with pytest.raises(NotImplementedError, match="write_images"):
        keras.callbacks.TensorBoard(tmp_path, write_images=True)
    with pytest.raises(NotImplementedError, match="profile_batch"):
        keras.callbacks.TensorBoard(tmp_path, profile_batch=(2, 4))
    with pytest.raises(ValueError, match="update_freq"):
        keras.callbacks.TensorBoard(tmp_path, update_freq="sometimes")
    with pytest.raises(ValueError, match="histogram_freq"):
        keras.callbacks.TensorBoard(tmp_path, histogram_freq=-1)


# ------------------------------------------------------------ the CLI on Keras's files
@pytest.mark.parametrize("extension", [".keras", ".h5"])
def test_cli_evaluates_a_cnn_keras_trained(fashion_mnist, capsys, extension):
    from glassnet import cli

    path = os.path.join(DATA, "fashion", "best-cnn-model" + extension)
    with open(os.path.join(DATA, "fashion", "keras-results.json")) as f:
        theirs = json.load(f)
    assert cli.main(["evaluate", path]) == 0
    out = capsys.readouterr().out
    assert f"loss {theirs['test_loss']:.4f}, accuracy {theirs['test_accuracy']:.4f}" in out
    loaded = keras.models.load_model(path)
    (_, _), (x_test, _) = fashion_mnist
    mine = loaded.predict(x_test[:5, :, :, None] / 255.0, verbose=0)
    np.testing.assert_allclose(mine, theirs["first_five_predictions"], atol=1e-5)


def test_cli_predicts_and_plots_with_a_keras_cnn(fashion_mnist, tmp_path, capsys):
    from PIL import Image

    from glassnet import cli

    path = os.path.join(DATA, "fashion", "best-cnn-model.keras")
    (_, _), (x_test, y_test) = fashion_mnist
    image = tmp_path / "boot.png"
    Image.fromarray(x_test[0]).save(image)
    assert y_test[0] == 9
    assert cli.main(["predict", path, str(image), "--dataset", "fashion-mnist"]) == 0
    assert capsys.readouterr().out.startswith(f"{image}: Ankle boot ")
    for picture, extra in (("feature-maps", [str(image)]), ("filters", []), ("weights", []),
                           ("layer-activations", [])):
        out = tmp_path / f"{picture}.png"
        assert cli.main(["plot", picture, path, *extra, "--out", str(out)]) == 0
        with Image.open(out) as drawn:
            assert drawn.size[0] > 300


def test_glassnet_train_writes_tensorboard_logs(tmp_path):
    """`glassnet train --tensorboard LOGDIR`: what the run's metrics.json
    holds, TensorBoard reads back, with the sigmoid lesson's fading gradients."""
    from test_plot_cli import run_cli

    logs = tmp_path / "logs"
    result = run_cli("train", "--dataset", "moons", "--hidden", "16,16,16", "--activation",
                     "sigmoid", "--epochs", "3", "--batch-size", "32", "--out",
                     str(tmp_path / "run"), "--tensorboard", str(logs), "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    history = json.loads((tmp_path / "run" / "metrics.json").read_text())["history"]
    train = read_events(logs / "train")
    np.testing.assert_allclose([e.value for e in train.Scalars("epoch_loss")],
                               history["loss"], rtol=1e-6)
    np.testing.assert_allclose([e.value for e in read_events(logs / "validation").Scalars(
        "epoch_accuracy")], history["val_accuracy"], rtol=1e-6)
    norms = [train.Scalars(f"gradient_norm/{name}")[-1].value
             for name in ("dense", "dense_1", "dense_2", "dense_3")]
    assert norms[0] < norms[-1]  # the first sigmoid layer gets the smallest gradient


def test_the_readme_files_example_runs(fashion_mnist, tmp_path, monkeypatch, capsys):
    """README's "Files" example, as written: a CNN Keras saved, trained on for
    an epoch in glassnet from Keras's optimizer state, saved back."""
    import pathlib
    import re
    import shutil

    readme = (pathlib.Path(__file__).parent.parent / "README.md").read_text()
    code = next(block for block in re.findall(r"```python\n(.*?)```", readme, re.S)
                if "best-cnn-model-2.keras" in block)
    shutil.copy(os.path.join(DATA, "fashion", "best-cnn-model.keras"), tmp_path)
    monkeypatch.chdir(tmp_path)
    (x_train, y_train), _ = fashion_mnist
    namespace = {"train_scaled": x_train[:2000, :, :, None] / 255.0,
                 "train_target": y_train[:2000]}
    exec(compile(code, "README.md", "exec"), namespace)
    assert "conv2d (Conv2D)" in capsys.readouterr().out
    again = keras.models.load_model(tmp_path / "best-cnn-model-2.keras")
    before = keras.models.load_model(tmp_path / "best-cnn-model.keras")
    assert again.optimizer.iterations == before.optimizer.iterations + 63  # 2,000 / 32
