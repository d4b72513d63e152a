"""Past one machine (issue 24): a model built and trained in glassnet is saved to
.keras; real Keras 3 on JAX loads it and goes on with ``fit`` under
``keras.distribution.DataParallel`` over two devices (two host "devices" made by
XLA_FLAGS on a CPU, the same code that runs over several GPUs); glassnet loads
what Keras saved and predicts what Keras predicted, to 1e-5.

Keras and JAX live outside glassnet's environment: the test uses the Python
named by GLASSNET_KERAS_JAX_PYTHON, else this one, and skips when that Python
has no Keras 3 with JAX."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import glassnet as gn
from glassnet import keras


def _keras_jax_python():
    python = os.environ.get("GLASSNET_KERAS_JAX_PYTHON", sys.executable)
    probe = "import jax, keras; assert int(keras.__version__.split('.')[0]) >= 3"
    try:
        found = subprocess.run([python, "-c", probe], capture_output=True, timeout=300,
                               env=dict(os.environ, KERAS_BACKEND="jax")).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        found = False
    if not found:
        pytest.skip("no Keras 3 with JAX (set GLASSNET_KERAS_JAX_PYTHON to a Python that has "
                    "them: pip install 'jax[cpu]' keras)")
    return python


KERAS_SIDE = textwrap.dedent("""
    import json, sys
    import numpy as np
    import keras
    from keras import distribution

    folder = sys.argv[1]
    devices = distribution.list_devices()
    distribution.set_distribution(distribution.DataParallel(devices=devices))
    model = keras.saving.load_model(f"{folder}/glassnet.keras")
    x, y = np.load(f"{folder}/x.npy"), np.load(f"{folder}/y.npy")
    before = model.evaluate(x, y, batch_size=64, verbose=0, return_dict=True)
    history = model.fit(x, y, epochs=3, batch_size=64, shuffle=False, verbose=0)
    model.save(f"{folder}/keras.keras")
    np.save(f"{folder}/keras_predictions.npy", model.predict(x, batch_size=64, verbose=0))
    kernel = model.layers[0].kernel
    print(json.dumps({"devices": devices, "backend": keras.backend.backend(),
                      "kernel_on": sorted(str(d) for d in kernel.value.devices()),
                      "replicated": bool(kernel.value.sharding.is_fully_replicated),
                      "mesh": [list(distribution.distribution().device_mesh.axis_names),
                               list(distribution.distribution().device_mesh.shape)],
                      "iterations": int(model.optimizer.iterations.numpy()),
                      "before": before, "loss": history.history["loss"]}))
""")


def test_a_glassnet_model_goes_on_training_in_keras_on_jax_over_two_devices(tmp_path):
    python = _keras_jax_python()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 20)).astype("float32")
    y = (x[:, :3].sum(axis=1) > 0).astype("int64") + (x[:, 3] > 1).astype("int64")  # 3 classes
    gn.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=64, verbose=0)
    ours = model.evaluate(x, y, batch_size=64, verbose=0, return_dict=True)
    model.save(str(tmp_path / "glassnet.keras"))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)

    env = dict(os.environ, KERAS_BACKEND="jax",
               XLA_FLAGS="--xla_force_host_platform_device_count=2")
    env.pop("PYTHONPATH", None)
    done = subprocess.run([python, "-c", KERAS_SIDE, str(tmp_path)], capture_output=True,
                          text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    # Keras ran on JAX over two devices, data parallel: the weights replicated on both
    assert report["backend"] == "jax" and report["devices"] == ["cpu:0", "cpu:1"]
    assert report["mesh"] == [["batch"], [2]] and len(report["kernel_on"]) == 2
    assert report["replicated"] is True
    # it opened glassnet's model where glassnet left it, optimizer state included
    assert abs(report["before"]["loss"] - ours["loss"]) < 1e-5
    assert abs(report["before"]["accuracy"] - ours["accuracy"]) < 1e-6
    assert report["iterations"] == 2 * 8 + 3 * 8
    assert report["loss"][-1] < report["before"]["loss"]       # and it went on learning
    # glassnet opens what Keras saved, and predicts what Keras predicted
    back = gn.load_model(str(tmp_path / "keras.keras"))
    np.testing.assert_allclose(back.predict(x, batch_size=64, verbose=0),
                               np.load(tmp_path / "keras_predictions.npy"), atol=1e-5)
    assert back.optimizer.iterations.numpy() == 40
