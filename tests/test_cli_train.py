"""The main job from the command line: train, compare, evaluate, predict,
plot history; run folders, Ctrl-C, and the errors a user meets."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from test_plot_cli import assert_real_png, glassnet_command, run_cli

pytestmark = pytest.mark.usefixtures("fashion_mnist")


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    result = run_cli("train", "--limit", "3000", "--epochs", "2", "--out", str(out), cwd=out)
    assert result.returncode == 0, result.stderr
    return out, result


def test_train_writes_a_complete_run_folder(small_run):
    out, result = small_run
    assert sorted(os.listdir(out)) == ["confusion.png", "history.png", "metrics.json",
                                       "mistakes.png", "model.safetensors"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["hidden"] == [256, 128]
    assert metrics["config"]["batch_size"] == 128 and metrics["config"]["optimizer"] == "adam"
    assert metrics["epochs_run"] == 2 and len(metrics["history"]["val_loss"]) == 2
    assert metrics["train_samples"] == 3000 and metrics["test"]["samples"] == 10000
    assert 0.6 < metrics["test"]["accuracy"] < 1
    assert metrics["seconds"]["per_epoch"] > 0 and not metrics["interrupted"]
    for name in ("history.png", "confusion.png", "mistakes.png"):
        assert_real_png(out / name, width=1200)
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "Epoch 1/2"
    assert lines[-3].startswith("Test accuracy: ") and "10,000 fashion-mnist" in lines[-3]
    assert lines[-2].startswith("Time: ") and "s per epoch" in lines[-2]
    assert lines[-1].startswith(f"Run folder: {out}")


def test_evaluate_prints_loss_accuracy_and_classes(small_run):
    out, _ = small_run
    result = run_cli("evaluate", str(out / "model.safetensors"), cwd=out)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    first = result.stdout.splitlines()[0]
    assert f"accuracy {metrics['test']['accuracy']:.4f}" in first
    assert "Ankle boot" in result.stdout and "recall" in result.stdout
    assert len(result.stdout.strip().splitlines()) == 12  # summary, header, 10 classes
    # the run folder itself names its model.safetensors
    from_folder = run_cli("evaluate", str(out), cwd=out)
    assert from_folder.returncode == 0, from_folder.stderr
    assert from_folder.stdout == result.stdout


def test_export_to_a_folder_names_the_folder_not_a_temporary_file(small_run, tmp_path):
    out, _ = small_run
    folder = tmp_path / "adir"
    folder.mkdir()
    result = run_cli("export", str(out / "model.safetensors"), str(folder), cwd=tmp_path)
    assert result.returncode == 1
    assert f"could not write {folder}: it is a folder" in result.stderr
    assert ".partial" not in result.stderr and os.listdir(folder) == []
    empty = run_cli("evaluate", str(folder), cwd=tmp_path)
    assert empty.returncode == 2 and "without a model.safetensors" in empty.stderr


def test_predict_reads_images_like_a_drawing_and_reports_bad_files(small_run, fashion_mnist):
    out, _ = small_run
    (_, _), (x_test, y_test) = fashion_mnist
    import glassnet as gn

    model = gn.load_model(out / "model.safetensors")
    expected = model.predict(x_test[:1])[0].argmax()
    # as a user would draw it: dark object on white paper, larger than 28x28
    big = Image.fromarray(255 - x_test[0]).resize((112, 112), Image.Resampling.NEAREST)
    big.save(out / "drawn.png")
    (out / "broken.png").write_bytes(b"not an image")
    result = run_cli("predict", str(out / "model.safetensors"), str(out / "drawn.png"),
                     str(out / "broken.png"), str(out / "missing.jpg"), cwd=out)
    assert result.returncode == 1
    line = result.stdout.strip().splitlines()[0]
    names = gn.datasets.fashion_mnist.CLASS_NAMES
    assert line.startswith(f"{out / 'drawn.png'}: {names[expected]} ")
    assert len(line.split(", ")) == 3
    assert "broken.png: not a readable image" in result.stderr
    assert "missing.jpg: no such file" in result.stderr


def test_plot_history_from_a_run_folder(small_run, tmp_path):
    out, _ = small_run
    result = run_cli("plot", "history", str(out), "--out", str(tmp_path / "h.png"), cwd=out)
    assert result.returncode == 0, result.stderr
    assert_real_png(tmp_path / "h.png")
    result = run_cli("plot", "history", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2 and "has no metrics.json" in result.stderr


def test_train_inspect_records_gradients_and_plot_gradient_flow(tmp_path):
    result = run_cli("train", "--dataset", "moons", "--hidden", "16,16,16", "--activation",
                     "sigmoid", "--epochs", "3", "--batch-size", "32", "--inspect", "--out",
                     str(tmp_path / "run"), "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads((tmp_path / "run" / "metrics.json").read_text())
    epochs = data["inspect"]
    assert len(epochs) == 3
    norms = list(epochs[-1]["gradient_norm"].values())
    assert len(norms) == 4 and all(value > 0 for value in norms)
    assert len(epochs[-1]["saturated"]) == 3          # the three sigmoid layers
    assert_real_png(tmp_path / "run" / "gradient_flow.png")
    assert_real_png(tmp_path / "run" / "activations.png", min_height=250)
    result = run_cli("plot", "gradient-flow", str(tmp_path / "run"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    # a run without --inspect, and a folder that is no run, say what is needed
    run_cli("train", "--dataset", "moons", "--hidden", "8", "--epochs", "1", "--out",
            str(tmp_path / "plain"), "--quiet", cwd=tmp_path)
    result = run_cli("plot", "gradient-flow", str(tmp_path / "plain"), cwd=tmp_path)
    assert result.returncode == 2 and "glassnet train --inspect" in result.stderr
    result = run_cli("plot", "gradient-flow", str(tmp_path / "nothing"), cwd=tmp_path)
    assert result.returncode == 2 and "has no metrics.json or compare.json" in result.stderr


def test_plot_layer_activations_book_experiment_and_saved_model(small_run, tmp_path):
    result = run_cli("plot", "layer-activations", "--out", str(tmp_path / "a.png"),
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert_real_png(tmp_path / "a.png", min_height=250)
    result = run_cli("plot", "layer-activations", "--activation", "relu", "--initializer",
                     "he_normal", "--layers", "3", "--out", str(tmp_path / "b.png"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with Image.open(tmp_path / "b.png") as image:
        assert image.size[0] == 1200
    out, _ = small_run
    result = run_cli("plot", "layer-activations", str(out / "model.safetensors"), "--samples",
                     "200", "--out", str(tmp_path / "c.png"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert_real_png(tmp_path / "c.png", min_height=250)
    result = run_cli("plot", "layer-activations", "--initializer", "bogus", cwd=tmp_path)
    assert result.returncode == 2 and "bogus" in result.stderr and "he_normal" in result.stderr


def test_compare_activations(tmp_path):
    result = run_cli("compare", "--activations", "sigmoid,relu", "--limit", "2000", "--epochs",
                     "2", "--inspect", "--out", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads((tmp_path / "compare.json").read_text())
    assert data["kind"] == "activation"
    assert set(data["inspect"]) == {"sigmoid", "relu"} and len(data["inspect"]["relu"]) == 2
    assert len(data["inspect"]["sigmoid"][-1]["saturated"]) == 2  # both hidden layers
    assert len(data["inspect"]["relu"][-1]["dead"]) == 2
    assert_real_png(tmp_path / "inspect.png")
    assert_real_png(tmp_path / "gradient_flow.png")
    redrawn = run_cli("plot", "gradient-flow", str(tmp_path), "--out", str(tmp_path / "g.png"),
                      cwd=tmp_path)
    assert redrawn.returncode == 0, redrawn.stderr
    assert_real_png(tmp_path / "g.png")
    assert [row["activation"] for row in data["results"]] == ["sigmoid", "relu"]
    assert set(data["histories"]) == {"sigmoid", "relu"}
    assert_real_png(tmp_path / "compare.png")
    table = [line for line in result.stdout.splitlines() if line.startswith(("sigmoid", "relu"))]
    assert len(table) == 2 and "test acc" in result.stdout


def test_toy_data_set_trains_to_high_accuracy(tmp_path):
    result = run_cli("train", "--dataset", "moons", "--hidden", "32,32", "--epochs", "40",
                     "--batch-size", "32", "--lr", "0.01", "--dropout", "0", "--out",
                     str(tmp_path), "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] > 0.95


def test_ctrl_c_stops_after_the_batch_and_still_writes_the_run(tmp_path):
    # a wide network, so that one epoch outlasts the 1.5 s below on a fast machine too
    process = subprocess.Popen(glassnet_command() + ["train", "--epochs", "50", "--hidden",
                                                     "2048,2048", "--out",
                                                     str(tmp_path / "run")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=tmp_path, env={**os.environ, "MPLBACKEND": "Agg"})
    first = process.stdout.readline()
    assert first.strip() == "Epoch 1/50"
    time.sleep(1.5)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr
    assert "Ctrl-C: stopping after this batch" in stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["interrupted"] and metrics["epochs_run"] == 1
    # where it stopped, said as it is: "epoch 1, batch 14 of 422" (not "after 1 epoch")
    where = metrics["interrupted_at"]
    epoch, batch, steps = (int(n) for n in re.fullmatch(r"epoch (\d+), batch (\d+) of (\d+)",
                                                         where).groups())
    assert epoch == 1 and 1 <= batch < steps
    assert f"Interrupted at {where}; kept what was learned." in stdout
    # what it learned by then is what the run folder holds (whatever the machine's speed)
    evaluated = run_cli("evaluate", str(tmp_path / "run"), cwd=tmp_path)
    assert f"accuracy {metrics['test']['accuracy']:.4f}" in evaluated.stdout.splitlines()[0]


def test_a_ctrl_c_before_the_first_batch_still_stops_training():
    """fit resets stop_training as it starts; a Ctrl-C that came between the
    handler's start and the first batch used to be forgotten."""
    from glassnet import keras, recipes

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    x, y = np.random.default_rng(0).random((64, 4)), np.arange(64) % 2
    with recipes._StopOnCtrlC(model) as guard:
        guard._handle(signal.SIGINT, None)  # as if Ctrl-C came now, before fit
        history = model.fit(x, y, batch_size=8, epochs=5, verbose=0, callbacks=[guard])
    assert history.epoch == [0] and guard.where == "epoch 1, batch 1 of 8"


def test_ctrl_c_during_compare_says_which_runs_are_missing(tmp_path, monkeypatch, capsys):
    from glassnet import recipes

    original = recipes._StopOnCtrlC.on_train_batch_end
    calls = []

    def interrupt_in_the_second_run(self, batch, logs=None):
        calls.append(batch)
        if len(calls) == 5 + 3 and not self.interrupted:  # the second run's 3rd batch
            self._handle(signal.SIGINT, None)
        return original(self, batch, logs)

    monkeypatch.setattr(recipes._StopOnCtrlC, "on_train_batch_end",
                        interrupt_in_the_second_run)
    config = recipes.TrainConfig(dataset="moons", hidden=(8,), epochs=1, batch_size=100,
                                 limit=500)
    lines = []
    rows = recipes.compare(config, "activation", ["sigmoid", "tanh", "relu"],
                           out=str(tmp_path), verbose=0, log=lines.append)
    assert [row["activation"] for row in rows] == ["sigmoid", "tanh"]
    assert rows[0]["interrupted_at"] is None and rows[1]["interrupted_at"].startswith(
        "epoch 1, batch 3 of")
    report = json.loads((tmp_path / "compare.json").read_text())
    assert report["interrupted"]["run"] == "tanh" and report["interrupted"]["missing"] == ["relu"]
    assert "Interrupted by Ctrl-C in the run activation = tanh" in lines[-1]
    assert "not run: relu." in lines[-1]


def test_user_errors(tmp_path, monkeypatch):
    result = run_cli("train", "--dataset", "cifar", cwd=tmp_path)
    assert result.returncode == 2 and "invalid choice: 'cifar'" in result.stderr
    result = run_cli("train", "--activation", "rellu", "--limit", "100", "--epochs", "1",
                     cwd=tmp_path)
    assert result.returncode == 2 and "Unknown activation 'rellu'" in result.stderr
    result = run_cli("train", "--optimizer", "adamw", "--limit", "100", cwd=tmp_path)
    assert result.returncode == 2 and "Valid names: adam, sgd, momentum" in result.stderr
    env_cache = tmp_path / "cache"
    result = subprocess.run(glassnet_command() + ["train", "--dataset", "mnist"],
                            capture_output=True, text=True, cwd=tmp_path,
                            env={**os.environ, "GLASSNET_CACHE_DIR": str(env_cache)})
    assert result.returncode == 1
    assert "MNIST was not found. Looked in:" in result.stderr
    assert "pass path=" in result.stderr and str(env_cache) in result.stderr
    assert not (tmp_path / "runs").exists()


def test_cli_dataset_choices_match_the_datasets_module():
    from glassnet import cli, datasets

    assert sorted(cli.DATASETS) == sorted(datasets.NAMES)


def test_help_imports_no_numpy():
    code = ("import sys, glassnet.cli; glassnet.cli.build_parser(); "
            "print('numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_train_cnn_and_predict_with_it(tmp_path, fashion_mnist):
    result = run_cli("train", "--model", "cnn", "--limit", "1000", "--epochs", "1", "--out",
                     str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["config"]["model"] == "cnn" and metrics["test"]["accuracy"] > 0.3
    import glassnet as gn

    model = gn.load_model(tmp_path / "model.safetensors")
    assert [type(layer).__name__ for layer in model.layers] == [
        "Reshape", "Rescaling", "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten",
        "Dense", "Dense"]
    Image.fromarray(fashion_mnist[1][0][3]).save(tmp_path / "item.png")
    result = run_cli("predict", str(tmp_path / "model.safetensors"), str(tmp_path / "item.png"),
                     cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.count(",") == 2


def test_plot_filters_and_feature_maps(tmp_path, fashion_mnist):
    import glassnet as gn
    from glassnet import plot
    from glassnet.layers import Conv2D, Dense, Flatten, Input, MaxPooling2D

    model = gn.Sequential([Input((28, 28, 1)), Conv2D(6, 3, activation="relu", name="first"),
                           MaxPooling2D(), Conv2D(4, 3, name="second"), Flatten(), Dense(10)])
    fig = plot.filters(model, path=tmp_path / "f.png")
    assert "first: 6 filters of 3x3" in fig._suptitle.get_text()
    assert "mean over 6 input channels" in plot.filters(model, layer="second")._suptitle.get_text()
    fig = plot.feature_maps(model, fashion_mnist[1][0][0], path=tmp_path / "m.png")
    assert "6 of 6 feature maps (26x26)" in fig._suptitle.get_text()
    assert_real_png(tmp_path / "f.png", min_height=150)  # one row of panels
    assert_real_png(tmp_path / "m.png", min_height=150)
    with pytest.raises(ValueError, match="no Conv2D layer named 'third'; Conv2D layers: first, "
                                         "second"):
        plot.filters(model, layer="third")
    with pytest.raises(ValueError, match="has no Conv2D layer"):
        plot.filters(gn.Sequential([Input((3,)), Dense(2)]))
    path = tmp_path / "cnn.safetensors"
    model.save(path)
    Image.fromarray(fashion_mnist[1][0][0]).save(tmp_path / "boot.png")
    result = run_cli("plot", "filters", str(path), "--out", str(tmp_path / "cf.png"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    result = run_cli("plot", "feature-maps", str(path), str(tmp_path / "boot.png"), "--layer",
                     "second", "--out", str(tmp_path / "cm.png"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert_real_png(tmp_path / "cf.png", min_height=150)
    assert_real_png(tmp_path / "cm.png", min_height=150)


def test_default_epochs_depend_on_the_model():
    from glassnet import cli

    parse = cli.build_parser().parse_args
    assert cli._config(parse(["train"])).epochs == 15
    assert cli._config(parse(["train", "--model", "cnn"])).epochs == 20
    assert cli._config(parse(["train", "--model", "cnn", "--epochs", "3"])).epochs == 3
    assert cli._config(parse(["compare", "--model", "cnn"])).epochs == 5


@pytest.mark.parametrize("out", ["existing-file", "/proc/glassnet-run"])
def test_train_checks_its_out_folder_before_it_trains(tmp_path, out):
    """A bad --out used to cost the whole training run, then fail at the end."""
    if out == "existing-file":
        (tmp_path / out).write_text("precious")
    result = run_cli("train", "--limit", "500", "--epochs", "50", "--out", out, cwd=tmp_path)
    assert result.returncode == 1
    assert "Epoch 1/" not in result.stdout  # refused before training
    assert out in result.stderr and "Traceback" not in result.stderr
    if out == "existing-file":
        assert "it is a file" in result.stderr
        assert (tmp_path / out).read_text() == "precious"


def test_a_full_disk_names_the_model_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    import safetensors.numpy

    from glassnet import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    target = tmp_path / "model.safetensors"
    model.save(str(target))
    before = target.read_bytes()

    def full(*args, **kwargs):
        raise safetensors.SafetensorError("Error while serializing: IoError(Os { code: 28, "
                                          "kind: StorageFull, message: \"No space left on "
                                          "device\" })")

    monkeypatch.setattr(safetensors.numpy, "save_file", full)
    with pytest.raises(OSError, match="No space left on device") as caught:
        model.save(str(target))
    assert caught.value.filename == str(target)
    assert target.read_bytes() == before  # the old file stays whole
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]  # no temp file left


def test_a_diverged_run_exits_non_zero_with_a_plain_message(tmp_path):
    result = run_cli("train", "--limit", "2000", "--epochs", "2", "--lr", "1e10", "--out",
                     "div", cwd=tmp_path)
    assert result.returncode == 3
    assert "glassnet: error: training diverged" in result.stderr
    assert "learning rate that is too high" in result.stderr
    assert "RuntimeWarning" not in result.stderr and "recipes.py" not in result.stderr
    metrics = json.loads((tmp_path / "div" / "metrics.json").read_text())
    assert "not finite" in metrics["diverged"]  # the run folder is kept to look at


def test_predict_refuses_a_decompression_bomb_with_a_message(small_run, tmp_path, monkeypatch):
    """A 15,000 x 15,000 PNG ended in PIL's DecompressionBombError; here Pillow's
    limit is lowered so a small picture stands for the huge one."""
    from PIL import Image as PILImage

    from glassnet import recipes

    out, _ = small_run
    PILImage.new("L", (300, 300), 255).save(tmp_path / "huge.png")
    PILImage.new("L", (28, 28), 0).save(tmp_path / "fine.png")
    monkeypatch.setattr(PILImage, "MAX_IMAGE_PIXELS", 10_000)  # 300² > 2 x 10,000
    errors = []
    results, failures = recipes.predict(out / "model.safetensors",
                                        [tmp_path / "huge.png", tmp_path / "fine.png"],
                                        log=lambda *a: None, error_log=errors.append)
    assert failures == [str(tmp_path / "huge.png")] and len(results) == 1
    assert "too large to read safely" in errors[0] and "20,000 pixels" in errors[0]


@pytest.mark.parametrize("blocked, args, needs", [
    ("onnx", ["export", "MODEL", "m.onnx"], "pip install 'glassnet[onnx]'"),
    ("onnxruntime", ["export", "MODEL", "m.onnx", "--check"], "pip install onnxruntime"),
    ("tensorboardX", ["train", "--limit", "200", "--epochs", "1", "--tensorboard", "tb"],
     "pip install 'glassnet[tensorboard]'"),
])
def test_a_missing_optional_package_is_one_line_that_names_the_install(
        small_run, tmp_path, blocked, args, needs):
    """As after the README's main command (pip install .): no ImportError traceback."""
    out, _ = small_run
    args = [str(out / "model.safetensors") if a == "MODEL" else a for a in args]
    code = (f"import sys; sys.modules[{blocked!r}] = None\n"
            f"from glassnet.cli import main\nsys.exit(main({args!r}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=tmp_path, env={**os.environ, "MPLBACKEND": "Agg"}, timeout=600)
    assert result.returncode == 1
    assert result.stderr.strip().startswith("glassnet: error:") and needs in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Epoch 1/" not in result.stdout  # said before any training


def test_the_playground_server_needs_no_second_install():
    import tomllib

    with open(os.path.join(os.path.dirname(__file__), "..", "pyproject.toml"), "rb") as f:
        base = " ".join(tomllib.load(f)["project"]["dependencies"])
    for package in ("starlette", "uvicorn", "websockets"):
        assert package in base
