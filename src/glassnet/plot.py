"""Pictures. Every function returns a matplotlib Figure; ``path=`` also saves
it as a PNG 1200 pixels wide. In a notebook, leave the figure as a cell's last
value to see it. This is the only module that imports matplotlib.
"""

from __future__ import annotations

import os

import numpy as np

from glassnet import activations as _activations
from glassnet.neuron import Neuron

__all__ = ["activations", "neuron", "DEFAULT_ACTIVATIONS"]

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
