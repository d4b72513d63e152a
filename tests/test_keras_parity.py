"""Weights copied between glassnet and Keras give the same predictions.

Runs where Keras 3 is installed (any backend; KERAS_BACKEND=jax is light) and
skips otherwise; CI does not install Keras (too heavy)."""

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")
# Keras 3 under NumPy 2 warns inside its own Variable.numpy(); not glassnet's to fix
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")

import glassnet as gn  # noqa: E402
from glassnet import layers as G  # noqa: E402

K = keras.layers
RNG = np.random.default_rng(0)


def pair(kind):
    if kind == "mlp":
        return (gn.Sequential([G.Input((28, 28)), G.Flatten(), G.Dense(32, activation="relu"),
                               G.Dropout(0.2), G.Dense(10, activation="softmax")]),
                keras.Sequential([keras.Input((28, 28)), K.Flatten(),
                                  K.Dense(32, activation="relu"), K.Dropout(0.2),
                                  K.Dense(10, activation="softmax")]), (28, 28))
    if kind == "cnn":
        return (gn.Sequential([G.Input((28, 28, 1)), G.Conv2D(8, 3, activation="relu"),
                               G.MaxPooling2D(), G.Conv2D(16, (3, 2), strides=2, padding="same",
                                                          activation="relu"),
                               G.AveragePooling2D(), G.Flatten(),
                               G.Dense(10, activation="softmax")]),
                keras.Sequential([keras.Input((28, 28, 1)), K.Conv2D(8, 3, activation="relu"),
                                  K.MaxPooling2D(), K.Conv2D(16, (3, 2), strides=2,
                                                             padding="same", activation="relu"),
                                  K.AveragePooling2D(2), K.Flatten(),
                                  K.Dense(10, activation="softmax")]), (28, 28, 1))
    return (gn.Sequential([G.Input((9, 9, 3)), G.Conv2D(4, 3, padding="same"),
                           G.BatchNormalization(), G.Activation("relu"),
                           G.MaxPooling2D(3, strides=2, padding="same"),
                           G.GlobalAveragePooling2D(), G.Dense(5, activation="softmax")]),
            keras.Sequential([keras.Input((9, 9, 3)), K.Conv2D(4, 3, padding="same"),
                              K.BatchNormalization(), K.Activation("relu"),
                              K.MaxPooling2D(3, strides=2, padding="same"),
                              K.GlobalAveragePooling2D(), K.Dense(5, activation="softmax")]),
            (9, 9, 3))


@pytest.mark.parametrize("kind", ["mlp", "cnn", "bn"])
def test_weights_copied_both_ways_give_the_same_predictions(kind):
    ours, theirs, shape = pair(kind)
    x = RNG.random((16,) + shape).astype(np.float32)
    weights = ours.get_weights()
    if kind == "bn":  # non-trivial moving statistics
        weights = [w + RNG.uniform(0.1, 0.5, w.shape).astype(np.float32) for w in weights]
        ours.set_weights(weights)
    assert [w.shape for w in weights] == [tuple(w.shape) for w in theirs.get_weights()]
    theirs.set_weights(weights)
    np.testing.assert_allclose(ours.predict(x), theirs.predict(x, verbose=0), rtol=1e-4,
                               atol=1e-6)
    theirs.set_weights([w * 0.5 for w in theirs.get_weights()])
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(ours.predict(x), theirs.predict(x, verbose=0), rtol=1e-4,
                               atol=1e-6)
    assert ours.count_params() == theirs.count_params()
