"""Variables (live views of the weights), layers on their own (the book's
way), and the Keras namespace (`import glassnet as tf`, `from glassnet import
keras`, the import edits API.md allows)."""

import importlib
import subprocess
import sys

import numpy as np
import pytest

import glassnet as gn
from glassnet import keras
from glassnet.keras import layers

RNG = np.random.default_rng(5)


# ---------------------------------------------------------------- Variables
def test_variables_are_live_views_with_keras_attributes():
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2, name="dense_v"),
                              layers.BatchNormalization(name="bn_v")])
    dense, bn = model.layers
    kernel = dense.kernel
    assert kernel.shape == (3, 2) and kernel.dtype == "float32" and kernel.name == "kernel"
    assert kernel.path == "dense_v/kernel" and kernel.trainable
    assert [v.name for v in bn.trainable_weights] == ["gamma", "beta"]
    assert [v.name for v in bn.non_trainable_weights] == ["moving_mean", "moving_variance"]
    assert [v.path for v in model.weights] == ["dense_v/kernel", "dense_v/bias", "bn_v/gamma",
                                               "bn_v/beta", "bn_v/moving_mean",
                                               "bn_v/moving_variance"]
    snapshot = kernel.numpy()
    kernel.assign(np.ones((3, 2)))
    assert snapshot is not kernel.value and not np.array_equal(snapshot, kernel.numpy())
    x = RNG.normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_allclose(dense(x), x @ np.ones((3, 2)), rtol=1e-6)  # the layer sees it
    # NumPy works on it, and np.asarray is the live array itself
    assert isinstance(kernel * 2, np.ndarray) and float((kernel * 2).sum()) == 12
    assert np.asarray(kernel) is kernel.value and np.exp(kernel).shape == (3, 2)
    assert float(np.sum(kernel)) == 6 and kernel.mean() == 1 and kernel[0, 1] == 1
    kernel[0] = 5
    assert dense.get_weights()[0][0, 0] == 5
    kernel += 1
    assert dense.kernel is kernel and dense.get_weights()[0][0, 0] == 6
    with pytest.raises(ValueError, match=r"'dense_v/kernel' has shape \(3, 2\); cannot assign "
                                         r"a value of shape \(2, 3\)"):
        kernel.assign(np.zeros((2, 3)))
    assert "Variable path=dense_v/kernel, shape=(3, 2), dtype=float32" in repr(kernel)


def test_variables_stay_live_through_training_and_shared_layers():
    shared = layers.Dense(2, name="shared_v")
    a = keras.Sequential([keras.Input((3,)), shared])
    b = keras.Sequential([keras.Input((3,)), shared, layers.Dense(1)])
    kernel = shared.kernel
    x, y2, y1 = RNG.normal(size=(8, 3)), RNG.normal(size=(8, 2)), RNG.normal(size=(8, 1))
    for model, y in ((a, y2), (b, y1), (a, y2)):  # each fit packs the weights into its vector
        model.compile("sgd", "mse")
        before = kernel.numpy()
        model.fit(x, y, verbose=0)
        assert shared.kernel is kernel and not np.array_equal(before, kernel.numpy())
        # float32 predictions against a float64 product: relative for most, absolute near 0
        np.testing.assert_allclose(a.predict(x, verbose=0), x @ kernel.numpy() +
                                   shared.bias.numpy(), rtol=1e-5, atol=1e-6)
    assert a.weights[0] is b.weights[0] is kernel


def test_frozen_layers_are_not_trained():
    model = keras.Sequential([keras.Input((3,)), layers.Dense(4, name="frozen_d"),
                              layers.Dense(1)])
    model.layers[0].trainable = False
    model.compile("sgd", "mse")
    before = model.layers[0].get_weights()
    model.fit(RNG.normal(size=(8, 3)), RNG.normal(size=(8, 1)), verbose=0)
    for w0, w1 in zip(before, model.layers[0].get_weights()):
        np.testing.assert_array_equal(w0, w1)
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 2


# ---------------------------------------------------------------- layers alone
LAYERS = [
    (lambda: layers.Dense(3), (4, 5)), (lambda: layers.Flatten(), (2, 3, 4)),
    (lambda: layers.Reshape((6, 2)), (2, 3, 4)), (lambda: layers.Activation("tanh"), (2, 5)),
    (lambda: layers.Dropout(0.3, seed=1), (3, 4)), (lambda: layers.Rescaling(0.5), (2, 3)),
    (lambda: layers.Conv2D(2, 3, padding="same"), (2, 5, 5, 3)),
    (lambda: layers.Conv1D(2, 3), (2, 7, 3)), (lambda: layers.MaxPooling2D(), (2, 4, 4, 2)),
    (lambda: layers.AveragePooling2D(), (2, 4, 4, 2)),
    (lambda: layers.MaxPooling1D(), (2, 6, 2)), (lambda: layers.AveragePooling1D(), (2, 6, 2)),
    (lambda: layers.GlobalAveragePooling2D(), (2, 3, 3, 2)),
    (lambda: layers.GlobalMaxPooling2D(), (2, 3, 3, 2)),
    (lambda: layers.GlobalMaxPooling1D(), (2, 4, 3)),
    (lambda: layers.BatchNormalization(), (4, 3)),
    (lambda: layers.LayerNormalization(), (4, 3)), (lambda: layers.Softmax(), (2, 4)),
    (lambda: layers.ReLU(), (2, 4)), (lambda: layers.LeakyReLU(), (2, 4)),
    (lambda: layers.ELU(), (2, 4)), (lambda: layers.ZeroPadding2D(), (2, 3, 3, 1)),
    (lambda: layers.UpSampling2D(), (2, 3, 3, 1)),
]


@pytest.mark.parametrize("make,shape", LAYERS)
def test_every_layer_works_alone_forward_then_backward(make, shape):
    layer = make()
    x = RNG.normal(size=shape).astype(np.float32)
    out = layer.forward(x, training=True)  # builds the layer on its first input
    assert layer.built and layer.input_shape == (None,) + shape[1:]
    grad = layer.backward(np.ones_like(out))
    assert grad.shape == x.shape and np.isfinite(grad).all()


def test_a_model_never_changes_what_the_first_layer_returns():
    model = keras.Sequential([keras.Input((5,)), layers.Dense(4, activation="relu"),
                              layers.Dense(2)])
    model.compile("sgd", "mse")
    x = RNG.normal(size=(6, 5)).astype(np.float32)
    model.fit(x, RNG.normal(size=(6, 2)), verbose=0)  # the engine skips ∂L/∂x here
    first = model.layers[0]
    out = first.forward(x, training=True)
    grad = first.backward(np.ones_like(out))
    assert grad.shape == x.shape
    np.testing.assert_allclose(grad, ((out > 0) * 1.0) @ first.kernel.numpy().T, rtol=1e-5)


def test_merge_layer_alone_returns_a_gradient_per_input():
    a, b = RNG.normal(size=(2, 3)), RNG.normal(size=(2, 3))
    layer = layers.Multiply()
    out = layer.forward([a, b], training=True)
    ga, gb = layer.backward(np.ones_like(out))
    np.testing.assert_allclose(ga, b) and np.testing.assert_allclose(gb, a)


# ---------------------------------------------------------------- the namespace
def test_import_glassnet_as_tf():
    import glassnet as tf

    assert tf.__version__ == tf.version.VERSION == gn.__version__
    assert tf.keras.layers.Dense is gn.layers.Dense  # one implementation
    assert tf.keras.Sequential is gn.Sequential and tf.keras.Model is gn.Model
    assert tf.keras.models.load_model is gn.load_model
    assert tf.keras.optimizers.Adam is gn.optimizers.Adam
    assert tf.keras.losses.SparseCategoricalCrossentropy is \
        gn.losses.SparseCategoricalCrossentropy
    assert tf.keras.callbacks.EarlyStopping is gn.callbacks.EarlyStopping
    assert tf.keras.Input is gn.layers.Input and tf.keras.layers.InputLayer
    assert tf.keras.optimizers.schedules.CosineDecay is gn.optimizers.CosineDecay


@pytest.mark.parametrize("statement", [
    "from glassnet import keras",
    "import glassnet.keras as keras",
    "from glassnet.keras import layers, models, losses, metrics, optimizers, callbacks",
    "from glassnet.keras.layers import Dense, Conv2D, MaxPooling2D, Flatten, Dropout, Input",
    "from glassnet.keras.models import Sequential, Model, load_model",
    "from glassnet.keras.optimizers import Adam, SGD, RMSprop",
    "from glassnet.keras.optimizers.schedules import ExponentialDecay",
    "from glassnet.keras.callbacks import EarlyStopping, ModelCheckpoint, ReduceLROnPlateau",
    "from glassnet.keras.utils import to_categorical, set_random_seed",
    "from glassnet.keras.datasets import fashion_mnist, mnist",
    "from glassnet.keras.activations import relu, softmax",
    "from glassnet.keras.initializers import HeNormal, glorot_uniform",
    "from glassnet.keras.regularizers import l2, L1L2",
    "from glassnet.keras.backend import clear_session",
    "from glassnet.keras import Sequential, Model, Input",
])
def test_the_import_edits_api_md_allows(statement):
    namespace = {}
    exec(statement, namespace)
    assert len(namespace) > 1


def test_losses_and_metrics_under_keras_names():
    y, p = np.array([0, 2]), np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    loss = keras.losses.SparseCategoricalCrossentropy()
    assert loss(y, p) == pytest.approx(-np.mean(np.log([0.7, 0.8])))
    logits = np.log(p)
    assert keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, logits) == \
        pytest.approx(loss(y, p))
    np.testing.assert_allclose(keras.losses.sparse_categorical_crossentropy(y, p),
                               -np.log([0.7, 0.8]))  # per sample, as Keras's function
    np.testing.assert_allclose(keras.losses.mean_squared_error([[1.0, 2.0]], [[2.0, 4.0]]), [2.5])
    smooth = keras.losses.CategoricalCrossentropy(label_smoothing=0.1)
    one_hot = keras.utils.to_categorical(y, 3)
    target = one_hot * 0.9 + 0.1 / 3
    assert smooth(one_hot, p) == pytest.approx(-np.mean(np.sum(target * np.log(p), axis=1)))
    assert keras.losses.Huber(delta=1.0)([[0.0]], [[2.0]]) == pytest.approx(1.5)
    np.testing.assert_allclose(keras.metrics.sparse_categorical_accuracy(y, p), [1.0, 1.0])


def test_utils_as_keras():
    one_hot = keras.utils.to_categorical([0, 2, 1])
    assert one_hot.dtype == np.float64 and one_hot.shape == (3, 3)  # as Keras returns it
    np.testing.assert_array_equal(one_hot, np.eye(3)[[0, 2, 1]])
    assert keras.utils.to_categorical(np.array([[1], [0]]), 3).shape == (2, 3)
    assert keras.utils.to_categorical(np.zeros((2, 4), dtype=int), 5).shape == (2, 4, 5)
    with pytest.raises(ValueError, match="does not fit num_classes=2"):
        keras.utils.to_categorical([3], 2)
    np.testing.assert_allclose(keras.utils.normalize([[3.0, 4.0]]), [[0.6, 0.8]])
    keras.utils.set_random_seed(3)
    first = layers.Dense(2)(np.ones((1, 2)))
    keras.utils.set_random_seed(3)
    np.testing.assert_array_equal(layers.Dense(2)(np.ones((1, 2))), first)


def test_keras_datasets_give_fashion_mnist(fashion_mnist):
    (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    np.testing.assert_array_equal(y_test, fashion_mnist[1][1])


def test_import_stays_light():
    code = ("import time, sys; t = time.perf_counter(); import glassnet; from glassnet import "
            "keras; t = time.perf_counter() - t; print(t, 'numpy' in sys.modules, "
            "'glassnet.layers' in sys.modules)")
    best = min(float(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                    text=True, check=True).stdout.split()[0])
               for _ in range(3))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert best < 0.3 and out[1:] == ["False", "False"]  # nothing heavy until it is used


def test_unknown_keras_names_say_so():
    with pytest.raises(AttributeError, match="glassnet.keras' has no attribute 'applications'"):
        keras.applications
    ops = importlib.import_module("glassnet.keras.ops")
    assert callable(ops.matmul)  # keras.ops exists now (the tape's ops)
    with pytest.raises(AttributeError, match="'matmull'.*nearest names that exist: matmul"):
        ops.matmull
