"""What inspect.Recorder costs during fit: the default MLP (784-256-128-10 relu,
Adam, batch 128) for one Fashion-MNIST epoch, without and with a Recorder,
interleaved in one process (these machines are noisy), median of the rounds.

    python benchmarks/bench_recorder.py [--rounds 5] [--every 10]
"""

import argparse
import statistics
import time

import numpy as np

import glassnet as gn
from glassnet import recipes
from glassnet.inspect import Recorder


def epoch_seconds(x, y, callbacks):
    gn.utils.set_random_seed(0)
    model = recipes.build_model(x.shape[1:], 10, rescale=True)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x, y, batch_size=128, epochs=1, verbose=0, callbacks=callbacks, seed=0)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--every", type=int, default=10)
    args = parser.parse_args()
    (x, y), _ = gn.datasets.fashion_mnist.load_data()
    epoch_seconds(x[:5000], y[:5000], None)  # warm up
    plain, recorded = [], []
    for _ in range(args.rounds):
        plain.append(epoch_seconds(x, y, None))
        recorded.append(epoch_seconds(x, y, [Recorder(every=args.every)]))
    a, b = statistics.median(plain), statistics.median(recorded)
    print(f"one epoch without Recorder: {a:.3f} s (runs {np.round(plain, 3).tolist()})")
    print(f"one epoch with Recorder(every={args.every}): {b:.3f} s "
          f"(runs {np.round(recorded, 3).tolist()})")
    print(f"overhead: {100 * (b / a - 1):+.1f}%")


if __name__ == "__main__":
    main()
