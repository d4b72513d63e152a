"""The Transformer block training step of issue 25, glassnet against PyTorch eager,
the same sizes: Embedding(10000, 64) + learned positions, MultiHeadAttention(4 heads,
key_dim 16), a feed-forward of 128, LayerNormalization twice, average pooling, Dense(2);
sequences of 64 tokens, batch 64, Adam 1e-3. Interleaved rounds in one process; the
medians and the median of the per-round ratios.

    python benchmarks/bench_transformer.py [--threads 1,2] [--rounds 7] [--steps 10]
"""

import argparse
import statistics
import time

import numpy as np

VOCAB, LENGTH, DIM, HEADS, KEY, FF, BATCH = 10000, 64, 64, 4, 16, 128, 64


def glassnet_step(threads):
    import glassnet as gn
    from glassnet import keras
    from glassnet.keras import layers, ops

    gn.set_num_threads(threads)
    gn.utils.set_random_seed(0)

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
    data = np.random.default_rng(0).integers(1, VOCAB, size=(BATCH, LENGTH)).astype("int32")
    labels = np.random.default_rng(1).integers(0, 2, size=BATCH)
    model.train_on_batch(data, labels)
    return lambda: model.train_on_batch(data, labels)


def torch_step(threads):
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
    data = torch.from_numpy(np.random.default_rng(0).integers(1, VOCAB, size=(BATCH, LENGTH)))
    labels = torch.from_numpy(np.random.default_rng(1).integers(0, 2, size=BATCH))

    def step():
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(net(data), labels).backward()
        optimizer.step()

    step()
    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    for threads in [int(t) for t in args.threads.split(",")]:
        runners = {"glassnet": glassnet_step(threads), "pytorch": torch_step(threads)}
        times = {name: [] for name in runners}
        for _ in range(args.rounds):
            for name, run in runners.items():
                time.sleep(0.2)            # the other library's spinning threads go quiet
                start = time.perf_counter()
                for _ in range(args.steps):
                    run()
                times[name].append((time.perf_counter() - start) / args.steps)
        ratio = statistics.median(g / t for g, t in zip(times["glassnet"], times["pytorch"]))
        print(f"{threads} thread(s): glassnet {statistics.median(times['glassnet']) * 1000:.1f} "
              f"ms, PyTorch {statistics.median(times['pytorch']) * 1000:.1f} ms per step; "
              f"glassnet / PyTorch {ratio:.2f}")


if __name__ == "__main__":
    main()
