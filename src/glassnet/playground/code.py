"""'Copy as code': the Python (glassnet.keras) that rebuilds and trains the
playground's network on the same data, as ``Session`` does."""

from __future__ import annotations

from glassnet.playground import data

EPOCHS = 100


def export_code(config, epochs=EPOCHS, uploaded=None):
    """Python source for ``config`` (a checked playground configuration);
    ``uploaded``: the session's CSV points, written into the code."""
    c = config
    classes = uploaded[2] if c["dataset"] == "upload" and uploaded else data.classes(c["dataset"])
    from glassnet.playground.session import COSINE_EPOCHS, step_settings

    square = c["loss"] == "square"
    rate, penalty, truncated = step_settings(c)
    regularizer = "None" if penalty is None else \
        f"keras.regularizers.{penalty[0].upper()}({penalty[1]!r})"

    count = len(uploaded[0]) if c["dataset"] == "upload" and uploaded else \
        len(data.generate(c["dataset"], 0, 0)[0])
    steps = -(-int(count * c["trainRatio"] / 100) // c["batchSize"])   # batches per epoch
    schedule = {"constant": repr(rate),
                "exponential": f"keras.optimizers.schedules.ExponentialDecay({rate!r}, "
                               f"decay_steps={steps}, decay_rate=0.98)",
                "cosine": f"keras.optimizers.schedules.CosineDecay({rate!r}, "
                          f"decay_steps={steps * COSINE_EPOCHS})"}[c.get("schedule", "constant")]
    optimizer = {"sgd": f"keras.optimizers.SGD({schedule})",
                 "momentum": f"keras.optimizers.SGD({schedule}, momentum=0.9)",
                 "adam": f"keras.optimizers.Adam({schedule})"}[c["optimizer"]]
    lines = [
        f"# The glassnet playground's network: {c['dataset']}, features "
        f"{', '.join(c['features'])}, hidden {c['hidden'] or 'none'}, "
        f"{', '.join(c['activations']) if c['activations'] else c['activation']}.",
        "import numpy as np",
        "",
        "from glassnet import keras",
        "from glassnet.playground import data",
        "",
    ]
    if c["dataset"] == "upload" and uploaded:
        rows = "\n".join(f"{x:.6g},{y:.6g},{t:.6g}" for (x, y), t in zip(*uploaded[:2]))
        lines += ['POINTS = """' + rows + '"""  # the uploaded points: x1, x2, label',
                  "table = np.loadtxt(POINTS.splitlines(), delimiter=',', dtype='float32')",
                  "points, labels = table[:, :2], table[:, 2]"]
        count = len(uploaded[0])
    else:
        lines.append(f"points, labels = data.generate({c['dataset']!r}, "
                     f"noise={c['noise'] / 100!r}, seed={c['seed']!r})")
        count = len(data.generate(c["dataset"], 0, 0)[0])
    lines += [f"x = data.features(points, {c['features']!r})",
              f"split = {int(count * c['trainRatio'] / 100)}"
              f"  # the first {c['trainRatio']}% train, the rest test"]
    if classes > 2:
        lines.append("y = labels.astype('int64')  # class 0 .. k-1")
        out, loss = f"keras.layers.Dense({classes}, activation='softmax'", \
            "'sparse_categorical_crossentropy'"
    elif classes == 2 and not square:
        lines.append("y = (labels > 0).astype('float32')[:, None]  # 0 / 1 for the sigmoid")
        out, loss = "keras.layers.Dense(1, activation='sigmoid'", "'binary_crossentropy'"
    else:
        lines.append("y = labels[:, None]  # TensorFlow Playground's -1 / 1 (or the value)")
        out = f"keras.layers.Dense(1, activation={'tanh' if classes == 2 else 'linear'!r}"
        loss = "'mse'"
    init = ("kernel_initializer=keras.initializers.RandomUniform(-0.5, 0.5, seed={seed}), "
            "bias_initializer=keras.initializers.Constant(0.1), "
            "kernel_regularizer=regularizer")
    lines += ["", f"regularizer = {regularizer}", "model = keras.Sequential([",
              f"    keras.Input(({len(c['features'])},)),"]
    from glassnet.playground.session import layer_activations

    for i, (units, activation) in enumerate(zip(c["hidden"], layer_activations(c))):
        if c.get("batchNorm"):
            lines += [f"    keras.layers.Dense({units}, {init.format(seed=c['seed'] + i)}),",
                      "    keras.layers.BatchNormalization(),",
                      f"    keras.layers.Activation({activation!r}),"]
        else:
            lines.append(f"    keras.layers.Dense({units}, activation={activation!r}, "
                         f"{init.format(seed=c['seed'] + i)}),")
        if c.get("dropout"):
            lines.append(f"    keras.layers.Dropout({c['dropout']!r}, seed={c['seed'] + i}),")
    lines += [f"    {out}, {init.format(seed=c['seed'] + 99)}),", "])",
              *(["# mse is (o - t)^2: the rate is halved, to step as TensorFlow Playground's "
                 "1/2 (o - t)^2"] if square else []),
              f"model.compile({optimizer}, {loss})",
              *([f"# TensorFlow Playground's L1: a weight its L1 step pushes across 0 stays 0",
                 "from glassnet.playground.session import PlaygroundL1",
                 "dead = PlaygroundL1([l for l in model.layers "
                 "if isinstance(l, keras.layers.Dense)])"] if truncated else []),
              f"model.fit(x[:split], y[:split], batch_size={c['batchSize']}, "
              f"epochs={epochs}, shuffle=False, verbose=0"
              f"{', callbacks=[dead]' if truncated else ''})",
              "p = model.predict(x[split:], verbose=0)"]
    if classes > 2:
        lines.append("print('test accuracy', float(np.mean(p.argmax(1) == y[split:])))")
    elif classes == 2 and not square:
        lines.append("print('test loss', float(model.evaluate(x[split:], y[split:], "
                     "verbose=0)))")
    else:
        lines.append("print('test loss', float(np.mean(0.5 * (p - y[split:]) ** 2)))")
    return "\n".join(lines) + "\n"
