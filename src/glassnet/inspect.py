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
           "hidden_states", "Recorder", "why_none"]


def _require_built(model):
    if not getattr(model, "built", False):
        raise ValueError("inspect needs a built model: give it an Input((...)) or call it on "
                         "data first")


def layer_outputs(model, x, training=False):
    """{layer name: its output for the batch x}, in the order the layers run."""
    _require_built(model)
    xs = model._predict_inputs(x, "layer_outputs")
    xs = [v.astype(model.dtype if v.dtype.kind in "biuf" else v.dtype, copy=False) for v in xs]
    outputs = {}

    def observe(step, out):  # the engine's own walk, masks and all, one step per layer
        outputs[step.layer.name] = out.copy() if isinstance(out, np.ndarray) else out

    model._run_forward(xs, training, observe=observe)
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


def _attention_layers(model):
    """Every attention layer the model runs, its own and those inside its layers
    (keras.io's TransformerBlock holds its MultiHeadAttention as an attribute), in order."""
    from glassnet.layers.attention import Attention, MultiHeadAttention
    from glassnet.layers.base import Layer

    found, seen = [], set()

    def visit(layer):
        if id(layer) in seen:
            return
        seen.add(id(layer))
        if isinstance(layer, (MultiHeadAttention, Attention)):
            found.append(layer)
            return
        for value in list(vars(layer).values()):
            for item in (value if isinstance(value, (list, tuple)) else [value]):
                if isinstance(item, Layer):
                    visit(item)

    for layer in model.layers:
        visit(layer)
    return found


def attention(model, x):
    """{attention layer's name: its attention weights for the batch x, shape
    (batch, heads, query steps, key steps)}: which steps each query step looks at,
    per head (an Attention or AdditiveAttention layer has one head). Each row sums
    to 1 over the steps the masks allow (0 where none is allowed)."""
    _require_built(model)
    layers = _attention_layers(model)
    if not layers:
        raise ValueError(f"inspect.attention: model {model.name!r} has no attention layer "
                         f"(MultiHeadAttention, Attention or AdditiveAttention)")
    xs = model._predict_inputs(x, "inspect.attention")
    xs = [v.astype(model.dtype if v.dtype.kind in "biuf" else v.dtype, copy=False)
          for v in xs]
    for layer in layers:
        layer.last_attention_scores = None
    model._run_forward(xs, False)
    out = {}
    for layer in layers:
        scores = layer.last_attention_scores
        if scores is None:
            continue
        out[layer.name] = np.array(scores if scores.ndim == 4 else scores[:, None])
    return out


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


# ---------------------------------------------------------------- why a gradient is None
def _reach(records, start, blocked=()):
    """The ids reachable from the ids ``start`` through the records (in
    recording order), skipping the records named in ``blocked``; and, for each
    reached output id, the record that reached it first (to trace a path)."""
    reach, came_from = set(start), {}
    for i, r in enumerate(records):
        if r["name"] in blocked or not any(x in reach for x in r["inputs"]):
            continue
        for y in r["outputs"]:
            if y not in reach:
                reach.add(y)
                came_from[y] = i
    return reach, came_from


def _ancestors(records, target_id):
    """The records the target was computed through, in recording order, and
    the ids they read that no record made (what the target was built from)."""
    made = {y: i for i, r in enumerate(records) for y in r["outputs"]}
    wanted, seen, stack = set(), set(), [target_id]
    while stack:
        i = made.get(stack.pop())
        if i is None or i in wanted:
            continue
        wanted.add(i)
        stack.extend(records[i]["inputs"])
    leaves = {}
    for i in sorted(wanted):
        r = records[i]
        for x, name, shape in zip(r["inputs"], r["input_names"], r["input_shapes"]):
            if x not in made and x not in seen:
                seen.add(x)
                leaves[x] = (name, shape)
    return [records[i] for i in sorted(wanted)], leaves


def _names(records, limit=6):
    names = list(dict.fromkeys(r["name"] for r in records))
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _describe(x):
    path = getattr(x, "path", None)
    shape = tuple(np.shape(getattr(x, "_value", x)))
    return f"variable {path!r} {shape}" if path is not None else f"tensor of shape {shape}"


def why_none(tape, target, source):
    """Why ``tape.gradient(target, source)`` is None: which of TensorFlow's
    reasons applies (its autodiff guide, "Cases where gradient returns None"),
    in one line, and what to do in a second. Checked in this order: an integer
    source; a non-trainable variable; a tensor never watched (or a variable
    replaced by ``v = v + 1``); a target that left the tape through NumPy; a
    target the tape did not record; a target that does not depend on the
    source (or only through ``tf.stop_gradient``). When none applies it says
    the gradient is not None, and through which recorded nodes.

    Works after ``gradient`` was called on a non-persistent tape: it reads
    ``tape.records()`` and ``tape.watched_ids()`` (ids and shapes, no arrays),
    so ``target`` and ``source`` must be the objects given to ``gradient``.

        >>> import glassnet as tf
        >>> x = tf.constant(3.0)
        >>> with tf.GradientTape() as tape:
        ...     y = x * x
        >>> tape.gradient(y, x) is None
        True
        >>> print(why_none(tape, y, x))  # doctest: +ELLIPSIS
        the source is a plain Tensor that this tape never watched: ...
        What to do: call tape.watch(x) inside the `with` block, before x is used...
    """
    from glassnet.tensor import Tensor
    from glassnet.variables import Variable

    for name, value in (("source", source), ("target", target)):
        if isinstance(value, (list, tuple, dict)):
            raise TypeError(f"why_none explains one gradient: give one {name}, not a "
                            f"{type(value).__name__} (e.g. model.trainable_variables[3])")
    records = tape.records()
    watched = tape.watched_ids()
    is_tensor = isinstance(source, (Tensor, Variable))
    dtype = getattr(source, "dtype", None)
    if dtype is None and isinstance(source, (bool, int, np.integer, np.bool_)):
        dtype = np.asarray(source).dtype
    # 1. integers carry no gradient
    if dtype is not None and np.dtype(dtype).kind in "biu":
        return (f"the source is an integer ({np.dtype(dtype).name}) "
                f"{'tensor' if is_tensor else 'value'}: integers have no gradient, so the "
                f"tape does not follow them.\n"
                f"What to do: make it a float: tf.Variable(3.0) rather than tf.Variable(3), "
                f"or tf.cast(x, tf.float32) before the tape.")
    # (a NumPy array or a Python number is no tensor: a tape follows it only where an op
    # read that very object)
    if not is_tensor and not any(id(source) in r["inputs"] for r in records):
        return (f"the source is a {type(source).__name__}, not a tensor or variable: a tape "
                f"follows only tensors and variables.\n"
                f"What to do: make it tf.Variable(x) (watched by itself), or tf.constant(x) "
                f"and tape.watch it inside the `with` block, and compute with that.")
    source_watched = id(source) in watched
    # 2. a variable the tape did not watch: not trainable (or its layer is frozen)
    owner = getattr(source, "_owner", None)
    frozen = owner is not None and not getattr(owner, "trainable", True)
    if isinstance(source, Variable) and not source_watched and (not source.trainable or frozen):
        by_layer = frozen and source.trainable
        why = (f"its layer {owner.name!r} is frozen (layer.trainable = False)" if by_layer
               else "it was made with trainable=False")
        fix = "layer.trainable = True" if by_layer else "tf.Variable(..., trainable=True)"
        return (f"the source is a non-trainable Variable ({source.path!r}: {why}): the tape "
                f"watches only trainable variables on its own.\n"
                f"What to do: call tape.watch(v) inside the `with` block, or make it "
                f"trainable ({fix}).")
    # 3. (and 7.) a plain tensor the tape never watched
    if isinstance(source, Tensor) and not source_watched:
        return (f"the source is a plain Tensor that this tape never watched: the tape "
                f"watches only trainable Variables on its own (if this was a tf.Variable "
                f"before, a line like `v = v + 1` replaced it with a Tensor).\n"
                f"What to do: call tape.watch(x) inside the `with` block, before x is used; "
                f"or keep the Variable and update it in place with v.assign_add(1) / "
                f"v.assign(...).")
    # 4. the target left the tape through NumPy
    if not isinstance(target, (Tensor, Variable)):
        kind = "None" if target is None else (
            "a NumPy array" if isinstance(target, (np.ndarray, np.generic)) else
            f"a Python {type(target).__name__}")
        return (f"the target is {kind}, not a Tensor: the computation left the tape (np.* "
                f"functions and .numpy() compute on arrays, which no tape records).\n"
                f"What to do: use tf ops all the way to the target (tf.exp, tf.reduce_sum, "
                f"tf.matmul instead of np.exp, np.sum, np.dot), and no .numpy() before "
                f"tape.gradient.")
    made = {y for r in records for y in r["outputs"]}
    if target is source:
        return ("the gradient is not None: the target is the source itself (∂x/∂x = 1).\n"
                "What to do: nothing; check that you passed the tensors you meant.")
    # 5. the tape did not record the target
    if id(target) not in made:
        empty = " (this tape recorded nothing at all)" if not records else ""
        return (f"the target was not recorded on this tape{empty}: it was computed outside "
                f"the tape's `with` block, inside `with tape.stop_recording():`, or only "
                f"from tensors the tape does not watch.\n"
                f"What to do: compute the target inside `with tf.GradientTape() as tape:` "
                f"from the watched source (and outside any tape.stop_recording()).")
    # 6. no path from the source to the target
    reach, came_from = _reach(records, {id(source)}, blocked=("stop_gradient",))
    if id(target) not in reach:
        through, leaves = _ancestors(records, id(target))
        built = [f"{name!r}" if name else f"a tensor {shape}" for x, (name, shape)
                 in leaves.items() if x in watched]
        side = (f" The target was computed through {_names(through)}"
                f"{' from ' + ', '.join(built[:6]) if built else ''}.")
        if id(target) in _reach(records, {id(source)})[0]:
            return (f"the target depends on the source only through tf.stop_gradient: a "
                    f"stop_gradient record lies on every path, and no gradient flows back "
                    f"through it.{side}\n"
                    f"What to do: remove tf.stop_gradient from the path if you want this "
                    f"gradient (it is there to block it).")
        readers = [r for r in records if id(source) in r["inputs"]]
        read = (f"No recorded op or layer read the source ({_describe(source)})." if not
                readers else f"The source was read by {_names(readers)}, but those do not "
                f"lead to the target.")
        return (f"the target does not depend on the source: no path in what this tape "
                f"recorded leads from the source to the target. {read}{side}\n"
                f"What to do: compute the target from the source inside the tape's `with` "
                f"block; if None is expected there, pass unconnected_gradients='zero' (or "
                f"leave the source out of the list).")
    path, at = [], id(target)
    while at in came_from:
        r = records[came_from[at]]
        path.append(r["name"])
        at = next((x for x in r["inputs"] if x in reach and (x in came_from or
                                                              x == id(source))), None)
    path = path[::-1]
    shown = " → ".join(path if len(path) <= 8 else path[:4] + ["…"] + path[-3:])
    return (f"the gradient is not None: the target depends on the source through "
            f"{len(path)} recorded node{'s' if len(path) != 1 else ''} ({shown}).\n"
            f"What to do: nothing here; if tape.gradient still gave None, check that you "
            f"passed this tape, this target and this source.")
