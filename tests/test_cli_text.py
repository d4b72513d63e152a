"""glassnet train --dataset tweets --model simplernn|lstm|gru: the same run
folder as for images, and predict / evaluate on sentences."""

import json
import os

import pytest

from glassnet.datasets import DatasetNotFoundError, tweets
from test_plot_cli import assert_real_png, run_cli


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    try:
        tweets.find()
    except DatasetNotFoundError as error:
        if os.environ.get("GLASSNET_REQUIRE_DATA") == "1":
            pytest.fail(str(error))
        pytest.skip(str(error))
    out = tmp_path_factory.mktemp("text-run")
    result = run_cli("train", "--dataset", "tweets", "--model", "gru", "--units", "24",
                     "--out", str(out), cwd=out)
    assert result.returncode == 0, result.stderr
    return out, result


def test_train_on_text_writes_the_run_folder(text_run):
    out, result = text_run
    assert sorted(os.listdir(out)) == ["confusion.png", "gradient_through_time.png",
                                       "hidden_states.png", "history.png", "metrics.json",
                                       "model.safetensors"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["model"] == "gru" and metrics["config"]["units"] == 24
    assert metrics["epochs_run"] == 3  # the text models' default
    assert metrics["train_samples"] == 29758 and metrics["test"]["samples"] == 7439
    assert 0.68 < metrics["test"]["accuracy"] < 1  # majority class: 0.43
    for name in ("history.png", "confusion.png", "gradient_through_time.png"):
        assert_real_png(out / name, width=1200, min_height=300)
    assert "7,439 tweets test samples" in result.stdout


def test_predict_and_evaluate_take_sentences(text_run):
    out, _ = text_run
    model = str(out / "model.safetensors")
    result = run_cli("predict", model, "worst flight ever, they lost my bag and were rude",
                     "thank you so much, amazing crew and great service", cwd=out)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].split(": ")[1].startswith("negative")
    assert lines[1].split(": ")[1].startswith("positive")
    result = run_cli("evaluate", model, cwd=out)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert f"accuracy {metrics['test']['accuracy']:.4f}" in result.stdout.splitlines()[0]


def test_text_and_image_models_do_not_mix(tmp_path):
    result = run_cli("train", "--dataset", "tweets", "--model", "mlp", cwd=tmp_path)
    assert result.returncode != 0
    assert "tweets is text: use --model simplernn|lstm|gru|transformer" in result.stderr


def test_compare_models_draws_the_gradient_through_time(text_run, tmp_path):
    result = run_cli("compare", "--dataset", "tweets", "--models", "simplernn,lstm",
                     "--limit", "4000", "--epochs", "1", "--out", str(tmp_path), "--quiet",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "compare.json").read_text())
    assert [row["model"] for row in report["results"]] == ["simplernn", "lstm"]
    assert all(row["epochs_run"] == 1 for row in report["results"])
    curves = report["gradient_through_time"]
    assert sorted(curves) == ["lstm", "simplernn"] and all(len(c) == 32 for c in curves.values())
    assert all(c[-1] == 1.0 for c in curves.values())
    assert_real_png(tmp_path / "gradient_through_time.png", width=1200, min_height=300)
    result = run_cli("compare", "--dataset", "tweets", "--models", "lstm,nosuchmodel",
                     "--epochs", "1", cwd=tmp_path)
    assert result.returncode != 0 and "Unknown model 'nosuchmodel'" in result.stderr


def test_a_transformer_trains_on_the_tweets_and_draws_its_attention(text_run, tmp_path):
    """--model transformer: Embedding(mask_zero) > a Transformer encoder block >
    the mean over the real steps; the run folder gets attention.png (the first test
    tweet's words, per head) instead of the recurrent pictures; compare takes it
    beside the recurrent models (their gradient through time only)."""
    out = tmp_path / "run"
    result = run_cli("train", "--dataset", "tweets", "--model", "transformer", "--out",
                     str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(out)) == ["attention.png", "confusion.png", "history.png",
                                       "metrics.json", "model.safetensors"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["model"] == "transformer" and metrics["epochs_run"] == 3
    assert 0.68 < metrics["test"]["accuracy"] < 1          # majority class: 0.43
    assert_real_png(out / "attention.png", min_height=300)
    predicted = run_cli("predict", str(out / "model.safetensors"),
                        "worst flight ever, they lost my bag and were rude", cwd=tmp_path)
    assert predicted.returncode == 0 and "negative" in predicted.stdout, predicted.stderr
    compared = run_cli("compare", "--dataset", "tweets", "--models", "lstm,transformer",
                       "--limit", "4000", "--epochs", "1", "--out", str(tmp_path / "cmp"),
                       "--quiet", cwd=tmp_path)
    assert compared.returncode == 0, compared.stderr
    report = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert [row["model"] for row in report["results"]] == ["lstm", "transformer"]
    assert sorted(report["gradient_through_time"]) == ["lstm"]


def test_export_a_text_run_with_its_vocabulary(text_run, tmp_path):
    """glassnet export --check of the GRU run: ONNX takes the token ids, and the
    file's metadata holds the vocabulary that makes them."""
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    import numpy as np

    run, _ = text_run
    out = tmp_path / "text.onnx"
    result = run_cli("export", str(run / "model.safetensors"), str(out), "--check",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1,000 test samples of tweets" in result.stdout
    assert float(result.stdout.split("= ")[1].split(";")[0]) < 1e-5
    proto = onnx.load(str(out))
    props = {p.key: p.value for p in proto.metadata_props}
    vocabulary = json.loads(props["vocabulary"])
    assert len(vocabulary) > 100 and json.loads(props["sequence_length"]) == 32
    assert json.loads(props["class_names"]) == ["negative", "neutral", "positive"]
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT32
    # an application that vectorizes with the stored vocabulary gets the model's answer
    from glassnet import layers, models

    model = models.load_model(str(run / "model.safetensors"))
    vectorize = layers.TextVectorization(output_sequence_length=32, vocabulary=vocabulary)
    ids = vectorize(["what a great game tonight", "this is awful"]).astype("int32")
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {session.get_inputs()[0].name: ids})[0],
                               model.predict(ids, verbose=0), atol=1e-6)
