"""A training step written with the tape, side by side: glassnet, PyTorch eager
and TensorFlow eager.

    python benchmarks/bench_tape.py [--threads 1,2] [--rounds 5] [--images 20000]
                                    [--tf-python /path/to/venv/bin/python] [--json out.json]
                                    [--workload mlp|dcgan]

The loop of keras.io's "Writing a training loop from scratch": the MLP
784-256-128-10 (relu, logits), batch 128, Adam 1e-3, one epoch over the first
--images Fashion-MNIST training images, each step

    with GradientTape() as tape:
        logits = model(x, training=True)
        loss = loss_fn(y, logits)            # SparseCategoricalCrossentropy(from_logits=True)
    grads = tape.gradient(loss, model.trainable_weights)
    optimizer.apply_gradients(zip(grads, model.trainable_weights))

(PyTorch: the same with loss.backward() and optimizer.step()). With
``--workload dcgan``, TensorFlow's DCGAN tutorial's train_step instead (its
generator and discriminator, batch 256, two tapes, run eagerly; PyTorch: the
same models). Each library runs
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
def worker(library, threads, data, workload="mlp"):
    import numpy as np

    arrays = np.load(data)
    x, y = arrays["x"], arrays["y"]
    if workload == "dcgan":  # images in [-1, 1], batches of 256, as the tutorial
        images = (x.reshape(-1, 28, 28, 1) * 2 - 1).astype(np.float32)
        batches = [images[i:i + 256] for i in range(0, len(images) - 255, 256)]
        epoch = {"glassnet": glassnet_dcgan, "torch": torch_dcgan,
                 "tensorflow": tensorflow_dcgan}[library](threads, batches)
    else:
        batches = [(x[i:i + 128], y[i:i + 128]) for i in range(0, len(x), 128)]
        epoch = {"glassnet": glassnet_epoch, "torch": torch_epoch,
                 "tensorflow": tensorflow_epoch}[library](threads, batches)
    epoch(batches[:1])  # warm-up
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() != "epoch":
            break
        start = time.perf_counter()
        loss = epoch(batches)
        print(json.dumps({"seconds": time.perf_counter() - start, "loss": loss}), flush=True)


def keras_mlp(tf, keras, batches):
    """keras.io's loop as written (Keras names): the same function serves
    glassnet and TensorFlow."""
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


def glassnet_epoch(threads, batches):
    import glassnet as tf
    from glassnet import keras

    tf.set_num_threads(threads)
    return keras_mlp(tf, keras, batches)


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
    return keras_mlp(tf, keras, batches)


# ----------------------------------------------------------------- the DCGAN step
def keras_dcgan(tf, keras, layers, threads, batches):
    """TensorFlow's DCGAN tutorial, its code as written (Keras names), run
    eagerly: the same function serves glassnet and TensorFlow."""
    generator = keras.Sequential([
        keras.Input((100,)), layers.Dense(7 * 7 * 256, use_bias=False),
        layers.BatchNormalization(), layers.LeakyReLU(), layers.Reshape((7, 7, 256)),
        layers.Conv2DTranspose(128, (5, 5), strides=(1, 1), padding="same", use_bias=False),
        layers.BatchNormalization(), layers.LeakyReLU(),
        layers.Conv2DTranspose(64, (5, 5), strides=(2, 2), padding="same", use_bias=False),
        layers.BatchNormalization(), layers.LeakyReLU(),
        layers.Conv2DTranspose(1, (5, 5), strides=(2, 2), padding="same", use_bias=False,
                               activation="tanh")])
    discriminator = keras.Sequential([
        keras.Input((28, 28, 1)), layers.Conv2D(64, (5, 5), strides=(2, 2), padding="same"),
        layers.LeakyReLU(), layers.Dropout(0.3),
        layers.Conv2D(128, (5, 5), strides=(2, 2), padding="same"), layers.LeakyReLU(),
        layers.Dropout(0.3), layers.Flatten(), layers.Dense(1)])
    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
    generator_optimizer = keras.optimizers.Adam(1e-4)
    discriminator_optimizer = keras.optimizers.Adam(1e-4)

    def train_step(images):
        noise = tf.random.normal([len(images), 100])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated_images = generator(noise, training=True)
            real_output = discriminator(images, training=True)
            fake_output = discriminator(generated_images, training=True)
            gen_loss = cross_entropy(tf.ones_like(fake_output), fake_output)
            disc_loss = cross_entropy(tf.ones_like(real_output), real_output) + \
                cross_entropy(tf.zeros_like(fake_output), fake_output)
        gen_grads = gen_tape.gradient(gen_loss, generator.trainable_variables)
        disc_grads = disc_tape.gradient(disc_loss, discriminator.trainable_variables)
        generator_optimizer.apply_gradients(zip(gen_grads, generator.trainable_variables))
        discriminator_optimizer.apply_gradients(zip(disc_grads,
                                                    discriminator.trainable_variables))
        return gen_loss

    def epoch(part):
        for images in part:
            loss = train_step(images)
        return float(loss)

    return epoch


def glassnet_dcgan(threads, batches):
    import glassnet as tf
    from glassnet import keras

    tf.set_num_threads(threads)
    keras.utils.set_random_seed(0)
    return keras_dcgan(tf, keras, keras.layers, threads, batches)


def tensorflow_dcgan(threads, batches):
    import tensorflow as tf
    from tensorflow import keras

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    keras.utils.set_random_seed(0)
    return keras_dcgan(tf, keras, keras.layers, threads, batches)


def torch_dcgan(threads, batches):
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(0)

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.dense = nn.Sequential(nn.Linear(100, 7 * 7 * 256, bias=False),
                                       nn.BatchNorm1d(7 * 7 * 256), nn.LeakyReLU(0.3))
            self.convs = nn.Sequential(
                nn.ConvTranspose2d(256, 128, 5, 1, padding=2, bias=False), nn.BatchNorm2d(128),
                nn.LeakyReLU(0.3),
                nn.ConvTranspose2d(128, 64, 5, 2, padding=2, output_padding=1, bias=False),
                nn.BatchNorm2d(64), nn.LeakyReLU(0.3),
                nn.ConvTranspose2d(64, 1, 5, 2, padding=2, output_padding=1, bias=False),
                nn.Tanh())

        def forward(self, z):
            return self.convs(self.dense(z).view(-1, 256, 7, 7))

    generator = Generator()
    discriminator = nn.Sequential(
        nn.Conv2d(1, 64, 5, 2, padding=2), nn.LeakyReLU(0.3), nn.Dropout(0.3),
        nn.Conv2d(64, 128, 5, 2, padding=2), nn.LeakyReLU(0.3), nn.Dropout(0.3),
        nn.Flatten(), nn.Linear(128 * 7 * 7, 1))
    bce = nn.BCEWithLogitsLoss()
    gen_opt = torch.optim.Adam(generator.parameters(), 1e-4, eps=1e-7)
    disc_opt = torch.optim.Adam(discriminator.parameters(), 1e-4, eps=1e-7)
    tensors = {id(b): torch.from_numpy(b.transpose(0, 3, 1, 2).copy()) for b in batches}

    def epoch(part):
        for images in part:
            real = tensors[id(images)]
            noise = torch.randn(len(real), 100)
            fake = generator(noise)
            real_out, fake_out = discriminator(real), discriminator(fake)
            gen_loss = bce(fake_out, torch.ones_like(fake_out))
            disc_loss = bce(real_out, torch.ones_like(real_out)) + \
                bce(fake_out, torch.zeros_like(fake_out))
            gen_opt.zero_grad()
            disc_opt.zero_grad()
            gen_grads = torch.autograd.grad(gen_loss, list(generator.parameters()),
                                            retain_graph=True)
            disc_grads = torch.autograd.grad(disc_loss, list(discriminator.parameters()))
            for p, g in zip(generator.parameters(), gen_grads):
                p.grad = g
            for p, g in zip(discriminator.parameters(), disc_grads):
                p.grad = g
            gen_opt.step()
            disc_opt.step()
        return float(gen_loss.detach())

    return epoch


# ----------------------------------------------------------------- the conductor
def start(python, library, threads, data, workload="mlp"):
    env = dict(os.environ, PYTHONPATH=SRC, OMP_NUM_THREADS=str(threads),
               TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.Popen([python, os.path.abspath(__file__), "--worker", library,
                                "--threads", str(threads), "--data", data,
                                "--workload", workload],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                               env=env)
    line = process.stdout.readline()
    if line.strip() != "ready":
        process.kill()
        raise RuntimeError(f"{library} worker did not start: {line!r}")
    return process


def measure(threads, rounds, data, tf_python, workload="mlp"):
    libraries = {"glassnet": sys.executable, "torch": sys.executable}
    if tf_python:
        libraries["tensorflow"] = tf_python
    workers = {name: start(python, name, threads, data, workload)
               for name, python in libraries.items()}
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
    parser.add_argument("--workload", choices=("mlp", "dcgan"), default="mlp",
                        help="mlp: keras.io's training loop; dcgan: TensorFlow's DCGAN "
                             "tutorial's step (batch 256; an epoch is --images // 256 steps)")
    parser.add_argument("--worker")
    parser.add_argument("--data")
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker, int(args.threads), args.data, args.workload)

    import numpy as np

    sys.path.insert(0, SRC)
    from glassnet.datasets import fashion_mnist

    (x_train, y_train), _ = fashion_mnist.load_data()
    x = x_train[:args.images].reshape(-1, 784).astype(np.float32) / np.float32(255)
    y = y_train[:args.images].astype(np.int32)
    report = {"images": args.images, "rounds": args.rounds, "results": []}
    what = (f"DCGAN tutorial step (batch 256), {args.images // 256} steps a round"
            if args.workload == "dcgan" else
            f"MLP 784-256-128-10, batch 128, Adam, one epoch of {args.images:,} images")
    print(f"tape training step: {what}, Fashion-MNIST; {args.rounds} interleaved rounds; "
          f"load {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as folder:
        data = os.path.join(folder, "data.npz")
        np.savez(data, x=x, y=y)
        for threads in [int(t) for t in args.threads.split(",")]:
            times, losses = measure(threads, args.rounds, data, args.tf_python, args.workload)
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
