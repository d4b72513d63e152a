"""glassnet bench: a real (small) run measures what it says, and the tables
(text, Markdown for the README, JSON) show its medians and ratios."""

import json

import pytest

from glassnet import bench
from test_plot_cli import run_cli


def fake_report(**changes):
    workload = {"label": "MLP training epoch, 60,000 images", "seconds": {},
                "median": {"glassnet": 0.8, "pytorch": 1.6, "onnxruntime": None}}
    workload["median"].pop("onnxruntime")
    predict = {"label": "MLP inference, 10,000 test images", "seconds": {},
               "median": {"glassnet": 0.03, "pytorch": 0.06, "onnxruntime": 0.024}}
    report = {"date": "2026-12-02 01:00", "machine": "AMD EPYC", "cpus": 2, "quick": False,
              "libraries": ["glassnet", "pytorch", "onnxruntime"], "missing": ["keras"],
              "versions": {"glassnet": "0.1.0"}, "load_average_before": [0.1, 0.2, 0.3],
              "load_average_after": [0.2, 0.2, 0.3],
              "blas": {"library": "openblas", "version": "0.3", "kernels": "SkylakeX",
                       "environment": {}},
              "runs": [{"threads": t, "workloads": {"mlp_train": workload,
                                                    "mlp_predict": predict}}
                       for t in (1, 2)],
              "memory_mb": {"glassnet": 180.0, "pytorch": 360.0}}
    report.update(changes)
    return report


def test_tables_show_medians_and_ratios():
    report = fake_report()
    rows = bench.rows(report)
    assert [(label.split(",")[0], threads) for label, threads, _ in rows] == [
        ("MLP training epoch", 1), ("MLP training epoch", 2), ("MLP inference", 1),
        ("MLP inference", 2)]
    markdown = bench.format_markdown(report).splitlines()
    assert markdown[0] == ("| workload | threads | glassnet | PyTorch | onnxruntime | "
                           "glassnet / PyTorch | glassnet / onnxruntime |")
    assert markdown[2] == ("| MLP training epoch, 60,000 images | 1 | 0.800 s | 1.600 s | - | "
                           "**0.50** | - |")
    assert markdown[4] == ("| MLP inference, 10,000 test images | 1 | 30.0 ms | 60.0 ms | "
                           "24.0 ms | **0.50** | **1.25** |")
    assert markdown[-1] == ("| peak memory, a process training an MLP epoch on 60,000 | - | "
                            "180 MB | 360 MB | - | 0.50 | - |")
    text = bench.format_text(report)
    assert "not installed (skipped): Keras" in text and "SkylakeX kernels" in text
    line = next(x for x in text.splitlines() if x.startswith("MLP inference") and " 2 " in x)
    assert line.split()[-2:] == ["0.50", "1.25"]


def test_busy_and_argument_checks():
    assert bench.busy(0.6, 2) and not bench.busy(0.4, 2) and not bench.busy(float("nan"), 2)
    assert bench._threads("1,2") == [1, 2]
    import argparse

    for bad in ("0", "a", ""):
        with pytest.raises(argparse.ArgumentTypeError, match="positive integers"):
            bench._threads(bad)
    with pytest.raises(argparse.ArgumentTypeError, match="glassnet, pytorch, onnxruntime, keras"):
        bench._libraries("pytorch,tensorflow")


def test_a_real_quick_run_as_json(tmp_path, fashion_mnist):
    """glassnet (and PyTorch / onnxruntime where installed) on the real data,
    1 round, 1 thread: every workload timed, ratios from those medians."""
    libraries = ["glassnet"] + [lib for lib in ("pytorch", "onnxruntime")
                                if bench.installed(lib)]
    result = run_cli("bench", "--quick", "--json", "--threads", "1", "--rounds", "1",
                     "--libraries", ",".join(libraries), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["libraries"] == libraries and report["quick"] is True
    assert "load average" not in result.stdout and "measuring with 1 thread" in result.stderr
    (run,) = report["runs"]
    assert run["threads"] == 1
    assert list(run["workloads"]) == ["mlp_train", "cnn_train", "mlp_predict", "cnn_predict",
                                      "lstm_step", "ch8_train"]
    for name, workload in run["workloads"].items():
        expected = set(libraries) - ({"onnxruntime"} if name in ("mlp_train", "cnn_train",
                                                                 "lstm_step", "ch8_train")
                                     else set())
        assert set(workload["median"]) == expected
        assert all(0 < v < 30 for v in workload["median"].values())
    # an MLP epoch on 10,000 images does more work than inference on 10,000
    median = run["workloads"]
    assert median["mlp_train"]["median"]["glassnet"] > median["mlp_predict"]["median"]["glassnet"]
    assert 50 < report["memory_mb"]["glassnet"] < 2000
    assert len(report["load_average_before"]) == 3
    table = run_cli("bench", "--rounds", "0", cwd=tmp_path)
    assert table.returncode != 0 and "--rounds must be at least 1" in table.stderr
