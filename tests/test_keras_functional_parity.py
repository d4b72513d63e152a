"""Functional models against real Keras 3: the same code, written once, built
with ``keras`` and with ``glassnet.keras``; weights copied from Keras; the
predictions and one training step must agree.

Runs where Keras 3 is installed (KERAS_BACKEND=jax is light; see README) and
skips otherwise; CI does not install Keras. The architectures: two inputs,
two outputs, a residual Add, Concatenate branches of convolutions, a shared
layer (siamese), a Sequential nested in a functional model, and the 1-D and
normalization layers."""

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")
# Keras 3 under NumPy 2 warns inside its own Variable.numpy(); not glassnet's to fix
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")

from glassnet import keras as gk  # noqa: E402

RNG = np.random.default_rng(0)


def two_inputs(k):
    L = k.layers
    a, b = k.Input((6,), name="a"), k.Input((4,), name="b")
    h = L.Concatenate()([L.Dense(8, activation="relu", name="da")(a),
                         L.Dense(5, activation="tanh", name="db")(b)])
    out = L.Dense(3, activation="softmax", name="out")(h)
    return k.Model([a, b], out), [(6,), (4,)], ["sparse_categorical_crossentropy"]


def two_outputs(k):
    L = k.layers
    x = k.Input((7,), name="x")
    h = L.Dense(10, activation="relu", name="trunk")(x)
    cls = L.Dense(4, activation="softmax", name="cls")(h)
    reg = L.Dense(2, name="reg")(L.Dense(6, activation="sigmoid", name="reg_hidden")(h))
    return k.Model(x, [cls, reg]), [(7,)], ["sparse_categorical_crossentropy", "mse"]


def residual(k):
    L = k.layers
    x = k.Input((8, 8, 3), name="image")
    h = L.Conv2D(4, 3, padding="same", activation="relu", name="c1")(x)
    h2 = L.Conv2D(4, 3, padding="same", name="c2")(h)
    h = L.Activation("relu")(L.Add(name="skip")([h, h2]))
    h = L.MaxPooling2D(name="pool")(h)
    out = L.Dense(5, activation="softmax", name="out")(L.GlobalAveragePooling2D()(h))
    return k.Model(x, out), [(8, 8, 3)], ["sparse_categorical_crossentropy"]


def branches(k):
    L = k.layers
    x = k.Input((9, 9, 2), name="image")
    b1 = L.Conv2D(3, 1, activation="relu", name="b1")(x)
    b2 = L.Conv2D(3, 3, padding="same", activation="relu", name="b2")(x)
    b3 = L.MaxPooling2D(3, strides=1, padding="same", name="b3pool")(x)
    h = L.Concatenate(axis=-1, name="join")([b1, b2, b3])
    h = L.Conv2D(4, 3, strides=2, activation="relu", name="reduce")(h)
    h = L.MaxPooling2D(name="pool")(h)
    out = L.Dense(3, activation="softmax", name="out")(L.Flatten()(h))
    return k.Model(x, out), [(9, 9, 2)], ["sparse_categorical_crossentropy"]


def shared(k):
    L = k.layers
    a, b = k.Input((5,), name="left"), k.Input((5,), name="right")
    encoder = L.Dense(6, activation="tanh", name="encoder")
    ea, eb = encoder(a), encoder(b)
    h = L.Concatenate()([L.Subtract()([ea, eb]), L.Multiply()([ea, eb]),
                         L.Maximum()([ea, eb])])
    out = L.Dense(1, activation="sigmoid", name="same")(h)
    return k.Model([a, b], out), [(5,), (5,)], ["binary_crossentropy"]


def nested(k):
    L = k.layers
    block = k.Sequential([k.Input((6,)), L.Dense(7, activation="relu", name="inner1"),
                          L.BatchNormalization(name="inner_bn"),
                          L.Dense(4, activation="relu", name="inner2")], name="block")
    x = k.Input((6,), name="x")
    h = L.Average()([block(x), L.Dense(4, name="side")(x)])
    out = L.Softmax()(L.Dense(3, name="logits")(h))
    return k.Model(x, out), [(6,)], ["sparse_categorical_crossentropy"]


def sequences(k):
    L = k.layers
    x = k.Input((12, 3), name="signal")
    h = L.Conv1D(4, 3, padding="causal", activation="relu", name="c1")(x)
    h = L.Conv1D(5, 2, strides=2, padding="same", name="c2")(h)
    h = L.LeakyReLU(negative_slope=0.1)(h)
    h = L.LayerNormalization(name="ln")(h)
    h = L.Concatenate()([L.GlobalMaxPooling1D()(h), L.GlobalAveragePooling1D()(
        L.AveragePooling1D(2)(L.MaxPooling1D(2, strides=1)(h)))])
    out = L.Dense(3, activation="softmax", name="out")(L.ELU()(h))
    return k.Model(x, out), [(12, 3)], ["sparse_categorical_crossentropy"]


def images(k):
    L = k.layers
    x = k.Input((6, 6, 2), name="image")
    h = L.ZeroPadding2D(((1, 0), (0, 2)))(x)
    h = L.Conv2D(3, 3, activation="relu", name="c")(h)
    h = L.UpSampling2D((2, 1))(h)
    h = L.ReLU(max_value=1.5)(h)
    h = L.GlobalMaxPooling2D()(h)
    out = L.Dense(2, activation="softmax", name="out")(L.Minimum()([h, L.Dense(3)(h)]))
    return k.Model(x, out), [(6, 6, 2)], ["sparse_categorical_crossentropy"]


ARCHITECTURES = [two_inputs, two_outputs, residual, branches, shared, nested, sequences,
                 images]


def data(shapes, losses, outputs, n=12):
    xs = [RNG.normal(size=(n,) + s).astype(np.float32) for s in shapes]
    ys = []
    for loss, output in zip(losses, outputs):
        size = output.shape[-1]
        if loss == "mse":
            ys.append(RNG.normal(size=(n, size)).astype(np.float32))
        elif loss == "binary_crossentropy":
            ys.append(RNG.integers(0, 2, (n, size)).astype(np.float32))
        else:
            ys.append(RNG.integers(0, size, n))
    return (xs if len(xs) > 1 else xs[0]), (ys if len(ys) > 1 else ys[0])


@pytest.mark.parametrize("make", ARCHITECTURES, ids=lambda f: f.__name__)
def test_same_predictions_and_training_step_as_keras(make):
    keras.backend.clear_session()  # both start naming layers afresh: dense, dense_1, ...
    gk.backend.clear_session()
    theirs, shapes, losses = make(keras)
    ours, _, _ = make(gk)
    assert [layer.name for layer in ours.layers] == [layer.name for layer in theirs.layers]
    weights = theirs.get_weights()
    # every weight moved a little (biases, BatchNorm's moving statistics too), not so far
    # that a probability falls below 1e-7, where Keras clips and glassnet's fused
    # softmax + cross-entropy stays exact
    weights = [w + RNG.normal(0, 0.05, w.shape).astype(np.float32) for w in weights]
    theirs.set_weights(weights)
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in weights]
    ours.set_weights(weights)
    x, y = data(shapes, losses, ours.outputs)
    expected = theirs.predict(x, verbose=0)
    got = ours.predict(x, verbose=0)
    for e, g in zip(expected if isinstance(expected, list) else [expected],
                    got if isinstance(got, list) else [got]):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5)
    assert ours.count_params() == theirs.count_params()

    loss = losses if len(losses) > 1 else losses[0]
    weights_arg = [1.0, 0.5] if len(losses) > 1 else None
    theirs.compile(keras.optimizers.SGD(0.1), loss=loss, loss_weights=weights_arg)
    ours.compile(gk.optimizers.SGD(0.1), loss=loss, loss_weights=weights_arg)
    their_loss = theirs.train_on_batch(x, y)
    our_loss = ours.train_on_batch(x, y)
    np.testing.assert_allclose(our_loss, their_loss, rtol=1e-5)
    for mine, reference, w0 in zip(ours.get_weights(), theirs.get_weights(), weights):
        step = reference - w0
        np.testing.assert_allclose(mine - w0, step, rtol=1e-5,
                                   atol=1e-5 * max(np.abs(step).max(), 1e-12) + 1e-7)
