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

__all__ = ["layer_outputs", "activation_stats", "gradient_norms", "gradient_through_time",
           "hidden_states", "Recorder"]


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


def _recurrent_layer(model, layer):
    found = [l for l in model.layers if hasattr(l, "recurrent_kernel") or
             hasattr(l, "forward_layer")]
    if layer is None:
        if not found:
            raise ValueError(f"Model {model.name!r} has no recurrent layer (SimpleRNN, LSTM, "
                             f"GRU, Bidirectional)")
        layer = found[0]
    elif isinstance(layer, str):
        layer = model.get_layer(layer)
    if hasattr(layer, "forward_layer"):
        layer = layer.forward_layer
    if not hasattr(layer, "recurrent_kernel"):
        raise ValueError(f"Layer {layer.name!r} ({type(layer).__name__}) is not recurrent; the "
                         f"recurrent layers: {[l.name for l in found]}")
    return layer


def gradient_through_time(model, x, y, layer=None):
    """How much of the loss's gradient reaches each time step of a recurrent
    layer: one forward and backward pass on (x, y) (weights unchanged).

    Returns {"layer": name, "norms": (T,) the mean over the batch of
    ||∂L/∂h_t||, "relative": norms / norms[-1] (the last step = 1),
    "hidden": (N, T, units) the states h_t}. Steps come in the order the
    layer read them. For SimpleRNN the relative norms fall geometrically
    towards the first steps (each step back multiplies by tanh' and the
    recurrent kernel); LSTM's cell and GRU's update gate let them carry.
    """
    _require_built(model)
    model._require_compiled("gradient_through_time")
    rnn = _recurrent_layer(model, layer)
    data = model._data(x, y, None, None, "gradient_through_time")
    model._prepare()
    batch = model._batch(data, slice(0, data.n))
    model._gradient_step(batch.xs, batch.ys, None)
    grads = rnn.step_gradients
    if grads is None:
        raise ValueError(f"Layer {rnn.name!r} got no gradient (is it trainable and on the "
                         f"loss's path?)")
    norms = np.linalg.norm(grads.astype(np.float64), axis=-1).mean(axis=0)
    last = norms[-1] if norms[-1] > 0 else 1.0
    return {"layer": rnn.name, "norms": norms, "relative": norms / last,
            "hidden": rnn.hs[1:].transpose(1, 0, 2).copy()}


def hidden_states(model, x, layer=None):
    """(N, T, units): a recurrent layer's state h_t at every step for the
    batch x (inference; masked steps carry the state on)."""
    _require_built(model)
    rnn = _recurrent_layer(model, layer)
    model.predict(x, verbose=0)
    return rnn.hs[1:].transpose(1, 0, 2).copy()


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
