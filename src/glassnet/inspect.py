"""The numbers behind the pictures: what each layer outputs, how its
activations are spread, how large its gradients are. No matplotlib here.

    >>> import numpy as np, glassnet as gn
    >>> from glassnet.layers import Dense, Input
    >>> model = gn.Sequential([Input((4,)), Dense(8, activation="sigmoid"), Dense(2)])
    >>> [s["layer"] for s in activation_stats(model, np.zeros((3, 4)))] == \\
    ...     [layer.name for layer in model.layers]
    True

Saturated: a sigmoid output within 1% of 0 or 1, a tanh output within 1% of
-1 or 1 (there the derivative is almost 0, so almost no gradient flows back).
Dead: a relu unit that outputs 0 for every sample of the batch.
"""

from __future__ import annotations

import numpy as np

from glassnet.callbacks import Callback

__all__ = ["layer_outputs", "activation_stats", "gradient_norms", "Recorder"]


def _require_built(model):
    if not getattr(model, "built", False):
        raise ValueError("inspect needs a built model: give it an Input((...)) or call it on "
                         "data first")


def layer_outputs(model, x, training=False):
    """{layer name: its output for the batch x}, in the order the layers run."""
    _require_built(model)
    xs = model._predict_inputs(x, "layer_outputs")
    values = {id(t): v.astype(model.dtype if v.dtype.kind in "biuf" else v.dtype, copy=False)
              for t, v in zip(model.inputs, xs)}
    outputs = {}
    for node in model._nodes:
        args = [values[id(t)] for t in node.input_tensors]
        out = node.operation.forward(args[0] if len(args) == 1 and not isinstance(
            node.arguments, (list, tuple, dict)) else args, training=training)
        flat = out if isinstance(out, list) else [out]
        for tensor, value in zip(node.outputs, flat):
            values[id(tensor)] = value
        outputs[node.operation.name] = out.copy() if isinstance(out, np.ndarray) else out
    return outputs


def _layers(model):
    """The layers that compute something (a functional model's InputLayers left out)."""
    return [layer for layer in model.layers if layer._inbound_nodes and
            not layer._inbound_nodes[0].is_input]


def _stats(layer, a):
    activation = getattr(getattr(layer, "activation", None), "name", "linear")
    stats = {"layer": layer.name, "activation": activation, "mean": float(np.mean(a)),
             "std": float(np.std(a)), "saturated": None, "dead": None}
    if activation == "sigmoid":
        stats["saturated"] = float(np.mean((a < 0.01) | (a > 0.99)))
    elif activation == "tanh":
        stats["saturated"] = float(np.mean(np.abs(a) > 0.99))
    elif activation in ("relu", "relu6"):
        units = a.reshape(-1, a.shape[-1])
        stats["dead"] = float(np.mean(np.all(units <= 0, axis=0)))
    return stats


def activation_stats(model, x):
    """Per layer: mean, std, fraction saturated (sigmoid, tanh), fraction of
    dead units (relu), for the batch x."""
    outputs = layer_outputs(model, x)
    return [_stats(layer, outputs[layer.name]) for layer in _layers(model)
            if isinstance(outputs.get(layer.name), np.ndarray)]


def _norms(model):
    return {layer.name: {v.name: float(np.linalg.norm(v.grad)) for v in layer.trainable_weights}
            for layer in model.layers if layer.trainable_weights}


def gradient_norms(model, x, y):
    """Per layer, per weight: the norm of ∂loss/∂weight on the batch (x, y)
    (one forward and backward pass; the weights are not changed)."""
    _require_built(model)
    if not model.compiled:
        raise ValueError("gradient_norms needs a compiled model (it uses its loss)")
    model._require_compiled("gradient_norms")
    data = model._data(x, y, None, None, "gradient_norms")
    model._prepare()
    batch = model._batch(data, slice(0, data.n))
    model._gradient_step(batch.xs, batch.ys, None)
    return _norms(model)


class Recorder(Callback):
    """Records activation statistics and gradient norms during ``fit``.

    Every ``every`` batches it reads what the last training step left in each
    layer (its output and its gradients): no extra forward or backward pass.
    ``recorder.epochs`` holds, per epoch, the mean of the records of that
    epoch: ``{"gradient_norm": {layer: value}, "saturated": {...}, "dead": {...},
    "mean": {...}, "std": {...}}``.
    """

    def __init__(self, every=10):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"Recorder every must be a positive integer; received {every!r}")
        self.every = every
        self.epochs = []
        self._current = []

    def on_epoch_begin(self, epoch, logs=None):
        self._current = []

    def on_train_batch_end(self, batch, logs=None):
        if batch % self.every:
            return
        record = {"gradient_norm": {}, "mean": {}, "std": {}, "saturated": {}, "dead": {}}
        for layer in _layers(self.model):
            if layer.trainable_weights:
                record["gradient_norm"][layer.name] = float(np.sqrt(sum(
                    np.sum(np.square(v.grad)) for v in layer.trainable_weights)))
            output = layer.last_output()
            if output is not None:
                stats = _stats(layer, output)
                for key in ("mean", "std", "saturated", "dead"):
                    if stats[key] is not None:
                        record[key][layer.name] = stats[key]
        self._current.append(record)

    def on_epoch_end(self, epoch, logs=None):
        if not self._current:
            return
        summary = {}
        for key in self._current[0]:
            names = self._current[0][key]
            summary[key] = {name: float(np.mean([r[key][name] for r in self._current]))
                            for name in names}
        self.epochs.append(summary)
