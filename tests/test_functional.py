"""Functional models: Input and symbolic tensors, Model(inputs, outputs) with
several inputs and outputs, shared layers and fan-out, nested models, feature
extraction from a Sequential model, Keras's order, summary, configs, errors."""

import re

import numpy as np
import pytest

import glassnet as gn
from glassnet import keras
from glassnet.gradcheck import check_gradients
from glassnet.keras import layers

RNG = np.random.default_rng(3)


def ok(results, tol=1e-6):
    assert results
    for name, error in results.items():
        assert error < tol, f"{name}: {error:.2e}"


def two_in_two_out():
    a, b = keras.Input((4,), name="a"), keras.Input((3,), name="b")
    h = layers.Concatenate()([layers.Dense(5, name="d1")(a), b])
    cls = layers.Dense(2, activation="softmax", name="cls")(h)
    reg = layers.Dense(1, name="reg")(h)
    return keras.Model([a, b], [cls, reg])


def test_symbolic_tensors_and_keras_order():
    x = keras.Input((28, 28), name="pixels")
    assert x.shape == (None, 28, 28) and x.dtype == "float32" and x.name == "pixels"
    y = layers.Dense(3)(layers.Flatten()(x))
    assert y.shape == (None, 3)
    with pytest.raises(TypeError, match="symbolic"):
        np.asarray(y)
    keras.backend.clear_session()  # automatic names start again: concatenate, not concatenate_3
    model = two_in_two_out()
    # the order real Keras 3.15 gives for this graph (depth first, then first seen)
    assert [layer.name for layer in model.layers] == ["a", "d1", "b", "concatenate", "cls",
                                                      "reg"]
    assert model.output_names == ["cls", "reg"] and model.input_names == ["a", "b"]
    assert [w.path for w in model.weights] == ["d1/kernel", "d1/bias", "cls/kernel", "cls/bias",
                                               "reg/kernel", "reg/bias"]
    assert model.input_shape == [(None, 4), (None, 3)]
    assert model.output_shape == [(None, 2), (None, 1)]
    assert model.get_layer("d1").output is model.get_layer("concatenate").input[0]
    assert model.get_layer(index=1).name == "d1"
    with pytest.raises(ValueError, match="No layer named 'dx'.*'d1'"):
        model.get_layer("dx")


def test_two_inputs_two_outputs_fit_evaluate_predict_like_keras():
    model = two_in_two_out()
    model.compile("adam", loss=["sparse_categorical_crossentropy", "mse"],
                  metrics=[["accuracy"], ["mae"]], loss_weights=[1.0, 0.5])
    x = [RNG.random((10, 4)), RNG.random((10, 3))]
    y = [RNG.integers(0, 2, 10), RNG.random((10, 1))]
    history = model.fit(x, y, epochs=2, verbose=0, validation_split=0.2)
    # the keys real Keras 3.15 gives for this model
    assert sorted(history.history) == ["cls_accuracy", "cls_loss", "loss", "reg_loss", "reg_mae",
                                       "val_cls_accuracy", "val_cls_loss", "val_loss",
                                       "val_reg_loss", "val_reg_mae"]
    values = model.evaluate(x, y, verbose=0, return_dict=True)
    assert values["loss"] == pytest.approx(values["cls_loss"] + 0.5 * values["reg_loss"],
                                           rel=1e-6)
    as_list = model.evaluate(x, y, verbose=0)
    assert as_list == pytest.approx([values[k] for k in ("loss", "cls_loss", "reg_loss",
                                                         "cls_accuracy", "reg_mae")])
    cls, reg = model.predict(x, verbose=0)
    assert cls.shape == (10, 2) and reg.shape == (10, 1)
    np.testing.assert_allclose(values["reg_loss"], np.mean((reg - y[1]) ** 2), rtol=1e-5)
    np.testing.assert_allclose(values["cls_accuracy"],
                               np.mean(cls.argmax(1) == y[0]), rtol=1e-6)
    # dicts by output name work the same
    model.compile("adam", loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"},
                  loss_weights={"cls": 1.0, "reg": 0.5}, metrics={"reg": "mae"})
    again = model.evaluate({"a": x[0], "b": x[1]}, {"cls": y[0], "reg": y[1]}, verbose=0,
                           return_dict=True)
    assert again["loss"] == pytest.approx(values["loss"]) and "cls_accuracy" not in again


def test_dict_inputs_and_outputs():
    a, b = keras.Input((2,), name="a"), keras.Input((3,), name="b")
    h = layers.Dense(4)(layers.Concatenate()([a, b]))
    model = keras.Model({"a": a, "b": b}, {"score": layers.Dense(1)(h), "p": layers.Dense(
        3, activation="softmax")(h)})
    assert model.output_names == ["p", "score"]
    model.compile("sgd", loss={"score": "mse", "p": "categorical_crossentropy"})
    x = {"a": RNG.random((6, 2)), "b": RNG.random((6, 3))}
    y = {"score": RNG.random((6, 1)), "p": np.eye(3)[RNG.integers(0, 3, 6)]}
    assert sorted(model.fit(x, y, verbose=0).history) == ["loss", "p_loss", "score_loss"]
    out = model.predict(x, verbose=0)
    assert set(out) == {"score", "p"} and out["p"].shape == (6, 3)
    with pytest.raises(ValueError, match=r"x is a dict without the input\(s\) \['b'\]"):
        model.predict({"a": x["a"]})


def test_shared_layer_gradients_add_up_and_its_regularizer_counts_once():
    a, b = keras.Input((5,)), keras.Input((5,))
    shared = layers.Dense(4, activation="tanh", kernel_regularizer="l2")
    out = layers.Dense(1, activation="sigmoid")(layers.Subtract()([shared(a), shared(b)]))
    model = keras.Model([a, b], out)
    model.compile("sgd", "binary_crossentropy")
    assert len(model.weights) == 4  # the shared layer's weights once
    x = [RNG.normal(size=(6, 5)), RNG.normal(size=(6, 5))]
    y = RNG.integers(0, 2, (6, 1)).astype(float)
    ok(check_gradients(model, x, y))
    loss = model.evaluate(x, y, verbose=0)
    plain = keras.Model([a, b], out)
    assert loss == pytest.approx(model.evaluate(x, y, verbose=0))
    penalty = 0.01 * float(np.sum(shared.kernel.numpy() ** 2))
    outputs = plain.predict(x, verbose=0)
    bce = -np.mean(y * np.log(outputs) + (1 - y) * np.log(1 - outputs))
    assert loss == pytest.approx(bce + penalty, rel=1e-5)


def test_fan_out_and_residual_gradients():
    x = keras.Input((6,))
    h = layers.Dense(6, activation="tanh")(x)
    out = layers.Dense(2)(layers.Add()([h, x, layers.Dense(6)(h)]))  # h read twice, x twice
    model = keras.Model(x, out)
    model.compile("sgd", "mse")
    ok(check_gradients(model, RNG.normal(size=(4, 6)), RNG.normal(size=(4, 2))))


def test_a_model_is_a_layer_and_shares_its_weights():
    gn.utils.set_random_seed(7)
    base = keras.Sequential([keras.Input((6,)), layers.Dense(4, activation="relu"),
                             layers.Dense(3)])
    outer = keras.Sequential([base, layers.Softmax()])
    assert outer.layers[0] is base and outer.count_params() == base.count_params() == 43
    assert [id(w) for w in outer.weights] == [id(w) for w in base.weights]
    outer.compile("adam", "sparse_categorical_crossentropy")
    before = base.get_weights()
    x, y = RNG.normal(size=(20, 6)), RNG.integers(0, 3, 20)
    outer.fit(x, y, epochs=2, verbose=0)
    assert not np.allclose(before[0], base.get_weights()[0])
    from glassnet.activations import softmax
    np.testing.assert_allclose(outer.predict(x, verbose=0),
                               softmax(base.predict(x, verbose=0)), rtol=1e-5)
    ok(check_gradients(outer, x[:4], y[:4]))
    # called on a tensor: a node of a functional model, same weights
    inputs = keras.Input((6,))
    twice = keras.Model(inputs, layers.Add()([base(inputs), base(inputs)]))
    np.testing.assert_allclose(twice.predict(x, verbose=0), 2 * base.predict(x, verbose=0),
                               rtol=1e-6)
    twice.compile("sgd", "mse")
    ok(check_gradients(twice, x[:3], RNG.normal(size=(3, 3))))


def test_a_call_with_training_false_stays_in_inference_mode():
    base = keras.Sequential([keras.Input((4,)), layers.Dense(6), layers.BatchNormalization(),
                             layers.Dropout(0.5)])
    inputs = keras.Input((4,))
    model = keras.Model(inputs, layers.Dense(1)(base(inputs, training=False)))  # Keras's idiom
    model.compile("sgd", "mse")
    x, y = RNG.normal(size=(16, 4)), RNG.normal(size=(16, 1))
    moving = base.layers[1].moving_mean.numpy()
    before = model.get_weights()
    model.fit(x, y, verbose=0)
    np.testing.assert_array_equal(base.layers[1].moving_mean.numpy(), moving)  # not updated
    assert not np.allclose(before[0], model.get_weights()[0])  # but the weights still learn
    first = model.predict(x, verbose=0)
    np.testing.assert_array_equal(first, model.predict(x, verbose=0))  # no dropout anywhere
    clone = keras.Model.from_config(model.get_config())
    assert [n.training for n in clone._nodes if isinstance(n.operation, keras.Model)] == [False]
    with pytest.raises(NotImplementedError, match="masks"):
        layers.Dense(2)(keras.Input((3,)), mask=np.ones(3))


def test_feature_extraction_from_a_sequential_model():
    gn.utils.set_random_seed(0)
    cnn = keras.Sequential([keras.Input((12, 12, 1)), layers.Conv2D(4, 3, activation="relu"),
                            layers.MaxPooling2D(), layers.Flatten(),
                            layers.Dense(3, activation="softmax")])
    features = keras.Model(cnn.inputs, cnn.layers[0].output)
    x = RNG.random((2, 12, 12, 1)).astype(np.float32)
    maps = features.predict(x, verbose=0)
    conv = cnn.layers[0]
    np.testing.assert_allclose(maps, conv.forward(x), rtol=1e-6)
    every = keras.Model(cnn.input, [layer.output for layer in cnn.layers])
    assert [o.shape for o in every.predict(x, verbose=0)] == [(2, 10, 10, 4), (2, 5, 5, 4),
                                                             (2, 100), (2, 3)]
    cnn.compile("sgd", "sparse_categorical_crossentropy")
    cnn.fit(x, np.array([0, 1]), verbose=0)
    np.testing.assert_allclose(features.predict(x, verbose=0), conv.forward(x), rtol=1e-6)


def test_summary_shows_connections_for_a_graph(capsys):
    two_in_two_out().summary()
    text = capsys.readouterr().out
    assert "Connected to" in text
    assert re.search(r"concatenate\w* \(Concatenate\)\s+│ \(None, 8\)\s+│\s+0 │ d1\[0\]\[0\], "
                     r"b\[0\]\[0\]", text)
    assert re.search(r"a \(InputLayer\)\s+│ \(None, 4\)\s+│\s+0 │ -", text)
    keras.Sequential([keras.Input((3,)), layers.Dense(2)]).summary()
    assert "Connected to" not in capsys.readouterr().out


def test_config_and_file_round_trip(tmp_path):
    model = two_in_two_out()
    model.compile("adam", loss=["sparse_categorical_crossentropy", "mse"], loss_weights=[1, 2])
    x = [RNG.random((5, 4)), RNG.random((5, 3))]
    model.fit(x, [RNG.integers(0, 2, 5), RNG.random((5, 1))], verbose=0)
    clone = keras.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]
    for a, b in zip(model.predict(x, verbose=0), clone.predict(x, verbose=0)):
        np.testing.assert_array_equal(a, b)
    model.save(tmp_path / "m.safetensors")
    loaded = gn.load_model(tmp_path / "m.safetensors")
    for a, b in zip(model.predict(x, verbose=0), loaded.predict(x, verbose=0)):
        np.testing.assert_array_equal(a, b)
    assert loaded.optimizer.iterations == model.optimizer.iterations == 1
    np.testing.assert_array_equal(loaded.optimizer._state["m"], model.optimizer._state["m"])
    assert loaded._compile_args[1] == [1, 2]
    nested = keras.Sequential([keras.Sequential([keras.Input((4,)), layers.Dense(3)]),
                               layers.Dense(2)])
    nested.save(tmp_path / "n.safetensors")
    again = gn.load_model(tmp_path / "n.safetensors")
    np.testing.assert_array_equal(again.predict(x[0], verbose=0), nested.predict(x[0], verbose=0))


class TinyNet(keras.Model):
    def __init__(self):
        super().__init__()
        self.hidden = layers.Dense(5, activation="relu")
        self.out = layers.Dense(2)

    def call(self, inputs):
        return self.out(self.hidden(inputs))


def test_a_subclassed_model_is_traced_into_a_graph_on_its_first_data():
    gn.utils.set_random_seed(7)
    model = TinyNet()
    model.compile("sgd", "mse")
    x, y = RNG.normal(size=(8, 3)), RNG.normal(size=(8, 2))
    model.fit(x, y, verbose=0)
    assert [type(layer).__name__ for layer in model.layers] == ["InputLayer", "Dense", "Dense"]
    x32 = x.astype(np.float32)  # predict computes in float32: the same arithmetic by hand
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               model.out.forward(model.hidden.forward(x32)), rtol=1e-6)
    ok(check_gradients(model, x[:3], y[:3]))


def test_graph_errors():
    a, b = keras.Input((3,), name="first"), keras.Input((3,), name="second")
    out = layers.Dense(2)(layers.Add()([a, b]))
    with pytest.raises(ValueError, match="depend on the input 'second', which is not among the "
                                         r"model's inputs \['first'\]"):
        keras.Model(a, out)
    with pytest.raises(ValueError, match="must be symbolic tensors"):
        keras.Model(a, np.ones(3))
    dense = layers.Dense(2, name="twin")
    clash = layers.Dense(2, name="twin")
    with pytest.raises(ValueError, match="'twin' is used 2 times in the model"):
        keras.Model(a, layers.Add()([dense(a), clash(a)]))
    with pytest.raises(ValueError, match="already has a layer named 'twin'"):
        keras.Sequential([layers.Dense(2, name="twin"), layers.Dense(2, name="twin")])
    with pytest.raises(ValueError, match=r"Layer 'd3' \(Dense\) expects input of shape \(None, "
                                         r"3\); received input of shape \(None, 4\)"):
        d = layers.Dense(2, name="d3")
        d(a)
        d(keras.Input((4,)))
    model = keras.Model(a, layers.Dense(1)(a))
    with pytest.raises(ValueError, match=r"expects input of shape \(None, 3\); received x of "
                                         r"shape \(2, 5\)"):
        model.predict(np.ones((2, 5)))
    with pytest.raises(ValueError, match="the model has 2 inputs"):
        keras.Model([a, b], out).predict(np.ones((2, 3)))


def test_missing_channel_axis_is_added_as_keras_does():
    model = keras.Sequential([keras.Input((6, 6, 1)), layers.Conv2D(2, 3), layers.Flatten()])
    np.testing.assert_array_equal(model.predict(np.ones((2, 6, 6)), verbose=0),
                                  model.predict(np.ones((2, 6, 6, 1)), verbose=0))


def test_dict_outputs_val_logs_equal_evaluate_on_the_final_weights():
    """Issue 23: a dict-output model's val_label_sparse_categorical_accuracy was
    reported as 0.333 where Keras gives 0.125. Whatever the batching, fit's
    last validation must say what evaluate says on the same weights and data
    (Keras 3.15 itself gets the per-output val losses wrong here: its
    val_label_loss 1.5262 is not its own evaluate's 1.474; glassnet's is)."""
    from glassnet import keras

    keras.utils.set_random_seed(0)
    inputs = {"a": keras.Input((4,), name="a"), "b": keras.Input((3,), name="b")}
    h = keras.layers.Dense(8, activation="relu")(keras.layers.Concatenate()(
        [inputs["a"], inputs["b"]]))
    outputs = {"score": keras.layers.Dense(1, name="s_layer")(h),
               "label": keras.layers.Dense(3, activation="softmax", name="c_layer")(h)}
    model = keras.Model(inputs, outputs)
    model.compile("sgd", loss={"label": "sparse_categorical_crossentropy", "score": "mse"},
                  metrics={"label": ["sparse_categorical_accuracy"], "score": ["mae"]})
    rng = np.random.default_rng(1)
    x = {"a": rng.normal(size=(16, 4)), "b": rng.normal(size=(16, 3))}
    y = {"label": rng.integers(0, 3, 16), "score": rng.normal(size=(16, 1))}
    xv = {"a": rng.normal(size=(8, 4)), "b": rng.normal(size=(8, 3))}
    yv = {"label": rng.integers(0, 3, 8), "score": rng.normal(size=(8, 1))}
    history = model.fit(x, y, validation_data=(xv, yv), epochs=2, batch_size=3, verbose=0,
                        shuffle=False)
    evaluated = model.evaluate(xv, yv, verbose=0, return_dict=True)
    assert set(evaluated) == {"loss", "label_loss", "score_loss",
                              "label_sparse_categorical_accuracy", "score_mae"}
    for name, value in evaluated.items():
        assert history.history["val_" + name][-1] == pytest.approx(value, rel=1e-5), name
    predicted = model.predict(xv, verbose=0)["label"].argmax(axis=1)
    assert evaluated["label_sparse_categorical_accuracy"] == pytest.approx(
        np.mean(predicted == yv["label"]))
