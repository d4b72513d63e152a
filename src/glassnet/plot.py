"""Pictures. Every function returns a matplotlib Figure; ``path=`` also saves
it as a PNG 1200 pixels wide. In a notebook, leave the figure as a cell's last
value to see it. This is the only module that imports matplotlib.
"""

from __future__ import annotations

import os

import numpy as np

from glassnet import activations as _activations
from glassnet.neuron import Neuron

__all__ = ["activations", "neuron", "history", "confusion_matrix", "images", "compare",
           "filters", "feature_maps", "layer_activations", "gradient_flow", "decision_boundary",
           "compare_inside", "weights", "model_graph", "gradient_through_time", "hidden_states",
           "tape", "samples", "DEFAULT_ACTIVATIONS"]

#: The lesson's four: the perceptron's step and the three smooth classics.
DEFAULT_ACTIVATIONS = ("step", "sigmoid", "tanh", "relu")
PNG_WIDTH_PX = 1200


def _pyplot():
    import matplotlib.pyplot as plt

    return plt


IMAGE_FORMATS = ("png", "svg", "pdf", "jpg", "jpeg")


def image_format(path):
    """The format a file name asks for (``x.svg`` → "svg"; no extension: png),
    or ValueError naming the ones glassnet writes."""
    extension = os.path.splitext(os.fspath(path))[1].lower().lstrip(".")
    if not extension:
        return "png"
    if extension not in IMAGE_FORMATS:
        raise ValueError(f"cannot write a picture as {os.fspath(path)!r}: the name asks for "
                         f".{extension}; glassnet writes {', '.join('.' + f for f in IMAGE_FORMATS)}")
    return extension


def _finish(fig, path):
    """Close the figure in pyplot (so a notebook shows it once, as the returned
    value) and save it, if a path is given, in the format its name asks for
    (a PNG of PNG_WIDTH_PX pixels; or .svg, .pdf, .jpg), written atomically."""
    from glassnet.saving.files import atomic_write

    _pyplot().close(fig)
    if path is not None:
        path = os.fspath(path)
        kind = image_format(path)
        atomic_write(path, lambda temp: fig.savefig(
            temp, dpi=PNG_WIDTH_PX / fig.get_figwidth(), format=kind, facecolor="white"),
            make_folder=True)
    return fig


def _style_axes(ax, title, xlabel, ylabel):
    ax.axhline(0, color="0.6", linewidth=0.8, zorder=0)
    ax.axvline(0, color="0.6", linewidth=0.8, zorder=0)
    ax.grid(True, alpha=0.3)
    ax.set_title(title, fontsize=13)
    ax.set_xlabel(xlabel, fontsize=11)
    ax.set_ylabel(ylabel, fontsize=11)


def _parse_names(names):
    if names is None:
        names = DEFAULT_ACTIVATIONS
    if isinstance(names, str):
        names = [n for n in names.split(",") if n.strip()]
    names = list(names)
    if not names:
        raise ValueError("plot.activations needs at least one activation name; valid names: "
                         + ", ".join(_activations.names()))
    resolved = [_activations.get(n) for n in names]
    for act in resolved:
        if not act.elementwise:
            raise ValueError(f"plot.activations draws elementwise functions f(x); {act.name} "
                             f"maps a whole vector to a vector, so it has no curve f(x). "
                             f"Choose from: " + ", ".join(
                                 n for n in _activations.names()
                                 if _activations.get(n).elementwise))
    return resolved


def activations(names=None, derivatives=False, x=None, path=None):
    """Activation functions, and on request their derivatives, on one grid.

    ``names``: a list or a comma-separated string (default: step, sigmoid,
    tanh, relu). ``derivatives=True`` adds a second panel with f'(x).
    ``x``: the grid (default 1201 points on [-6, 6]).
    """
    resolved = _parse_names(names)
    x = np.linspace(-6, 6, 1201) if x is None else _activations.as_float_array(x, "x")
    if x.ndim != 1 or x.size < 2:
        raise ValueError(f"plot.activations needs a 1-D grid x of 2 or more points; "
                         f"received shape {x.shape}")
    plt = _pyplot()
    ncols = 2 if derivatives else 1
    fig, axes = plt.subplots(1, ncols, figsize=(12, 5) if derivatives else (8, 5.2),
                             squeeze=False, layout="constrained")
    panels = [("Activation functions", "f(x)", lambda a: a(x))]
    if derivatives:
        panels.append(("Their derivatives", "f'(x)", lambda a: a.derivative(x)))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (title, ylabel, evaluate) in zip(axes[0], panels):
        lows, highs = [], []
        for i, act in enumerate(resolved):
            y = evaluate(act)
            ax.plot(x, y, label=act.name, color=colors[i % len(colors)], linewidth=2.2)
            lows.append(np.min(y))
            highs.append(np.max(y))
        low, high = max(min(lows), -3.0), min(max(highs), 6.5)
        pad = 0.08 * (high - low or 1.0)
        ax.set_ylim(low - pad, high + pad)
        ax.set_xlim(x[0], x[-1])
        _style_axes(ax, title, "x", ylabel)
        ax.legend(fontsize=11, loc="upper left", framealpha=0.9)
    return _finish(fig, path)


def neuron(node, x1_range=(-2.0, 2.0), x2_range=(-2.0, 2.0), points=None,
           resolution=201, path=None):
    """A 2-input node's output a = f(w1·x1 + w2·x2 + b) as a heat map over
    (x1, x2), with the line z = 0 (where the node switches) drawn dashed.

    ``points``: optional inputs of shape (k, 2) to mark, each labelled with
    the node's output (the truth table of a perceptron gate, say).
    """
    if not isinstance(node, Neuron):
        raise TypeError(f"plot.neuron needs a glassnet.Neuron; received {type(node).__name__}")
    if node.n_inputs != 2:
        raise ValueError(f"plot.neuron draws a node with 2 inputs over the (x1, x2) plane; "
                         f"this node has {node.n_inputs} inputs")
    x1 = np.linspace(*x1_range, resolution)
    x2 = np.linspace(*x2_range, resolution)
    grid_x1, grid_x2 = np.meshgrid(x1, x2)
    grid = np.column_stack([grid_x1.ravel(), grid_x2.ravel()])
    z = node.z(grid).reshape(grid_x1.shape)
    a = node.activation(z)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 6.4), layout="constrained")
    image = ax.imshow(a, origin="lower", extent=(*x1_range, *x2_range), aspect="auto",
                      cmap="viridis", interpolation="nearest" if node.activation.name == "step"
                      else "bilinear")
    bar = fig.colorbar(image, ax=ax)
    bar.set_label(f"a = {node.activation.name}(z)", fontsize=11)
    if z.min() < 0 < z.max():
        ax.contour(grid_x1, grid_x2, z, levels=[0], colors="white", linewidths=2.2,
                   linestyles="--")
        ax.plot([], [], color="black", linestyle="--", linewidth=2, label="z = 0")
        ax.legend(loc="upper right", fontsize=11, framealpha=0.9)
    if points is not None:
        points = np.asarray(points, dtype=float).reshape(-1, 2)
        outputs = node(points)
        ax.scatter(points[:, 0], points[:, 1], s=90, c="white", edgecolors="black", zorder=3)
        for (p1, p2), out in zip(points, np.atleast_1d(outputs)):
            ax.annotate(f"{out:.3g}", (p1, p2), textcoords="offset points", xytext=(9, 9),
                        fontsize=12, fontweight="bold",
                        bbox=dict(boxstyle="round,pad=0.2", facecolor="white", alpha=0.85))
    w1, w2 = node.weights
    ax.set_title(f"a = {node.activation.name}({w1:g}·x1 {'+' if w2 >= 0 else '−'} "
                 f"{abs(w2):g}·x2 {'+' if node.bias >= 0 else '−'} {abs(node.bias):g})",
                 fontsize=13)
    ax.set_xlabel("x1", fontsize=11)
    ax.set_ylabel("x2", fontsize=11)
    return _finish(fig, path)


def _history_dict(history):
    """A History, its ``.history`` dict, or a metrics.json-style dict."""
    data = getattr(history, "history", history)
    if isinstance(data, dict) and "history" in data and isinstance(data["history"], dict):
        data = data["history"]
    if not isinstance(data, dict) or "loss" not in data:
        raise ValueError("plot.history needs a History (from fit) or a dict with a 'loss' "
                         "list per epoch")
    return data


def history(history, path=None, title=None):
    """Loss and accuracy per epoch, training and validation side by side."""
    data = _history_dict(history)
    metrics = [m for m in ("loss", "accuracy") if m in data]
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(metrics), figsize=(12, 4.8), squeeze=False,
                             layout="constrained")
    for ax, metric in zip(axes[0], metrics):
        epochs = np.arange(1, len(data[metric]) + 1)
        ax.plot(epochs, data[metric], "o-", label=f"training {metric}", linewidth=2)
        if f"val_{metric}" in data:
            ax.plot(epochs, data[f"val_{metric}"], "s--", label=f"validation {metric}",
                    linewidth=2)
        ax.set_title(metric.capitalize(), fontsize=13)
        ax.set_xlabel("epoch", fontsize=11)
        ax.set_ylabel(metric, fontsize=11)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=11)
        if len(epochs) <= 20:
            ax.set_xticks(epochs)
    if title:
        fig.suptitle(title, fontsize=14)
    return _finish(fig, path)


def confusion_matrix(y_true, y_pred, class_names=None, path=None, title=None):
    """Counts of (true class, predicted class), with the counts written in
    each cell and per-class recall on the right."""
    y_true = np.asarray(y_true).astype(int).ravel()
    y_pred = np.asarray(y_pred).astype(int).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"confusion_matrix needs y_true and y_pred of one length; received "
                         f"{y_true.shape} and {y_pred.shape}")
    k = int(max(y_true.max(initial=0), y_pred.max(initial=0)) + 1)
    if class_names is not None:
        class_names = list(class_names)
        if len(class_names) < k:
            raise ValueError(f"confusion_matrix: {len(class_names)} class names for labels up "
                             f"to {k - 1}")
        k = len(class_names)
    else:
        class_names = [str(i) for i in range(k)]
    counts = np.zeros((k, k), dtype=int)
    np.add.at(counts, (y_true, y_pred), 1)
    plt = _pyplot()
    size = max(6.5, 0.75 * k + 2.5)
    fig, ax = plt.subplots(figsize=(size + 1, size), layout="constrained")
    image = ax.imshow(counts, cmap="Blues")
    fig.colorbar(image, ax=ax, shrink=0.8, label="samples")
    threshold = counts.max() / 2 if counts.size else 0
    for i in range(k):
        for j in range(k):
            if counts[i, j]:
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=9,
                        color="white" if counts[i, j] > threshold else "black")
    recall = counts.diagonal() / np.maximum(counts.sum(axis=1), 1)
    ax.set_xticks(range(k), class_names, rotation=45, ha="right", fontsize=10)
    ax.set_yticks(range(k), [f"{name} ({r:.0%})" for name, r in zip(class_names, recall)],
                  fontsize=10)
    ax.set_xlabel("predicted class", fontsize=11)
    ax.set_ylabel("true class (recall)", fontsize=11)
    accuracy = counts.diagonal().sum() / max(counts.sum(), 1)
    ax.set_title(title or f"Confusion matrix (accuracy {accuracy:.2%})", fontsize=13)
    return _finish(fig, path)


def samples(by_epoch, columns=8, path=None, title=None, row_label="epoch"):
    """What a generative model makes as it trains: one row of images per
    epoch (``{epoch: images}``, each (n, h, w), (n, h, w, 1) or flat squares;
    a GAN's generator on the same noise each epoch, an autoencoder's
    reconstructions). Values in [-1, 1] (tanh) or [0, 1] are drawn as ink
    on paper."""
    if not isinstance(by_epoch, dict) or not by_epoch:
        raise ValueError(f"plot.samples takes {{epoch: images}} with at least one entry; "
                         f"received {type(by_epoch).__name__}")
    rows = []
    for label, x in by_epoch.items():
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 4 and x.shape[-1] == 1:
            x = x[..., 0]
        if x.ndim == 2:
            side = int(round(np.sqrt(x.shape[1])))
            if side * side != x.shape[1]:
                raise ValueError(f"plot.samples: the images of {label!r} are flat but not "
                                 f"square: shape {x.shape}")
            x = x.reshape(-1, side, side)
        if x.ndim != 3:
            raise ValueError(f"plot.samples needs grayscale images (n, h, w) for each "
                             f"{row_label}; {label!r} has shape {x.shape}")
        rows.append((label, x[:columns]))
    low = min(float(x.min()) for _, x in rows)
    high = max(float(x.max()) for _, x in rows)
    low, high = (-1.0, 1.0) if low < -0.01 else (0.0, max(high, 1.0))
    plt = _pyplot()
    count = max(len(x) for _, x in rows)
    fig, axes = plt.subplots(len(rows), count, figsize=(1.2 * count + 0.8, 1.25 * len(rows) + 0.5),
                             squeeze=False, layout="constrained")
    for r, (label, x) in enumerate(rows):
        for c, ax in enumerate(axes[r]):
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if c < len(x):
                ax.imshow(x[c], cmap="gray_r", vmin=low, vmax=high)
        axes[r][0].set_ylabel(f"{row_label} {label}" if not isinstance(label, str) else label,
                              fontsize=9)
    if title:
        fig.suptitle(title, fontsize=11)
    return _finish(fig, path)


def images(x, y=None, class_names=None, predicted=None, columns=8, max_images=32, path=None,
           title=None):
    """A grid of images (grayscale (n, h, w) or flat (n, h·w) squares), each
    titled with its label; with ``predicted``, "true → predicted" in red where
    they differ (a grid of mistakes)."""
    x = np.asarray(x)
    if x.ndim == 2:
        side = int(round(np.sqrt(x.shape[1])))
        if side * side != x.shape[1]:
            raise ValueError(f"plot.images needs (n, h, w) images or flat square ones; received "
                             f"shape {x.shape}")
        x = x.reshape(-1, side, side)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim != 3:
        raise ValueError(f"plot.images needs grayscale images (n, h, w); received shape "
                         f"{x.shape}")
    n = min(len(x), max_images)
    if n == 0:
        raise ValueError("plot.images received no images")
    columns = min(columns, n)
    rows = int(np.ceil(n / columns))
    plt = _pyplot()
    fig, axes = plt.subplots(rows, columns, figsize=(1.5 * columns, 1.75 * rows + 0.4),
                             squeeze=False, layout="constrained")

    def name(label):
        label = int(label)
        return class_names[label] if class_names is not None else str(label)

    # one colour map for the grid: dark-background images (MNIST-style) drawn as ink on paper
    cmap = "gray_r" if x[:n].mean() < (x[:n].max() + x[:n].min()) / 2 else "gray"
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(x[i], cmap=cmap, vmin=x[:n].min(), vmax=x[:n].max())
        if y is not None and predicted is not None:
            wrong = int(y[i]) != int(predicted[i])
            ax.set_title(f"{name(y[i])}\n→ {name(predicted[i])}", fontsize=8,
                         color="crimson" if wrong else "black")
        elif y is not None:
            ax.set_title(name(y[i]), fontsize=9)
    if title:
        fig.suptitle(title, fontsize=12)
    return _finish(fig, path)


def compare(results, path=None, title=None):
    """Validation accuracy and loss per epoch for several runs:
    ``results`` maps a label (e.g. "relu") to a History or its dict."""
    if not results:
        raise ValueError("plot.compare needs at least one run")
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained")
    for label, run in results.items():
        data = _history_dict(run)
        for ax, metric in zip(axes, ("accuracy", "loss")):
            key = f"val_{metric}" if f"val_{metric}" in data else metric
            if key in data:
                epochs = np.arange(1, len(data[key]) + 1)
                ax.plot(epochs, data[key], "o-", label=label, linewidth=2)
    for ax, metric in zip(axes, ("accuracy", "loss")):
        ax.set_title(f"Validation {metric}", fontsize=13)
        ax.set_xlabel("epoch", fontsize=11)
        ax.set_ylabel(metric, fontsize=11)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=11)
    if title:
        fig.suptitle(title, fontsize=14)
    return _finish(fig, path)


def _conv_layer(model, layer):
    convs = [l for l in getattr(model, "layers", []) if type(l).__name__ == "Conv2D"]
    if not convs:
        raise ValueError("this model has no Conv2D layer: filters and feature maps need a CNN "
                         "(e.g. glassnet train --model cnn)")
    if layer is None:
        return convs[0]
    for candidate in convs:
        if candidate.name == layer:
            return candidate
    raise ValueError(f"no Conv2D layer named {layer!r}; Conv2D layers: "
                     f"{', '.join(l.name for l in convs)}")


def _grid(count, columns=8):
    columns = min(columns, count)
    return int(np.ceil(count / columns)), columns


def filters(model, layer=None, path=None):
    """The kernels of a Conv2D layer (the first by default) as small images:
    red positive, blue negative (one channel: the weights themselves; more: their
    mean over the input channels)."""
    conv = _conv_layer(model, layer)
    kernel = conv.kernel.mean(axis=2)  # (kh, kw, filters)
    limit = float(np.abs(kernel).max()) or 1.0
    rows, columns = _grid(kernel.shape[-1])
    plt = _pyplot()
    fig, axes = plt.subplots(rows, columns, figsize=(1.3 * columns, 1.4 * rows + 0.6),
                             squeeze=False, layout="constrained")
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < kernel.shape[-1]:
            image = ax.imshow(kernel[:, :, i], cmap="RdBu_r", vmin=-limit, vmax=limit)
            ax.set_title(str(i), fontsize=8)
    fig.colorbar(image, ax=axes, shrink=0.6, label="weight")
    channels = conv.kernel.shape[2]
    fig.suptitle(f"{conv.name}: {kernel.shape[-1]} filters of {conv.kernel_size[0]}x"
                 f"{conv.kernel_size[1]}" + ("" if channels == 1 else
                                            f" (mean over {channels} input channels)"),
                 fontsize=12)
    return _finish(fig, path)


def feature_maps(model, image, layer=None, max_maps=32, path=None):
    """What a Conv2D layer (the first by default) computes for one image: the
    image, then each output channel as a picture."""
    conv = _conv_layer(model, layer)
    from glassnet.models import Model

    x = np.asarray(image)
    shape = tuple(model.input_shape[1:])
    if x.shape != shape:
        x = x.reshape(shape)
    maps = Model(model.inputs, conv.output)(x[np.newaxis])[0]  # Keras's feature-map model
    count = min(maps.shape[-1], max_maps)
    rows, columns = _grid(count + 1)
    plt = _pyplot()
    fig, axes = plt.subplots(rows, columns, figsize=(1.5 * columns, 1.6 * rows + 0.5),
                             squeeze=False, layout="constrained")
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i == 0:
            ax.imshow(np.squeeze(x), cmap="gray")
            ax.set_title("input", fontsize=8)
        elif i <= count:
            ax.imshow(maps[:, :, i - 1], cmap="viridis")
            ax.set_title(str(i - 1), fontsize=8)
    fig.suptitle(f"{conv.name}: {count} of {maps.shape[-1]} feature maps "
                 f"({maps.shape[0]}x{maps.shape[1]})", fontsize=12)
    return _finish(fig, path)


def layer_activations(model, x, bins=30, path=None, title=None):
    """A histogram of each layer's outputs for the batch x (the book's
    weight-initialization figure), with the saturated or dead fraction."""
    from glassnet import inspect

    outputs = inspect.layer_outputs(model, x)
    stats = {s["layer"]: s for s in inspect.activation_stats(model, x)}
    plt = _pyplot()
    count = len(outputs)
    fig, axes = plt.subplots(1, count, figsize=(max(8, 2.4 * count), 3.6), squeeze=False,
                             layout="constrained", sharey=True)
    for ax, (name, values) in zip(axes[0], outputs.items()):
        info = stats[name]
        limits = (0, 1) if info["activation"] == "sigmoid" else None
        ax.hist(values.ravel(), bins=bins, range=limits, color="tab:blue", alpha=0.85)
        note = ""
        if info["saturated"] is not None:
            note = f"\n{info['saturated']:.0%} saturated"
        elif info["dead"] is not None:
            note = f"\n{info['dead']:.0%} dead units"
        ax.set_title(f"{name} ({info['activation']}){note}", fontsize=10)
        ax.grid(True, alpha=0.3)
    axes[0][0].set_ylabel("count", fontsize=11)
    fig.suptitle(title or "Activations per layer", fontsize=13)
    return _finish(fig, path)


def _recorded_epochs(run):
    """A Recorder, or the list of per-epoch records it keeps (as saved in
    metrics.json / compare.json), as that list."""
    return getattr(run, "epochs", run)


def gradient_flow(recorded, path=None, title=None):
    """Per-layer gradient norm per epoch, on a log scale: vanishing gradients
    show as the first layers' lines far below the last's.

    ``recorded`` is an :class:`inspect.Recorder` that was passed to ``fit``
    (or its ``epochs`` list), or a dict ``{label: Recorder or epochs}`` for
    several runs side by side on one shared scale (e.g. sigmoid next to relu).
    """
    runs = recorded if isinstance(recorded, dict) else {None: recorded}
    runs = {label: _recorded_epochs(run) for label, run in runs.items()}
    for label, epochs in runs.items():
        if not isinstance(epochs, (list, tuple)) or not epochs or \
                not all(isinstance(e, dict) and e.get("gradient_norm") for e in epochs):
            which = "" if label is None else f" ({label!r})"
            raise ValueError(f"gradient_flow needs an inspect.Recorder that was passed to fit "
                             f"(callbacks=[recorder]) and recorded at least one epoch, or its "
                             f"epochs list; received {type(epochs).__name__}{which} with no "
                             f"gradient norms")
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, len(runs), figsize=(9 if len(runs) == 1 else 5.2 * len(runs), 5),
                             squeeze=False, sharey=True, layout="constrained")
    for ax, (label, epochs) in zip(axes[0], runs.items()):
        names = list(epochs[0]["gradient_norm"])
        x = np.arange(1, len(epochs) + 1)
        colors = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(names)))
        for number, (color, name) in enumerate(zip(colors, names), start=1):
            ax.plot(x, [e["gradient_norm"].get(name, np.nan) for e in epochs], "o-",
                    color=color, label=f"{number}: {name}", linewidth=2)
        ax.set_yscale("log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch", fontsize=11)
        ax.grid(True, which="both", alpha=0.3)
        first, last = epochs[-1]["gradient_norm"][names[0]], epochs[-1]["gradient_norm"][names[-1]]
        ratio = f"last ÷ first layer = {last / first:.3g}" if first > 0 else "first layer 0"
        ax.set_title(f"{label}: {ratio}" if label is not None else
                     f"Gradient flow, first layer (dark) to last (light): {ratio}", fontsize=12)
        ax.legend(fontsize=8, loc="best")
    axes[0][0].set_ylabel("gradient norm (log scale)", fontsize=11)
    if title or len(runs) > 1:
        fig.suptitle(title or "Gradient norm per layer and epoch (dark: first layer, light: "
                              "last)", fontsize=13)
    return _finish(fig, path)


def decision_boundary(model, x, y, resolution=300, path=None, title=None):
    """A 2-input classifier's regions (the TensorFlow Playground view): each
    point of the plane coloured by its predicted class, paler where the model
    is less sure, with the training points on top."""
    x = np.asarray(x)
    y = np.asarray(y).astype(int).ravel()
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"decision_boundary needs 2-D inputs of shape (n, 2); received shape "
                         f"{x.shape}")
    low, high = x.min(axis=0), x.max(axis=0)
    pad = 0.1 * (high - low + 1e-9)
    g1, g2 = np.meshgrid(np.linspace(low[0] - pad[0], high[0] + pad[0], resolution),
                         np.linspace(low[1] - pad[1], high[1] + pad[1], resolution))
    probabilities = model.predict(np.column_stack([g1.ravel(), g2.ravel()]), batch_size=4096, verbose=0)
    if probabilities.shape[1] == 1:
        probabilities = np.column_stack([1 - probabilities[:, 0], probabilities[:, 0]])
    classes = probabilities.shape[1]
    plt = _pyplot()
    palette = plt.get_cmap("tab10")(np.arange(max(classes, y.max() + 1)) % 10)[:, :3]
    best = probabilities.argmax(axis=1)
    confidence = (probabilities.max(axis=1) - 1 / classes) / (1 - 1 / classes)
    colors = palette[best] * (0.35 + 0.45 * confidence[:, None]) + \
        (1 - (0.35 + 0.45 * confidence[:, None]))
    fig, ax = plt.subplots(figsize=(7.5, 6.5), layout="constrained")
    ax.imshow(np.clip(colors, 0, 1).reshape(resolution, resolution, 3), origin="lower",
              aspect="auto",
              extent=(g1.min(), g1.max(), g2.min(), g2.max()))
    for k in range(y.max() + 1):
        mine = y == k
        ax.scatter(x[mine, 0], x[mine, 1], s=18, color=palette[k], edgecolors="black",
                   linewidths=0.5, label=f"class {k}")
    accuracy = float(np.mean(model.predict(x, batch_size=4096, verbose=0).argmax(axis=1) == y)) \
        if classes > 1 else float("nan")
    ax.set_title(title or f"Decision regions (training accuracy {accuracy:.1%})", fontsize=13)
    ax.set_xlabel("x1", fontsize=11)
    ax.set_ylabel("x2", fontsize=11)
    ax.legend(fontsize=9, loc="upper right", framealpha=0.9)
    return _finish(fig, path)


def compare_inside(recorded, path=None, title=None):
    """For several runs (label -> a Recorder's ``epochs``): per layer, at the
    last epoch, the gradient norm (log scale) and the fraction of saturated
    (sigmoid/tanh) or dead (relu) units: "why relu" from the runs themselves."""
    if not recorded:
        raise ValueError("compare_inside needs at least one recorded run")
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained")
    for label, epochs in recorded.items():
        last = epochs[-1]
        norms = list(last["gradient_norm"].values())
        left.plot(range(1, len(norms) + 1), norms, "o-", label=label, linewidth=2)
        inactive = {**last.get("dead", {}), **last.get("saturated", {})}
        if inactive:
            right.plot(range(1, len(inactive) + 1), list(inactive.values()), "s-", label=label,
                       linewidth=2)
    left.set_yscale("log")
    left.set_title("Gradient norm per layer", fontsize=13)
    left.set_xlabel("layer (1 = first)", fontsize=11)
    left.set_ylabel("norm of ∂loss/∂weights (log)", fontsize=11)
    right.set_title("Saturated (sigmoid, tanh) or dead (relu) units", fontsize=13)
    right.set_xlabel("hidden layer (1 = first)", fontsize=11)
    right.set_ylabel("fraction", fontsize=11)
    right.set_ylim(-0.02, 1.02)
    from matplotlib.ticker import MaxNLocator

    for ax in (left, right):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=10)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if title:
        fig.suptitle(title, fontsize=14)
    return _finish(fig, path)


def gradient_through_time(runs, path=None, title=None):
    """How much gradient reaches each time step, one line per run: ``runs``
    maps a label ("SimpleRNN", "LSTM", ...) to what
    :func:`glassnet.inspect.gradient_through_time` returned. The y axis is
    ||∂L/∂h_t|| relative to the last step, on a log scale, so a gradient that
    fades geometrically is a straight line down towards the first steps."""
    if not runs:
        raise ValueError("plot.gradient_through_time needs at least one run")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 4.8), layout="constrained")
    for label, run in runs.items():
        if not isinstance(run, dict) or "relative" not in run:
            raise ValueError(f"plot.gradient_through_time: run {label!r} must be what "
                             f"inspect.gradient_through_time returned")
        relative = np.maximum(np.asarray(run["relative"], dtype=np.float64), 1e-30)
        ax.semilogy(np.arange(1, len(relative) + 1), relative, "-", linewidth=2, label=label)
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title(title or "Gradient reaching each step (relative to the last step)",
                 fontsize=13)
    ax.set_xlabel("time step t", fontsize=11)
    ax.set_ylabel("||∂L/∂h_t|| / ||∂L/∂h_T||", fontsize=11)
    ax.legend(fontsize=11)
    return _finish(fig, path)


def hidden_states(states, tokens=None, path=None, title=None):
    """A heat map of a recurrent layer's units (rows) over the time steps
    (columns) for one text: ``states`` is (T, units), e.g.
    ``inspect.hidden_states(model, x[:1])[0]``; ``tokens`` labels the steps."""
    states = np.asarray(states, dtype=np.float64)
    if states.ndim != 2:
        raise ValueError(f"plot.hidden_states takes one text's states, shape (steps, units); "
                         f"received shape {states.shape}")
    if tokens is not None and len(tokens) != len(states):
        raise ValueError(f"plot.hidden_states: {len(tokens)} tokens for {len(states)} steps")
    plt = _pyplot()
    width = min(16, 3 + 0.35 * len(states))
    fig, ax = plt.subplots(figsize=(width, 1.5 + 0.18 * states.shape[1]),
                           layout="constrained")
    limit = max(float(np.abs(states).max()), 1e-12)
    image = ax.imshow(states.T, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit,
                      interpolation="nearest")
    fig.colorbar(image, ax=ax, label="h_t")
    if tokens is not None:
        ax.set_xticks(range(len(tokens)), [str(t) for t in tokens], rotation=60, fontsize=9)
    ax.set_xlabel("time step", fontsize=11)
    ax.set_ylabel("unit", fontsize=11)
    ax.set_title(title or "Hidden state over time", fontsize=13)
    return _finish(fig, path)


def attention(weights, tokens=None, path=None, title=None, key_tokens=None):
    """A heat map per head of one text's attention: ``weights`` is (heads, query
    steps, key steps) or (query steps, key steps), e.g.
    ``inspect.attention(model, x[:1])["multi_head_attention"][0]``. Row t shows
    how much query step t takes from each step; ``tokens`` label the steps (the
    query's; ``key_tokens`` the keys', when they differ)."""
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim == 2:
        weights = weights[None]
    if weights.ndim != 3:
        raise ValueError(f"plot.attention takes one text's weights, shape (heads, query steps, "
                         f"key steps) or (query steps, key steps); received shape "
                         f"{weights.shape}")
    heads, t, s = weights.shape
    key_tokens = tokens if key_tokens is None else key_tokens
    if tokens is not None and len(tokens) != t:
        raise ValueError(f"plot.attention: {len(tokens)} tokens for {t} query steps")
    if key_tokens is not None and len(key_tokens) != s:
        raise ValueError(f"plot.attention: {len(key_tokens)} key tokens for {s} key steps")
    plt = _pyplot()
    top = max(float(weights.max()), 1e-12)   # the scale ends at the largest weight shown
    side = min(6.0, 1.5 + 0.32 * max(t, s))
    fig, axes = plt.subplots(1, heads, figsize=(side * heads + 1, side + 0.6),
                             layout="constrained", squeeze=False)
    for h, ax in enumerate(axes[0]):
        image = ax.imshow(weights[h], cmap="Blues", vmin=0, vmax=top, interpolation="nearest")
        if key_tokens is not None:
            ax.set_xticks(range(s), [str(k) for k in key_tokens], rotation=60, fontsize=9)
        if tokens is not None:
            ax.set_yticks(range(t), [str(q) for q in tokens], fontsize=9)
        ax.set_xlabel("looks at (key)", fontsize=10)
        ax.set_ylabel("query step" if h == 0 else "", fontsize=10)
        ax.set_title(f"head {h}" if heads > 1 else "attention", fontsize=11)
    fig.colorbar(image, ax=list(axes[0]), label="weight", shrink=0.8)
    if title:
        fig.suptitle(title, fontsize=13)
    return _finish(fig, path)


def weights(model, bins=40, path=None):
    """A histogram of each layer's kernel (the weights it multiplies by), with
    its standard deviation: how initialization and training shape them."""
    layers = [layer for layer in getattr(model, "layers", []) if "kernel" in layer.weight_names]
    if not layers:
        raise ValueError("plot.weights needs a built model with Dense or Conv2D layers")
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(layers), figsize=(max(8, 2.6 * len(layers)), 3.6),
                             squeeze=False, layout="constrained")
    for ax, layer in zip(axes[0], layers):
        kernel = layer.kernel.ravel()
        ax.hist(kernel, bins=bins, color="tab:purple", alpha=0.85)
        ax.set_title(f"{layer.name}\n{layer.kernel.shape}, std {kernel.std():.3g}", fontsize=10)
        ax.grid(True, alpha=0.3)
    axes[0][0].set_ylabel("count", fontsize=11)
    fig.suptitle("Weights per layer", fontsize=13)
    return _finish(fig, path)


# ---------------------------------------------------------------- the graph of a model
def _graph_operations(model, expand_nested, env=None, prefix=""):
    """[(layer, parents, node, prefix)] in execution order, and {id(tensor):
    layer that made it}. With ``expand_nested``, a nested model's own layers
    take its place, fed by what fed it (``env``: its input tensors -> the
    outer layers behind them)."""
    from glassnet.layers import InputLayer

    env = env or {}
    found, made = [], dict(env)

    def source(tensor):
        return made.get(id(tensor), tensor._keras_history.operation)

    for node in model._nodes:
        layer = node.operation
        if isinstance(layer, InputLayer) and id(node.outputs[0]) in env:
            continue  # an inner input: the outer layer that feeds it stands in for it
        parents = [source(t) for t in node.input_tensors]
        if expand_nested and hasattr(layer, "_nodes") and node.input_tensors:
            inner_env = {id(t): p for t, p in zip(layer.inputs, parents)}
            inner, inner_made = _graph_operations(layer, True, inner_env,
                                                  f"{prefix}{layer.name}/")
            found.extend(inner)
            for outer, own in zip(node.outputs, layer.outputs):
                made[id(outer)] = inner_made.get(id(own), own._keras_history.operation)
            continue
        found.append((layer, parents, node, prefix))
        for tensor in node.outputs:
            made[id(tensor)] = layer
    return found, made


def _graph_boxes(model, show_shapes, show_dtype, show_layer_names, show_layer_activations,
                 show_trainable, expand_nested=False):
    """(boxes {layer: text lines}, edges [(from, to)], rank {layer: depth})."""
    operations, _ = _graph_operations(model, expand_nested)
    inputs = [t._keras_history.operation for t in model.inputs]
    layers, nodes, prefixes = [], {}, {}
    for layer in inputs:  # a Sequential model's InputLayer is not in its layers
        if layer not in nodes:
            layers.append(layer)
            nodes[layer], prefixes[layer] = layer._inbound_nodes[0], ""
    for layer, _, node, prefix in operations:
        if layer not in nodes:
            layers.append(layer)
            nodes[layer], prefixes[layer] = node, prefix
    edges = [(parent, layer) for layer, parents, _, _ in operations for parent in parents]
    rank = {layer: 0 for layer in inputs}
    for layer, parents, _, _ in operations:  # in execution order: parents come first
        rank[layer] = max([rank.get(layer, 0)] + [rank.get(p, 0) + 1 for p in parents])
    for layer in inputs:  # an input sits just above the first layer that reads it
        children = [rank[b] for a, b in edges if a is layer]
        if children:
            rank[layer] = min(children) - 1
    boxes = {}
    for layer in layers:
        kind = type(layer).__name__
        name = prefixes[layer] + layer.name
        lines = [f"{name} ({kind})" if show_layer_names else
                 (f"{prefixes[layer]}{kind}" if prefixes[layer] else kind)]
        activation = getattr(getattr(layer, "activation", None), "name", None)
        if show_layer_activations and activation is not None and kind not in (
                "Activation", "Softmax", "ReLU"):
            lines.append(f"activation: {activation}")
        node = nodes[layer]
        if show_shapes:
            shapes_in = [str(tuple(t.shape)) for t in node.input_tensors] or \
                [str(tuple(t.shape)) for t in node.outputs]
            shapes_out = [str(tuple(t.shape)) for t in node.outputs]
            lines.append(f"input: {', '.join(shapes_in)}")
            lines.append(f"output: {', '.join(shapes_out)}")
        if show_dtype:
            lines.append(f"dtype: {getattr(layer, 'input_dtype', layer.dtype)}")
        if show_trainable and layer.weights:
            lines.append(f"trainable: {'Y' if layer.trainable else 'N'}")
        boxes[layer] = lines
    return boxes, edges, rank


def model_graph(model, path=None, show_shapes=False, show_dtype=False, show_layer_names=False,
                rankdir="TB", show_layer_activations=False, show_trainable=False,
                expand_nested=False):
    """The model as a graph: a box per layer, an arrow per connection, ranked
    from the inputs (top, or left with ``rankdir="LR"``) to the outputs, so
    branches sit side by side and merges below them; an edge that skips
    ranks runs in a lane beside the boxes. With ``expand_nested``, a nested
    model is drawn as its own layers (named ``inner/dense``). Drawn with
    matplotlib alone (no Graphviz needed). Returns the Figure; ``path=``
    saves a PNG."""
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"rankdir must be 'TB' or 'LR'; received {rankdir!r}")
    if not getattr(model, "built", False):
        raise ValueError("plot_model needs a built model: give it an Input((...)) or call it "
                         "on data first")
    boxes, edges, rank = _graph_boxes(model, show_shapes, show_dtype, show_layer_names,
                                      show_layer_activations, show_trainable, expand_nested)
    ranks = {}
    for layer in boxes:
        ranks.setdefault(rank.get(layer, 0), []).append(layer)
    place = {}  # layer -> (position along the rank, rank)
    for depth in sorted(ranks):
        row = ranks[depth]
        if depth:  # order each rank by where its parents sit (fewer crossings)
            parents = {layer: [place[a][0] for a, b in edges if b is layer and a in place]
                       for layer in row}
            row.sort(key=lambda layer: np.mean(parents[layer]) if parents[layer] else 0)
        for i, layer in enumerate(row):
            place[layer] = (i - (len(row) - 1) / 2, depth)
    # sizes in inches: the axes map one data unit to one inch, so text (in points)
    # and boxes (in data units) keep their proportions whatever the graph's size
    width = max(len(line) for lines in boxes.values() for line in lines)
    height = max(len(lines) for lines in boxes.values())
    box_w, box_h = 0.085 * width + 0.4, 0.2 * height + 0.2
    gap_across, gap_along = box_w + 0.35, box_h + 0.45
    plt = _pyplot()
    from matplotlib.patches import FancyBboxPatch

    def center(layer):
        a, d = place[layer]
        if rankdir == "TB":
            return a * gap_across, -d * gap_along
        return d * (box_w + 0.6), -a * (box_h + 0.35)

    # an edge that skips ranks (a residual connection, a late merge) would run through
    # the boxes between; it goes round them instead, in a lane beside them
    tb = rankdir == "TB"
    half_across, half_along = (box_w / 2, box_h / 2) if tb else (box_h / 2, box_w / 2)

    def across_along(layer):  # (across the ranks, along them downstream), inches
        x, y = center(layer)
        return (x, -y) if tb else (-y, x)

    routes, lane_used = {}, {}
    for a, b in edges:
        (ca, la), (cb, lb) = across_along(a), across_along(b)
        between = [layer for layer in boxes if rank.get(a, 0) < rank.get(layer, 0)
                   < rank.get(b, 0)]
        blocked = []
        for layer in between:
            c, l = across_along(layer)
            t = (l - la) / (lb - la) if lb != la else 0
            if abs(ca + t * (cb - ca) - c) < half_across + 0.1:
                blocked.append(c)
        if not blocked:
            continue
        extent = [across_along(layer)[0] for layer in between]
        lane = max(extent) + half_across + 0.25
        span = (la, lb)
        while any(abs(lane - used) < 0.2 and span[0] < end and start < span[1]
                  for used, (start, end) in lane_used.items()):
            lane += 0.25  # another skip edge runs here at the same height: the next lane
        lane_used[lane] = span
        gap = (gap_along if tb else box_w + 0.6) - 2 * half_along
        routes[(id(a), id(b))] = [(ca, la + half_along), (ca, la + half_along + gap / 3),
                                  (lane, la + half_along + gap / 3),
                                  (lane, lb - half_along - gap / 3),
                                  (cb, lb - half_along - gap / 3), (cb, lb - half_along)]

    def to_xy(point):
        c, l = point
        return (c, -l) if tb else (l, -c)

    xs = [center(layer)[0] for layer in boxes]
    ys = [center(layer)[1] for layer in boxes]
    for route in routes.values():
        xs += [to_xy(p)[0] for p in route]
        ys += [to_xy(p)[1] for p in route]
    left, bottom = min(xs) - box_w / 2 - 0.2, min(ys) - box_h / 2 - 0.2
    size = (max(xs) - min(xs) + box_w + 0.4, max(ys) - min(ys) + box_h + 0.4)
    fig = plt.figure(figsize=size)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.axis("off")
    ax.set_xlim(left, left + size[0])
    ax.set_ylim(bottom, bottom + size[1])
    for layer, lines in boxes.items():
        x, y = center(layer)
        ax.add_patch(FancyBboxPatch((x - box_w / 2, y - box_h / 2), box_w, box_h,
                                    boxstyle="round,pad=0.02,rounding_size=0.08",
                                    facecolor="#e8f0fe" if type(layer).__name__ != "InputLayer"
                                    else "#eeeeee", edgecolor="#3c6fd1", linewidth=1.2))
        top = y + (len(lines) - 1) * 0.1
        ax.text(x, top, lines[0], ha="center", va="center", fontsize=10, fontweight="bold")
        for k, line in enumerate(lines[1:], start=1):
            ax.text(x, top - 0.2 * k, line, ha="center", va="center", fontsize=8.5,
                    family="monospace")
    for a, b in edges:
        route = routes.get((id(a), id(b)))
        if route is not None:
            points = [to_xy(p) for p in route]
            ax.plot([p[0] for p in points[:-1]], [p[1] for p in points[:-1]],
                    color="#444444", lw=1.1, solid_joinstyle="round")
            ax.annotate("", xy=points[-1], xytext=points[-2],
                        arrowprops={"arrowstyle": "-|>", "color": "#444444", "lw": 1.1,
                                    "shrinkA": 0, "shrinkB": 0})
            continue
        (xa, ya), (xb, yb) = center(a), center(b)
        if rankdir == "TB":
            start, end = (xa, ya - box_h / 2), (xb, yb + box_h / 2)
        else:
            start, end = (xa + box_w / 2, ya), (xb - box_w / 2, yb)
        ax.annotate("", xy=end, xytext=start,
                    arrowprops={"arrowstyle": "-|>", "color": "#444444", "lw": 1.1,
                                "shrinkA": 0, "shrinkB": 0})
    return _finish(fig, path)


# ---------------------------------------------------------------- what a tape recorded
_TAPE_COLORS = ("#1f6fd1", "#d9480f", "#2b8a3e", "#862e9c", "#c2255c", "#5c940d")
_TAPE_STYLES = ("-", "--", ":", "-.")
_KIND_FACE = {"layer": "#ffe8cc", "op": "#e8f0fe", "variable": "#e6f4ea", "tensor": "#eeeeee"}
_KIND_EDGE = {"layer": "#e8590c", "op": "#3c6fd1", "variable": "#2b8a3e", "tensor": "#777777"}


def _named_tapes(tape_or_tapes):
    """{name: tape}: a dict as given, a list as "tape 1", "tape 2", ..., one tape as "tape"."""
    if isinstance(tape_or_tapes, dict):
        tapes = {str(name): t for name, t in tape_or_tapes.items()}
    elif isinstance(tape_or_tapes, (list, tuple)):
        tapes = {f"tape {i + 1}": t for i, t in enumerate(tape_or_tapes)}
    else:
        tapes = {"tape": tape_or_tapes}
    if not tapes:
        raise ValueError("plot.tape needs a GradientTape, a list of them or a dict "
                         "{name: tape}; received an empty one")
    for name, t in tapes.items():
        if not hasattr(t, "records") or not hasattr(t, "watched_ids"):
            raise TypeError(f"plot.tape draws GradientTapes; {name!r} is a "
                            f"{type(t).__name__}")
    return tapes


def _shape_text(shape):
    return str(tuple(shape))


def _tape_nodes(tapes):
    """The union of what the tapes recorded: (nodes, edges). A node is a dict
    (kind "op", "layer", "variable" or "tensor"; label; out: its output
    shapes; tapes: the indices of the tapes that recorded or watched it); an
    edge is (from node, to node, tapes that recorded it). A record seen by
    several tapes (the same op, inputs and outputs) is one node."""
    nodes, index, produced, edges = [], {}, {}, []
    records = []
    for t_i, t in enumerate(tapes.values()):
        for r in t.records():
            key = (r["name"], tuple(r["inputs"]), tuple(r["outputs"]))
            if key not in index:
                index[key] = len(nodes)
                records.append((len(nodes), r))
                nodes.append({"kind": r["kind"], "record": r, "tapes": set(),
                              "out": [_shape_text(s) for s in r["output_shapes"]]})
                for y in r["outputs"]:
                    produced.setdefault(y, index[key])
            nodes[index[key]]["tapes"].add(t_i)
    watched = [t.watched_ids() for t in tapes.values()]
    sources = {}
    for i, r in records:
        data = []
        for x, name, shape in zip(r["inputs"], r["input_names"], r["input_shapes"]):
            j = produced.get(x)
            if j is not None and j != i:
                edges.append((j, i, nodes[j]["tapes"] & nodes[i]["tapes"]))
                if name is None:
                    data.append(shape)
                continue
            by = {t_i for t_i, ids in enumerate(watched) if x in ids}
            if not by:  # a constant, or data the tapes do not watch: not drawn
                if name is None:
                    data.append(shape)
                continue
            if x not in sources:
                sources[x] = len(nodes)
                kind = "variable" if name is not None else "tensor"
                nodes.append({"kind": kind, "tapes": by, "out": [],
                              "label": f"{name if name else 'watched tensor'}\n"
                                       f"{_shape_text(shape)}"})
            edges.append((sources[x], i, by & nodes[i]["tapes"]))
            if name is None:
                data.append(shape)
        name = r["name"]
        if r["kind"] == "layer":
            cls, _, layer_name = name.partition(" ")
            head = name if len(name) <= 18 else f"{cls}\n{layer_name}"
            nodes[i]["label"] = head + (f"\nin {', '.join(_shape_text(s) for s in data)}"
                                        if data else "")
        else:
            nodes[i]["label"] = name
    return nodes, edges


def _tape_columns(nodes, edges):
    """Each node's column: 1 + the largest column of its inputs; a watched
    source sits just before the first node that reads it."""
    preds = {i: [] for i in range(len(nodes))}
    succs = {i: [] for i in range(len(nodes))}
    for a, b, _ in edges:
        preds[b].append(a)
        succs[a].append(b)
    recorded = [i for i, node in enumerate(nodes) if "record" in node]
    waiting = {i: sum(1 for p in preds[i] if "record" in nodes[p]) for i in recorded}
    ready = [i for i in recorded if not waiting[i]]
    column = {}
    while len(column) < len(recorded):
        if not ready:  # a cycle (ids reused between unrelated tapes): break it anywhere
            ready = [min(i for i in recorded if i not in column)]
        i = ready.pop()
        if i in column:
            continue
        column[i] = 1 + max([column[p] for p in preds[i] if p in column and
                             "record" in nodes[p]], default=0)
        for b in succs[i]:
            waiting[b] -= 1
            if not waiting[b]:
                ready.append(b)
    for i, node in enumerate(nodes):
        if "record" not in node:
            column[i] = min(column[b] for b in succs[i]) - 1
    low = min(column.values())
    return {i: c - low for i, c in column.items()}, preds, succs


def tape(tape_or_tapes, path=None, title=None):
    """What a GradientTape recorded, drawn left to right: an op is a small
    box ("multiply", "reduce_mean"), a layer call a bigger orange one
    ("Dense 'dense'", with its input's shape), a watched source a green box
    (a variable by its path and shape) or a grey one (a watched tensor);
    each arrow carries a tensor from the node that made it to the one that
    read it, its shape written where it leaves. Constants and data the tape
    did not watch are not drawn (a layer's box names its input's shape).

    ``tape_or_tapes``: a tape, a list of tapes, or a dict {name: tape} (a GAN
    step's {"generator": gen_tape, "discriminator": disc_tape}). With several,
    the small squares above each box say which tapes recorded it (one colour
    per tape, named in the legend), and an arrow only some tapes recorded is
    drawn in their colour and line style. Works on a used non-persistent
    tape (it reads ``tape.records()``). Long graphs wrap into bands of
    columns. Drawn with matplotlib alone. Returns the Figure; ``path=``
    saves a PNG."""
    tapes = _named_tapes(tape_or_tapes)
    nodes, edges = _tape_nodes(tapes)
    if not nodes:
        raise ValueError("plot.tape: the tape recorded nothing: no op inside its `with` block "
                         "read a watched tensor or a trainable variable")
    column, preds, succs = _tape_columns(nodes, edges)
    many = len(tapes) > 1
    # sizes in inches (one data unit is one inch, so text and boxes keep their proportions)
    longest = max(len(line) for node in nodes for line in node["label"].split("\n"))
    box_w = min(max(0.075 * longest + 0.2, 1.0), 1.9)
    gap_x, gap_y = 0.62, 0.34 if many else 0.24
    heights = {i: 0.24 + 0.17 * node["label"].count("\n") + (0.1 if node["kind"] == "layer"
                                                              else 0)
               for i, node in enumerate(nodes)}
    n_columns = max(column.values()) + 1
    starts = _tape_bands(n_columns, edges, column,
                         max(1, int((13.0 + gap_x) // (box_w + gap_x))))
    band_of = {c: max(b for b, s in enumerate(starts) if s <= c) for c in range(n_columns)}
    per_band = max(e - s for s, e in zip(starts, starts[1:] + [n_columns]))
    by_column = {}
    for i in range(len(nodes)):
        by_column.setdefault(column[i], []).append(i)
    y = {}

    def stack(c):
        col = by_column[c]
        top = (sum(heights[i] for i in col) + gap_y * (len(col) - 1)) / 2
        for i in col:
            y[i] = top - heights[i] / 2
            top -= heights[i] + gap_y

    for c in sorted(by_column):
        stack(c)
    for sweep in range(4):  # order each column by where its neighbours sit: fewer crossings
        order = sorted(by_column) if sweep % 2 == 0 else sorted(by_column, reverse=True)
        for c in order:
            def key(i):
                near = [y[p] for p in (preds[i] if sweep % 2 == 0 else succs[i])
                        if band_of[column[p]] == band_of[c]] or \
                    [y[p] for p in preds[i] + succs[i]]
                return -np.mean(near) if near else 0.0
            by_column[c].sort(key=key)
            stack(c)
    band = {i: band_of[column[i]] for i in range(len(nodes))}
    x = {i: (column[i] - starts[band[i]]) * (box_w + gap_x) for i in range(len(nodes))}

    def half(i):
        return heights[i] / 2 + (0.14 if many else 0.0)  # the tape marks sit above

    # an edge that skips columns inside a band goes over the boxes between, in a lane
    lanes, lane_used = {}, {}
    for k, (a, b, _) in enumerate(edges):
        if band[a] != band[b] or column[b] - column[a] < 2:
            continue
        xa, xb = x[a] + box_w / 2, x[b] - box_w / 2
        between = [i for i in range(len(nodes)) if band[i] == band[a] and
                   column[a] < column[i] < column[b]]
        if not any(abs(y[a] + (x[i] - xa) / (xb - xa) * (y[b] - y[a]) - y[i]) <
                   heights[i] / 2 + 0.1 for i in between):
            continue
        level = max(y[i] + half(i) for i in between) + 0.2
        span = (column[a], column[b])
        used = lane_used.setdefault(band[a], [])
        while any(abs(level - h) < 0.1 and s[0] < span[1] and span[0] < s[1] for h, s in used):
            level += 0.1
        used.append((level, span))
        lanes[k] = level
    # stack the bands top to bottom; an edge from one band to a later one runs in the gap
    top_of, bottom_of = {}, {}
    for i in range(len(nodes)):
        top_of[band[i]] = max(top_of.get(band[i], -np.inf), y[i] + half(i))
        bottom_of[band[i]] = min(bottom_of.get(band[i], np.inf), y[i] - heights[i] / 2 - 0.22)
    for k, level in lanes.items():
        a = edges[k][0]
        top_of[band[a]] = max(top_of[band[a]], level + 0.05)
    crossing = [k for k, (a, b, _) in enumerate(edges) if band[a] != band[b]]
    offset, at = {}, 0.0
    for bnd in range(len(starts)):
        offset[bnd] = at - top_of[bnd]
        leaving = sum(1 for k in crossing if band[edges[k][0]] == bnd)
        at = offset[bnd] + bottom_of[bnd] - 0.3 - 0.1 * leaving
    for i in y:
        y[i] += offset[band[i]]
    for k in lanes:
        lanes[k] += offset[band[edges[k][0]]]
    next_level = {}
    for k in crossing:
        bnd = band[edges[k][0]]
        lanes[k] = next_level.get(bnd, offset[bnd] + bottom_of[bnd] - 0.12)
        next_level[bnd] = lanes[k] - 0.1
    # a routed edge climbs (or drops) beside its tail and its head: one track per tensor
    # leaving a column and one per edge entering a column, so the tracks stay apart
    tail_x, head_x, tails, heads = {}, {}, {}, {}
    for k in sorted(lanes, key=lambda k: -lanes[k]):
        a, b, _ = edges[k]
        track = tails.setdefault(column[a], {}).setdefault(a, len(tails[column[a]]))
        tail_x[k] = x[a] + box_w / 2 + min(0.1 + 0.08 * track, gap_x - 0.15)
        track = heads.setdefault(column[b], 0)
        heads[column[b]] += 1
        head_x[k] = x[b] - box_w / 2 - min(0.1 + 0.08 * track, gap_x - 0.15)
    # where each arrow ends: spread along the reader's left side, in the order of their tails
    ends = {}
    for b in range(len(nodes)):
        incoming = sorted((k for k, e in enumerate(edges) if e[1] == b),
                          key=lambda k: -(lanes[k] if k in lanes else y[edges[k][0]]))
        step = min(0.1, heights[b] / (len(incoming) + 1))
        for n, k in enumerate(incoming):
            ends[k] = y[b] + ((len(incoming) - 1) / 2 - n) * step
    # the figure
    plt = _pyplot()
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyBboxPatch, Patch, Rectangle

    colors = {t_i: _TAPE_COLORS[t_i % len(_TAPE_COLORS)] for t_i in range(len(tapes))}
    all_tapes = set(range(len(tapes)))
    kinds = [k for k in ("layer", "op", "variable", "tensor")
             if any(node["kind"] == k for node in nodes)]
    partial = sorted({min(by) for _, _, by in edges if many and by and by != all_tapes})
    n_handles = len(kinds) + (len(tapes) + len(partial) + 1 if many else 0)
    left = min([-box_w / 2] + list(head_x.values())) - 0.3
    width = max(per_band * (box_w + gap_x) - box_w / 2 - left + 0.2, 9.0)
    ncol = max(1, min(n_handles, int(width // 2.3)))
    header = 0.8 + 0.25 * -(-n_handles // ncol) + 0.25
    bottom = min(min(y[i] - heights[i] / 2 for i in y), min(lanes.values(), default=0)) - 0.25
    top = max(y[i] + half(i) for i in y) + header
    fig = plt.figure(figsize=(width, top - bottom))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.axis("off")
    ax.set_xlim(left, left + width)
    ax.set_ylim(bottom, top)
    for i, node in enumerate(nodes):
        kind, h = node["kind"], heights[i]
        edge, lw = _KIND_EDGE[kind], 1.1
        if many and len(node["tapes"]) == 1:
            edge, lw = colors[next(iter(node["tapes"]))], 2.0
        box = FancyBboxPatch((x[i] - box_w / 2, y[i] - h / 2), box_w, h,
                             boxstyle="round,pad=0.02,rounding_size=0.06",
                             facecolor=_KIND_FACE[kind], edgecolor=edge, linewidth=lw, zorder=3)
        box.set_gid(f"node:{kind}")
        ax.add_patch(box)
        ax.text(x[i], y[i], node["label"], ha="center", va="center", zorder=4,
                fontsize=8.5 if kind in ("op", "layer") else 8,
                fontweight="bold" if kind == "layer" else "normal",
                family="monospace" if kind in ("variable", "tensor") else None,
                linespacing=1.15)
        if many:
            for t_i in sorted(node["tapes"]):
                mark = Rectangle((x[i] - box_w / 2 + 0.03 + 0.15 * t_i, y[i] + h / 2 + 0.04),
                                 0.11, 0.09, facecolor=colors[t_i], edgecolor="none", zorder=4)
                mark.set_gid(f"tape:{list(tapes)[t_i]}")
                ax.add_patch(mark)
        if node["out"]:  # the shape of what leaves the node, where it leaves
            ax.text(x[i] + box_w / 2 + 0.05, y[i] + 0.05, ", ".join(node["out"]), ha="left",
                    va="bottom", fontsize=7, color="#555555", family="monospace", zorder=4)
    for k, (a, b, by) in enumerate(edges):
        if not many or by == all_tapes:
            color, style = "#555555", "-"
        elif by:
            color, style = colors[min(by)], _TAPE_STYLES[min(by) % len(_TAPE_STYLES)]
        else:
            color, style = "#999999", ":"
        xa, ya = x[a] + box_w / 2, y[a]
        xb, yb = x[b] - box_w / 2, ends[k]
        points = [(xa, ya)]
        if k in lanes:
            points += [(tail_x[k], ya), (tail_x[k], lanes[k]), (head_x[k], lanes[k]),
                       (head_x[k], yb)]
            ax.plot([p[0] for p in points], [p[1] for p in points], color=color, lw=1.0,
                    linestyle=style, solid_joinstyle="round", zorder=2)
        ax.annotate("", xy=(xb, yb), xytext=points[-1], zorder=2,
                    arrowprops={"arrowstyle": "-|>", "color": color, "lw": 1.0,
                                "linestyle": style, "shrinkA": 0, "shrinkB": 0})
    records = sum(1 for node in nodes if "record" in node)
    counts = [f"{records} recorded node{'s' * (records != 1)}"]
    for kind in ("variable", "tensor"):
        n = sum(1 for node in nodes if node["kind"] == kind)
        if n:
            counts.append(f"{n} watched {kind}{'s' * (n != 1)}")
    heading = title or (f"What the tape{'s' * many} recorded"
                        f"{' (' + ', '.join(tapes) + ')' if many else ''}")
    ax.text(left + 0.25, top - 0.15, heading, ha="left", va="top", fontsize=13,
            fontweight="bold")
    ax.text(left + 0.25, top - 0.47, ", ".join(counts) + "; each arrow carries a tensor, its "
            "shape written where it leaves", ha="left", va="top", fontsize=9, color="#444444")
    labels = {"layer": "layer call", "op": "op", "variable": "watched variable",
              "tensor": "watched tensor"}
    handles = [Patch(facecolor=_KIND_FACE[k], edgecolor=_KIND_EDGE[k], label=labels[k])
               for k in kinds]
    if many:
        names = list(tapes)
        handles += [Patch(facecolor=colors[t_i], label=f"recorded by {name}")
                    for t_i, name in enumerate(names)]
        handles += [Line2D([], [], color=colors[t_i], linestyle=_TAPE_STYLES[t_i % 4],
                           label=f"arrow on {names[t_i]} only") for t_i in partial]
        handles.append(Line2D([], [], color="#555555", label="arrow on all tapes"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(left + 0.2, top - 0.75),
              bbox_transform=ax.transData, fontsize=8.5, framealpha=0.95, ncol=ncol,
              borderaxespad=0.0, frameon=False)
    return _finish(fig, path)


def _tape_bands(n_columns, edges, column, limit):
    """Where each band of columns starts: at most ``limit`` columns a band,
    bands of about equal width, each cut where the fewest arrows cross it."""
    bands = -(-n_columns // limit)
    target = -(-n_columns // bands)
    starts = [0]
    while n_columns - starts[-1] > limit:
        s = starts[-1]
        cuts = range(s + max(1, target - 2), min(s + limit, n_columns - 1) + 1)
        starts.append(min(cuts, key=lambda cut: (
            sum(1 for a, b, _ in edges if column[a] < cut <= column[b]),
            abs(cut - s - target))))
    return starts
