"""Write masked_steps.keras/.npz with real Keras 3 on TensorFlow (a side
venv): Embedding(mask_zero) → LSTM → Dense, and its weights after one
train_on_batch with SGD, with Adam and with RMSprop, from the same start."""

import pathlib

import keras
import numpy as np

HERE = pathlib.Path(__file__).parent / "3.15.1"
rng = np.random.default_rng(0)
x = rng.integers(1, 20, size=(6, 7))
x[0, 3:] = 0
x[2, 5:] = 0
x[4, 1:] = 0
y = rng.integers(0, 2, size=(6,))


def build():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((7,), dtype="int32"),
                             keras.layers.Embedding(20, 3, mask_zero=True),
                             keras.layers.LSTM(4), keras.layers.Dense(2, activation="softmax")])


model = build()
model.save(HERE / "masked_steps.keras")
out = {"x": x, "y": y}
for name in ("SGD", "Adam", "RMSprop"):
    model = build()
    model.compile(getattr(keras.optimizers, name)(0.01), "sparse_categorical_crossentropy")
    model.train_on_batch(x, y)
    out.update({f"{name}_{i}": w for i, w in enumerate(model.get_weights())})
np.savez(HERE / "masked_steps.npz", **out)
print(keras.__version__, keras.backend.backend())
