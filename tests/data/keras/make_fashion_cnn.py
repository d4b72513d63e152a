"""Train the small Fashion-MNIST CNN that tests/test_keras_files.py runs the
CLI on (``glassnet evaluate / predict / plot`` on a model Keras trained), the
textbook's way (hg-mldl 8-2: inputs / 255, a channel axis, Adam, sparse
categorical cross-entropy), narrowed to keep the files small. Run it with real
Keras 3 in a side venv; Fashion-MNIST must be in ~/.keras/datasets/fashion-mnist
(copy /usr/share/datasets/fashion-mnist/*.gz there):

    KERAS_BACKEND=jax /tmp/k315/bin/python tests/data/keras/make_fashion_cnn.py

It writes fashion/best-cnn-model.keras, fashion/best-cnn-model.h5 and
fashion/keras-results.json (Keras's own test loss and accuracy).
"""

import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fashion")


def main():
    keras.utils.set_random_seed(42)
    (train_input, train_target), (test_input, test_target) = \
        keras.datasets.fashion_mnist.load_data()
    train_scaled = train_input.reshape(-1, 28, 28, 1) / 255.0
    test_scaled = test_input.reshape(-1, 28, 28, 1) / 255.0
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(8, kernel_size=3, activation="relu", padding="same"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(16, kernel_size=3, activation="relu", padding="same"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    os.makedirs(OUT, exist_ok=True)
    checkpoint = keras.callbacks.ModelCheckpoint(os.path.join(OUT, "best-cnn-model.keras"),
                                                 save_best_only=True)
    model.fit(train_scaled, train_target, epochs=3, batch_size=64,
              validation_data=(test_scaled, test_target), callbacks=[checkpoint], verbose=2)
    model = keras.models.load_model(os.path.join(OUT, "best-cnn-model.keras"))
    model.save(os.path.join(OUT, "best-cnn-model.h5"))
    loss, accuracy = model.evaluate(test_scaled, test_target, verbose=0)
    predicted = model.predict(test_scaled[:5], verbose=0)
    with open(os.path.join(OUT, "keras-results.json"), "w") as f:
        json.dump({"keras_version": keras.__version__, "test_loss": float(loss),
                   "test_accuracy": float(accuracy),
                   "first_five_predictions": np.asarray(predicted).tolist()}, f, indent=1)
    print(keras.__version__, "test accuracy", accuracy)


if __name__ == "__main__":
    main()
