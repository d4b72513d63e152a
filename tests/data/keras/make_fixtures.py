"""Write the Keras fixture files that tests/test_keras_files.py reads.

Run it with real Keras in a side venv (it never runs in CI; its output is
committed), once per Keras version:

    python3 -m venv /tmp/k315 && /tmp/k315/bin/pip install keras==3.15.1 jax h5py
    KERAS_BACKEND=jax /tmp/k315/bin/python tests/data/keras/make_fixtures.py
    # older Keras 3:  keras==3.3.3 jax==0.4.28 jaxlib==0.4.28 "numpy<2" h5py
    #                 keras==3.8.0 jax==0.4.38 jaxlib==0.4.38 h5py
    # tf.keras 2.15:  tensorflow-cpu==2.15.1 "numpy<2" h5py   (2.13: tensorflow-cpu==2.13.1)

It writes tests/data/keras/<keras version>/<model>.{keras,h5,weights.h5}
and <model>.npz: the inputs, what Keras predicted, and for the models trained
without Dropout, the training data and the weights after a second epoch
(the fit-continuation check).
"""

import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np


def real_keras():
    """(keras, version name): tf.keras for TensorFlow 2.15 and older, else Keras 3."""
    try:
        import tensorflow as tf
        major, minor = (int(p) for p in tf.__version__.split(".")[:2])
        if (major, minor) < (2, 16):
            import keras as keras_package
            return tf.keras, "tf-keras-" + keras_package.__version__
    except ImportError:
        pass
    import keras as keras3
    return keras3, keras3.__version__


keras = L = VERSION = OUT = None  # set by use()


def use(module, version, out=None):
    """Build the models with ``module`` (real Keras, or glassnet.keras)."""
    global keras, L, VERSION, OUT
    keras, L, VERSION = module, module.layers, version
    OUT = out or os.path.join(os.path.dirname(os.path.abspath(__file__)), version)


rng = np.random.RandomState(0)


def mlp():
    model = keras.Sequential([keras.Input((8,)), L.Dense(16, activation="relu"),
                              L.Dropout(0.3), L.Dense(3, activation="softmax")], name="mlp")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    x = rng.rand(48, 8).astype("float32")
    return model, x, rng.randint(0, 3, 48)


def cnn(dropout=True):
    layers = [keras.Input((8, 8, 1)), L.Conv2D(4, 3, activation="relu", padding="same"),
              L.BatchNormalization(), L.MaxPooling2D()]
    layers += [L.Dropout(0.25)] if dropout else []
    layers += [L.Flatten(), L.Dense(3, activation="softmax")]
    model = keras.Sequential(layers, name="cnn" if dropout else "cnn_train")
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    x = rng.rand(48, 8, 8, 1).astype("float32")
    return model, x, rng.randint(0, 3, 48)


def two_io():
    a, b = keras.Input((6,), name="a"), keras.Input((4,), name="b")
    h = L.Concatenate()([L.Dense(8, activation="relu")(a), L.Dense(8, activation="tanh")(b)])
    cls = L.Dense(3, activation="softmax", name="cls")(h)
    reg = L.Dense(1, name="reg")(h)
    model = keras.Model([a, b], [cls, reg], name="two_io")
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
                  loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"},
                  loss_weights={"cls": 1.0, "reg": 0.5})
    x = [rng.rand(48, 6).astype("float32"), rng.rand(48, 4).astype("float32")]
    y = {"cls": rng.randint(0, 3, 48), "reg": rng.rand(48, 1).astype("float32")}
    return model, x, y


def residual():
    inputs = keras.Input((10,), name="x")
    h = L.Dense(10, activation="relu")(inputs)
    h = L.Dense(10)(h)
    h = L.Activation("relu")(L.Add()([inputs, h]))
    h = L.LayerNormalization()(h)
    model = keras.Model(inputs, L.Dense(2)(h), name="residual")
    model.compile(optimizer=keras.optimizers.RMSprop(0.01), loss="mse", metrics=["mae"])
    x = rng.rand(48, 10).astype("float32")
    return model, x, rng.rand(48, 2).astype("float32")


def main():
    if keras is None:
        use(*real_keras())
    os.makedirs(OUT, exist_ok=True)
    keras.utils.set_random_seed(0)
    made = {}
    for name, build, continues in (("mlp", mlp, False), ("cnn", cnn, False),
                                   ("cnn_train", lambda: cnn(False), True),
                                   ("two_io", two_io, True), ("residual", residual, True)):
        model, x, y = build()
        model.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
        base = os.path.join(OUT, name)
        model.save(base + ".keras")
        model.save(base + ".h5")
        model.save_weights(base + ".weights.h5")
        arrays = {}
        xs = x if isinstance(x, list) else [x]
        for i, value in enumerate(xs):
            arrays[f"x{i}"] = value[:7]
        predicted = model.predict([v[:7] for v in xs] if isinstance(x, list) else x[:7],
                                  verbose=0)
        for i, value in enumerate(predicted if isinstance(predicted, list) else [predicted]):
            arrays[f"pred{i}"] = np.asarray(value)
        if continues:
            for i, value in enumerate(xs):
                arrays[f"train_x{i}"] = value
            ys = [y[k] for k in ("cls", "reg")] if isinstance(y, dict) else [y]
            for i, value in enumerate(ys):
                arrays[f"train_y{i}"] = np.asarray(value)
            model.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
            for i, w in enumerate(model.get_weights()):
                arrays[f"after2_{i}"] = np.asarray(w)
        np.savez(base + ".npz", **arrays)
        made[name] = sorted(os.path.basename(base) + ext for ext in
                            (".keras", ".h5", ".weights.h5", ".npz"))
    with open(os.path.join(OUT, "README.json"), "w") as f:
        json.dump({"written_by": VERSION, "python": sys.version.split()[0],
                   "numpy": np.__version__, "files": made}, f, indent=1)
    print(VERSION, "->", OUT)


if __name__ == "__main__":
    main()
