"""tf.GradientTape's semantics (TensorFlow's backprop.py and autodiff guide),
layers under a tape, and optimizers fed from a tape."""

import gc
import weakref

import numpy as np
import pytest

import glassnet as tf
from glassnet import keras
from glassnet.gradcheck import numerical_gradient


def test_tensor_face():
    x = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    assert isinstance(x, tf.Tensor) and x.dtype == tf.float32 and x.shape == (2, 2)
    assert x.shape.as_list() == [2, 2] and x.ndim == 2 and len(x) == 2
    np.testing.assert_array_equal((x @ x).numpy(), [[7, 10], [15, 22]])
    np.testing.assert_array_equal((2 * x - 1).numpy(), [[1, 3], [5, 7]])
    assert np.argmax(x) == 3 and float(x[1, 1]) == 4.0
    assert tf.constant(1).dtype == tf.int32 and tf.constant(np.float64(1.5)).dtype == tf.float64
    assert [float(row[0]) for row in x] == [1.0, 3.0]
    assert x[:, tf.newaxis].shape == (2, 1, 2)
    np.testing.assert_array_equal(tf.shape(x).numpy(), [2, 2])
    assert tf.cast(x, tf.int32).dtype == np.int32
    with pytest.raises(TypeError, match="item assignment"):
        x[0, 0] = 1.0
    with pytest.raises(ValueError, match="ambiguous"):
        bool(x > 0)
    assert bool(tf.constant(2.0) > 1)


def test_eager_calls_return_tensors_and_predict_arrays():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    x = np.ones((4, 3), dtype="float32")
    out = model(x)
    assert isinstance(out, tf.Tensor) and out.shape == (4, 2)
    assert isinstance(model.layers[0](x), tf.Tensor)
    predicted = model.predict(x, verbose=0)
    assert type(predicted) is np.ndarray
    np.testing.assert_allclose(out.numpy(), predicted, rtol=1e-6)


def test_variable_gradient_and_auto_watch():
    x = tf.Variable(3.0)
    with tf.GradientTape() as tape:
        y = x * x + 2 * x
    assert float(tape.gradient(y, x)) == 8.0
    assert tape.watched_variables() == (x,)


def test_constants_need_watch_and_unconnected_is_none():
    x = tf.constant(3.0)
    with tf.GradientTape(persistent=True) as tape:
        y = x * x
    assert tape.gradient(y, x) is None
    x2 = tf.constant(2.0)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x2)
        y = x2 ** 3
        z = tf.constant(5.0) * 2
    assert float(tape.gradient(y, x2)) == pytest.approx(12.0)
    assert tape.gradient(z, x2) is None
    zero = tape.gradient(z, x2, unconnected_gradients="zero")
    assert float(zero) == 0.0 and zero.dtype == tf.float32


def test_non_trainable_variable_not_watched():
    v = tf.Variable(2.0, trainable=False)
    with tf.GradientTape() as tape:
        y = v * v
    assert tape.gradient(y, v) is None
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        w = tf.Variable(1.0)
        y = w * 3
    assert tape.gradient(y, w) is None


def test_non_scalar_target_is_the_sum_and_output_gradients():
    x = tf.Variable([1.0, 2.0, 3.0])
    with tf.GradientTape(persistent=True) as tape:
        y = x * x
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [2, 4, 6])
    np.testing.assert_allclose(
        tape.gradient(y, x, output_gradients=tf.constant([1.0, 0.0, 2.0])).numpy(), [2, 0, 12])


def test_nested_sources_keep_structure():
    a, b = tf.Variable(1.0), tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = a * b
    grads = tape.gradient(y, {"a": a, "pair": [b, (a,)]})
    assert set(grads) == {"a", "pair"} and isinstance(grads["pair"][1], tuple)
    assert float(grads["a"]) == 2.0 and float(grads["pair"][0]) == 1.0
    assert float(grads["pair"][1][0]) == 2.0


def test_non_persistent_tape_answers_once_and_frees():
    x = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = x * x
    tape.gradient(y, x)
    with pytest.raises(RuntimeError, match="non-persistent GradientTape"):
        tape.gradient(y, x)
    assert tape._nodes == [] and tape._watched == {}


def test_tape_holds_no_memory_after_use_or_delete():
    x = tf.Variable(np.ones(1000, dtype="float32"))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.exp(x) * 2)
    inner = weakref.ref(tape._nodes[0].op.outputs[0])
    tape.gradient(y, x)
    gc.collect()
    assert inner() is None
    with tf.GradientTape(persistent=True) as tape2:
        z = tf.reduce_sum(tf.exp(x))
    ref = weakref.ref(tape2._nodes[0].op.outputs[0])
    del tape2, z
    gc.collect()
    assert ref() is None


def test_integers_have_no_gradient():
    n = tf.constant(3)
    with pytest.warns(UserWarning, match="must be floating"):
        with tf.GradientTape() as tape:
            tape.watch(n)
            y = n * 2
    with pytest.warns(UserWarning, match="dtype of the (target|source) tensor must be floating"):
        assert tape.gradient(y, n) is None
    x = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = tf.cast(tf.cast(x, tf.int32), tf.float32) * x
    assert float(tape.gradient(y, x)) == 2.0  # the path through the integer carries none


def test_stop_recording_and_stop_gradient():
    x = tf.Variable(3.0)
    with tf.GradientTape(persistent=True) as tape:
        y = x * x
        with tape.stop_recording():
            z = x * x
        w = tf.stop_gradient(x * x) * x
    assert tape.gradient(z, x) is None
    assert float(tape.gradient(w, x)) == 9.0
    assert float(tape.gradient(y, x)) == 6.0


def test_reset_forgets():
    x = tf.Variable(1.0)
    with tf.GradientTape() as tape:
        y = x * 5
        tape.reset()
        z = x * 7
    assert float(tape.gradient(z, x)) == 7.0


def test_second_and_third_derivatives_with_nested_tapes():
    x = tf.Variable(0.7)
    with tf.GradientTape() as t3:
        with tf.GradientTape() as t2:
            with tf.GradientTape() as t1:
                y = tf.tanh(x)
            d1 = t1.gradient(y, x)
        d2 = t2.gradient(d1, x)
    d3 = t3.gradient(d2, x)
    t = np.tanh(0.7)
    assert float(d1) == pytest.approx(1 - t**2, rel=1e-6)
    assert float(d2) == pytest.approx(-2 * t * (1 - t**2), rel=1e-5)
    assert float(d3) == pytest.approx(-2 * (1 - t**2) ** 2 + 4 * t**2 * (1 - t**2), rel=1e-4)


def test_jacobian_and_batch_jacobian():
    x = tf.Variable([1.0, 2.0])
    with tf.GradientTape(persistent=True) as tape:
        y = tf.stack([x[0] * x[1], x[0] + 3 * x[1], x[1] ** 2])
    np.testing.assert_allclose(tape.jacobian(y, x).numpy(), [[2, 1], [1, 3], [0, 4]])
    xb = tf.constant(np.arange(6, dtype="float64").reshape(3, 2))
    with tf.GradientTape() as tape:
        tape.watch(xb)
        yb = xb * xb
    jac = tape.batch_jacobian(yb, xb).numpy()
    assert jac.shape == (3, 2, 2)
    for b in range(3):
        np.testing.assert_allclose(jac[b], np.diag(2 * xb.numpy()[b]))


def _float64_mlp():
    keras.backend.clear_session()
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="tanh",
                                                                     dtype="float64"),
                              keras.layers.Dense(3, dtype="float64")])
    return model


def test_layer_under_tape_matches_numerical_gradient():
    model = _float64_mlp()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 5))
    y = rng.integers(0, 3, 6)

    def loss_value():
        logits = model(x)
        return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))

    with tf.GradientTape() as tape:
        loss = loss_value()
    grads = tape.gradient(loss, model.trainable_weights)
    for variable, grad in zip(model.trainable_weights, grads):
        numeric = numerical_gradient(lambda _: float(loss_value()), variable.value, h=1e-6)
        np.testing.assert_allclose(grad.numpy(), numeric, rtol=1e-6, atol=1e-9)
    # the input gradient goes through the layers' own backward
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        loss = tf.reduce_sum(model(xt) ** 2)
    numeric = numerical_gradient(lambda v: float(tf.reduce_sum(model(v) ** 2)), x.copy(), h=1e-6)
    np.testing.assert_allclose(tape.gradient(loss, xt).numpy(), numeric, rtol=1e-6, atol=1e-9)


def test_a_layer_is_one_node_and_ops_with_its_kernel_stay_on_the_tape():
    layer = keras.layers.Dense(3)
    x = tf.constant(np.ones((2, 4), dtype="float32"))
    with tf.GradientTape(persistent=True) as tape:
        y = tf.reduce_sum(layer(x))
        z = tf.reduce_sum(x @ layer.kernel + layer.bias)
    kinds = [(r["kind"], r["name"]) for r in tape.records()]
    assert kinds[0] == ("layer", f"Dense {layer.name!r}")
    assert ("op", "matmul") in kinds
    gk = tape.gradient(z, layer.kernel)
    np.testing.assert_allclose(gk.numpy(), np.full((4, 3), 2.0))
    gy = tape.gradient(y, [layer.kernel, layer.bias])
    np.testing.assert_allclose(gy[1].numpy(), [2.0, 2.0, 2.0])


def test_shared_layer_called_twice_keeps_each_calls_state():
    keras.backend.clear_session()
    layer = keras.layers.Dense(2, activation="relu", dtype="float64")
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))

    def loss_value():
        return tf.reduce_sum(layer(a) * 2.0) + tf.reduce_sum(layer(b) ** 2)

    with tf.GradientTape() as tape:
        loss = loss_value()
    grads = tape.gradient(loss, layer.trainable_weights)
    for variable, grad in zip(layer.trainable_weights, grads):
        numeric = numerical_gradient(lambda _: float(loss_value()), variable.value, h=1e-6)
        np.testing.assert_allclose(grad.numpy(), numeric, rtol=1e-6, atol=1e-9)


def test_second_derivative_through_a_layer_raises_naming_it():
    layer = keras.layers.Dense(2, name="hidden")
    x = tf.constant(np.ones((1, 3), dtype="float32"))
    with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            y = tf.reduce_sum(layer(x) ** 2)
        g = inner.gradient(y, x)
        penalty = tf.reduce_sum(g ** 2)
    with pytest.raises(NotImplementedError, match="Dense 'hidden'"):
        outer.gradient(penalty, x)


def test_second_derivative_through_ops_of_a_custom_layer_works():
    w = tf.Variable([[0.5], [-1.0]], dtype="float64")
    x = tf.constant([[1.0, 2.0]], dtype="float64")
    with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            y = tf.reduce_sum(tf.tanh(x @ w))
        g = inner.gradient(y, x)         # (1 - tanh²(z)) wᵀ
        s = tf.reduce_sum(g)
    h = outer.gradient(s, x).numpy()
    z = (x.numpy() @ w.numpy()).item()
    t = np.tanh(z)
    expected = -2 * t * (1 - t**2) * w.numpy().sum() * w.numpy().ravel()
    np.testing.assert_allclose(h.ravel(), expected, rtol=1e-10)


def test_book_style_layer_that_assigns_its_gradient_learns_on_the_tape():
    from glassnet.layers import Layer

    class Scale(Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")

        def forward(self, x, training=False):
            self.x = x
            return x * self.w.value

        def backward(self, grad):
            self.grad_w = (grad * self.x).sum(axis=0)  # a new array, the book's idiom
            return grad * self.w.value

    layer = Scale()
    x = np.array([[1.0, 2.0], [3.0, 4.0]], dtype="float32")
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(layer(x))
    np.testing.assert_allclose(tape.gradient(y, layer.w).numpy(), [4.0, 6.0])


def test_apply_gradients_sgd_and_adam_steps():
    w = tf.Variable([1.0, -2.0])
    b = tf.Variable(0.5)
    opt = keras.optimizers.SGD(learning_rate=0.1)
    opt.apply_gradients(zip([tf.constant([1.0, 1.0]), tf.constant(2.0)], [w, b]))
    np.testing.assert_allclose(w.numpy(), [0.9, -2.1], rtol=1e-6)
    assert float(b) == pytest.approx(0.3)
    # Adam's first step moves each weight by lr · g / (|g| + ε·...) ≈ lr · sign(g)
    v = tf.Variable([1.0, 1.0])
    adam = keras.optimizers.Adam(learning_rate=0.01)
    adam.apply([tf.constant([0.5, -3.0])], [v])
    m = 0.1 * np.array([0.5, -3.0])
    s = 0.001 * np.array([0.5, -3.0]) ** 2
    expected = 1 - 0.01 * np.sqrt(1 - 0.999) / (1 - 0.9) * m / (np.sqrt(s) + 1e-7)
    np.testing.assert_allclose(v.numpy(), expected, rtol=1e-6)
    assert adam.iterations == 1


def test_apply_gradients_none_and_shapes():
    a, b = tf.Variable(1.0), tf.Variable(2.0)
    opt = keras.optimizers.SGD(0.5)
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        opt.apply_gradients([(tf.constant(1.0), a), (None, b)])
    assert float(a) == 0.5 and float(b) == 2.0
    with pytest.raises(ValueError, match="No gradients provided"):
        opt.apply_gradients([(None, a), (None, b)])
    k = tf.Variable(np.zeros((2, 3), dtype="float32"), name="kernel")
    with pytest.raises(ValueError, match=r"'kernel'.*\(3, 2\).*\(2, 3\)"):
        opt.apply_gradients([(np.zeros((3, 2), dtype="float32"), k)])


def test_tape_training_loop_matches_fit_on_the_same_weights():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 5)).astype("float32")
    y = rng.integers(0, 3, 64)

    def build():
        keras.utils.set_random_seed(3)
        keras.backend.clear_session()
        return keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu"),
                                 keras.layers.Dense(3, activation="softmax")])

    fitted = build()
    fitted.compile(optimizer=keras.optimizers.Adam(0.01),
                   loss="sparse_categorical_crossentropy")
    fitted.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)

    looped = build()
    optimizer = keras.optimizers.Adam(0.01)
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    for _ in range(2):
        for i in range(0, 64, 16):
            with tf.GradientTape() as tape:
                probs = looped(x[i:i + 16], training=True)
                loss = tf.reduce_mean(-tf.math.log(tf.gather(
                    tf.reshape(probs, [-1]), np.arange(16) * 3 + y[i:i + 16])))
            grads = tape.gradient(loss, looped.trainable_weights)
            optimizer.apply_gradients(zip(grads, looped.trainable_weights))
    for a, b in zip(fitted.get_weights(), looped.get_weights()):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)
    assert loss_fn is not None


def test_gan_step_gradients_flow_through_the_discriminator():
    keras.backend.clear_session()
    gen = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6, activation="relu",
                                                                  dtype="float64"),
                            keras.layers.Dense(5, dtype="float64")])
    disc = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1, dtype="float64")])
    rng = np.random.default_rng(2)
    noise, real = rng.normal(size=(8, 4)), rng.normal(size=(8, 5))

    def losses():
        fake = gen(noise, training=True)
        real_out, fake_out = disc(real, training=True), disc(fake, training=True)
        bce = tf.nn.sigmoid_cross_entropy_with_logits
        gen_loss = tf.reduce_mean(bce(tf.ones_like(fake_out), fake_out))
        disc_loss = tf.reduce_mean(bce(tf.ones_like(real_out), real_out)) + \
            tf.reduce_mean(bce(tf.zeros_like(fake_out), fake_out))
        return gen_loss, disc_loss

    with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
        gen_loss, disc_loss = losses()
    gen_grads = gen_tape.gradient(gen_loss, gen.trainable_weights)
    disc_grads = disc_tape.gradient(disc_loss, disc.trainable_weights)
    for variable, grad in zip(gen.trainable_weights, gen_grads):
        numeric = numerical_gradient(lambda _: float(losses()[0]), variable.value, h=1e-6)
        np.testing.assert_allclose(grad.numpy(), numeric, rtol=1e-5, atol=1e-9)
    for variable, grad in zip(disc.trainable_weights, disc_grads):
        numeric = numerical_gradient(lambda _: float(losses()[1]), variable.value, h=1e-6)
        np.testing.assert_allclose(grad.numpy(), numeric, rtol=1e-5, atol=1e-9)


def test_bad_input_messages():
    with pytest.raises(ValueError, match=r"add.*\(2, 3\).*\(4,\)"):
        tf.add(tf.ones((2, 3)), tf.ones((4,)))
    with pytest.raises(AttributeError, match="reduce_sum"):
        tf.reduce_summ
    with pytest.raises(AttributeError, match="out of glassnet's scope"):
        tf.config


def test_tf_function_runs_the_function():
    @tf.function
    def double(v):
        return v * 2

    @tf.function(jit_compile=True)
    def triple(v):
        return v * 3

    assert float(double(tf.constant(2.0))) == 4.0 and float(triple(tf.constant(2.0))) == 6.0


def test_fit_trains_a_book_style_layer_that_assigns_its_gradient():
    from glassnet.layers import Layer

    class Affine(Layer):
        """y = x·w + b, the book's way: backward assigns new arrays."""

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], 1), initializer="zeros", name="w")
            self.b = self.add_weight(shape=(1,), initializer="zeros", name="b")

        def compute_output_shape(self, input_shape):
            return tuple(input_shape[:-1]) + (1,)

        def forward(self, x, training=False):
            self.x = x
            return x @ self.w.value + self.b.value

        def backward(self, grad):
            self.grad_w = self.x.T @ grad
            self.grad_b = grad.sum(axis=0)
            return grad @ self.w.value.T

    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 2)).astype("float32")
    y = x @ np.array([[2.0], [-1.0]], dtype="float32") + 0.5
    model = keras.Sequential([keras.Input((2,)), Affine()])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    history = model.fit(x, y, batch_size=32, epochs=20, verbose=0)
    assert history.history["loss"][-1] < 1e-4
    np.testing.assert_allclose(model.layers[0].w.numpy().ravel(), [2.0, -1.0], atol=1e-2)


def test_a_registered_layer_loads_back_from_keras_file(tmp_path):
    from glassnet.layers import Layer, register

    @register
    class TimesTwo(Layer):
        def forward(self, x, training=False):
            return x * 2

        def backward(self, grad):
            return grad * 2

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), TimesTwo()])
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded.layers[-1]) is TimesTwo
    x = np.ones((2, 3), dtype="float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


KERAS_STEPS = np.load(__import__("pathlib").Path(__file__).parent / "data" / "tape" /
                      "optimizer_steps.npz")  # written by real Keras 3.15 (see its script)


@pytest.mark.parametrize("name, make", [
    ("sgd", lambda: keras.optimizers.SGD(0.1)),
    ("sgd_momentum", lambda: keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True)),
    ("adam", lambda: keras.optimizers.Adam(0.01)),
    ("rmsprop", lambda: keras.optimizers.RMSprop(0.01)),
    ("adamw", lambda: keras.optimizers.AdamW(0.01, weight_decay=0.1)),
])
def test_apply_gradients_equals_keras(name, make):
    data = KERAS_STEPS
    w, b = tf.Variable(data["w0"]), tf.Variable(data["b0"])
    optimizer = make()
    for i in range(3):
        optimizer.apply_gradients(zip([tf.constant(data[f"gw{i}"]), tf.constant(data[f"gb{i}"])],
                                      [w, b]))
    np.testing.assert_allclose(w.numpy(), data[f"{name}_w"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b.numpy(), data[f"{name}_b"], rtol=1e-5, atol=1e-6)


def test_a_dense_layers_tape_gradient_equals_keras():
    data = KERAS_STEPS
    layer = keras.layers.Dense(3, activation="tanh")
    layer.build((None, 4))
    layer.set_weights([data["dense_kernel"], data["dense_bias"]])
    with tf.GradientTape() as tape:
        logits = layer(data["dense_x"])
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(data["dense_y"],
                                                                            logits)
    gk, gb = tape.gradient(loss, [layer.kernel, layer.bias])
    assert float(loss) == pytest.approx(float(data["dense_loss"]), rel=1e-6)
    np.testing.assert_allclose(gk.numpy(), data["dense_grad_kernel"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(gb.numpy(), data["dense_grad_bias"], rtol=1e-5, atol=1e-7)
