"""Generative models on Fashion-MNIST, seen from the inside: the README's two
pictures.

    python examples/generative.py [OUT_FOLDER]

1. TensorFlow's "Intro to autoencoders" tutorial, its model as written (a
   subclassed keras.Model: Flatten > Dense(64, relu) > Dense(784, sigmoid) >
   Reshape), trained with fit; the test images and their reconstructions
   after each epoch -> autoencoder.png.
2. A GAN with the DCGAN tutorial's train_step (two tapes, the generator's
   gradient flowing through the discriminator), with dense models so that it
   trains in seconds on a CPU; what the generator draws from the same 8 noise
   vectors after each epoch -> gan_samples.png.
"""

import os
import sys
import time

import numpy as np

import glassnet as tf
from glassnet import keras
from glassnet.keras import layers


class Autoencoder(keras.Model):
    """TensorFlow's tutorial, as written there."""

    def __init__(self, latent_dim, shape):
        super().__init__()
        self.latent_dim = latent_dim
        self.shape = shape
        self.encoder = keras.Sequential([layers.Flatten(),
                                         layers.Dense(latent_dim, activation="relu")])
        self.decoder = keras.Sequential([
            layers.Dense(tf.math.reduce_prod(shape).numpy(), activation="sigmoid"),
            layers.Reshape(shape)])

    def call(self, x):
        return self.decoder(self.encoder(x))


def autoencoder(x_train, x_test, epochs, path):
    keras.utils.set_random_seed(0)
    model = Autoencoder(64, x_test.shape[1:])
    model.compile(optimizer="adam", loss=keras.losses.MeanSquaredError())
    shown = {"input": x_test[:8]}
    for epoch in range(1, epochs + 1):
        history = model.fit(x_train, x_train, epochs=1, batch_size=256, shuffle=True,
                            validation_data=(x_test, x_test), verbose=0)
        shown[f"epoch {epoch}"] = model.decoder(model.encoder(x_test[:8])).numpy()
        print(f"autoencoder epoch {epoch}: loss {history.history['loss'][0]:.4f}, "
              f"val_loss {history.history['val_loss'][0]:.4f}")
    tf.plot.samples(shown, path=path, row_label="",
                    title="Autoencoder (TensorFlow's tutorial): test images, and their "
                          "reconstructions after each epoch")
    return history.history["val_loss"][0]


def gan(images, epochs, path, batch_size=128):
    keras.utils.set_random_seed(0)
    noise_dim = 32
    generator = keras.Sequential([keras.Input((noise_dim,)),
                                  layers.Dense(256), layers.LeakyReLU(),
                                  layers.Dense(784, activation="tanh"),
                                  layers.Reshape((28, 28, 1))])
    discriminator = keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(),
                                      layers.Dense(256), layers.LeakyReLU(), layers.Dropout(0.3),
                                      layers.Dense(1)])
    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
    generator_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5)
    discriminator_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5)

    def train_step(real):  # the DCGAN tutorial's, line for line
        noise = tf.random.normal([len(real), noise_dim])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated_images = generator(noise, training=True)
            real_output = discriminator(real, training=True)
            fake_output = discriminator(generated_images, training=True)
            gen_loss = cross_entropy(tf.ones_like(fake_output), fake_output)
            disc_loss = cross_entropy(tf.ones_like(real_output), real_output) + \
                cross_entropy(tf.zeros_like(fake_output), fake_output)
        gen_grads = gen_tape.gradient(gen_loss, generator.trainable_variables)
        disc_grads = disc_tape.gradient(disc_loss, discriminator.trainable_variables)
        generator_optimizer.apply_gradients(zip(gen_grads, generator.trainable_variables))
        discriminator_optimizer.apply_gradients(zip(disc_grads,
                                                    discriminator.trainable_variables))
        return float(gen_loss), float(disc_loss)

    seed = tf.random.normal([8, noise_dim], seed=1)
    dataset = tf.data.Dataset.from_tensor_slices(images).shuffle(len(images)).batch(batch_size)
    shown = {}
    for epoch in range(1, epochs + 1):
        losses = [train_step(batch) for batch in dataset]
        shown[epoch] = generator(seed, training=False).numpy()
        gen_loss, disc_loss = np.mean(losses, axis=0)
        print(f"GAN epoch {epoch}: generator loss {gen_loss:.3f}, discriminator loss "
              f"{disc_loss:.3f}")
    tf.plot.samples({e: shown[e] for e in sorted(shown) if e in (1, 2, 3, 5, 10, 15, 20)
                     or e == epochs}, path=path,
                    title="GAN (the DCGAN tutorial's train_step, dense models): the same 8 "
                          "noise vectors after each epoch")
    return gen_loss, disc_loss


def main(out="docs/images", train_images=60000, gan_images=12000, autoencoder_epochs=5,
         gan_epochs=20):
    start = time.perf_counter()
    (x_train, _), (x_test, _) = keras.datasets.fashion_mnist.load_data()
    x_train = x_train[:train_images].astype("float32") / 255
    x_test = x_test.astype("float32") / 255
    os.makedirs(out, exist_ok=True)
    autoencoder(x_train, x_test, autoencoder_epochs, os.path.join(out, "autoencoder.png"))
    real = (x_train[:gan_images, ..., None] * 2 - 1).astype("float32")
    gan(real, gan_epochs, os.path.join(out, "gan_samples.png"))
    print(f"wrote {out}/autoencoder.png and {out}/gan_samples.png in "
          f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main(*sys.argv[1:2])
