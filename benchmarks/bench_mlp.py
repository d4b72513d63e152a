"""glassnet vs PyTorch on the CPU, side by side: the MLP and the CNN of the lessons.

    python benchmarks/bench_mlp.py [--epochs 10] [--threads 1,2] [--json out.json]

Same network (784-256-128-10, relu, softmax + cross-entropy), same initial
weights (glassnet's, copied into PyTorch), same batches (one permutation per
epoch, used by both), Adam 1e-3, batch 128, float32, on the real
Fashion-MNIST. For each thread count a fresh process alternates one glassnet
epoch and one PyTorch epoch, so the medians compare epochs taken under the
same load; the test accuracy after the last epoch is compared like for like.

Workloads: MLP training epoch; CNN training epoch (Conv2D 32 > pool > Conv2D 64 >
pool > Dense 128, on the first --cnn-images images, 2 threads); MLP inference on the 10,000
test images (batch 1000, repeated); start-up (the import of glassnet with Sequential, layers,
optimizers and losses vs `import torch`, timed inside a fresh interpreter, and
the whole `glassnet --help` command); peak memory of a one-epoch run of each library (the
MLP, and the CNN on all 60,000 images) and of `glassnet train` with its defaults (each in its own process). Machines are
shared and noisy: the load average is printed with every run.

Requires: pip install torch==2.13.0 (CPU), and Fashion-MNIST
(apt-get install dataset-fashion-mnist).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def load_average():
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def as_float32(images):
    """(n, 784) float32 in [0, 1], without a float64 copy of the data set."""
    import numpy as np

    x = images.reshape(len(images), -1).astype(np.float32)
    x *= np.float32(1 / 255)
    return x


# --------------------------------------------------------------- one process per thread count
def run_training(threads, epochs, inference_repeats):
    import numpy as np
    import torch
    from threadpoolctl import threadpool_limits

    import glassnet as gn
    from glassnet.datasets import fashion_mnist
    from glassnet.layers import Dense, Input

    torch.set_num_threads(threads)
    limits = threadpool_limits(threads)  # noqa: F841 (kept alive for the whole run)
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    x, y = as_float32(x_train), y_train.astype(np.int64)
    xt, yt = as_float32(x_test), y_test.astype(np.int64)

    gn.utils.set_random_seed(0)
    model = gn.Sequential([Input((784,)), Dense(256, activation="relu"),
                           Dense(128, activation="relu"), Dense(10, activation="softmax")])
    model.compile(gn.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")

    net = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                              torch.nn.Linear(256, 128), torch.nn.ReLU(),
                              torch.nn.Linear(128, 10))
    with torch.no_grad():
        weights = model.get_weights()
        for i, linear in enumerate([net[0], net[2], net[4]]):
            linear.weight.copy_(torch.from_numpy(weights[2 * i].T.copy()))
            linear.bias.copy_(torch.from_numpy(weights[2 * i + 1]))
    # Keras's ε sits outside the bias correction: PyTorch's equivalent grows with t,
    # so use PyTorch's default: the two agree to ~1e-5 relative in the step size
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    X, Y = torch.from_numpy(x), torch.from_numpy(y)

    def torch_epoch(order):
        net.train()
        index = torch.from_numpy(order)
        for start in range(0, len(X), 128):
            batch = index[start:start + 128]
            optimizer.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(net(X[batch]), Y[batch])
            loss.backward()
            optimizer.step()

    times = {"glassnet": [], "pytorch": []}
    loads = []
    for epoch in range(epochs):
        order = np.random.default_rng(1000 + epoch).permutation(len(x))
        loads.append(load_average())
        start = time.perf_counter()
        model.fit(x, y, batch_size=128, epochs=1, verbose=0, seed=1000 + epoch)
        times["glassnet"].append(time.perf_counter() - start)
        start = time.perf_counter()
        torch_epoch(order)
        times["pytorch"].append(time.perf_counter() - start)

    accuracy = {"glassnet": float(np.mean(model.predict(xt, batch_size=1000, verbose=0).argmax(1) == yt))}
    net.eval()
    with torch.no_grad():
        accuracy["pytorch"] = float((net(torch.from_numpy(xt)).argmax(1).numpy() == yt).mean())

    inference = {"glassnet": [], "pytorch": []}
    for _ in range(inference_repeats):
        start = time.perf_counter()
        model.predict(xt, batch_size=1000, verbose=0)
        inference["glassnet"].append(time.perf_counter() - start)
        start = time.perf_counter()
        with torch.no_grad():
            for i in range(0, len(xt), 1000):
                net(torch.from_numpy(xt[i:i + 1000]))
        inference["pytorch"].append(time.perf_counter() - start)
    return {"threads": threads, "epoch_seconds": times, "inference_seconds": inference,
            "test_accuracy": accuracy, "load_average": loads}


# --------------------------------------------------------------- the CNN, one process
def run_cnn(threads, images, epochs):
    """Conv2D(32,3) > pool > Conv2D(64,3) > pool > Dense(128) > Dense(10), same
    initial weights, alternating epochs; NHWC data converted once for PyTorch."""
    import numpy as np
    import torch
    from threadpoolctl import threadpool_limits

    import glassnet as gn
    from glassnet.datasets import fashion_mnist
    from glassnet.layers import Conv2D, Dense, Flatten, Input, MaxPooling2D

    torch.set_num_threads(threads)
    limits = threadpool_limits(threads)  # noqa: F841
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    x = (as_float32(x_train[:images])).reshape(-1, 28, 28, 1)
    y = y_train[:images].astype(np.int64)
    xt, yt = as_float32(x_test).reshape(-1, 28, 28, 1), y_test.astype(np.int64)
    gn.utils.set_random_seed(0)
    model = gn.Sequential([Input((28, 28, 1)), Conv2D(32, 3, activation="relu"), MaxPooling2D(),
                           Conv2D(64, 3, activation="relu"), MaxPooling2D(), Flatten(),
                           Dense(128, activation="relu"), Dense(10, activation="softmax")])
    model.compile(gn.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    nn = torch.nn
    net = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3),
                        nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 128),
                        nn.ReLU(), nn.Linear(128, 10))
    w = model.get_weights()
    with torch.no_grad():
        for conv, (k, b) in zip([net[0], net[3]], [(w[0], w[1]), (w[2], w[3])]):
            conv.weight.copy_(torch.from_numpy(k.transpose(3, 2, 0, 1).copy()))  # OIHW
            conv.bias.copy_(torch.from_numpy(b))
        # Flatten order differs (NHWC vs NCHW): permute the first Dense kernel's rows
        k = w[4].reshape(5, 5, 64, 128).transpose(2, 0, 1, 3).reshape(1600, 128)
        net[7].weight.copy_(torch.from_numpy(k.T.copy()))
        net[7].bias.copy_(torch.from_numpy(w[5]))
        net[9].weight.copy_(torch.from_numpy(w[6].T.copy()))
        net[9].bias.copy_(torch.from_numpy(w[7]))
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    X = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
    Y = torch.from_numpy(y)
    times = {"glassnet": [], "pytorch": []}
    for epoch in range(epochs):
        order = np.random.default_rng(2000 + epoch).permutation(len(x))
        start = time.perf_counter()
        model.fit(x, y, batch_size=128, epochs=1, verbose=0, seed=2000 + epoch)
        times["glassnet"].append(time.perf_counter() - start)
        start = time.perf_counter()
        index = torch.from_numpy(order)
        for i in range(0, len(X), 128):
            batch = index[i:i + 128]
            optimizer.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(net(X[batch]), Y[batch]).backward()
            optimizer.step()
        times["pytorch"].append(time.perf_counter() - start)
    accuracy = {"glassnet": float(np.mean(model.predict(xt, 1000, verbose=0).argmax(1) == yt))}
    with torch.no_grad():
        accuracy["pytorch"] = float((net(torch.from_numpy(xt.transpose(0, 3, 1, 2).copy()))
                                     .argmax(1).numpy() == yt).mean())
    return {"threads": threads, "images": images, "epoch_seconds": times,
            "test_accuracy": accuracy, "load_average": load_average()}


# --------------------------------------------------------------- memory: one process each
def run_memory(library):
    """Peak RSS (MB) of one training epoch of ``library``, data loading included."""
    import numpy as np

    from glassnet.datasets import fashion_mnist

    (x_train, y_train), _ = fashion_mnist.load_data()
    x, y = as_float32(x_train), y_train.astype(np.int64)
    del x_train
    if library == "glassnet-cnn":
        import glassnet as gn
        from glassnet.layers import Conv2D, Dense, Flatten, Input, MaxPooling2D

        model = gn.Sequential([Input((28, 28, 1)), Conv2D(32, 3, activation="relu"),
                               MaxPooling2D(), Conv2D(64, 3, activation="relu"), MaxPooling2D(),
                               Flatten(), Dense(128, activation="relu"),
                               Dense(10, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(x.reshape(-1, 28, 28, 1), y, batch_size=128, epochs=1, verbose=0)
    elif library == "pytorch-cnn":
        import torch

        nn = torch.nn
        net = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3),
                            nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 128),
                            nn.ReLU(), nn.Linear(128, 10))
        torch_epoch(net, x.reshape(-1, 1, 28, 28), y)
    elif library == "glassnet":
        import glassnet as gn
        from glassnet.layers import Dense, Input

        model = gn.Sequential([Input((784,)), Dense(256, activation="relu"),
                               Dense(128, activation="relu"), Dense(10, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(x, y, batch_size=128, epochs=1, verbose=0)
    else:
        import torch

        net = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                  torch.nn.Linear(256, 128), torch.nn.ReLU(),
                                  torch.nn.Linear(128, 10))
        torch_epoch(net, x, y)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def torch_epoch(net, x, y):
    """One epoch of Adam 1e-3, batch 128, shuffled, on NumPy arrays x, y."""
    import torch

    opt = torch.optim.Adam(net.parameters(), 1e-3)
    X, Y = torch.from_numpy(x), torch.from_numpy(y)
    perm = torch.randperm(len(X))
    for i in range(0, len(X), 128):
        idx = perm[i:i + 128]
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(X[idx]), Y[idx]).backward()
        opt.step()


def child(args):
    return json.loads(subprocess.run([sys.executable, __file__] + args, check=True,
                                     capture_output=True, text=True).stdout.splitlines()[-1])


def time_command(command, repeats):
    values = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        values.append(time.perf_counter() - start)
    return values


# runs one command and reports its peak RSS: RUSAGE_CHILDREN of a fresh process
_PEAK_WRAPPER = ("import resource, subprocess, sys; "
                 "subprocess.run(sys.argv[1:], check=True); "
                 "print('PEAK_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def time_import(statement, repeats):
    """Seconds the import statement takes in a fresh interpreter (start-up excluded)."""
    code = ("import time; t = time.perf_counter(); " + statement +
            "; print(time.perf_counter() - t)")
    return [float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                 text=True).stdout) for _ in range(repeats)]


def peak_memory_of_glassnet_train():
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-c", _PEAK_WRAPPER, sys.executable, "-m",
                                 "glassnet", "train", "--out", out],
                                check=True, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        peak_kb = int(result.stdout.strip().splitlines()[-1].split()[1])
        with open(os.path.join(out, "metrics.json")) as f:
            metrics = json.load(f)
    tail = [line for line in result.stdout.splitlines() if line.startswith(("Test", "Time"))]
    return {"peak_mb": peak_kb / 1024, "wall_seconds": seconds,
            "test_accuracy": metrics["test"]["accuracy"], "lines": tail}


def median(values):
    return statistics.median(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--inference-repeats", type=int, default=7)
    parser.add_argument("--startup-repeats", type=int, default=7)
    parser.add_argument("--cnn-images", type=int, default=10000,
                        help="training images per CNN epoch (0: skip the CNN)")
    parser.add_argument("--cnn-epochs", type=int, default=3)
    parser.add_argument("--cnn-threads", type=int, default=2)
    parser.add_argument("--skip-train-command", action="store_true",
                        help="don't time `glassnet train` (it trains 15 epochs)")
    parser.add_argument("--json", help="also write the raw numbers here")
    parser.add_argument("--child-training", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-memory", help=argparse.SUPPRESS)
    parser.add_argument("--child-cnn", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_cnn:
        print(json.dumps(run_cnn(args.child_cnn, args.cnn_images, args.cnn_epochs)))
        return
    if args.child_training:
        print(json.dumps(run_training(args.child_training, args.epochs,
                                      args.inference_repeats)))
        return
    if args.child_memory:
        print(json.dumps(run_memory(args.child_memory)))
        return

    import torch

    import glassnet

    report = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": platform.processor() or
              platform.machine(), "cpus": os.cpu_count(), "glassnet": glassnet.__version__,
              "pytorch": torch.__version__, "runs": []}
    for threads in [int(t) for t in args.threads.split(",")]:
        print(f"training, {threads} thread(s) ...", file=sys.stderr, flush=True)
        report["runs"].append(child(["--child-training", str(threads),
                                     "--epochs", str(args.epochs),
                                     "--inference-repeats", str(args.inference_repeats)]))
    if args.cnn_images:
        print(f"CNN, {args.cnn_threads} thread(s) ...", file=sys.stderr, flush=True)
        report["cnn"] = child(["--child-cnn", str(args.cnn_threads), "--cnn-images",
                               str(args.cnn_images), "--cnn-epochs", str(args.cnn_epochs)])
    print("memory ...", file=sys.stderr, flush=True)
    report["memory_mb"] = {lib: child(["--child-memory", lib]) for lib in (
        "glassnet", "pytorch", "glassnet-cnn", "pytorch-cnn")}
    print("start-up ...", file=sys.stderr, flush=True)
    report["startup_seconds"] = {
        "glassnet": time_import("import glassnet; from glassnet import Sequential, layers, "
                                "optimizers, losses", args.startup_repeats),
        "pytorch": time_import("import torch", args.startup_repeats),
        "python": time_command([sys.executable, "-c", "pass"], args.startup_repeats),
        "glassnet --help": time_command([sys.executable, "-m", "glassnet", "--help"],
                                        args.startup_repeats)}
    if not args.skip_train_command:
        print("glassnet train ...", file=sys.stderr, flush=True)
        report["glassnet_train"] = peak_memory_of_glassnet_train()
    print_report(report)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)


def print_report(r):
    print(f"glassnet {r['glassnet']} vs PyTorch {r['pytorch']} -- {r['date']}, {r['machine']}, "
          f"{r['cpus']} CPUs. Medians; ratio = glassnet / PyTorch (below 1: glassnet faster).")
    print(f"{'workload':<42} {'threads':>7} {'glassnet':>9} {'PyTorch':>9} {'ratio':>6} "
          f"{'load':>5}")
    for run in r["runs"]:
        t, load = run["threads"], median(run["load_average"])
        g, p = median(run["epoch_seconds"]["glassnet"]), median(run["epoch_seconds"]["pytorch"])
        print(f"{'MLP training epoch, Fashion-MNIST (s)':<42} {t:>7} {g:>9.3f} {p:>9.3f} "
              f"{g / p:>6.2f} {load:>5.2f}")
        g = median(run["inference_seconds"]["glassnet"])
        p = median(run["inference_seconds"]["pytorch"])
        print(f"{'MLP inference, 10,000 test images (s)':<42} {t:>7} {g:>9.4f} {p:>9.4f} "
              f"{g / p:>6.2f}")
        acc = run["test_accuracy"]
        epochs = len(run["epoch_seconds"]["glassnet"])
        print(f"{f'test accuracy after {epochs} epochs':<42} {t:>7} {acc['glassnet']:>9.4f} "
              f"{acc['pytorch']:>9.4f} {acc['glassnet'] - acc['pytorch']:>+6.3f}")
    if "cnn" in r:
        c = r["cnn"]
        g, p = median(c["epoch_seconds"]["glassnet"]), median(c["epoch_seconds"]["pytorch"])
        label = f"CNN training epoch, {c['images']:,} images (s)"
        print(f"{label:<42} {c['threads']:>7} {g:>9.3f} {p:>9.3f} {g / p:>6.2f} "
              f"{c['load_average']:>5.2f}")
        acc = c["test_accuracy"]
        label = f"CNN test accuracy after {len(c['epoch_seconds']['glassnet'])} epochs"
        print(f"{label:<42} {c['threads']:>7} {acc['glassnet']:>9.4f} {acc['pytorch']:>9.4f} "
              f"{acc['glassnet'] - acc['pytorch']:>+6.3f}")
    s = r["startup_seconds"]
    g, p = median(s["glassnet"]), median(s["pytorch"])
    print(f"{'import glassnet (+ Sequential, layers) / torch (s)':<42} {'-':>7} {g:>9.3f} "
          f"{p:>9.3f} {g / p:>6.2f}")
    print(f"{'glassnet --help, whole command (s)':<42} {'-':>7} "
          f"{median(s['glassnet --help']):>9.3f}   (python -c pass: {median(s['python']):.3f})")
    m = r["memory_mb"]
    print(f"{'peak memory, one MLP training epoch (MB)':<42} {'all':>7} {m['glassnet']:>9.0f} "
          f"{m['pytorch']:>9.0f} {m['glassnet'] / m['pytorch']:>6.2f}")
    if "glassnet-cnn" in m:
        print(f"{'peak memory, one CNN epoch, 60,000 (MB)':<42} {'all':>7} "
              f"{m['glassnet-cnn']:>9.0f} {m['pytorch-cnn']:>9.0f} "
              f"{m['glassnet-cnn'] / m['pytorch-cnn']:>6.2f}")
    if "glassnet_train" in r:
        t = r["glassnet_train"]
        print(f"{'glassnet train (defaults): peak MB / wall s':<42} {'all':>7} "
              f"{t['peak_mb']:>9.0f} {t['wall_seconds']:>9.1f}   test accuracy "
              f"{t['test_accuracy']:.4f}")
        for line in t["lines"]:
            print(f"    {line}")


if __name__ == "__main__":
    main()
