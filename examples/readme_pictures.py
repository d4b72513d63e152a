"""Regenerate the pictures the README shows (docs/images/), reproducibly.

    python examples/readme_pictures.py [OUT_DIR]      (default: docs/images)

1. gradient_flow.png: the same deep network (five hidden layers of 100,
   SGD 0.05, batch 32, 3 epochs on the first 10,000 Fashion-MNIST images),
   once with sigmoid and once with relu: per-layer gradient norms recorded
   by glassnet.inspect.Recorder. The sigmoid net's first layer gets a
   gradient hundreds of times smaller than its last: vanishing gradients.
2. decision_boundary.png: a 2-16-16-3 tanh network trained on the spiral
   toy data set, its decision regions with the training points on top.
3. plot_model.png: keras.utils.plot_model of a functional model with two
   inputs, a residual block and two heads, after a round trip through a
   .keras file (what a Keras user sees of a model glassnet saved).
4. gradient_through_time.png: SimpleRNN, LSTM and GRU (Embedding(10000, 32,
   mask_zero) → 32 units → softmax) with Keras's initial weights, on 500 test
   tweets: how much of the loss's gradient reaches each of the 32 steps.
5. hidden_states.png: an LSTM trained for 2 epochs on 12,000 tweets, its 32
   units over the steps of one test tweet.
"""

import os
import sys

import glassnet as gn
from glassnet.datasets import toy
from glassnet.layers import Dense, Input


def gradient_flow(path):
    (x, y), _ = gn.datasets.fashion_mnist.load_data()
    x = x[:10000].reshape(-1, 784).astype("float32") / 255.0
    y = y[:10000]
    recorders = {}
    for activation in ("sigmoid", "relu"):
        gn.utils.set_random_seed(0)
        model = gn.Sequential([Input((784,))]
                              + [Dense(100, activation=activation) for _ in range(5)]
                              + [Dense(10, activation="softmax")])
        model.compile(gn.optimizers.SGD(learning_rate=0.05), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        recorders[activation] = gn.inspect.Recorder(every=10)
        history = model.fit(x, y, batch_size=32, epochs=3, verbose=0, seed=0,
                            callbacks=[recorders[activation]])
        print(f"{activation}: training accuracy {history.history['accuracy'][-1]:.3f}")
    gn.plot.gradient_flow(recorders, path=path,
                          title="Five hidden layers of 100 on Fashion-MNIST: gradient norm "
                                "per layer (dark: first layer, light: last)")


def decision_boundary(path):
    x, y = toy.spiral(600, noise=0.15, seed=0)
    gn.utils.set_random_seed(0)
    model = gn.Sequential([Input((2,)), Dense(16, activation="tanh"),
                           Dense(16, activation="tanh"), Dense(3, activation="softmax")])
    model.compile(gn.optimizers.Adam(learning_rate=0.02), "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=32, epochs=150, verbose=0, seed=0)
    gn.plot.decision_boundary(model, x, y, path=path)


def plot_model(path):
    import tempfile

    from glassnet import keras

    layers = keras.layers
    image, meta = keras.Input((28, 28, 1), name="image"), keras.Input((4,), name="meta")
    x = layers.Conv2D(8, 3, activation="relu", padding="same")(image)
    x = layers.MaxPooling2D()(layers.BatchNormalization()(x))
    x = layers.Activation("relu")(layers.Add()([x, layers.Conv2D(8, 3, padding="same")(x)]))
    x = layers.GlobalAveragePooling2D()(x)
    h = layers.Concatenate()([x, layers.Dense(8, activation="relu")(meta)])
    outputs = [layers.Dense(10, activation="softmax", name="cls")(layers.Dropout(0.3)(h)),
               layers.Dense(1, name="reg")(h)]
    with tempfile.TemporaryDirectory() as folder:
        saved = os.path.join(folder, "two_heads.keras")
        keras.Model([image, meta], outputs, name="two_heads").save(saved)
        model = keras.models.load_model(saved, compile=False)
    keras.utils.plot_model(model, to_file=path, show_shapes=True, show_layer_names=True,
                           show_layer_activations=True, dpi=80)


def _tweets():
    from glassnet import keras
    from glassnet.datasets import tweets

    (x_train, y_train), (x_test, y_test) = tweets.load_data()
    vectorize = keras.layers.TextVectorization(max_tokens=10000, output_sequence_length=32)
    vectorize.adapt(x_train)
    return vectorize, (vectorize(x_train), y_train), (vectorize(x_test), y_test), x_test


def _text_model(kind):
    from glassnet import keras

    gn.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((32,), dtype="int32"),
                              keras.layers.Embedding(10000, 32, mask_zero=True),
                              getattr(keras.layers, kind)(32),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def gradient_through_time(path):
    _, _, (x, y), _ = _tweets()
    runs = {kind: gn.inspect.gradient_through_time(_text_model(kind), x[:500], y[:500])
            for kind in ("SimpleRNN", "LSTM", "GRU")}
    for kind, run in runs.items():
        print(f"{kind}: gradient at step 1 relative to step 32 {run['relative'][0]:.3g}")
    gn.plot.gradient_through_time(runs, path=path, title="Gradient reaching each step, "
                                  "Keras's initial weights (500 test tweets)")


def hidden_states(path):
    vectorize, (x, y), (xt, _), texts = _tweets()
    model = _text_model("LSTM")
    model.fit(x[:12000], y[:12000], batch_size=64, epochs=2, verbose=0)
    vocabulary = vectorize.get_vocabulary()
    index = 3
    tokens = [vocabulary[i] if i else "·" for i in xt[index]]
    gn.plot.hidden_states(gn.inspect.hidden_states(model, xt[index:index + 1])[0],
                          tokens=tokens, path=path, title=f"LSTM units over one test tweet: "
                                                          f"{texts[index][:60]}…")


def tape_gan(path):
    """What two tapes recorded in one GAN step (TensorFlow's DCGAN tutorial's
    shape, small): each model is one node, called on tensors."""
    import glassnet as tf
    from glassnet import keras

    keras.utils.set_random_seed(0)
    generator = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                                  keras.layers.Dense(12, activation="tanh")], name="generator")
    discriminator = keras.Sequential([keras.Input((12,)), keras.layers.Dense(8,
                                                                             activation="relu"),
                                      keras.layers.Dense(1)], name="discriminator")
    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
    noise = tf.random.normal([32, 8])
    real = tf.random.uniform([32, 12], -1, 1)
    with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
        fake = generator(noise, training=True)
        real_output = discriminator(real, training=True)
        fake_output = discriminator(fake, training=True)
        gen_loss = cross_entropy(tf.ones_like(fake_output), fake_output)
        disc_loss = cross_entropy(tf.ones_like(real_output), real_output) + \
            cross_entropy(tf.zeros_like(fake_output), fake_output)
    gen_grads = gen_tape.gradient(gen_loss, generator.trainable_variables)
    disc_tape.gradient(disc_loss, discriminator.trainable_variables)
    print(f"GAN step: generator gradient norm "
          f"{float(tf.linalg.norm(gen_grads[0])):.3g} (through the discriminator)")
    gn.plot.tape({"gen_tape": gen_tape, "disc_tape": disc_tape}, path=path)


def main(out="docs/images"):
    os.makedirs(out, exist_ok=True)
    for name, draw in (("gradient_flow.png", gradient_flow),
                       ("decision_boundary.png", decision_boundary),
                       ("plot_model.png", plot_model),
                       ("gradient_through_time.png", gradient_through_time),
                       ("hidden_states.png", hidden_states),
                       ("tape_gan.png", tape_gan)):
        draw(os.path.join(out, name))
        print("wrote", os.path.join(out, name))


if __name__ == "__main__":
    main(*sys.argv[1:2])
