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
           "DEFAULT_ACTIVATIONS"]

#: The lesson's four: the perceptron's step and the three smooth classics.
DEFAULT_ACTIVATIONS = ("step", "sigmoid", "tanh", "relu")
PNG_WIDTH_PX = 1200


def _pyplot():
    import matplotlib.pyplot as plt

    return plt


def _finish(fig, path):
    """Close the figure in pyplot (so a notebook shows it once, as the returned
    value) and save it as a PNG of PNG_WIDTH_PX pixels if a path is given."""
    _pyplot().close(fig)
    if path is not None:
        path = os.fspath(path)
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        fig.savefig(path, dpi=PNG_WIDTH_PX / fig.get_figwidth(), format="png",
                    facecolor="white")
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
