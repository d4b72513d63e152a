"""fit on a tf.data.Dataset against fit on the same arrays, in one process.

    python benchmarks/bench_dataset_fit.py [--rounds 5] [--threads 1]

The lessons' MLP (784-256-128-10 relu, softmax, Adam 1e-3) trains one epoch on the
60,000 Fashion-MNIST training images, batch 128, shuffled: once from the arrays
(fit(x, y, batch_size=128)) and once from
Dataset.from_tensor_slices((x, y)).shuffle(60000).batch(128). The two alternate,
round after round (who goes first alternates too), each on a fresh model with
the same initial weights; reported: the medians and the median of the per-round
ratios dataset / arrays.
"""

import argparse
import statistics
import time

import numpy as np

import glassnet as tf
from glassnet import keras


def model():
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((784,)), keras.layers.Dense(256, activation="relu"),
                          keras.layers.Dense(128, activation="relu"),
                          keras.layers.Dense(10, activation="softmax")])
    m.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    return m


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    tf.set_num_threads(args.threads)
    (x, y), _ = keras.datasets.fashion_mnist.load_data()
    x = x.reshape(-1, 784).astype("float32") / 255
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x)).batch(128)
    runs = {"arrays": lambda m: m.fit(x, y, batch_size=128, epochs=1, verbose=0),
            "dataset": lambda m: m.fit(dataset, epochs=1, verbose=0)}
    runs["arrays"](model())  # warm-up
    runs["dataset"](model())
    times = {name: [] for name in runs}
    for r in range(args.rounds):
        for name in (("arrays", "dataset") if r % 2 == 0 else ("dataset", "arrays")):
            m = model()
            start = time.perf_counter()
            runs[name](m)
            times[name].append(time.perf_counter() - start)
    ratios = [d / a for a, d in zip(times["arrays"], times["dataset"])]
    print(f"fit, one epoch of 60,000 images, {args.threads} thread(s), {args.rounds} rounds: "
          f"arrays {statistics.median(times['arrays']):.3f} s, dataset "
          f"{statistics.median(times['dataset']):.3f} s; dataset / arrays "
          f"{statistics.median(ratios):.3f} (rounds: {', '.join(f'{r:.3f}' for r in ratios)})")


if __name__ == "__main__":
    main()
