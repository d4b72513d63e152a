"""``glassnet bench``: glassnet against PyTorch, onnxruntime and Keras on this machine.

    glassnet bench [--quick] [--json] [--markdown] [--threads 1,2] [--rounds 5]

Each peer runs only if it is installed. The workloads, on the real
Fashion-MNIST (float32 pixels in [0, 1]):

- the training epoch of the lessons' MLP (784-256-128-10, relu, softmax +
  cross-entropy, Adam 1e-3, batch 128) on the 60,000 training images;
- the training epoch of the lessons' CNN (Conv2D(32, 3) > MaxPooling2D >
  Conv2D(64, 3) > MaxPooling2D > Dense(128) > Dense(10)) on the first 10,000;
- inference of both on the 10,000 test images, in batches of 1,000: glassnet's
  ``predict``, PyTorch under ``no_grad``, the model exported by glassnet run in
  onnxruntime, and Keras's ``predict``;
- the training step of Embedding(10000, 32) > LSTM(64) > Dense(1, sigmoid) on
  64 sequences of 100 tokens (Adam, binary cross-entropy);
- the training epoch of *Deep Learning with Python*'s chapter 8 convnet
  (Conv2D(32, 3) > MaxPooling2D > Conv2D(64, 3) > MaxPooling2D > Conv2D(128, 3)
  > Flatten > Dense(10), RMSprop, batch 64, the book's code) on the first
  10,000 training images (the book trains on MNIST's 60,000, which have the
  same shape).

Every thread count (1 and all cores) runs in a fresh process, where each
round times every library once in turn (interleaved: all see the same load);
the table shows the median of the rounds and the ratio glassnet / peer (below
1: glassnet is faster). Each timed call starts after a 0.2 s pause, so that the
previous library's threads, which spin for a while after their work (OpenMP's,
onnxruntime's, OpenBLAS's), do not take the cores it needs. Every library gets
the same thread count: glassnet's own pool and NumPy's BLAS, PyTorch's
``set_num_threads``, onnxruntime's intra-op threads, Keras's TensorFlow pools. Peak memory (the largest resident size) is that of a
fresh process per library that trains one MLP epoch (these run side by side:
memory does not depend on the load). ``--quick`` shrinks the
data (5,000 MLP images, 1,000 for the CNN and 1,000 test images for its
inference) and the rounds, to finish in under a minute. The load average is
printed before and after (after, it counts the bench's own threads), with a
warning when the machine is busy before it starts. NumPy's BLAS kernels are
printed too: an ``OPENBLAS_CORETYPE`` set in the environment pins them.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

LIBRARIES = ("glassnet", "pytorch", "onnxruntime", "keras")
LABELS = {"glassnet": "glassnet", "pytorch": "PyTorch", "onnxruntime": "onnxruntime",
          "keras": "Keras"}
BATCH, PREDICT_BATCH = 128, 1000
# a pause before each timed call: the thread pools of PyTorch (OpenMP), onnxruntime and
# OpenBLAS spin for a while after a call (up to ~0.1 s), on the cores the next library needs
SETTLE_SECONDS = 0.2
FULL = {"mlp_images": 60000, "cnn_images": 10000, "test_images": 10000,
        "cnn_test_images": 10000, "lstm_steps": 10, "ch8_images": 10000, "rounds": 5}
QUICK = {"mlp_images": 5000, "cnn_images": 1000, "test_images": 10000,
         "cnn_test_images": 1000, "lstm_steps": 3, "ch8_images": 1000, "rounds": 3}
CH8_BATCH = 64   # the book's


def installed(name):
    """Whether a peer's package can be imported (without importing it)."""
    module = {"pytorch": "torch"}.get(name, name)
    return name == "glassnet" or importlib.util.find_spec(module) is not None


def load_average():
    try:
        return os.getloadavg()
    except (OSError, AttributeError):
        return (float("nan"),) * 3


def cpu_name():
    """The CPU's model name (Linux's /proc/cpuinfo), else what platform says."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_info():
    """The BLAS under NumPy: library, kernels, threads, and OpenBLAS's variables."""
    from threadpoolctl import threadpool_info

    info = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    first = info[0] if info else {}
    return {"library": first.get("internal_api"), "version": first.get("version"),
            "kernels": first.get("architecture"), "threads": first.get("num_threads"),
            "environment": {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                                         "OPENBLAS_NUM_THREADS",
                                                         "OMP_NUM_THREADS")
                            if k in os.environ}}


# ------------------------------------------------------------------ the models
def _data(settings, data_path):
    import numpy as np

    from glassnet.datasets import fashion_mnist

    (x_train, y_train), (x_test, _) = fashion_mnist.load_data(path=data_path)
    n = max(settings["mlp_images"], settings["cnn_images"])
    x = x_train[:n].reshape(n, 784).astype(np.float32)
    x *= np.float32(1 / 255)
    xt = x_test[:settings["test_images"]].reshape(-1, 784).astype(np.float32)
    xt *= np.float32(1 / 255)
    return x, y_train[:n].astype(np.int64), xt


def _glassnet_models():
    import glassnet as gn
    from glassnet.layers import Conv2D, Dense, Embedding, Flatten, Input, LSTM, MaxPooling2D

    gn.utils.set_random_seed(0)
    mlp = gn.Sequential([Input((784,)), Dense(256, activation="relu"),
                         Dense(128, activation="relu"), Dense(10, activation="softmax")])
    cnn = gn.Sequential([Input((28, 28, 1)), Conv2D(32, 3, activation="relu"), MaxPooling2D(),
                         Conv2D(64, 3, activation="relu"), MaxPooling2D(), Flatten(),
                         Dense(128, activation="relu"), Dense(10, activation="softmax")])
    lstm = gn.Sequential([Input((100,), dtype="int32"), Embedding(10000, 32), LSTM(64),
                          Dense(1, activation="sigmoid")])
    for model, loss in ((mlp, "sparse_categorical_crossentropy"),
                        (cnn, "sparse_categorical_crossentropy"), (lstm, "binary_crossentropy")):
        model.compile(gn.optimizers.Adam(1e-3), loss)
    return mlp, cnn, lstm, _book_convnet(gn.keras)


def _book_convnet(keras):
    """*Deep Learning with Python* (2nd ed.), chapter 8: its first convnet, as written."""
    layers = keras.layers

    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(filters=32, kernel_size=3, activation="relu")(inputs)
    x = layers.MaxPooling2D(pool_size=2)(x)
    x = layers.Conv2D(filters=64, kernel_size=3, activation="relu")(x)
    x = layers.MaxPooling2D(pool_size=2)(x)
    x = layers.Conv2D(filters=128, kernel_size=3, activation="relu")(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def _torch_models(torch):
    nn = torch.nn
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                        nn.Linear(128, 10))
    cnn = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3),
                        nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 128),
                        nn.ReLU(), nn.Linear(128, 10))

    class Recurrent(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(10000, 32)
            self.lstm = nn.LSTM(32, 64, batch_first=True)
            self.dense = nn.Linear(64, 1)

        def forward(self, x):
            out, _ = self.lstm(self.embedding(x))
            return torch.sigmoid(self.dense(out[:, -1]))

    ch8 = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3),
                        nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(64, 128, 3), nn.ReLU(),
                        nn.Flatten(), nn.Linear(1152, 10))
    # Keras's RMSprop defaults: learning rate 1e-3, rho 0.9, epsilon 1e-7
    ch8._bench_optimizer = torch.optim.RMSprop(ch8.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
    return mlp, cnn, Recurrent(), ch8


def _keras_models(keras):
    keras.utils.set_random_seed(0)
    L = keras.layers
    mlp = keras.Sequential([keras.Input((784,)), L.Dense(256, activation="relu"),
                            L.Dense(128, activation="relu"), L.Dense(10, activation="softmax")])
    cnn = keras.Sequential([keras.Input((28, 28, 1)), L.Conv2D(32, 3, activation="relu"),
                            L.MaxPooling2D(), L.Conv2D(64, 3, activation="relu"),
                            L.MaxPooling2D(), L.Flatten(), L.Dense(128, activation="relu"),
                            L.Dense(10, activation="softmax")])
    lstm = keras.Sequential([keras.Input((100,), dtype="int32"), L.Embedding(10000, 32),
                             L.LSTM(64), L.Dense(1, activation="sigmoid")])
    for model, loss in ((mlp, "sparse_categorical_crossentropy"),
                        (cnn, "sparse_categorical_crossentropy"), (lstm, "binary_crossentropy")):
        model.compile(keras.optimizers.Adam(1e-3), loss)
    return mlp, cnn, lstm, _book_convnet(keras)


def _torch_epoch(torch, net, x, y, order, batch_size=BATCH):
    optimizer = getattr(net, "_bench_optimizer", None)
    if optimizer is None:
        optimizer = net._bench_optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    net.train()
    index = torch.from_numpy(order)
    for start in range(0, len(x), batch_size):
        batch = index[start:start + batch_size]
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(net(x[batch]), y[batch]).backward()
        optimizer.step()


def _torch_predict(torch, net, x):
    net.eval()
    with torch.no_grad():
        return [torch.softmax(net(x[i:i + PREDICT_BATCH]), -1) for i in
                range(0, len(x), PREDICT_BATCH)]


def _keras_threads(threads):
    """Before Keras loads: its backend's thread pools."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    if threads == 1:
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                                   " --xla_cpu_multi_thread_eigen=false"
                                   " intra_op_parallelism_threads=1").strip()


def workloads(threads, settings, data_path, libraries):
    """{workload: (label, {library: a function that runs it once})}, built in
    this process with ``threads`` threads for every library."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    from glassnet import threads as glassnet_threads

    limits = threadpool_limits(threads)  # noqa: F841 (NumPy's BLAS, for the process)
    workloads._limits = limits
    glassnet_threads.set_size(threads)   # glassnet's own pool
    x, y, xt = _data(settings, data_path)
    mlp_n, cnn_n = settings["mlp_images"], settings["cnn_images"]
    x_mlp, y_mlp = x[:mlp_n], y[:mlp_n]
    x_cnn, y_cnn = x[:cnn_n].reshape(-1, 28, 28, 1), y[:cnn_n]
    ch8_n = settings["ch8_images"]
    x_ch8, y_ch8 = x[:ch8_n].reshape(-1, 28, 28, 1), y[:ch8_n]
    xt_cnn = xt[:settings["cnn_test_images"]].reshape(-1, 28, 28, 1)
    rng = np.random.default_rng(0)
    tokens = rng.integers(1, 10000, size=(64, 100)).astype(np.int32)
    labels = rng.integers(0, 2, size=(64, 1)).astype(np.float32)
    steps = settings["lstm_steps"]
    epoch = {"n": 0}

    def order(n):  # the same shuffled order for every library in a round
        return np.random.default_rng(1000 + epoch["n"]).permutation(n)

    table = {
        "mlp_train": (f"MLP training epoch, {mlp_n:,} images", {}),
        "cnn_train": (f"CNN training epoch, {cnn_n:,} images", {}),
        "mlp_predict": (f"MLP inference, {len(xt):,} test images", {}),
        "cnn_predict": (f"CNN inference, {len(xt_cnn):,} test images", {}),
        "lstm_step": ("LSTM(64) training step, batch 64 x 100 tokens", {}),
        "ch8_train": (f"Deep Learning with Python ch. 8 convnet epoch, {ch8_n:,} images", {}),
    }
    mlp, cnn, lstm, ch8 = _glassnet_models()
    table["ch8_train"][1]["glassnet"] = lambda warm=False: ch8.fit(
        *_part(warm, x_ch8, y_ch8), batch_size=CH8_BATCH, epochs=1, verbose=0,
        seed=3000 + epoch["n"])
    table["mlp_train"][1]["glassnet"] = lambda warm=False: mlp.fit(
        *_part(warm, x_mlp, y_mlp), batch_size=BATCH, epochs=1, verbose=0,
        seed=1000 + epoch["n"])
    table["cnn_train"][1]["glassnet"] = lambda warm=False: cnn.fit(
        *_part(warm, x_cnn, y_cnn), batch_size=BATCH, epochs=1, verbose=0,
        seed=2000 + epoch["n"])
    table["mlp_predict"][1]["glassnet"] = lambda: mlp.predict(xt, batch_size=PREDICT_BATCH,
                                                              verbose=0)
    table["cnn_predict"][1]["glassnet"] = lambda: cnn.predict(xt_cnn, batch_size=PREDICT_BATCH,
                                                              verbose=0)

    def glassnet_lstm():
        for _ in range(steps):
            lstm.train_on_batch(tokens, labels)

    table["lstm_step"][1]["glassnet"] = glassnet_lstm

    if "pytorch" in libraries:
        import torch

        torch.set_num_threads(threads)
        t_mlp, t_cnn, t_lstm, t_ch8 = _torch_models(torch)
        XC8 = torch.from_numpy(x_ch8.transpose(0, 3, 1, 2).copy())
        YC8 = torch.from_numpy(y_ch8)
        table["ch8_train"][1]["pytorch"] = lambda warm=False: _torch_epoch(
            torch, t_ch8, *_part(warm, XC8, YC8), order(len(_part(warm, XC8)[0])), CH8_BATCH)
        X, Y = torch.from_numpy(x_mlp), torch.from_numpy(y_mlp)
        XC = torch.from_numpy(x_cnn.transpose(0, 3, 1, 2).copy())
        YC = torch.from_numpy(y_cnn)
        XT, XTC = torch.from_numpy(xt), torch.from_numpy(xt_cnn.transpose(0, 3, 1, 2).copy())
        table["mlp_train"][1]["pytorch"] = lambda warm=False: _torch_epoch(
            torch, t_mlp, *_part(warm, X, Y), order(len(_part(warm, X)[0])))
        table["cnn_train"][1]["pytorch"] = lambda warm=False: _torch_epoch(
            torch, t_cnn, *_part(warm, XC, YC), order(len(_part(warm, XC)[0])))
        table["mlp_predict"][1]["pytorch"] = lambda: _torch_predict(torch, t_mlp, XT)
        table["cnn_predict"][1]["pytorch"] = lambda: _torch_predict(torch, t_cnn, XTC)
        lstm_optimizer = torch.optim.Adam(t_lstm.parameters(), lr=1e-3)
        T, TY = torch.from_numpy(tokens.astype(np.int64)), torch.from_numpy(labels)

        def torch_lstm():
            t_lstm.train()
            for _ in range(steps):
                lstm_optimizer.zero_grad(set_to_none=True)
                torch.nn.functional.binary_cross_entropy(t_lstm(T), TY).backward()
                lstm_optimizer.step()

        table["lstm_step"][1]["pytorch"] = torch_lstm

    if "onnxruntime" in libraries:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        folder = tempfile.mkdtemp(prefix="glassnet-bench-")
        sessions = {}
        for name, model in (("mlp", mlp), ("cnn", cnn)):
            path = model.export(os.path.join(folder, f"{name}.onnx"), verbose=False)
            sessions[name] = onnxruntime.InferenceSession(path, options,
                                                          providers=["CPUExecutionProvider"])
            os.remove(path)
        os.rmdir(folder)

        def ort_predict(session, data):
            feed = session.get_inputs()[0].name
            return [session.run(None, {feed: data[i:i + PREDICT_BATCH]})[0]
                    for i in range(0, len(data), PREDICT_BATCH)]

        table["mlp_predict"][1]["onnxruntime"] = lambda: ort_predict(sessions["mlp"], xt)
        table["cnn_predict"][1]["onnxruntime"] = lambda: ort_predict(sessions["cnn"], xt_cnn)

    if "keras" in libraries:
        import keras

        backend = keras.backend.backend()
        if backend == "tensorflow":
            import tensorflow as tf

            try:
                tf.config.threading.set_intra_op_parallelism_threads(threads)
                tf.config.threading.set_inter_op_parallelism_threads(1)
            except RuntimeError:  # already initialised: the environment variables hold
                pass
        k_mlp, k_cnn, k_lstm, k_ch8 = _keras_models(keras)
        table["ch8_train"][1]["keras"] = lambda warm=False: k_ch8.fit(
            *_part(warm, x_ch8, y_ch8), batch_size=CH8_BATCH, epochs=1, verbose=0, shuffle=True)
        table["mlp_train"][1]["keras"] = lambda warm=False: k_mlp.fit(
            *_part(warm, x_mlp, y_mlp), batch_size=BATCH, epochs=1, verbose=0, shuffle=True)
        table["cnn_train"][1]["keras"] = lambda warm=False: k_cnn.fit(
            *_part(warm, x_cnn, y_cnn), batch_size=BATCH, epochs=1, verbose=0, shuffle=True)
        table["mlp_predict"][1]["keras"] = lambda: k_mlp.predict(xt, batch_size=PREDICT_BATCH,
                                                                 verbose=0)
        table["cnn_predict"][1]["keras"] = lambda: k_cnn.predict(
            xt_cnn, batch_size=PREDICT_BATCH, verbose=0)

        def keras_lstm():
            for _ in range(steps):
                k_lstm.train_on_batch(tokens, labels)

        table["lstm_step"][1]["keras"] = keras_lstm
    table["lstm_step"][1]["per_call"] = steps  # timed over `steps` steps: per step
    return table, epoch


def _part(warm, *arrays):
    """For a warm-up epoch: the first full batch and the last, shorter one (the
    two batch shapes Keras traces); else the arrays themselves."""
    if not warm:
        return arrays
    n = len(arrays[0])
    size = min(n, BATCH + (n % BATCH or BATCH))
    return tuple(a[:size] for a in arrays)


def run_threads(threads, settings, data_path, libraries, log=None):
    """One process's measurements: a warm-up call of every function (Keras
    compiles, BLAS warms up; a training epoch warms up on two batches), then
    ``rounds`` interleaved rounds."""
    table, epoch = workloads(threads, settings, data_path, libraries)
    results = {}
    for name, (label, runners) in table.items():
        if log:
            log(f"  {threads} thread(s): {label}")
        per_call = runners.pop("per_call", 1)
        for run in runners.values():
            run(warm=True) if name.endswith("_train") else run()   # warm-up, not timed
        times = {library: [] for library in runners}
        for round_ in range(settings["rounds"]):
            epoch["n"] = round_
            for library, run in runners.items():
                time.sleep(SETTLE_SECONDS)  # the last library's spinning threads go quiet
                start = time.perf_counter()
                run()
                times[library].append((time.perf_counter() - start) / per_call)
        results[name] = {"label": label, "seconds": times,
                         "median": {lib: statistics.median(v) for lib, v in times.items()}}
    return {"threads": threads, "workloads": results, "load_average": load_average()}


def run_memory(library, settings, data_path):
    """Peak resident memory (MB) of this process after one MLP training epoch
    of ``library`` (data loading and the library's import included)."""
    import resource

    import numpy as np

    x, y, _ = _data(dict(settings, cnn_images=0), data_path)
    if library == "glassnet":
        mlp = _glassnet_models()[0]
        mlp.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    elif library == "pytorch":
        import torch

        net = _torch_models(torch)[0]
        _torch_epoch(torch, net, torch.from_numpy(x), torch.from_numpy(y),
                     np.random.default_rng(0).permutation(len(x)))
    elif library == "keras":
        import keras

        _keras_models(keras)[0].fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    else:
        raise ValueError(f"no memory workload for {library!r}")
    kilobytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kilobytes / 1024 if sys.platform != "darwin" else kilobytes / 2 ** 20


# ------------------------------------------------------------------ the parent
def _child(arguments):
    """Run this module in a fresh process; its last output line is JSON."""
    return _children([arguments])[0]


def _children(argument_lists):
    """Run several fresh processes at once; the JSON of each one's last line."""
    processes = [subprocess.Popen([sys.executable, "-m", "glassnet.bench"] + arguments,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for arguments in argument_lists]
    results = [process.communicate() for process in processes]
    for process, (_, stderr) in zip(processes, results):
        if process.returncode != 0:
            raise RuntimeError(f"glassnet bench: a measuring process failed:\n"
                               f"{stderr.strip()[-2000:]}")
    return [json.loads(stdout.strip().splitlines()[-1]) for stdout, _ in results]


def _versions(libraries):
    import numpy

    import glassnet

    versions = {"glassnet": glassnet.__version__, "numpy": numpy.__version__}
    for library in libraries:
        module = {"pytorch": "torch"}.get(library, library)
        if library != "glassnet":
            try:
                from importlib.metadata import version
                versions[library] = version({"pytorch": "torch"}.get(library, module))
            except Exception:  # noqa: BLE001 (a version is decoration)
                versions[library] = "?"
    return versions


def busy(load, cpus):
    """A one-minute load average above a quarter of the cores: the figures of
    this run are noisier (another process shares the CPUs)."""
    return load == load and load > 0.25 * cpus


def measure(quick=False, threads=None, rounds=None, libraries=None, data_path=None,
            log=print):
    """The whole bench: a report (a dict, what --json prints)."""
    settings = dict(QUICK if quick else FULL)
    if rounds is not None:
        settings["rounds"] = rounds
    cpus = os.cpu_count() or 1
    threads = sorted(set(threads or [1, cpus]))
    found = [lib for lib in (libraries or LIBRARIES) if installed(lib)]
    missing = [lib for lib in (libraries or LIBRARIES) if lib not in found]
    before = load_average()
    report = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": cpu_name(), "cpus": cpus, "quick": quick, "settings": settings,
              "libraries": found, "missing": missing, "versions": _versions(found),
              "blas": blas_info(), "load_average_before": before, "runs": []}
    if busy(before[0], cpus):
        log(f"warning: the machine is busy (load average {before[0]:.2f} on {cpus} cores): "
            f"the times will be noisier; the ratios, from interleaved rounds, less so")
    pinned = report["blas"]["environment"].get("OPENBLAS_CORETYPE")
    if pinned:
        log(f"note: OPENBLAS_CORETYPE={pinned} pins NumPy's OpenBLAS to its {pinned} kernels "
            f"({report['blas']['kernels']} run); PyTorch and onnxruntime do not use it. To "
            f"measure the kernels OpenBLAS picks for this CPU: env -u OPENBLAS_CORETYPE -u "
            f"OPENBLAS_L2_SIZE glassnet bench")
    common = ["--libraries", ",".join(found)] + (["--quick"] if quick else []) + \
        ["--rounds", str(settings["rounds"])] + (["--data-path", data_path] if data_path else [])
    start = time.perf_counter()
    for t in threads:
        log(f"measuring with {t} thread(s) ({', '.join(found)}) ...")
        report["runs"].append(_child(["--child-threads", str(t)] + common))
        log(f"  ({time.perf_counter() - start:.0f} s)")
    # peak memory is not a time: one process per library, all at once
    trained = [lib for lib in found if lib != "onnxruntime"]  # no training in onnxruntime
    log(f"peak memory of an MLP training epoch ({', '.join(trained)}) ...")
    report["memory_mb"] = dict(zip(trained, _children(
        [["--child-memory", library] + common for library in trained])))
    report["seconds"] = time.perf_counter() - start
    log(f"done in {report['seconds']:.0f} s")
    # (by now the load average counts the bench's own threads: printed, not judged)
    report["load_average_after"] = load_average()
    return report


def rows(report):
    """(workload label, threads, {library: seconds}) per measured line: the
    workloads in order, each at every thread count."""
    names = list(report["runs"][0]["workloads"]) if report["runs"] else []
    return [(run["workloads"][name]["label"], run["threads"], run["workloads"][name]["median"])
            for name in names for run in report["runs"]]


def _memory_label(report):
    images = report.get("settings", FULL)["mlp_images"]
    return f"peak memory, a process training an MLP epoch on {images:,}"


def _megabytes(value):
    return "-" if value is None else f"{value:.0f} MB"


def _memory_ratio(memory, peer):
    return f"{memory['glassnet'] / memory[peer]:.2f}" if peer in memory and \
        "glassnet" in memory else "-"


def _seconds(value):
    return "-" if value is None else (f"{value:.3f} s" if value >= 0.1 else
                                      f"{value * 1000:.1f} ms")


def _ratio(median, peer):
    if peer not in median or "glassnet" not in median:
        return "-"
    return f"{median['glassnet'] / median[peer]:.2f}"


def format_text(report):
    peers = [lib for lib in report["libraries"] if lib != "glassnet"]
    lines = [f"glassnet bench -- {report['date']}, {report['machine']}, {report['cpus']} cores"
             f"{' (--quick)' if report['quick'] else ''}",
             "versions: " + ", ".join(f"{LABELS.get(k, k)} {v}" for k, v in
                                      report["versions"].items()),
             f"NumPy's BLAS: {report['blas']['library']} {report['blas']['version']}, "
             f"{report['blas']['kernels']} kernels" +
             ("".join(f", {k}={v}" for k, v in report["blas"]["environment"].items())),
             "load average before / after: " + " / ".join(
                 ", ".join(f"{v:.2f}" for v in report[key])
                 for key in ("load_average_before", "load_average_after")),
             "medians of interleaved rounds; ratio = glassnet / peer (below 1: glassnet is "
             "faster)"]
    if report["missing"]:
        lines.append("not installed (skipped): " + ", ".join(LABELS[m] for m in
                                                              report["missing"]))
    head = f"{'workload':<56} {'threads':>7} " + " ".join(
        f"{LABELS[lib]:>11}" for lib in report["libraries"]) + " " + " ".join(
        f"{'vs ' + LABELS[p]:>14}" for p in peers)
    lines += ["", head, "-" * len(head)]
    for label, threads, median in rows(report):
        lines.append(f"{label:<56} {threads:>7} " + " ".join(
            f"{_seconds(median.get(lib)):>11}" for lib in report["libraries"]) + " " +
            " ".join(f"{_ratio(median, p):>14}" for p in peers))
    memory = report.get("memory_mb", {})
    if memory:
        label = _memory_label(report)
        lines.append(f"{label:<56} {'-':>7} " + " ".join(
            f"{_megabytes(memory.get(lib)):>11}" for lib in report["libraries"]) + " " +
            " ".join(f"{_memory_ratio(memory, p):>14}" for p in peers))
    return "\n".join(lines)


def format_markdown(report):
    """The README's performance table."""
    peers = [lib for lib in report["libraries"] if lib != "glassnet"]
    head = ["workload", "threads"] + [LABELS[lib] for lib in report["libraries"]] + \
        [f"glassnet / {LABELS[p]}" for p in peers]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, threads, median in rows(report):
        cells = [label, str(threads)] + [_seconds(median.get(lib)) for lib in
                                         report["libraries"]]
        cells += [f"**{_ratio(median, p)}**" if _ratio(median, p) != "-" else "-"
                  for p in peers]
        lines.append("| " + " | ".join(cells) + " |")
    memory = report.get("memory_mb", {})
    if memory:
        cells = [_memory_label(report), "-"] + [
            _megabytes(memory.get(lib)) for lib in report["libraries"]]
        cells += [_memory_ratio(memory, p) for p in peers]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _threads(text):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"threads must be positive integers separated by "
                                         f"commas, e.g. 1,2; received {text!r}")
    return values


def _libraries(text):
    names = [v.strip() for v in text.split(",") if v.strip()]
    unknown = [n for n in names if n not in LIBRARIES]
    if unknown or "glassnet" not in names:
        raise argparse.ArgumentTypeError(f"libraries: a comma list of {', '.join(LIBRARIES)} "
                                         f"with glassnet in it; received {text!r}")
    return names


def add_arguments(parser):
    parser.add_argument("--quick", action="store_true",
                        help="less data and fewer rounds: under a minute")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--markdown", action="store_true",
                        help="print the table as Markdown (the README's)")
    parser.add_argument("--threads", type=_threads,
                        help="thread counts to measure (default: 1 and all cores)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds per workload "
                                                   "(default: 5; --quick: 3)")
    parser.add_argument("--libraries", type=_libraries,
                        help=f"which to run, of {','.join(LIBRARIES)} (default: all installed)")
    parser.add_argument("--data-path", help="folder holding Fashion-MNIST's files")


def run_cli(args, log=None):
    """``glassnet bench``: measure, then print the table (or JSON / Markdown)."""
    if args.rounds is not None and args.rounds < 1:
        raise ValueError(f"--rounds must be at least 1; received {args.rounds}")
    log = log or (lambda message: print(message, file=sys.stderr, flush=True))
    report = measure(args.quick, args.threads, args.rounds, args.libraries, args.data_path, log)
    if args.json:
        print(json.dumps(report, indent=2))
    elif args.markdown:
        print(format_markdown(report))
    else:
        print(format_text(report))
    return report


def _child_main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--child-threads", type=int)
    parser.add_argument("--child-memory")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--libraries", type=_libraries, default=["glassnet"])
    parser.add_argument("--data-path")
    args = parser.parse_args(argv)
    settings = dict(QUICK if args.quick else FULL)
    if args.rounds:
        settings["rounds"] = args.rounds
    if args.child_memory:
        if args.child_memory == "keras":
            _keras_threads(os.cpu_count() or 1)
        print(json.dumps(run_memory(args.child_memory, settings, args.data_path)))
        return
    if "keras" in args.libraries:
        _keras_threads(args.child_threads)
    print(json.dumps(run_threads(args.child_threads, settings, args.data_path,
                                 args.libraries)))


if __name__ == "__main__":
    _child_main(sys.argv[1:])
