"""glassnet's recurrent layers vs PyTorch's, side by side, on the CPU.

    python benchmarks/bench_rnn.py [--rounds 7] [--threads 1,2] [--json out.json]

Workloads (issue 12's targets):
- the training step of Embedding(10000, 32) → LSTM(64) or GRU(64) → Dense(1, sigmoid) on
  sequences of 100 tokens, batch 64, Adam, binary cross-entropy; the same initial weights
  in both (glassnet's, copied into nn.LSTM / nn.GRU: gate order, the two GRU biases);
- the textbook's configuration: Embedding(500, 16) → LSTM(8) → Dense(1, sigmoid), 20,000
  sequences of 100, batch 64, RMSprop: seconds per epoch (on --textbook-sequences of them,
  scaled to 20,000);
- accuracy like for like: LSTM(32) on glassnet.datasets.tweets (3 classes), the same
  vectorized data, initial weights and batches, 3 epochs; test accuracy of each;
- peak memory (ru_maxrss) of a process that trains one epoch of the LSTM(64) workload on
  4,096 sequences (64 steps), for each library.

For each thread count a fresh process alternates one glassnet round and one PyTorch round
(interleaved, so both see the same load) and reports medians and the ratio glassnet /
PyTorch (below 1 is faster). The load average is printed: these machines are shared.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def build(kind, vocabulary, dim, units, optimizer, torch, seed=0):
    import glassnet as gn
    from glassnet import keras

    gn.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((None,), dtype="int32"),
                              keras.layers.Embedding(vocabulary, dim),
                              getattr(keras.layers, kind)(units),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(getattr(keras.optimizers, optimizer)(1e-3), "binary_crossentropy")
    model.build((None, 100))
    if torch is None:
        return model, None, None

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(vocabulary, dim)
            self.rnn = getattr(torch.nn, kind)(dim, units, batch_first=True)
            self.dense = torch.nn.Linear(units, 1)

        def forward(self, x):
            out, _ = self.rnn(self.embedding(x))
            return self.dense(out[:, -1])

    net = Net()
    embedding, rnn, dense = model.layers
    kernel, recurrent, bias = (w.numpy() for w in rnn.weights)
    u = units
    if kind == "GRU":  # Keras z, r, h -> PyTorch r, z, n
        perm = list(range(u, 2 * u)) + list(range(u)) + list(range(2 * u, 3 * u))
        ih, hh, b_ih, b_hh = kernel[:, perm], recurrent[:, perm], bias[0][perm], bias[1][perm]
    else:
        ih, hh, b_ih, b_hh = kernel, recurrent, bias, 0 * bias
    with torch.no_grad():
        net.embedding.weight.copy_(torch.tensor(embedding.embeddings.numpy()))
        net.rnn.weight_ih_l0.copy_(torch.tensor(ih.T.copy()))
        net.rnn.weight_hh_l0.copy_(torch.tensor(hh.T.copy()))
        net.rnn.bias_ih_l0.copy_(torch.tensor(b_ih.copy()))
        net.rnn.bias_hh_l0.copy_(torch.tensor(b_hh.copy()))
        net.dense.weight.copy_(torch.tensor(dense.kernel.numpy().T.copy()))
        net.dense.bias.copy_(torch.tensor(dense.bias.numpy()))
    torch_optimizer = {"Adam": torch.optim.Adam, "RMSprop": torch.optim.RMSprop}[optimizer]
    # Keras's RMSprop: rho 0.9, epsilon 1e-7; PyTorch's alpha is rho
    extra = {"alpha": 0.9, "eps": 1e-7} if optimizer == "RMSprop" else {"eps": 1e-7}
    return model, net, torch_optimizer(net.parameters(), lr=1e-3, **extra)


def run_steps(threads, rounds, batches):
    import numpy as np
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    limits = threadpool_limits(threads)  # noqa: F841
    rng = np.random.default_rng(0)
    results = {}
    for kind in ("LSTM", "GRU"):
        model, net, opt = build(kind, 10000, 32, 64, "Adam", torch)
        x = rng.integers(1, 10000, (64 * batches, 100))
        y = rng.integers(0, 2, (64 * batches, 1)).astype(np.float32)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        loss_fn = torch.nn.BCEWithLogitsLoss()

        def ours():
            for i in range(batches):
                model.train_on_batch(x[i * 64:(i + 1) * 64], y[i * 64:(i + 1) * 64])

        def theirs():
            for i in range(batches):
                opt.zero_grad()
                loss = loss_fn(net(xt[i * 64:(i + 1) * 64]), yt[i * 64:(i + 1) * 64])
                loss.backward()
                opt.step()

        ours(), theirs()  # warm-up
        mine, other = [], []
        for _ in range(rounds):
            start = time.perf_counter()
            ours()
            mine.append((time.perf_counter() - start) / batches)
            start = time.perf_counter()
            theirs()
            other.append((time.perf_counter() - start) / batches)
        results[kind] = {"glassnet_ms": 1e3 * statistics.median(mine),
                         "pytorch_ms": 1e3 * statistics.median(other)}
    return results


def run_textbook(threads, sequences, rounds):
    import numpy as np
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    limits = threadpool_limits(threads)  # noqa: F841
    rng = np.random.default_rng(1)
    model, net, opt = build("LSTM", 500, 16, 8, "RMSprop", torch)
    x = rng.integers(1, 500, (sequences, 100))
    y = rng.integers(0, 2, (sequences, 1)).astype(np.float32)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def theirs():
        for i in range(0, sequences, 64):
            opt.zero_grad()
            loss_fn(net(xt[i:i + 64]), yt[i:i + 64]).backward()
            opt.step()

    mine, other = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        model.fit(x, y, batch_size=64, epochs=1, shuffle=False, verbose=0)
        mine.append(time.perf_counter() - start)
        start = time.perf_counter()
        theirs()
        other.append(time.perf_counter() - start)
    scale = 20000 / sequences
    return {"glassnet_s": scale * statistics.median(mine),
            "pytorch_s": scale * statistics.median(other)}


def run_accuracy(epochs):
    """Like for like on real text: the tweets, the same vectorized data, the same
    initial weights, the same batches in the same order; test accuracy of each."""
    import numpy as np
    import torch

    import glassnet as gn
    from glassnet import keras
    from glassnet.datasets import tweets

    (x, y), (xt, yt) = tweets.load_data()
    vectorize = keras.layers.TextVectorization(max_tokens=10000, output_sequence_length=32)
    vectorize.adapt(x)
    x, xt = vectorize(x), vectorize(xt)
    gn.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((32,), dtype="int32"),
                              keras.layers.Embedding(10000, 32), keras.layers.LSTM(32),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    embedding, rnn, dense = model.layers
    net = torch.nn.ModuleDict({"embedding": torch.nn.Embedding(10000, 32),
                               "rnn": torch.nn.LSTM(32, 32, batch_first=True),
                               "dense": torch.nn.Linear(32, 3)})
    kernel, recurrent, bias = (w.numpy() for w in rnn.weights)
    with torch.no_grad():
        net["embedding"].weight.copy_(torch.tensor(embedding.embeddings.numpy()))
        net["rnn"].weight_ih_l0.copy_(torch.tensor(kernel.T.copy()))
        net["rnn"].weight_hh_l0.copy_(torch.tensor(recurrent.T.copy()))
        net["rnn"].bias_ih_l0.copy_(torch.tensor(bias))
        net["rnn"].bias_hh_l0.zero_()
        net["dense"].weight.copy_(torch.tensor(dense.kernel.numpy().T.copy()))
        net["dense"].bias.copy_(torch.tensor(dense.bias.numpy()))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)

    def forward(batch):
        out, _ = net["rnn"](net["embedding"](batch))
        return net["dense"](out[:, -1])

    rng = np.random.default_rng(0)
    xs, ys = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for i in range(0, len(x), 64):
            index = order[i:i + 64]
            model.train_on_batch(x[index], y[index])
            opt.zero_grad()
            torch.nn.functional.cross_entropy(forward(xs[index]), ys[index]).backward()
            opt.step()
    ours = float((model.predict(xt, verbose=0).argmax(1) == yt).mean())
    with torch.no_grad():
        theirs = float((forward(torch.from_numpy(xt)).argmax(1).numpy() == yt).mean())
    return {"glassnet": ours, "pytorch": theirs, "epochs": epochs}


def run_memory(library):
    import numpy as np

    rng = np.random.default_rng(2)
    x = rng.integers(1, 10000, (4096, 100))
    y = rng.integers(0, 2, (4096, 1)).astype(np.float32)
    if library == "glassnet":  # without importing torch, so the peak is glassnet's own
        model, _, _ = build("LSTM", 10000, 32, 64, "Adam", None)
        model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    else:
        import torch

        _, net, opt = build("LSTM", 10000, 32, 64, "Adam", torch)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        loss_fn = torch.nn.BCEWithLogitsLoss()
        for i in range(0, 4096, 64):
            opt.zero_grad()
            loss_fn(net(xt[i:i + 64]), yt[i:i + 64]).backward()
            opt.step()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(arguments):
    """Run one measurement in a fresh interpreter and return its JSON."""
    out = subprocess.run([sys.executable, __file__, "--child", json.dumps(arguments)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--textbook-sequences", type=int, default=4096)
    parser.add_argument("--json")
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        job = json.loads(args.child)
        if job["what"] == "steps":
            result = run_steps(job["threads"], job["rounds"], job["batches"])
        elif job["what"] == "accuracy":
            result = run_accuracy(job["epochs"])
        elif job["what"] == "textbook":
            result = run_textbook(job["threads"], job["sequences"], job["rounds"])
        else:
            result = run_memory(job["library"])
        print(json.dumps(result))
        return
    report = {"load_average": os.getloadavg()[0], "threads": {}}
    print(f"load average {report['load_average']:.2f} (cores: {os.cpu_count()})")
    for threads in map(int, args.threads.split(",")):
        steps = child({"what": "steps", "threads": threads, "rounds": args.rounds,
                       "batches": args.batches})
        textbook = child({"what": "textbook", "threads": threads,
                          "sequences": args.textbook_sequences, "rounds": 3})
        report["threads"][threads] = {"steps": steps, "textbook": textbook}
        for kind, r in steps.items():
            print(f"{threads} thread(s)  {kind}(64) step  glassnet {r['glassnet_ms']:6.1f} ms  "
                  f"PyTorch {r['pytorch_ms']:6.1f} ms  ratio "
                  f"{r['glassnet_ms'] / r['pytorch_ms']:.2f}")
        print(f"{threads} thread(s)  textbook LSTM(8) epoch of 20,000  glassnet "
              f"{textbook['glassnet_s']:5.2f} s  PyTorch {textbook['pytorch_s']:5.2f} s  ratio "
              f"{textbook['glassnet_s'] / textbook['pytorch_s']:.2f}")
    accuracy = child({"what": "accuracy", "epochs": 3})
    report["accuracy"] = accuracy
    print(f"test accuracy on the tweets, LSTM(32), same weights and batches, "
          f"{accuracy['epochs']} epochs: glassnet {accuracy['glassnet']:.4f}, PyTorch "
          f"{accuracy['pytorch']:.4f} ({100 * (accuracy['glassnet'] - accuracy['pytorch']):+.2f} "
          f"points)")
    report["peak_mb"] = {lib: child({"what": "memory", "library": lib})
                         for lib in ("glassnet", "pytorch")}
    print(f"peak memory, one LSTM(64) epoch of 4,096 sequences: glassnet "
          f"{report['peak_mb']['glassnet']:.0f} MB, PyTorch {report['peak_mb']['pytorch']:.0f} MB "
          f"(each process, including the library)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
