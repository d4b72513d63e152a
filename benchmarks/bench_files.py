"""How long opening a saved model takes, from a fresh Python (import included).

    python benchmarks/bench_files.py            # glassnet writes a ~4 MB .keras CNN, then loads it
    python benchmarks/bench_files.py FILE.keras # load any model file (e.g. one Keras wrote)

Each round starts a new interpreter that runs ``import glassnet`` and
``glassnet.keras.models.load_model(FILE)``; the script prints the median of
the rounds, the import alone, and (when Keras is importable in this
interpreter) the same for ``keras.models.load_model`` side by side.
The target (issue 11): a 4 MB .keras CNN opens in under 0.5 s, import included.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def cnn_file(folder):
    """The lesson's CNN widened to about 4 MB of float32 weights."""
    from glassnet import keras

    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(32, 3, activation="relu", padding="same"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(64, 3, activation="relu", padding="same"),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dense(320, activation="relu"),
        keras.layers.Dropout(0.4),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    path = os.path.join(folder, "cnn-4mb.keras")
    model.save(path)
    return path, model.count_params()


def timed(code, rounds):
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = args.file
        if path is None:
            path, params = cnn_file(folder)
            print(f"glassnet wrote {path}: {params:,} parameters")
        size = os.path.getsize(path) / 2**20
        empty = timed("pass", args.rounds)
        imports = timed("import glassnet", args.rounds)
        load = timed(f"import glassnet.keras as k; k.models.load_model({path!r})", args.rounds)
        print(f"file: {size:.1f} MB; medians of {args.rounds} fresh interpreters")
        print(f"  python alone              {empty:6.3f} s")
        print(f"  import glassnet           {imports:6.3f} s")
        print(f"  import + load_model       {load:6.3f} s   (target < 0.5 s)")
        print(f"  load_model alone (diff.)  {load - imports:6.3f} s")
        try:
            import keras  # noqa: F401
        except ImportError:
            return
        code = f"import keras; keras.models.load_model({path!r})"
        print(f"  Keras {keras.__version__}: import + load_model {timed(code, 3):6.3f} s")


if __name__ == "__main__":
    main()
