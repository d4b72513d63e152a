"""Keras's training API where learners meet it: fit's arguments (class_weight,
sample_weight, initial_epoch, validation_batch_size), the learning rate,
stop_training, every form of compile(metrics=...), the callbacks, and the
*_on_batch calls. Semantics checked against what real Keras 3.15 gives."""

import csv
import math
import re

import numpy as np
import pytest

import glassnet as gn
from glassnet import keras
from glassnet.keras import callbacks, layers

RNG = np.random.default_rng(11)


def classifier(seed=0, metrics=None, weighted_metrics=None, optimizer="sgd"):
    gn.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((4,)), layers.Dense(8, activation="relu"),
                              layers.Dense(3, activation="softmax")])
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=metrics,
                  weighted_metrics=weighted_metrics)
    return model


def blobs(n=60):
    y = RNG.integers(0, 3, n)
    x = RNG.normal(size=(n, 4)) + 2 * np.eye(4)[y][:, :4]
    return x.astype(np.float32), y


def test_sample_weight_and_class_weight():
    x, y = blobs()
    model = classifier()
    weights = RNG.uniform(0, 2, len(x))
    loss = model.evaluate(x, y, sample_weight=weights, verbose=0)
    p = model.predict(x, verbose=0)
    per_sample = -np.log(np.clip(p[np.arange(len(y)), y], 1e-7, 1))
    assert loss == pytest.approx(np.sum(weights * per_sample) / len(y), rel=1e-5)  # Keras's rule
    class_weight = {0: 1.0, 1: 3.0, 2: 0.5}
    a, b = classifier(seed=1), classifier(seed=1)
    a.fit(x, y, class_weight=class_weight, shuffle=False, batch_size=16, verbose=0)
    b.fit(x, y, sample_weight=np.array([class_weight[c] for c in y]), shuffle=False,
          batch_size=16, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-6)
    with pytest.raises(ValueError, match="one weight per sample"):
        model.fit(x, y, sample_weight=np.ones(3), verbose=0)


def test_weighted_metrics_use_the_weights_and_metrics_do_not():
    x, y = blobs()
    model = classifier(metrics=["accuracy"], weighted_metrics=["accuracy"])
    weights = (y == 0).astype(float)
    values = model.evaluate(x, y, sample_weight=weights, verbose=0, return_dict=True)
    correct = model.predict(x, verbose=0).argmax(1) == y
    assert sorted(values) == ["accuracy", "loss", "weighted_accuracy"]  # as Keras 3.15
    assert values["accuracy"] == pytest.approx(correct.mean())
    assert values["weighted_accuracy"] == pytest.approx(correct[y == 0].mean())


def test_initial_epoch_and_validation_arguments():
    x, y = blobs()
    model = classifier()
    history = model.fit(x, y, epochs=5, initial_epoch=3, verbose=0)
    assert history.epoch == [3, 4] and len(history.history["loss"]) == 2  # as Keras
    assert model.history is history
    a = classifier(seed=2).fit(x, y, validation_data=(x[:20], y[:20]), verbose=0,
                               shuffle=False)
    b = classifier(seed=2).fit(x, y, validation_data=(x[:20], y[:20]), verbose=0,
                               shuffle=False, validation_batch_size=7)
    assert a.history["val_loss"] == pytest.approx(b.history["val_loss"], rel=1e-6)
    c = classifier(seed=2).fit(x, y, epochs=4, validation_data=(x[:20], y[:20]),
                               validation_freq=2, verbose=0)
    assert len(c.history["loss"]) == 4 and len(c.history["val_loss"]) == 2
    batches = []
    counter = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: batches.append(batch))
    model.fit(x, y, epochs=2, verbose=0, steps_per_epoch=3, callbacks=[counter])
    assert batches == [0, 1, 2, 0, 1, 2]  # steps_per_epoch: that many batches an epoch
    d = classifier(seed=2).fit(x, y, validation_data=(x, y), validation_steps=1,
                               validation_batch_size=20, verbose=0, shuffle=False)
    assert d.history["val_loss"] == pytest.approx(a.history["val_loss"], rel=1e-6)


def test_learning_rate_read_set_and_zero():
    x, y = blobs()
    model = classifier(optimizer=keras.optimizers.Adam(0.01))
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
    model.optimizer.learning_rate = 0.0  # Keras takes 0: nothing moves
    before = model.get_weights()
    model.fit(x, y, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    model.optimizer.learning_rate.assign(0.5)
    assert float(model.optimizer.learning_rate) == 0.5
    keras.backend.set_value(model.optimizer.learning_rate, 0.25)
    assert model.optimizer.learning_rate.numpy() == 0.25
    with pytest.raises(ValueError, match="learning_rate must be a finite number >= 0"):
        model.optimizer.learning_rate = -1
    with pytest.raises(ValueError, match="learning_rate must be a finite number >= 0"):
        keras.optimizers.SGD(float("nan"))
    scheduled = keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5))
    assert float(scheduled.learning_rate) == pytest.approx(0.1)
    with pytest.raises(TypeError, match="schedule"):
        scheduled.learning_rate = 0.3


def test_stop_training_from_a_callback():
    x, y = blobs()
    model = classifier()
    stopper = callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: setattr(model, "stop_training", epoch == 1))
    history = model.fit(x, y, epochs=10, verbose=0, callbacks=[stopper])
    assert history.epoch == [0, 1]


@pytest.mark.parametrize("metrics,keys", [
    ("accuracy", ["accuracy", "loss"]),
    (["acc"], ["acc", "loss"]),
    (["sparse_categorical_accuracy", "mae"], ["loss", "mae", "sparse_categorical_accuracy"]),
    ([keras.metrics.SparseCategoricalAccuracy(name="sca")], ["loss", "sca"]),
    ([keras.metrics.SparseTopKCategoricalAccuracy(k=2)], ["loss",
                                                         "sparse_top_k_categorical_accuracy"]),
    ([keras.metrics.sparse_categorical_accuracy], ["loss", "sparse_categorical_accuracy"]),
    ([keras.losses.sparse_categorical_crossentropy], ["loss",
                                                       "sparse_categorical_crossentropy"]),
    ([lambda y_true, y_pred: np.max(y_pred, axis=-1)], ["<lambda>", "loss"]),
])
def test_every_form_of_metrics(metrics, keys):
    x, y = blobs()
    model = classifier(metrics=metrics)
    history = model.fit(x, y, verbose=0)
    assert sorted(history.history) == keys
    values = model.evaluate(x, y, verbose=0, return_dict=True)
    p = model.predict(x, verbose=0)
    for key, value in values.items():
        if key in ("accuracy", "acc", "sparse_categorical_accuracy", "sca"):
            assert value == pytest.approx(np.mean(p.argmax(1) == y))
        elif key == "sparse_categorical_crossentropy":
            assert value == pytest.approx(values["loss"], rel=1e-5)
        elif key == "sparse_top_k_categorical_accuracy":
            top2 = np.argsort(-p, axis=1)[:, :2]
            assert value == pytest.approx(np.mean((top2 == y[:, None]).any(1)))


def test_metric_objects_match_keras_definitions():
    y = np.array([0, 1, 1, 0, 1])
    p = np.array([0.2, 0.7, 0.4, 0.6, 0.9])
    precision, recall, auc = keras.metrics.Precision(), keras.metrics.Recall(), \
        keras.metrics.AUC()
    for metric in (precision, recall, auc):
        metric.update_state(y, p)
    assert float(precision.result()) == pytest.approx(2 / 3)
    assert float(recall.result()) == pytest.approx(2 / 3)
    assert float(auc.result()) == pytest.approx(5 / 6, abs=0.01)  # the exact ROC area is 5/6
    rmse = keras.metrics.RootMeanSquaredError()
    rmse.update_state([[1.0], [3.0]], [[2.0], [3.0]])
    assert float(rmse.result()) == pytest.approx(math.sqrt(0.5))
    mean = keras.metrics.Mean()
    mean.update_state([1, 2, 3], sample_weight=[1, 0, 1])
    assert float(mean.result()) == 2.0
    mean.reset_state()
    assert float(mean.result()) == 0.0
    exact = keras.metrics.Accuracy()
    assert float(exact([1, 2, 3], [1, 2, 4])) == pytest.approx(2 / 3)


def test_reduce_lr_on_plateau_and_scheduler_logs():
    x, y = blobs()
    model = classifier(optimizer=keras.optimizers.SGD(0.1))  # min_delta 100: no improvement
    plateau = callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1,
                                          min_delta=100.0)
    history = model.fit(x, y, epochs=4, verbose=0, callbacks=[plateau])
    # epoch 0 sets the best; every later epoch waits 1 >= patience and halves the rate
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.1, 0.05, 0.025])
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0125)
    model = classifier(optimizer=keras.optimizers.SGD(0.1))
    schedule = callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch else lr)
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[schedule])
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.025])  # as Keras
    one_argument = callbacks.LearningRateScheduler(lambda epoch: 0.2 / (epoch + 1))
    history = model.fit(x, y, epochs=2, verbose=0, callbacks=[one_argument])
    assert history.history["learning_rate"] == pytest.approx([0.2, 0.1])
    with pytest.raises(ValueError, match="factor >= 1.0"):
        callbacks.ReduceLROnPlateau(factor=2)


def test_csv_logger_lambda_terminate_on_nan_and_history(tmp_path, capsys):
    x, y = blobs()
    model = classifier(metrics=["accuracy"])
    path = tmp_path / "log.csv"
    seen = []
    hooks = callbacks.LambdaCallback(on_train_begin=lambda logs: seen.append("begin"),
                                     on_epoch_begin=lambda epoch, logs: seen.append(epoch),
                                     on_train_batch_end=lambda batch, logs: seen.append(
                                         round(logs["loss"], 3) > 0),
                                     on_train_end=lambda logs: seen.append("end"))
    history = model.fit(x, y, epochs=2, batch_size=30, validation_split=0.5, verbose=0,
                        callbacks=[callbacks.CSVLogger(path), hooks])
    assert seen == ["begin", 0, True, 1, True, "end"]
    rows = list(csv.reader(path.read_text().splitlines()))
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]  # Keras's header
    assert [int(r[0]) for r in rows[1:]] == [0, 1]
    assert float(rows[2][2]) == pytest.approx(history.history["loss"][1])
    exploding = classifier(optimizer=keras.optimizers.SGD(1e30))
    with pytest.warns(RuntimeWarning, match="not finite"):
        exploding.fit(x * 1e10, y, epochs=3, verbose=0, callbacks=[callbacks.TerminateOnNaN()])
    assert "Invalid loss, terminating training" in capsys.readouterr().out


def test_progbar_logger_given_once_and_verbose_forms(capsys):
    x, y = blobs(40)
    model = classifier(metrics=["accuracy"])
    model.fit(x, y, epochs=1, batch_size=20, verbose=1, callbacks=[callbacks.ProgbarLogger()])
    out = capsys.readouterr().out
    assert out.count("Epoch 1/1") == 1 and "2/2" in out and "accuracy:" in out
    model.evaluate(x, y, verbose=1)
    assert "2/2" in capsys.readouterr().out
    model.predict(x, verbose=0)
    assert capsys.readouterr().out == ""
    model.fit(x, y, verbose=2)
    assert re.search(r"2/2 - \d+(ms|us|s) - \d+(ms|us|s)/step - accuracy",
                     capsys.readouterr().out)


def test_on_batch_calls():
    x, y = blobs(32)
    a, b = classifier(seed=5, metrics=["accuracy"]), classifier(seed=5, metrics=["accuracy"])
    logs = a.train_on_batch(x, y, return_dict=True)
    b.fit(x, y, batch_size=32, shuffle=False, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-6)
    assert sorted(logs) == ["accuracy", "loss"]
    loss, accuracy = a.test_on_batch(x, y)
    assert [loss, accuracy] == pytest.approx(a.evaluate(x, y, verbose=0))
    np.testing.assert_array_equal(a.predict_on_batch(x), a.predict(x, verbose=0))
    assert len(a.train_on_batch(x, y)) == 2  # [loss, accuracy], as Keras
    a.reset_metrics()
    assert float(a.metrics[0].result()) == 0.0


def test_compile_errors():
    model = classifier()
    with pytest.raises(ValueError, match="Unknown metric 'acuracy'"):
        model.compile("sgd", "mse", metrics=["acuracy"])
    with pytest.raises(ValueError, match="Unknown loss 'cross_entropy'"):
        model.compile("sgd", "cross_entropy")
    with pytest.raises(NotImplementedError, match="steps_per_execution"):
        model.compile("sgd", "mse", steps_per_execution=4)
    model.compile("sgd", run_eagerly=True, jit_compile=False)  # no loss yet: fine, as Keras
    with pytest.raises(ValueError, match="fit needs a loss"):
        model.fit(*blobs(), verbose=0)
    with pytest.raises(NotImplementedError, match="use_ema"):
        keras.optimizers.Adam(use_ema=True)
    with pytest.raises(TypeError, match="unrecognized keyword arguments"):
        keras.optimizers.Adam(bad=1)


def test_freezing_and_unfreezing_between_steps_keeps_the_forward_plan():
    """모두의 딥러닝's GAN sets discriminator.trainable before every step (issue
    24): the forward steps (and their fusions) stay as planned; only the small
    backward plan follows the flag, and the frozen layer's weights do not move."""
    import glassnet as gn
    from glassnet import keras

    L = keras.layers
    gn.utils.set_random_seed(0)
    generator = keras.Sequential([keras.Input((8,)), L.Dense(6 * 6 * 4), L.Reshape((6, 6, 4)),
                                  L.Conv2D(3, 3, activation="relu"), L.MaxPooling2D()])
    discriminator = keras.Sequential([keras.Input((2, 2, 3)), L.Flatten(),
                                      L.Dense(1, activation="sigmoid")])
    discriminator.compile("adam", "binary_crossentropy")
    noise = keras.Input((8,))
    gan = keras.Model(noise, discriminator(generator(noise)))
    gan.compile("adam", "binary_crossentropy")
    x, y = np.random.default_rng(0).random((16, 8), dtype=np.float32), np.ones((16, 1), "f")
    discriminator.trainable = False
    gan.train_on_batch(x, y)
    steps = gan._plan_steps()
    for _ in range(3):
        discriminator.trainable = True
        discriminator.train_on_batch(np.zeros((16, 2, 2, 3), "f"), np.zeros((16, 1), "f"))
        discriminator.trainable = False
        frozen = [w.copy() for w in discriminator.get_weights()]
        moved = [w.copy() for w in generator.get_weights()]
        gan.train_on_batch(x, y)
        assert gan._plan_steps() is steps
        assert all(np.array_equal(a, b) for a, b in zip(frozen, discriminator.get_weights()))
        assert not all(np.array_equal(a, b) for a, b in zip(moved, generator.get_weights()))
