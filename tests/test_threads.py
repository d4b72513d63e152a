"""glassnet's own threads (issue 24): the pieces of a batch side by side, with
the same numbers as on one thread, BLAS held at one thread while they run."""

import threading

import numpy as np
import pytest

import glassnet as gn
from glassnet import keras, threads


@pytest.fixture
def two_threads():
    gn.set_num_threads(2)
    yield
    gn.set_num_threads(None)


def test_run_splits_the_pieces_over_the_threads_in_order(two_threads):
    seen = []

    def task(piece):
        seen.append(threading.get_ident())
        return piece * piece

    assert threads.run(task, range(10)) == [i * i for i in range(10)]
    assert len(set(seen)) == 2                     # both threads worked
    gn.set_num_threads(1)
    seen.clear()
    assert threads.run(task, range(10)) == [i * i for i in range(10)]
    assert set(seen) == {threading.get_ident()}    # one thread: the caller, in place


def test_a_run_inside_a_run_runs_in_place_and_errors_come_back(two_threads):
    inner = []

    def task(piece):
        inner.append(threads.run(lambda p: threading.get_ident(), range(3)))
        return piece

    assert threads.run(task, range(4)) == [0, 1, 2, 3]
    assert all(len(set(ids)) == 1 for ids in inner)  # no thread waits on its own pool

    def fails(piece):
        if piece == 3:
            raise ValueError("piece 3 is bad")
        return piece

    with pytest.raises(ValueError, match="piece 3 is bad"):
        threads.run(fails, range(4))
    assert threads.run(lambda p: p, range(4)) == [0, 1, 2, 3]   # the pool goes on


def test_blas_is_held_at_one_thread_while_glassnets_threads_work(two_threads):
    from threadpoolctl import threadpool_info

    def blas():
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    before = blas()
    during = threads.run(lambda p: blas(), range(2))
    assert during == [[1] * len(before)] * 2
    assert blas() == before


def test_split_gives_each_thread_as_many_pieces(two_threads):
    assert threads.split(10) == [slice(0, 5), slice(5, 10)]
    assert [s.stop - s.start for s in threads.split(100, 3)] == [25] * 4
    assert threads.split(1, 8) == [slice(0, 1)]
    with pytest.raises(ValueError, match="positive integer or None; received 0"):
        gn.set_num_threads(0)


@pytest.mark.parametrize("shape,split", [((1000, 784, 128), True), ((4, 784, 300), True),
                                         ((37, 5, 3), False)])
def test_matmul_on_the_threads_is_numpys(two_threads, monkeypatch, shape, split):
    """Where glassnet's threads were just at work, a large product is split
    over them (by rows, or by columns for a short a); the numbers are NumPy's."""
    m, k, n = shape
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(m, k)), rng.normal(size=(k, n))
    runs = []
    real_run = threads.run
    monkeypatch.setattr(threads, "run", lambda task, pieces: runs.append(1) or
                        real_run(task, pieces))
    for recent in (True, False):
        monkeypatch.setattr(threads, "_last_run", threads.time.monotonic() if recent else -1e9)
        runs.clear()
        np.testing.assert_allclose(threads.matmul(a, b), a @ b, rtol=1e-12, atol=1e-12)
        out = np.empty((k, n))
        threads.matmul(a.T, a[:, :n], out=out)          # a transposed view, as Dense's backward
        np.testing.assert_allclose(out, a.T @ a[:, :n], rtol=1e-12, atol=1e-12)
        assert len(runs) == (2 if recent and split else 0)   # else BLAS's own threads


@pytest.mark.parametrize("make", [
    lambda: gn.optimizers.Adam(0.01), lambda: gn.optimizers.Adam(0.01, amsgrad=True),
    lambda: gn.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
    lambda: gn.optimizers.RMSprop(0.01), lambda: gn.optimizers.Adagrad(0.1)],
    ids=["adam", "amsgrad", "nesterov", "rmsprop", "adagrad"])
def test_an_update_split_over_the_threads_is_the_same_update(two_threads, monkeypatch, make):
    """Where glassnet's threads are at work, many weights (an embedding's) are updated
    in parts side by side: elementwise, so to the last bit what one thread gives."""
    from glassnet import optimizers

    monkeypatch.setattr(optimizers, "SPLIT_UPDATE", 1000)
    rng = np.random.default_rng(0)
    start, grads = rng.normal(size=5001).astype("float32"), rng.normal(size=(3, 5001))
    results = {}
    for recent in (True, False):
        runs = []
        real_run = threads.run
        monkeypatch.setattr(threads, "run", lambda task, pieces: runs.append(1) or
                            real_run(task, pieces))
        optimizer, w = make(), start.copy()
        for g in grads:
            monkeypatch.setattr(threads, "_last_run",
                                threads.time.monotonic() if recent else -1e9)
            optimizer.apply(w, g.astype("float32"))
        results[recent] = w
        assert len(runs) == (3 if recent else 0)
        monkeypatch.setattr(threads, "run", real_run)
    np.testing.assert_array_equal(results[True], results[False])
    assert not np.array_equal(results[True], start)


def test_layer_normalization_on_two_threads_is_the_one_thread_layer(two_threads, monkeypatch):
    """Where glassnet's threads are at work, LayerNormalization normalizes its rows in
    one piece per thread; the outputs, ∂L/∂x and ∂L/∂γ, ∂L/∂β equal one piece's."""
    rng = np.random.default_rng(2)
    x, g = rng.normal(size=(2, 3, 600, 64)).astype("float32")
    layer = keras.layers.LayerNormalization(gamma_initializer="random_normal",
                                            beta_initializer="random_normal")
    layer.build(x.shape)
    results = {}
    for recent in (True, False):
        runs = []
        real_run = threads.run
        monkeypatch.setattr(threads, "run", lambda task, pieces: runs.append(len(pieces)) or
                            real_run(task, pieces))
        monkeypatch.setattr(threads, "_last_run", threads.time.monotonic() if recent else -1e9)
        out = layer.forward(x, training=True)
        dx = layer.backward(g)
        results[recent] = (out, dx, layer.grad_gamma.copy(), layer.grad_beta.copy())
        assert runs == ([2, 2] if recent else [1, 1])
        monkeypatch.setattr(threads, "run", real_run)
    for split, whole in zip(results[True], results[False]):
        np.testing.assert_allclose(split, whole, rtol=1e-5, atol=1e-5)
    mean = x.mean(-1, keepdims=True)
    expected = (x - mean) / np.sqrt(x.var(-1, keepdims=True) + 1e-3) * layer.gamma.numpy() + \
        layer.beta.numpy()
    np.testing.assert_allclose(results[True][0], expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("self_attention", [True, False])
def test_attention_in_pieces_on_two_threads_is_the_whole_batch_at_once(monkeypatch,
                                                                       self_attention):
    """MultiHeadAttention works through its batch in pieces of whole sequences (its
    weights' gradients are the sum of the pieces' shares): in one piece on one
    thread, or in seven on two, the outputs and every gradient agree to 1e-5."""
    from glassnet.layers import attention

    rng = np.random.default_rng(5)
    q = rng.normal(size=(7, 6, 8)).astype("float32")
    v = q if self_attention else rng.normal(size=(7, 5, 4)).astype("float32")
    mask = rng.random((7, 6, v.shape[1])) > 0.3
    g = rng.normal(size=(7, 6, 8)).astype("float32")
    layer = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3,
                                            bias_initializer="random_normal")
    layer(q, v, attention_mask=mask)
    results = []
    for threads_, chunk in ((1, 1 << 30), (2, 1)):
        gn.set_num_threads(threads_)
        monkeypatch.setattr(attention, "CACHE_CHUNK", chunk)
        out = layer.forward([q, v, mask], training=True)
        grads = layer.backward(g)
        results.append([out] + [x for x in grads if x is not None] +
                       [w.grad.copy() for w in layer.trainable_weights])
    gn.set_num_threads(None)
    assert len(results[0]) == 1 + 2 + 8        # the output, ∂L/∂query, ∂L/∂value, 8 weights
    for one, many in zip(*results):
        np.testing.assert_allclose(many, one, rtol=1e-5, atol=1e-5)


def _cnn():
    gn.utils.set_random_seed(3)
    model = keras.Sequential([
        keras.Input((12, 12, 2)), keras.layers.Conv2D(6, 3, activation="relu"),
        keras.layers.MaxPooling2D(), keras.layers.Conv2D(5, 3, padding="same"),
        keras.layers.Conv2DTranspose(4, 3, strides=2, activation="relu"), keras.layers.Flatten(),
        keras.layers.Dense(16, activation="relu"), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


def test_a_cnn_trains_to_the_same_weights_on_one_thread_and_on_two():
    """The fused Conv2D+MaxPooling step, Conv2D, Conv2DTranspose and Dense all
    split their batch over the threads: the same predictions and the same
    weights after training as on one thread (to float32's rounding: a sum
    over the batch is added piece by piece)."""
    rng = np.random.default_rng(0)
    x = rng.random((300, 12, 12, 2), dtype=np.float32)
    y = rng.integers(0, 3, 300)
    results = {}
    try:
        for n in (1, 2):
            gn.set_num_threads(n)
            model = _cnn()
            assert type(model._plan_steps()[0].runner).__name__ == "Conv2DMaxPooling"
            model.fit(x, y, batch_size=100, epochs=2, verbose=0, shuffle=False)
            results[n] = (model.predict(x, batch_size=150, verbose=0),
                          [w.copy() for w in model.get_weights()])
    finally:
        gn.set_num_threads(None)
    np.testing.assert_allclose(results[1][0], results[2][0], rtol=1e-4, atol=1e-6)
    for one, two in zip(results[1][1], results[2][1]):
        np.testing.assert_allclose(one, two, rtol=1e-4, atol=1e-6)
