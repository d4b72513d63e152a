"""The round-trip matrix: files written by one side, read by the other.

    # glassnet writes the five models (as make_fixtures.py builds them):
    .venv/bin/python tests/data/keras/roundtrip.py write /tmp/gn-files
    # each real Keras reads them (a side venv per version), and prints a row per file:
    /tmp/k315/bin/python tests/data/keras/roundtrip.py read /tmp/gn-files
    # glassnet reads a committed Keras fixture folder:
    .venv/bin/python tests/data/keras/roundtrip.py read-glassnet tests/data/keras/3.15.1

A row: the largest |difference| between the reader's predictions and the
writer's, and for the models trained without Dropout, between the weights
after the reader trained one more epoch and the writer's own second epoch.
"""

import glob
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

import make_fixtures


def read(folder, who):
    if who == "glassnet":
        from glassnet import keras
        name = "glassnet"
    else:
        keras, name = make_fixtures.real_keras()
    worst = 0.0
    for npz in sorted(glob.glob(os.path.join(folder, "*.npz"))):
        data = np.load(npz)
        base = npz[:-4]
        xs = [data[k] for k in sorted(data) if k.startswith("x")]
        preds = [data[k] for k in sorted(data) if k.startswith("pred")]
        x = xs if len(xs) > 1 else xs[0]
        for extension in (".keras", ".h5", ".weights.h5"):
            if extension == ".weights.h5":
                model = keras.models.load_model(base + ".keras")
                model.load_weights(base + extension)
            else:
                model = keras.models.load_model(base + extension)
            out = model.predict(x, verbose=0)
            out = out if isinstance(out, list) else [out]
            error = max(float(np.max(np.abs(np.asarray(o) - p))) for o, p in zip(out, preds))
            row = f"predict {error:.1e}"
            worst = max(worst, error)
            # Keras cannot go on training a model it loaded from a legacy .h5 (not even one it
            # wrote itself: its optimizer refuses the variables), so real Keras continues .keras
            continues = extension == ".keras" or (extension == ".h5" and name == "glassnet")
            if "train_x0" in data and continues:
                tx = [data[k] for k in sorted(data) if k.startswith("train_x")]
                ty = [data[k] for k in sorted(data) if k.startswith("train_y")]
                y = {"cls": ty[0], "reg": ty[1]} if len(ty) > 1 else ty[0]
                model.fit(tx if len(tx) > 1 else tx[0], y, epochs=1, batch_size=16,
                          shuffle=False, verbose=0)
                after = [data[f"after2_{i}"] for i in range(len(model.get_weights()))]
                e2 = max(float(np.max(np.abs(np.asarray(a) - b)))
                         for a, b in zip(model.get_weights(), after))
                row += f"  fit-continue {e2:.1e}"
                if name.startswith("tf-keras") and name != "glassnet":
                    # tf.keras 2 expects no learning-rate variable among the optimizer's
                    # (Keras 3 writes one, and so does glassnet), so it starts a fresh one
                    row += " (tf.keras 2 does not read Keras 3's optimizer layout)"
                else:
                    worst = max(worst, e2 / 10)  # the target for the continued fit is 1e-4
            print(f"{name:16s} reads {os.path.basename(folder):16s} "
                  f"{os.path.basename(base) + extension:22s} {row}")
    print(f"worst (predict, or fit-continue/10): {worst:.1e}", "OK" if worst <= 1e-5 else "FAIL")
    return worst <= 1e-5


def write(folder):
    from glassnet import keras

    make_fixtures.use(keras, "glassnet", folder)
    make_fixtures.main()


if __name__ == "__main__":
    mode, folder = sys.argv[1], sys.argv[2]
    if mode == "write":
        write(folder)
    else:  # read (with real Keras) or read-glassnet
        sys.exit(0 if read(folder, "glassnet" if mode == "read-glassnet" else "keras") else 1)
