"""Shared by the Keras parity tests: the same model built by real Keras and
by glassnet.keras gives the same predictions and the same training step."""

import numpy as np


def assert_same_step(theirs, ours, x, y, atol):
    """Copy Keras's weights into ours; then predictions and one
    train_on_batch step must agree to ``atol``."""
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0),
                               atol=atol)
    theirs.train_on_batch(x, y)
    ours.train_on_batch(x, y)
    for mine, other in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(mine, other, atol=atol)


def assert_files_both_ways(real, theirs, ours, x, folder, atol=1e-5):
    """Keras reads glassnet's .keras file and glassnet reads Keras's: the same
    predictions as the writer's."""
    from glassnet import keras

    theirs.save(folder / "k.keras")
    ours.save(folder / "g.keras")
    np.testing.assert_allclose(keras.models.load_model(folder / "k.keras").predict(
        x, verbose=0), theirs.predict(x, verbose=0), atol=atol)
    np.testing.assert_allclose(real.models.load_model(folder / "g.keras").predict(
        x, verbose=0), ours.predict(x, verbose=0), atol=atol)
