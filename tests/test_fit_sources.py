"""fit, evaluate and predict on Python generators and keras.utils.PyDataset,
with steps_per_epoch and validation_steps, as Keras takes them."""

import numpy as np
import pytest

from glassnet import keras



def data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int64")
    return x, y


def model(seed=0):
    keras.utils.set_random_seed(seed)
    m = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu"),
                          keras.layers.Dense(2, activation="softmax")])
    m.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
    return m


class Batches(keras.utils.PyDataset):
    def __init__(self, x, y, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch_size = x, y, batch_size
        self.epochs_ended = 0

    def __len__(self):
        return int(np.ceil(len(self.x) / self.batch_size))

    def __getitem__(self, index):
        part = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return self.x[part], self.y[part]

    def on_epoch_end(self):
        self.epochs_ended += 1


def test_a_pydataset_trains_as_the_arrays_do():
    x, y = data()
    expected = model().fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    served = Batches(x, y, 16)
    m = model()
    history = m.fit(served, epochs=3, verbose=0)
    np.testing.assert_allclose(history.history["loss"], expected.history["loss"], rtol=1e-6)
    assert served.epochs_ended == 3
    logs = m.evaluate(Batches(x, y, 32), verbose=0, return_dict=True)
    assert logs["accuracy"] == pytest.approx(float(np.mean(
        m.predict(x, verbose=0).argmax(1) == y)), abs=1e-6)
    np.testing.assert_allclose(m.predict(Batches(x, y, 10), verbose=0),
                               m.predict(x, verbose=0), rtol=1e-6)


def test_a_generator_with_steps_per_epoch_and_validation_steps():
    x, y = data()

    def forever():
        while True:
            for i in range(0, len(x), 16):
                yield x[i:i + 16], y[i:i + 16]

    seen = []
    counter = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen.append(batch))
    m = model()
    history = m.fit(forever(), steps_per_epoch=6, epochs=2, verbose=0, callbacks=[counter],
                    validation_data=forever(), validation_steps=2)
    assert seen == list(range(6)) * 2
    assert len(history.history["val_loss"]) == 2
    expected = model().fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], expected.history["loss"], rtol=1e-6)


def test_a_finite_generator_is_read_once_as_in_keras():
    x, y = data(48)

    def once():
        for i in range(0, len(x), 16):
            yield x[i:i + 16], y[i:i + 16]

    m = model()
    with pytest.warns(UserWarning, match="ran out of data"):
        history = m.fit(once(), epochs=3, verbose=0)
    assert len(history.history["loss"]) == 1  # the second epoch found nothing: stopped
    with pytest.warns(UserWarning, match="ran out of data after 3"):
        model().fit(once(), epochs=1, steps_per_epoch=5, verbose=0)


def test_generator_batches_are_checked_and_name_what_they_expected():
    x, y = data()

    def wrong():
        yield x[:8, :3], y[:8]

    with pytest.raises(ValueError, match=r"expects input of shape \(None, 5\).*\(8, 3\)"):
        model().fit(wrong(), verbose=0)

    def nested():
        yield (x[:8], y[:8], np.ones(8), np.ones(8))

    with pytest.raises(ValueError, match="a batch is x, \\(x, y\\) or \\(x, y, sample_weight\\)"):
        model().fit(nested(), verbose=0)
    with pytest.raises(ValueError, match="y and sample_weight come from the dataset"):
        model().fit(iter([(x, y)]), y, verbose=0)
