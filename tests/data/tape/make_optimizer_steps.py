"""Write optimizer_steps.npz: three apply_gradients steps of real Keras 3
optimizers on fixed variables and gradients, for tests/test_tape.py.

Run it with TensorFlow (Keras 3) in a side venv; it never runs in CI, its
output is committed:

    python3 -m venv /tmp/tfv && /tmp/tfv/bin/pip install tensorflow-cpu
    /tmp/tfv/bin/python tests/data/tape/make_optimizer_steps.py

Also records one eager GradientTape: the gradient of a small loss with
respect to a Dense layer's weights, with the weights and inputs.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow import keras  # noqa: E402

OPTIMIZERS = {
    "sgd": lambda: keras.optimizers.SGD(0.1),
    "sgd_momentum": lambda: keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    "adam": lambda: keras.optimizers.Adam(0.01),
    "rmsprop": lambda: keras.optimizers.RMSprop(0.01),
    "adamw": lambda: keras.optimizers.AdamW(0.01, weight_decay=0.1),
}

rng = np.random.default_rng(0)
out = {"keras_version": np.array(keras.__version__)}
w0 = rng.normal(size=(3, 4)).astype("float32")
b0 = rng.normal(size=(4,)).astype("float32")
grads = [(rng.normal(size=(3, 4)).astype("float32"), rng.normal(size=(4,)).astype("float32"))
         for _ in range(3)]
out["w0"], out["b0"] = w0, b0
for i, (gw, gb) in enumerate(grads):
    out[f"gw{i}"], out[f"gb{i}"] = gw, gb
for name, make in OPTIMIZERS.items():
    w, b = tf.Variable(w0), tf.Variable(b0)
    optimizer = make()
    for gw, gb in grads:
        optimizer.apply_gradients(zip([tf.constant(gw), tf.constant(gb)], [w, b]))
    out[f"{name}_w"], out[f"{name}_b"] = w.numpy(), b.numpy()

layer = keras.layers.Dense(3, activation="tanh")
x = rng.normal(size=(5, 4)).astype("float32")
y = rng.integers(0, 3, 5)
layer.build((None, 4))
with tf.GradientTape() as tape:
    logits = layer(x)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, logits)
gk, gbias = tape.gradient(loss, [layer.kernel, layer.bias])
out.update(dense_kernel=layer.kernel.numpy(), dense_bias=layer.bias.numpy(), dense_x=x,
           dense_y=y, dense_loss=np.array(float(loss)), dense_grad_kernel=gk.numpy(),
           dense_grad_bias=gbias.numpy())
np.savez(os.path.join(os.path.dirname(os.path.abspath(__file__)), "optimizer_steps.npz"), **out)
print("wrote optimizer_steps.npz with Keras", keras.__version__)
