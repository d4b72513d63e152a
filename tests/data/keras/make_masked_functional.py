"""Write masked_functional.keras/.npz with real Keras 3 (a side venv): a
functional Embedding(mask_zero=True) → LSTM → Dense, whose config.json holds
the NotEqual operation Keras 3.15 records for the mask, and its predictions on
padded sequences."""

import pathlib

import keras
import numpy as np

HERE = pathlib.Path(__file__).parent / "3.15.1"
keras.utils.set_random_seed(0)
inputs = keras.Input((6,), dtype="int32")
hidden = keras.layers.Embedding(20, 5, mask_zero=True)(inputs)
outputs = keras.layers.Dense(2)(keras.layers.LSTM(3)(hidden))
model = keras.Model(inputs, outputs)
x = np.array([[1, 2, 3, 0, 0, 0], [4, 5, 6, 7, 8, 9], [7, 0, 0, 0, 0, 0]])
model.save(HERE / "masked_functional.keras")
np.savez(HERE / "masked_functional.npz", x=x, predictions=model.predict(x, verbose=0))
print(keras.__version__)
