"""Write new_layers.npz and new_layers.keras: what real Keras 3 computes with
Conv2DTranspose, Cropping2D, RepeatVector, GaussianNoise and
ActivityRegularization, for tests/test_new_layers.py.

Run it by hand with TensorFlow (Keras 3) in a side venv; it never runs in the
tests, its output is committed:

    python3 -m venv /tmp/tfv && /tmp/tfv/bin/pip install tensorflow-cpu
    /tmp/tfv/bin/python tests/data/layers/make_new_layers.py

For each Conv2DTranspose case <c>: c_x, c_kernel, c_bias, c_y (Keras's
output), c_target and c_kernel_after, c_bias_after, c_loss (one SGD(0.1)
train_on_batch step on the mean squared error). For the other layers their
input and output; for ActivityRegularization, a Dense → ActivityRegularization
→ Dense model's weights, its evaluate loss and train_on_batch loss and
weights after one SGD step. config_<class>: each layer's get_config as JSON.
new_layers.keras: one model with every new layer; new_layers_x/_y its
input and prediction.
"""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers as L  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(0)
out = {"keras_version": np.array(keras.__version__),
       "backend": np.array(keras.backend.backend())}

CONV_TRANSPOSE = {  # name: (Conv2DTranspose kwargs, input shape)
    "valid_s1": (dict(filters=3, kernel_size=3), (2, 4, 4, 2)),
    "same_s2": (dict(filters=3, kernel_size=3, strides=2, padding="same"), (2, 3, 4, 2)),
    "valid_s2_op": (dict(filters=2, kernel_size=(3, 2), strides=2, output_padding=1),
                    (2, 3, 3, 2)),
    "same_s2_op": (dict(filters=2, kernel_size=3, strides=2, padding="same",
                        output_padding=(1, 0)), (2, 3, 4, 1)),
    "valid_k1_s2": (dict(filters=2, kernel_size=1, strides=2), (2, 3, 3, 2)),
    "same_k2_s2_relu": (dict(filters=4, kernel_size=2, strides=2, padding="same",
                             activation="relu"), (2, 3, 3, 3)),
    "same_k4_s3": (dict(filters=2, kernel_size=(4, 3), strides=(3, 2), padding="same"),
                   (2, 2, 3, 2)),
}


def sgd_model(layers, shape):
    model = keras.Sequential([keras.Input(shape[1:])] + layers)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


for name, (kwargs, shape) in CONV_TRANSPOSE.items():
    layer = L.Conv2DTranspose(**kwargs)
    model = sgd_model([layer], shape)
    kernel = rng.normal(scale=0.5, size=layer.kernel.shape).astype("float32")
    bias = rng.normal(size=layer.bias.shape).astype("float32")
    layer.set_weights([kernel, bias])
    x = rng.normal(size=shape).astype("float32")
    y = model.predict(x, verbose=0)
    target = rng.normal(size=y.shape).astype("float32")
    loss = model.train_on_batch(x, target)
    after = layer.get_weights()
    out.update({f"{name}_x": x, f"{name}_kernel": kernel, f"{name}_bias": bias,
                f"{name}_y": y, f"{name}_target": target, f"{name}_loss": np.array(loss),
                f"{name}_kernel_after": after[0], f"{name}_bias_after": after[1],
                f"{name}_kwargs": np.array(json.dumps(kwargs))})
out["conv_transpose_cases"] = np.array(json.dumps(list(CONV_TRANSPOSE)))

x = rng.normal(size=(2, 5, 6, 3)).astype("float32")
out["cropping_x"] = x
for name, cropping in (("int", 1), ("pair", (2, 1)), ("pairs", ((1, 0), (2, 3)))):
    out[f"cropping_{name}_y"] = keras.ops.convert_to_numpy(L.Cropping2D(cropping)(x))
v = rng.normal(size=(3, 4)).astype("float32")
out["repeat_x"], out["repeat_y"] = v, keras.ops.convert_to_numpy(L.RepeatVector(3)(v))
out["noise_y"] = keras.ops.convert_to_numpy(L.GaussianNoise(0.5, seed=1)(v))  # inference

# ActivityRegularization: the penalty (divided by the batch size in Keras 3) in the loss
model = keras.Sequential([keras.Input((5,)), L.Dense(4, activation="tanh"),
                          L.ActivityRegularization(l1=0.03, l2=0.05), L.Dense(2)])
model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
weights = [rng.normal(size=w.shape).astype("float32") for w in model.get_weights()]
model.set_weights(weights)
x = rng.normal(size=(6, 5)).astype("float32")
y = rng.normal(size=(6, 2)).astype("float32")
for i, w in enumerate(weights):
    out[f"activity_w{i}"] = w
out["activity_x"], out["activity_y"] = x, y
out["activity_eval_loss"] = np.array(model.evaluate(x, y, verbose=0))
model(x)  # a call leaves the activity penalty in model.losses
out["activity_penalty"] = np.array(float(sum(keras.ops.convert_to_numpy(loss)
                                             for loss in model.losses)))
out["activity_train_loss"] = np.array(model.train_on_batch(x, y))
for i, w in enumerate(model.get_weights()):
    out[f"activity_w{i}_after"] = w

configs = {"Conv2DTranspose": L.Conv2DTranspose(2, 3, strides=2, padding="same",
                                                output_padding=1, name="ct"),
           "Cropping2D": L.Cropping2D(((1, 0), (2, 3)), name="crop"),
           "RepeatVector": L.RepeatVector(3, name="repeat"),
           "GaussianNoise": L.GaussianNoise(0.2, seed=3, name="noise"),
           "ActivityRegularization": L.ActivityRegularization(0.01, 0.02, name="act")}
for cls, layer in configs.items():
    out[f"config_{cls}"] = np.array(json.dumps(layer.get_config()))

# one model with every new layer, saved by Keras, for glassnet's load_model
model = keras.Sequential([
    keras.Input((4, 4, 2)),
    L.Conv2DTranspose(3, 3, strides=2, padding="same", activation="relu", name="up"),
    L.Cropping2D(((1, 0), (0, 1)), name="crop"),
    L.GaussianNoise(0.1, name="noise"),
    L.ActivityRegularization(l1=0.01, name="act"),
    L.Flatten(name="flat"),
    L.Dense(5, name="dense"),
    L.RepeatVector(3, name="repeat"),
], name="new_layers")
model.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32")
                   for w in model.get_weights()])
x = rng.normal(size=(3, 4, 4, 2)).astype("float32")
out["new_layers_x"], out["new_layers_y"] = x, model.predict(x, verbose=0)
model.save(os.path.join(HERE, "new_layers.keras"))

np.savez(os.path.join(HERE, "new_layers.npz"), **out)
print("wrote new_layers.npz and new_layers.keras with Keras", keras.__version__,
      keras.backend.backend())
