"""A training step written with the tape, side by side: glassnet, PyTorch eager
and TensorFlow eager.

    python benchmarks/bench_tape.py [--threads 1,2] [--rounds 5] [--images 20000]
                                    [--tf-python /path/to/venv/bin/python] [--json out.json]

The loop of keras.io's "Writing a training loop from scratch": the MLP
784-256-128-10 (relu, logits), batch 128, Adam 1e-3, one epoch over the first
--images Fashion-MNIST training images, each step

    with GradientTape() as tape:
        logits = model(x, training=True)
        loss = loss_fn(y, logits)            # SparseCategoricalCrossentropy(from_logits=True)
    grads = tape.gradient(loss, model.trainable_weights)
    optimizer.apply_gradients(zip(grads, model.trainable_weights))

(PyTorch: the same with loss.backward() and optimizer.step()). Each library runs
in a worker process of its own that stays up; the workers take turns, one
epoch each, round after round (interleaved), so each round compares epochs
taken under the same load. Reported: the median epoch per library and the
median of the per-round ratios glassnet / peer. TensorFlow runs from another
Python (a side virtual environment, --tf-python) and is skipped without it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(HERE), "src")


# ----------------------------------------------------------------- the workers
def worker(library, threads, data):
    import numpy as np

    arrays = np.load(data)
    x, y = arrays["x"], arrays["y"]
    batches = [(x[i:i + 128], y[i:i + 128]) for i in range(0, len(x), 128)]
    epoch = {"glassnet": glassnet_epoch, "torch": torch_epoch,
             "tensorflow": tensorflow_epoch}[library](threads, batches)
    epoch(batches[:3])  # warm-up
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() != "epoch":
            break
        start = time.perf_counter()
        loss = epoch(batches)
        print(json.dumps({"seconds": time.perf_counter() - start, "loss": loss}), flush=True)


def glassnet_epoch(threads, batches):
    import glassnet as tf
    from glassnet import keras

    tf.set_num_threads(threads)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(256, activation="relu"),
                              keras.layers.Dense(128, activation="relu"),
                              keras.layers.Dense(10)])
    optimizer = keras.optimizers.Adam(1e-3)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def step(x, y):
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            loss = loss_fn(y, logits)
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
        return loss

    def epoch(batches):
        for x, y in batches:
            loss = step(x, y)
        return float(loss)

    return epoch


def torch_epoch(threads, batches):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()
    tensors = [(torch.from_numpy(x), torch.from_numpy(y.astype("int64"))) for x, y in batches]
    by_id = {id(x): t for (x, _), t in zip(batches, tensors)}

    def epoch(part):
        for x, _ in part:
            xt, yt = by_id[id(x)]
            optimizer.zero_grad()
            loss = loss_fn(model(xt), yt)
            loss.backward()
            optimizer.step()
        return float(loss.detach())

    return epoch


def tensorflow_epoch(threads, batches):
    import tensorflow as tf
    from tensorflow import keras

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(256, activation="relu"),
                              keras.layers.Dense(128, activation="relu"),
                              keras.layers.Dense(10)])
    optimizer = keras.optimizers.Adam(1e-3)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def step(x, y):
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            loss = loss_fn(y, logits)
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
        return loss

    def epoch(batches):
        for x, y in batches:
            loss = step(x, y)
        return float(loss)

    return epoch


# ----------------------------------------------------------------- the conductor
def start(python, library, threads, data):
    env = dict(os.environ, PYTHONPATH=SRC, OMP_NUM_THREADS=str(threads),
               TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.Popen([python, os.path.abspath(__file__), "--worker", library,
                                "--threads", str(threads), "--data", data],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                               env=env)
    line = process.stdout.readline()
    if line.strip() != "ready":
        process.kill()
        raise RuntimeError(f"{library} worker did not start: {line!r}")
    return process


def measure(threads, rounds, data, tf_python):
    libraries = {"glassnet": sys.executable, "torch": sys.executable}
    if tf_python:
        libraries["tensorflow"] = tf_python
    workers = {name: start(python, name, threads, data) for name, python in libraries.items()}
    times = {name: [] for name in workers}
    losses = {}
    try:
        for r in range(rounds):
            order = list(workers)
            order = order[r % len(order):] + order[:r % len(order)]  # rotate who goes first
            for name in order:
                process = workers[name]
                process.stdin.write("epoch\n")
                process.stdin.flush()
                result = json.loads(process.stdout.readline())
                times[name].append(result["seconds"])
                losses[name] = result["loss"]
    finally:
        for process in workers.values():
            process.stdin.close()
            process.wait(timeout=60)
    return times, losses


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--images", type=int, default=20000)
    parser.add_argument("--tf-python", default=os.environ.get("GLASSNET_TF_PYTHON"))
    parser.add_argument("--json")
    parser.add_argument("--worker")
    parser.add_argument("--data")
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker, int(args.threads), args.data)

    import numpy as np

    sys.path.insert(0, SRC)
    from glassnet.datasets import fashion_mnist

    (x_train, y_train), _ = fashion_mnist.load_data()
    x = x_train[:args.images].reshape(-1, 784).astype(np.float32) / np.float32(255)
    y = y_train[:args.images].astype(np.int32)
    report = {"images": args.images, "rounds": args.rounds, "results": []}
    print(f"tape training step: MLP 784-256-128-10, batch 128, Adam, one epoch of "
          f"{args.images:,} Fashion-MNIST images; {args.rounds} interleaved rounds; load "
          f"{os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as folder:
        data = os.path.join(folder, "data.npz")
        np.savez(data, x=x, y=y)
        for threads in [int(t) for t in args.threads.split(",")]:
            times, losses = measure(threads, args.rounds, data, args.tf_python)
            row = {"threads": threads}
            for name, values in times.items():
                row[name] = statistics.median(values)
                row[f"{name}_loss"] = losses[name]
            for peer in times:
                if peer != "glassnet":
                    ratios = [g / p for g, p in zip(times["glassnet"], times[peer])]
                    row[f"ratio_{peer}"] = statistics.median(ratios)
            report["results"].append(row)
            peers = ", ".join(f"{name} {row[name]:.3f} s" for name in times if name != "glassnet")
            ratios = ", ".join(f"{row[k]:.2f}x {k[6:]}" for k in row if k.startswith("ratio_"))
            print(f"{threads} thread(s): glassnet {row['glassnet']:.3f} s, {peers}; "
                  f"glassnet/peer {ratios}; load {os.getloadavg()[0]:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
