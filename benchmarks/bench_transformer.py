"""The Transformer block training step of issue 25, glassnet against PyTorch eager
and Keras 3 (where it is installed: its TensorFlow backend, compiled with Keras's
defaults), the same sizes: Embedding(10000, 64) + learned positions,
MultiHeadAttention(4 heads, key_dim 16), a feed-forward of 128, LayerNormalization
twice, average pooling, Dense(2); sequences of 64 tokens, batch 64, Adam 1e-3.
Interleaved rounds in one process per thread count (TensorFlow's threads are fixed
once it starts); the medians and the median of the per-round ratios.

    python benchmarks/bench_transformer.py [--threads 1,2] [--rounds 7] [--steps 10]
                                           [--memory]

--memory instead runs one training epoch (fit, 10,000 sequences, batch 64) of each
library in a fresh process and prints its peak resident memory.
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

VOCAB, LENGTH, DIM, HEADS, KEY, FF, BATCH = 10000, 64, 64, 4, 16, 128, 64


def block_model(keras):
    """The block in Keras's API, the same code for glassnet's keras and real Keras."""
    layers, ops = keras.layers, keras.ops

    class TokenAndPositionEmbedding(layers.Layer):   # keras.io's
        def __init__(self, maxlen, vocab_size, embed_dim):
            super().__init__()
            self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
            self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

        def call(self, x):
            positions = self.pos_emb(ops.arange(start=0, stop=ops.shape(x)[-1], step=1))
            return self.token_emb(x) + positions

    tokens = keras.Input((LENGTH,), dtype="int32")
    x = TokenAndPositionEmbedding(LENGTH, VOCAB, DIM)(tokens)
    a = layers.MultiHeadAttention(num_heads=HEADS, key_dim=KEY)(x, x)
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, a]))
    f = layers.Dense(DIM)(layers.Dense(FF, activation="relu")(x))
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, f]))
    out = layers.Dense(2, activation="softmax")(layers.GlobalAveragePooling1D()(x))
    model = keras.Model(tokens, out)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    return model


def glassnet_model(threads):
    import glassnet as gn
    from glassnet import keras

    gn.set_num_threads(threads)
    gn.utils.set_random_seed(0)
    return block_model(keras)


def keras_model(threads):
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras

    keras.utils.set_random_seed(0)
    return block_model(keras)


def _batch(n=BATCH):
    data = np.random.default_rng(0).integers(1, VOCAB, size=(n, LENGTH)).astype("int32")
    return data, np.random.default_rng(1).integers(0, 2, size=n)


def _step(make, threads):
    model = make(threads)
    data, labels = _batch()
    model.train_on_batch(data, labels)
    return lambda: model.train_on_batch(data, labels)


def torch_model(threads):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = torch.nn.Embedding(VOCAB, DIM)
            self.pos = torch.nn.Embedding(LENGTH, DIM)
            self.att = torch.nn.MultiheadAttention(DIM, HEADS, batch_first=True)
            self.ln1, self.ln2 = torch.nn.LayerNorm(DIM, eps=1e-6), torch.nn.LayerNorm(DIM, eps=1e-6)
            self.ff = torch.nn.Sequential(torch.nn.Linear(DIM, FF), torch.nn.ReLU(),
                                          torch.nn.Linear(FF, DIM))
            self.out = torch.nn.Linear(DIM, 2)

        def forward(self, ids):
            x = self.tok(ids) + self.pos(torch.arange(ids.shape[1]))
            x = self.ln1(x + self.att(x, x, x, need_weights=False)[0])
            x = self.ln2(x + self.ff(x))
            return self.out(x.mean(1))

    net = Block()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)

    def step(data, labels):
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(net(data), labels).backward()
        optimizer.step()

    return step


def torch_step(threads):
    import torch

    step = torch_model(threads)
    data, labels = (torch.from_numpy(a.astype("int64")) for a in _batch())
    step(data, labels)
    return lambda: step(data, labels)


def memory(library, sequences=10000):
    """Peak resident memory (MB) of this process after one training epoch."""
    data, labels = _batch(sequences)
    if library == "glassnet":
        glassnet_model(1).fit(data, labels, batch_size=BATCH, epochs=1, verbose=0)
    elif library == "keras":
        keras_model(1).fit(data, labels, batch_size=BATCH, epochs=1, verbose=0)
    else:
        import torch

        step = torch_model(1)
        x, y = torch.from_numpy(data.astype("int64")), torch.from_numpy(labels)
        for i in range(0, sequences, BATCH):
            step(x[i:i + BATCH], y[i:i + BATCH])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _have(module):
    import importlib.util

    return importlib.util.find_spec(module) is not None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--only", help=argparse.SUPPRESS)   # a child process's one job
    args = parser.parse_args()
    libraries = ["glassnet", "pytorch"] + (["keras"] if _have("keras") else [])
    if args.memory and args.only:
        print(f"{memory(args.only):.0f}")
        return
    if args.memory:
        for library in libraries:
            peak = subprocess.run([sys.executable, __file__, "--memory", "--only", library],
                                  capture_output=True, text=True, check=True).stdout.split()[-1]
            print(f"{library}: peak resident memory after one training epoch "
                  f"(10,000 sequences, batch 64): {peak} MB")
        return
    counts = [int(t) for t in args.threads.split(",")]
    if len(counts) > 1:   # one process per thread count
        for threads in counts:
            subprocess.run([sys.executable, __file__, "--threads", str(threads), "--rounds",
                            str(args.rounds), "--steps", str(args.steps)], check=True)
        return
    threads = counts[0]
    makers = {"glassnet": lambda n: _step(glassnet_model, n), "pytorch": torch_step,
              "keras": lambda n: _step(keras_model, n)}
    runners = {name: makers[name](threads) for name in libraries}
    times = {name: [] for name in runners}
    for _ in range(args.rounds):
        for name, run in runners.items():
            time.sleep(0.2)            # the other library's spinning threads go quiet
            start = time.perf_counter()
            for _ in range(args.steps):
                run()
            times[name].append((time.perf_counter() - start) / args.steps)
    line = f"{threads} thread(s), load {os.getloadavg()[0]:.2f}:"
    for name in runners:
        line += f" {name} {statistics.median(times[name]) * 1000:.1f} ms;"
    for peer in runners:
        if peer != "glassnet":
            ratio = statistics.median(g / t for g, t in zip(times["glassnet"], times[peer]))
            line += f" glassnet / {peer} {ratio:.2f};"
    print(line.rstrip(";"), flush=True)


if __name__ == "__main__":
    main()
