"""Write gru_reset_before.keras/.npz with real Keras (run in a side venv with
TensorFlow and Keras 3): a GRU(reset_after=False) after an Embedding with
mask_zero, its predictions, and its weights after one SGD train_on_batch."""

import pathlib

import keras
import numpy as np

HERE = pathlib.Path(__file__).parent / "3.15.1"
rng = np.random.default_rng(0)
x = rng.integers(1, 20, size=(4, 6))
x[0, 4:] = 0  # padded steps: the mask carries the state on
x[2, 2:] = 0
y = rng.normal(size=(4, 6, 3)).astype("float32")
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((6,), dtype="int32"),
                          keras.layers.Embedding(20, 5, mask_zero=True),
                          keras.layers.GRU(3, reset_after=False, return_sequences=True)])
before = model.get_weights()
predictions = model.predict(x, verbose=0)
model.save(HERE / "gru_reset_before.keras")
model.compile(keras.optimizers.SGD(0.1), "mse")
model.train_on_batch(x, y)
np.savez(HERE / "gru_reset_before.npz", x=x, y=y, predictions=predictions,
         **{f"before{i}": w for i, w in enumerate(before)},
         **{f"after{i}": w for i, w in enumerate(model.get_weights())})
print(keras.__version__, [w.shape for w in before])
