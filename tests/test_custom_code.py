"""Code of your own, Keras's way: custom layers written with ops, custom losses,
trained by plain fit (issue 22's first part)."""

import numpy as np
import pytest

import glassnet as tf
from glassnet import keras
from glassnet.gradcheck import check_gradients, numerical_gradient
from glassnet.keras import ops


class Linear(keras.layers.Layer):
    """keras.io's "Making new layers and models via subclassing" Linear layer."""

    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                 initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return tf.matmul(inputs, self.w) + self.b

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class MLPBlock(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.linear_1 = Linear(32)
        self.linear_2 = Linear(32)
        self.linear_3 = Linear(1)

    def call(self, inputs):
        x = tf.nn.relu(self.linear_1(inputs))
        x = tf.nn.relu(self.linear_2(x))
        return self.linear_3(x)


def test_add_weight_without_a_name_twice_names_them_as_keras():
    layer = Linear(4)
    y = layer(tf.ones((2, 3)))
    assert y.shape == (2, 4)
    assert [v.name for v in layer.weights] == ["variable", "variable_1"]
    assert [v.path for v in layer.weights] == [f"{layer.name}/variable",
                                               f"{layer.name}/variable_1"]


def test_layers_set_as_attributes_are_tracked():
    block = MLPBlock()
    y = block(tf.ones(shape=(3, 64)))
    assert y.shape == (3, 1)
    assert len(block.weights) == 6 and len(block.trainable_weights) == 6
    assert block.count_params() == 64 * 32 + 32 + 32 * 32 + 32 + 32 + 1
    block.linear_2.trainable = False
    assert len(block.trainable_weights) == 4 and len(block.non_trainable_weights) == 2


def test_a_keras_style_layer_works_the_books_way():
    layer = Linear(3, dtype="float64")
    x = np.random.default_rng(0).normal(size=(2, 4))
    out = layer.forward(x, training=True)
    assert type(out) is np.ndarray and out.shape == (2, 3)
    dx = layer.backward(np.ones_like(out))
    np.testing.assert_allclose(dx, np.ones((2, 3)) @ layer.w.numpy().T)
    np.testing.assert_allclose(layer.grad_variable, x.T @ np.ones((2, 3)))
    np.testing.assert_allclose(layer.grad_variable_1, [2.0, 2.0, 2.0])
    errors = check_gradients(Linear(3), x)
    assert max(errors.values()) < 1e-7, errors


def test_a_nested_keras_style_layer_passes_the_gradient_check():
    class Block(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.inner = Linear(5, dtype=self.dtype)  # float64 all through, for the check
            self.outer = Linear(2, dtype=self.dtype)

        def call(self, inputs):
            return self.outer(tf.tanh(self.inner(inputs)))

    keras.utils.set_random_seed(1)
    block = Block(dtype="float64")
    x = np.random.default_rng(1).normal(size=(3, 4))
    out = block.forward(x, training=True)
    upstream = np.random.default_rng(2).normal(size=out.shape)
    dx = block.backward(upstream)
    grads = [np.array(v.grad) for v in block.trainable_weights]

    def loss():
        return float(np.sum(block.forward(x, training=False) * upstream))

    for variable, grad in zip(block.trainable_weights, grads):
        numeric = numerical_gradient(lambda _: loss(), variable.value, h=1e-6)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)
    numeric = numerical_gradient(lambda v: float(np.sum(block.forward(v) * upstream)),
                                 x.copy(), h=1e-6)
    np.testing.assert_allclose(dx, numeric, rtol=1e-6, atol=1e-9)


def test_summary_infers_a_custom_layers_output_shape():
    class Project(keras.layers.Layer):  # 3 → 2, no compute_output_shape
        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], 2), name="kernel")

        def call(self, x):
            return tf.matmul(x, self.kernel)

    inputs = keras.Input((3,))
    outputs = Project()(inputs)
    assert tuple(outputs.shape) == (None, 2)
    seq = keras.Input((None, 6))
    assert tuple(Linear(4)(seq).shape) == (None, None, 4)  # an unknown axis stays unknown
    model = keras.Model(inputs, outputs)
    model.compile("sgd", "mse")
    model.fit(np.ones((8, 3), "float32"), np.ones((8, 2), "float32"), verbose=0)  # (8, 2) fits


def test_fit_trains_a_model_with_custom_layers_as_plain_fit():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 8)).astype("float32")
    y = (x @ rng.normal(size=(8, 1)) + 0.3).astype("float32")
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8,))
    outputs = MLPBlock()(keras.layers.Dense(16, activation="relu")(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    history = model.fit(x, y, epochs=20, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 0.05 * history.history["loss"][0]
    assert len(model.trainable_weights) == 2 + 6


def test_a_custom_layer_under_an_outer_tape_records_its_ops():
    layer = Linear(2)
    x = tf.ones((3, 4))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(layer(x) ** 2)
    names = [record["name"] for record in tape.records()]
    assert "matmul" in names and "add" in names  # finer nodes, not one layer node
    grads = tape.gradient(y, layer.trainable_weights)
    out = x.numpy() @ layer.w.numpy() + layer.b.numpy()
    np.testing.assert_allclose(grads[1].numpy(), 2 * out.sum(axis=0), rtol=1e-6)


def custom_mean_squared_error(y_true, y_pred):
    return ops.mean(ops.square(y_true - y_pred), axis=-1)


class CustomMSE(keras.losses.Loss):
    """keras.io's "Customizing what happens in fit" loss, written with ops."""

    def __init__(self, regularization_factor=0.1, name="custom_mse"):
        super().__init__(name=name)
        self.regularization_factor = regularization_factor

    def call(self, y_true, y_pred):
        mse = ops.mean(ops.square(y_true - y_pred), axis=-1)
        reg = ops.mean(ops.square(0.5 - y_pred), axis=-1)
        return mse + reg * self.regularization_factor

    def get_config(self):  # what from_config gets back, as Keras needs too
        return {"regularization_factor": self.regularization_factor, "name": self.name}


def _train(loss, x, y, epochs=2):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4)])
    model.compile(optimizer="sgd", loss=loss)
    history = model.fit(x, y, epochs=epochs, batch_size=32, verbose=0, shuffle=False)
    return history.history["loss"], model.get_weights()


def test_a_loss_function_of_your_own_trains_as_the_built_in_one():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 6)).astype("float32")
    y = rng.normal(size=(128, 4)).astype("float32")
    built_in, weights_a = _train("mse", x, y)
    own, weights_b = _train(custom_mean_squared_error, x, y)
    np.testing.assert_allclose(own, built_in, rtol=1e-6)
    for a, b in zip(weights_a, weights_b):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_a_loss_subclass_with_call_trains_and_its_gradient_is_right():
    loss = CustomMSE()
    rng = np.random.default_rng(3)
    y, p = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    w = rng.uniform(size=5)
    value, grad = loss.value_and_gradient(y, p, w)
    expected = np.sum(w * (np.mean((y - p) ** 2, -1) + 0.1 * np.mean((0.5 - p) ** 2, -1))) / 5
    assert value == pytest.approx(expected, rel=1e-10)
    numeric = numerical_gradient(lambda q: loss.value(y, q, w), p.copy(), h=1e-6)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-10)
    history, _ = _train(CustomMSE(), rng.normal(size=(128, 6)).astype("float32"),
                        rng.normal(size=(128, 4)).astype("float32"), epochs=5)
    assert history[-1] < history[0]


def test_a_loss_written_with_ops_is_differentiable_twice_on_a_tape():
    x = tf.Variable([[0.3, -0.2]], dtype="float64")
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            value = CustomMSE()(tf.constant([[1.0, 0.0]], dtype="float64"), x)
        g = inner.gradient(value, x)
        s = tf.reduce_sum(g)
    # value = mean((y - x)²) + 0.1·mean((0.5 - x)²); ∂²/∂x² = (2 + 0.2)/2 per element
    np.testing.assert_allclose(outer.gradient(s, x).numpy(), [[1.1, 1.1]], rtol=1e-12)


class CustomModel(keras.Model):
    """keras.io's "Customizing what happens in fit()" (TensorFlow), first model."""

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
        trainable_vars = self.trainable_variables
        gradients = tape.gradient(loss, trainable_vars)
        self.optimizer.apply(gradients, trainable_vars)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def _functional(cls):
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(32,))
    outputs = keras.layers.Dense(1)(inputs)
    return cls(inputs, outputs)


def test_an_overridden_train_step_trains_as_fit_does():
    rng = np.random.default_rng(0)
    x = rng.random((1000, 32)).astype("float32")
    y = rng.random((1000, 1)).astype("float32")
    model = _functional(CustomModel)
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    history = model.fit(x, y, epochs=3, batch_size=32, shuffle=False, verbose=0)
    plain = _functional(keras.Model)
    plain.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    expected = plain.fit(x, y, epochs=3, batch_size=32, shuffle=False, verbose=0)
    assert set(history.history) == {"loss", "mae"}
    for a, b in zip(model.get_weights(), plain.get_weights()):  # the same training
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(history.history["mae"], expected.history["mae"], rtol=1e-5)
    # the guide's loss tracker averages batches (fit's own weighs them by size: the last,
    # of 8 samples, counts less), so the epoch losses agree to within that difference
    np.testing.assert_allclose(history.history["loss"], expected.history["loss"], rtol=5e-3)


def test_a_train_step_with_its_own_loss_and_metrics_and_no_compiled_loss():
    class OwnMetrics(keras.Model):  # the guide's "going lower-level" model
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.loss_tracker = keras.metrics.Mean(name="loss")
            self.mae_metric = keras.metrics.MeanAbsoluteError(name="mae")
            self.loss_fn = keras.losses.MeanSquaredError()

        def train_step(self, data):
            x, y = data
            with tf.GradientTape() as tape:
                y_pred = self(x, training=True)
                loss = self.loss_fn(y, y_pred)
            gradients = tape.gradient(loss, self.trainable_variables)
            self.optimizer.apply(gradients, self.trainable_variables)
            self.loss_tracker.update_state(loss)
            self.mae_metric.update_state(y, y_pred)
            return {"loss": self.loss_tracker.result(), "mae": self.mae_metric.result()}

        @property
        def metrics(self):
            return [self.loss_tracker, self.mae_metric]

    rng = np.random.default_rng(1)
    x = rng.random((256, 32)).astype("float32")
    y = rng.random((256, 1)).astype("float32")
    model = _functional(OwnMetrics)
    model.compile(optimizer="adam")  # no loss: the train_step has its own
    history = model.fit(x, y, epochs=4, batch_size=32, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < losses[0] and len(history.history["mae"]) == 4
    # metrics reset at each epoch: the last epoch's loss is that epoch's mean, below the first's
    assert model.loss_tracker.count > 0


def test_a_test_step_and_a_train_step_that_returns_nonsense():
    class Evaluated(keras.Model):
        def test_step(self, data):
            x, y = data
            y_pred = self(x, training=False)
            loss = self.compute_loss(y=y, y_pred=y_pred)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred)
            return {m.name: m.result() for m in self.metrics}

    rng = np.random.default_rng(2)
    x, y = rng.random((64, 32)).astype("float32"), rng.random((64, 1)).astype("float32")
    model = _functional(Evaluated)
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    own = model.evaluate(x, y, batch_size=64, verbose=0, return_dict=True)
    p = model.predict(x, verbose=0)
    assert own["loss"] == pytest.approx(float(np.mean((p - y) ** 2)), rel=1e-5)
    assert own["mae"] == pytest.approx(float(np.mean(np.abs(p - y))), rel=1e-5)

    class Broken(keras.Model):
        def train_step(self, data):
            return 3.0

    broken = _functional(Broken)
    broken.compile(optimizer="sgd", loss="mse")
    with pytest.raises(TypeError, match="train_step must return a dict of numbers"):
        broken.fit(x, y, verbose=0)


def test_a_gan_style_train_step_without_targets():
    class TwoSteps(keras.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.seen = []

        def train_step(self, batch):  # fit(x) alone: data is x
            self.seen.append(tuple(batch.shape))
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(self(batch, training=True)))
            grads = tape.gradient(loss, self.trainable_weights)
            self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
            return {"loss": loss}

    x = np.random.default_rng(3).random((40, 32)).astype("float32")
    model = _functional(TwoSteps)
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    history = model.fit(x, epochs=3, batch_size=16, verbose=0)
    assert model.seen[:3] == [(16, 32), (16, 32), (8, 32)]
    assert history.history["loss"][-1] < history.history["loss"][0]


class BinaryTruePositives(keras.metrics.Metric):
    """keras.io's custom metric: state made after super().__init__."""

    def __init__(self, name="binary_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), initializer="zeros",
                                                name="true_positives")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, "bool")
        y_pred = ops.cast(y_pred, "bool")
        values = ops.logical_and(ops.equal(y_true, True), ops.equal(y_pred, True))
        values = ops.cast(values, self.dtype or "float32")
        if sample_weight is not None:
            values = ops.multiply(values, ops.cast(sample_weight, self.dtype or "float32"))
        self.true_positives.assign(self.true_positives + ops.sum(values))

    def result(self):
        return self.true_positives

    def reset_state(self):
        self.true_positives.assign(0)


def test_a_custom_metric_subclass():
    metric = BinaryTruePositives()
    metric.update_state(np.array([1, 1, 0, 1]), np.array([1, 0, 1, 1]))
    assert float(metric.result()) == 2.0
    metric.update_state(tf.constant([1, 1]), tf.constant([1, 1]))
    assert float(metric.result()) == 4.0
    metric.reset_state()
    assert float(metric.result()) == 0.0


@pytest.mark.parametrize("extension", [".keras", ".safetensors", ".h5"])
def test_custom_objects_save_and_load_back_only_when_given(tmp_path, extension):
    class Scaled(keras.layers.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 4)).astype("float32")
    y = rng.normal(size=(16, 3)).astype("float32")
    model = keras.Sequential([keras.Input((4,)), Linear(3, name="lin"), Scaled(0.5)])
    model.compile(optimizer="adam", loss=custom_mean_squared_error)
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / f"model{extension}"
    model.save(path)
    with pytest.raises(Exception, match="Scaled|Linear"):
        keras.models.load_model(path)  # nobody handed the classes over: refused by name
    loaded = keras.models.load_model(path, custom_objects={
        "Linear": Linear, "Scaled": Scaled,
        "custom_mean_squared_error": custom_mean_squared_error})
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)
    assert type(loaded.layers[-1]) is Scaled and loaded.layers[-1].factor == 0.5
    history = loaded.fit(x, y, epochs=1, verbose=0)  # the compile state came back
    assert np.isfinite(history.history["loss"][0])
    assert loaded.loss is not None or loaded._compiled_loss is not None


def test_register_keras_serializable(tmp_path):
    @keras.saving.register_keras_serializable(package="Tests")
    class Doubled(keras.layers.Layer):
        def call(self, x):
            return x * 2.0

    model = keras.Sequential([keras.Input((3,)), Doubled()])
    model.compile(optimizer="sgd", loss=CustomMSE())
    path = tmp_path / "m.keras"
    model.save(path)
    import json
    import zipfile
    config = json.loads(zipfile.ZipFile(path).read("config.json"))
    entry = config["config"]["layers"][-1]
    assert entry["registered_name"] == "Tests>Doubled"
    with pytest.raises(Exception, match="CustomMSE"):
        keras.models.load_model(path)  # the loss class was not handed over
    loaded = keras.models.load_model(path, custom_objects={"CustomMSE": CustomMSE})
    assert type(loaded.layers[-1]) is Doubled
    np.testing.assert_allclose(loaded.predict(np.ones((1, 3)), verbose=0), [[2.0, 2.0, 2.0]])


def test_a_subclassed_model_whose_call_takes_a_dict():
    class TwoInputs(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.left = keras.layers.Dense(4, activation="relu")
            self.right = keras.layers.Dense(4, activation="relu")
            self.out = keras.layers.Dense(1)

        def call(self, inputs):
            merged = keras.layers.concatenate([self.left(inputs["title"]),
                                               self.right(inputs["body"])])
            return self.out(merged)

    rng = np.random.default_rng(0)
    x = {"title": rng.normal(size=(32, 3)).astype("float32"),
         "body": rng.normal(size=(32, 5)).astype("float32")}
    y = rng.normal(size=(32, 1)).astype("float32")
    model = TwoInputs()
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert len(history.history["loss"]) == 3
    assert sorted(model.input_names) == ["body", "title"]
    p = model.predict(x, verbose=0)
    expected = model.out(np.concatenate([model.left(x["title"]).numpy(),
                                         model.right(x["body"]).numpy()], axis=1)).numpy()
    np.testing.assert_allclose(p, expected, rtol=1e-5)


def test_summary_of_an_unbuilt_model_as_keras_3(capsys):
    model = keras.Sequential([keras.layers.Dense(3), keras.layers.Dense(2)])
    model.summary()
    out = capsys.readouterr().out
    assert out.count("│ ?") == 2 and out.count("0 (unbuilt)") == 2
    assert "Total params: 0 (0.00 B)" in out


def test_freezing_every_layer_after_compile_warns_at_fit():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    model.layers[0].trainable = False
    before = model.get_weights()
    with pytest.warns(UserWarning, match="does not have any trainable weights"):
        model.fit(np.ones((4, 3)), np.zeros((4, 2)), verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_loss_functions_on_tensors_stay_on_the_tape_and_mean_takes_one_value():
    # Deep Learning with Python ch. 2 and the Korean guide: the function form in a loop
    w = tf.Variable([[0.5, -0.5], [0.1, 0.2]])
    x, y = tf.constant([[1.0, 2.0]]), np.array([1])
    with tf.GradientTape() as tape:
        probs = tf.nn.softmax(x @ w)
        per_sample = keras.losses.sparse_categorical_crossentropy(y, probs)
        loss = tf.reduce_mean(per_sample)
    assert per_sample.shape == (1,)
    grad = tape.gradient(loss, w)
    p = probs.numpy()[0]
    np.testing.assert_allclose(grad.numpy(), np.outer([1.0, 2.0], p - [0, 1]), rtol=1e-5)
    mean = keras.metrics.Mean(name="m")
    assert float(mean(tf.constant(3.0))) == 3.0 and float(mean(5.0)) == 4.0


def test_sequential_add_an_input_first_as_the_seed_lesson_does(capsys):
    model = keras.Sequential()
    model.add(keras.Input(shape=(4,)))
    model.add(keras.layers.Dense(3, activation="sigmoid"))
    model.summary()
    assert "(None, 3)" in capsys.readouterr().out
    assert model(np.ones((2, 4), "float32")).shape == (2, 3)


class ActivityPenalty(keras.layers.Layer):
    """keras.io's ActivityRegularizationLayer (a pass-through that adds a loss)."""

    def __init__(self, rate=1e-2, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * tf.reduce_sum(tf.square(inputs)))
        return inputs


def test_add_loss_as_the_guide_asserts_each_call_replaces_the_last():
    class OuterLayer(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.activity_reg = ActivityPenalty(0.5)

        def call(self, inputs):
            return self.activity_reg(inputs)

    layer = OuterLayer()
    assert len(layer.losses) == 0
    layer(tf.ones((1, 2)))
    assert [float(v) for v in layer.losses] == [1.0]  # 0.5 · (1 + 1)
    layer(2 * tf.ones((1, 3)))  # a new call: its loss replaces the last one's
    assert [float(v) for v in layer.losses] == [6.0]  # 0.5 · 3 · 4
    x = tf.constant([[1.0, -2.0, 3.0]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(layer(x)) + tf.add_n(layer.losses)
    np.testing.assert_allclose(tape.gradient(loss, x).numpy(), 1 + 0.5 * 2 * x.numpy())


def test_add_loss_inside_a_model_is_in_fits_loss_and_its_gradient_is_right():
    class Block(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.linear = Linear(3, dtype=self.dtype)
            self.penalty = ActivityPenalty(0.3, dtype=self.dtype)

        def call(self, inputs):
            return self.penalty(tf.tanh(self.linear(inputs)))

    keras.utils.set_random_seed(3)
    inputs = keras.Input((4,), dtype="float64")
    hidden = Block(dtype="float64")(inputs)
    outputs = keras.layers.Dense(1, dtype="float64")(hidden)
    model = keras.Model(inputs, outputs)
    model.compile("sgd", "mse")
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(6, 4)), rng.normal(size=(6, 1))
    block = model.layers[1]
    h = np.tanh(x @ block.linear.w.numpy() + block.linear.b.numpy())
    expected = np.mean((model.predict(x, verbose=0) - y) ** 2) + 0.3 * np.sum(h ** 2)
    assert model.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-6)  # float32 logs
    assert float(tf.add_n(model.losses)) == pytest.approx(0.3 * np.sum(h ** 2), rel=1e-9)
    results = check_gradients(model, x, y, h=1e-6)
    assert max(results.values()) < 1e-6, results
    history = model.fit(x, y, epochs=1, batch_size=6, verbose=0)
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-6)


class KerasTwoModel(keras.Model):
    """TensorFlow 2's "Customizing what happens in fit()" (Keras 2's API, as
    the Korean translation still teaches): compiled_loss and compiled_metrics."""

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compiled_loss(y, y_pred, regularization_losses=self.losses)
        trainable_vars = self.trainable_variables
        gradients = tape.gradient(loss, trainable_vars)
        self.optimizer.apply_gradients(zip(gradients, trainable_vars))
        self.compiled_metrics.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def test_keras_two_compiled_loss_and_compiled_metrics_train_as_fit_does():
    rng = np.random.default_rng(0)
    x = rng.random((1000, 32)).astype("float32")
    y = rng.random((1000, 1)).astype("float32")
    model = _functional(KerasTwoModel)
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    history = model.fit(x, y, epochs=3, batch_size=32, shuffle=False, verbose=0)
    plain = _functional(keras.Model)
    plain.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    expected = plain.fit(x, y, epochs=3, batch_size=32, shuffle=False, verbose=0)
    assert [m.name for m in model.metrics] == ["loss", "mae"]
    for a, b in zip(model.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for name in ("loss", "mae"):  # Keras 2's loss metric weighs batches by size, as fit
        np.testing.assert_allclose(history.history[name], expected.history[name], rtol=1e-5)
    model.compiled_metrics.reset_state()
    assert float(model.metrics[1].result()) == 0.0


def test_keras_two_metric_reset_states_and_tensorflow_dtype_numbers():
    metric = keras.metrics.Mean()
    metric.update_state([1.0, 3.0])
    metric.reset_states()  # Keras 2's name (TensorFlow 2's guides)
    assert float(metric.result()) == 0.0
    assert tf.zeros(1, 1).dtype == np.float32  # tf.zeros(shape, dtype=1): DT_FLOAT
    assert tf.ones((2,), 3).dtype == np.int32
    with pytest.raises(TypeError, match="DataType numbers"):
        tf.zeros(1, 99)


def test_slices_of_a_variable_assign_as_tensorflow():
    v = tf.Variable(np.zeros((2, 3), dtype="float32"))
    v[0, 0].assign(3.0)  # Deep Learning with Python, chapter 3
    v[:, 1].assign([1.0, 2.0])
    v[1, 2].assign_add(5.0)
    np.testing.assert_array_equal(v.numpy(), [[3, 1, 0], [0, 2, 5]])
    with pytest.raises(ValueError, match="shape"):
        v[0].assign([1.0, 2.0])
    with tf.GradientTape() as tape:  # under a tape, a slice is a recorded op
        y = tf.reduce_sum(v[1] * 2.0)
    np.testing.assert_array_equal(tape.gradient(y, v).numpy(), [[0, 0, 0], [2, 2, 2]])


def test_tensorflow_initializer_names_and_keras_two_backend_functions():
    init = tf.random_normal_initializer(seed=1)  # TensorFlow's defaults: N(0, 0.05²)
    values = init(shape=(200, 50), dtype="float32")
    assert values.dtype == np.float32 and abs(values.std() - 0.05) < 0.003
    assert np.all(tf.zeros_initializer()(shape=(3,), dtype="float32") == 0)
    x = tf.constant([[1.0, 2.0], [3.0, 5.0]])
    assert float(keras.backend.std(x)) == pytest.approx(np.std([1, 2, 3, 5]), rel=1e-6)
    np.testing.assert_allclose(keras.backend.mean(x, axis=0).numpy(), [2.0, 3.5])
    keras.utils.set_random_seed(0)
    sample = keras.backend.random_normal((4000,), mean=1.0, stddev=2.0)
    assert abs(float(tf.reduce_mean(sample)) - 1.0) < 0.1
    assert str(tf.math.reduce_std(x)) == "tf.Tensor(1.47902, shape=(), dtype=float32)"


class KerasIoGAN(keras.Model):
    """keras.io's GAN of "Customizing what happens in fit()": no call, its two
    networks as attributes, its own compile and train_step, noisy labels."""

    def __init__(self, discriminator, generator, latent_dim):
        super().__init__()
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = latent_dim
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")

    def compile(self, d_optimizer, g_optimizer, loss_fn):
        super().compile()
        self.d_optimizer, self.g_optimizer, self.loss_fn = d_optimizer, g_optimizer, loss_fn

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def train_step(self, real_images):
        batch_size = tf.shape(real_images)[0]
        latent = tf.random.normal(shape=(batch_size, self.latent_dim))
        combined = tf.concat([self.generator(latent), real_images], axis=0)
        labels = tf.concat([tf.ones((batch_size, 1)), tf.zeros((batch_size, 1))], axis=0)
        labels += 0.05 * tf.random.uniform(tf.shape(labels))  # in [0, 1.05]
        with tf.GradientTape() as tape:
            d_loss = self.loss_fn(labels, self.discriminator(combined))
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
        latent = tf.random.normal(shape=(batch_size, self.latent_dim))
        with tf.GradientTape() as tape:
            g_loss = self.loss_fn(tf.zeros((batch_size, 1)),
                                  self.discriminator(self.generator(latent)))
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_grads = grads  # for the test: through the discriminator into the generator
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}


def test_a_gan_with_no_call_of_its_own_trains_with_fit_on_a_dataset():
    keras.utils.set_random_seed(0)
    discriminator = keras.Sequential([keras.Input((16,)), keras.layers.Dense(8, "relu"),
                                      keras.layers.Dense(1)], name="discriminator")
    generator = keras.Sequential([keras.Input((4,)), keras.layers.Dense(16, "tanh")],
                                 name="generator")
    gan = KerasIoGAN(discriminator, generator, latent_dim=4)
    assert gan.layers == [discriminator, generator]
    gan.compile(d_optimizer=keras.optimizers.Adam(3e-4), g_optimizer=keras.optimizers.Adam(3e-4),
                loss_fn=keras.losses.BinaryCrossentropy(from_logits=True))
    before = [v.numpy().copy() for v in discriminator.weights + generator.weights]
    x = np.random.default_rng(0).random((64, 16))  # float64: fed as float32, as Keras
    dataset = tf.data.Dataset.from_tensor_slices(x).shuffle(buffer_size=64).batch(16)
    history = gan.fit(dataset.take(3), epochs=2, verbose=0)
    assert set(history.history) == {"d_loss", "g_loss"} and len(history.history["d_loss"]) == 2
    assert all(np.all(np.isfinite(v)) for v in history.history.values())
    after = [v.numpy() for v in discriminator.weights + generator.weights]
    assert all(not np.array_equal(a, b) for a, b in zip(before, after))  # both networks trained
    assert all(g is not None and np.any(g.numpy() != 0) for g in gan.g_grads)
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        keras.losses.BinaryCrossentropy()(np.array([[0.0], [3.0]]), np.array([[0.5], [0.5]]))


class LogisticEndpoint(keras.layers.Layer):
    """keras.io's endpoint layer (Training & evaluation with the built-in
    methods): called on two tensors, it adds the model's loss itself."""

    def __init__(self, name=None):
        super().__init__(name=name)
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

    def call(self, targets, logits, sample_weights=None):
        self.add_loss(self.loss_fn(targets, logits, sample_weights))
        return ops.softmax(logits)


def test_an_endpoint_layer_of_two_inputs_gives_the_loss_of_a_model_compiled_without_one():
    rng = np.random.default_rng(0)
    x, targets = rng.random((24, 3)).astype("float32"), rng.random((24, 10)).astype("float32")
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(3,), name="inputs")
    target_input = keras.Input(shape=(10,), name="targets")
    logits = keras.layers.Dense(10)(inputs)
    predictions = LogisticEndpoint(name="predictions")(target_input, logits)
    model = keras.Model(inputs=[inputs, target_input], outputs=predictions)
    model.compile(optimizer=keras.optimizers.SGD(0.5))  # no loss: the layer adds it
    history = model.fit({"inputs": x, "targets": targets}, epochs=2, batch_size=8,
                        shuffle=False, verbose=0)
    keras.utils.set_random_seed(0)
    plain_in = keras.Input(shape=(3,))
    plain = keras.Model(plain_in, keras.layers.Dense(10)(plain_in))
    plain.compile(optimizer=keras.optimizers.SGD(0.5),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True))
    expected = plain.fit(x, targets, epochs=2, batch_size=8, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], expected.history["loss"], rtol=1e-5)
    for a, b in zip(model.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    probabilities = model.predict({"inputs": x, "targets": targets}, verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    # eagerly, on its own: two tensors in, the loss in layer.losses
    layer = LogisticEndpoint()
    layer(targets[:2], np.zeros((2, 10), dtype="float32"))
    assert float(layer.losses[0]) == pytest.approx(np.log(2), rel=1e-6)


def test_call_arguments_of_your_own_are_kept_for_every_call_and_unknown_ones_refused():
    class Scale(keras.layers.Layer):
        def call(self, x, factor=2.0):
            return x * factor

    inputs = keras.Input((2,))
    model = keras.Model(inputs, Scale()(inputs, factor=3.0))
    np.testing.assert_array_equal(model.predict(np.ones((1, 2)), verbose=0), [[3.0, 3.0]])
    with pytest.raises(TypeError, match="unexpected call arguments \\['scale'\\]"):
        Scale()(inputs, scale=3.0)


def test_a_model_compiled_without_a_loss_whose_layers_add_none_says_so():
    inputs = keras.Input((2,))
    model = keras.Model(inputs, Linear(1)(inputs))
    model.compile("sgd")
    with pytest.raises(ValueError, match="compiled without a loss and none of its layers"):
        model.fit(np.ones((4, 2)), verbose=0)


class OpsBetweenLayers(keras.Model):
    """A subclassed Model whose call computes with ops between its layers and
    adds a loss (the pattern of keras.io's VAE, without its random draw)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.encode = keras.layers.Dense(3, dtype="float64")
        self.decode = keras.layers.Dense(2, dtype="float64")

    def call(self, inputs):
        h = self.encode(inputs)
        self.add_loss(0.1 * tf.reduce_mean(tf.square(h)))
        return self.decode(tf.tanh(h) * 2.0)


def test_a_subclassed_model_with_ops_between_its_layers_trains_and_its_gradient_is_right():
    keras.utils.set_random_seed(4)
    model = OpsBetweenLayers()
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(5, 4)), rng.normal(size=(5, 2))
    model.predict(x, verbose=0)  # builds: one step runs the call
    assert model.layers == [model.encode, model.decode]
    assert len(model.trainable_weights) == 4

    def expected_loss():
        h = x @ model.encode.kernel.numpy() + model.encode.bias.numpy()
        out = (np.tanh(h) * 2.0) @ model.decode.kernel.numpy() + model.decode.bias.numpy()
        return np.mean((out - y) ** 2) + 0.1 * np.mean(h ** 2)

    loss, _ = model.compute_gradients(x, y)
    assert loss == pytest.approx(expected_loss(), rel=1e-12)
    for variable in model.trainable_weights:
        analytic = np.array(variable.grad)
        numeric = numerical_gradient(lambda _: expected_loss(), variable.value, h=1e-6)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)
    assert float(tf.add_n(model.losses)) == pytest.approx(
        0.1 * np.mean((x @ model.encode.kernel.numpy() + model.encode.bias.numpy()) ** 2))
    first = expected_loss()
    history = model.fit(x, y, epochs=5, batch_size=5, verbose=0)
    assert history.history["loss"][0] == pytest.approx(first, rel=1e-6)  # float32 logs
    assert history.history["loss"][-1] < first
    with tf.GradientTape() as tape:  # a loop of your own, as the VAE guide's
        loss = tf.reduce_mean(tf.square(model(x) - y)) + sum(model.losses)
    grads = tape.gradient(loss, model.trainable_weights)
    assert float(loss) == pytest.approx(expected_loss(), rel=1e-9)
    model.compute_gradients(x, y)
    for g, variable in zip(grads, model.trainable_weights):
        np.testing.assert_allclose(g.numpy(), variable.grad, rtol=1e-9, atol=1e-12)


def test_tf_variables_set_as_attributes_are_the_layers_weights_and_train():
    class GuideLinear(keras.layers.Layer):  # the guide's first layer: tf.Variable attributes
        def __init__(self, units=32, input_dim=32):
            super().__init__()
            w_init = tf.random_normal_initializer()
            self.w = tf.Variable(initial_value=w_init(shape=(input_dim, units),
                                                      dtype="float32"), trainable=True)
            b_init = tf.zeros_initializer()
            self.b = tf.Variable(initial_value=b_init(shape=(units,), dtype="float32"),
                                 trainable=True)
            self.calls = tf.Variable(0.0, trainable=False)

        def call(self, inputs):
            self.calls.assign_add(1.0)
            return tf.matmul(inputs, self.w) + self.b

    layer = GuideLinear(4, 2)
    layer(tf.ones((2, 2)))
    assert layer.weights == [layer.w, layer.b, layer.calls]
    assert layer.trainable_weights == [layer.w, layer.b]
    assert layer.non_trainable_weights == [layer.calls]
    keras.utils.set_random_seed(0)
    inputs = keras.Input((2,))
    model = keras.Model(inputs, GuideLinear(1, 2)(inputs))
    model.compile(keras.optimizers.SGD(0.1), "mse")
    x = np.random.default_rng(0).random((64, 2)).astype("float32")
    y = x @ np.array([[1.0], [2.0]], dtype="float32") + 0.5
    model.fit(x, y, epochs=300, batch_size=64, verbose=0)
    trained = model.layers[1]
    np.testing.assert_allclose(trained.w.numpy().ravel(), [1.0, 2.0], atol=0.05)
    np.testing.assert_allclose(trained.b.numpy(), [0.5], atol=0.05)


def test_a_metric_called_with_its_sample_weight_by_position():
    accuracy = keras.metrics.BinaryAccuracy()
    value = accuracy(np.array([[1.0], [0.0]]), np.array([[0.9], [0.9]]), np.array([3.0, 1.0]))
    assert float(value) == pytest.approx(0.75)


def test_keras_two_add_metric_shows_its_mean_in_fit_and_evaluate_logs():
    class Watched(keras.layers.Layer):
        def call(self, inputs):
            self.add_metric(tf.reduce_mean(inputs), name="mean_input")
            return inputs

    inputs = keras.Input((2,))
    outputs = keras.layers.Dense(1)(Watched()(inputs))
    model = keras.Model(inputs, outputs)
    model.compile("sgd", "mse")
    x = np.arange(16, dtype="float32").reshape(8, 2)
    history = model.fit(x, np.zeros((8, 1)), batch_size=4, shuffle=False, epochs=2, verbose=0)
    # the batches' means 3.5 and 11.5, averaged per epoch (reset each epoch)
    assert history.history["mean_input"] == [7.5, 7.5]
    logs = model.evaluate(x[:4], np.zeros((4, 1)), verbose=0, return_dict=True)
    assert logs["mean_input"] == 3.5
    assert "mean_input" in model.metrics_names
    with pytest.raises(ValueError, match="needs a name"):
        Watched().add_metric(1.0)


def test_numpy_reductions_of_a_tensor_take_numpys_own_arguments():
    """The autoencoder tutorial's np.mean(train_loss) + np.std(train_loss) on a
    Tensor: NumPy calls t.mean(axis, dtype=None, out=None)."""
    t = tf.constant([[1.0, 2.0], [3.0, 5.0]])
    assert float(np.mean(t)) == 2.75 and float(np.std(t)) == pytest.approx(np.std([1, 2, 3, 5]))
    np.testing.assert_array_equal(np.sum(t, axis=0), [4.0, 7.0])
    assert np.mean(t, dtype="float64").dtype == np.float64
    assert float(np.max(t)) == 5.0 and float(np.min(t)) == 1.0
    with tf.GradientTape() as tape:  # without NumPy's extra arguments it stays on the tape
        tape.watch(t)
        y = t.mean()
    np.testing.assert_array_equal(tape.gradient(y, t).numpy(), np.full((2, 2), 0.25))
