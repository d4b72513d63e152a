"""``GradientTape``: automatic differentiation, recorded as the code runs.

Inside ``with GradientTape() as tape:`` every op on a watched tensor is
written down as a node: the op, its inputs, its outputs. ``tape.gradient(L,
w)`` then walks the nodes backwards, from the last to the first, and applies
the chain rule at each one::

    ∂L/∂x  =  Σ over the nodes that read x of   op.backward(∂L/∂output)

That is the whole algorithm (DeZero's, *Deep Learning from Scratch 3*, and
TensorFlow's). The nodes were written in the order they ran, so walking them in
reverse visits every output before the inputs that made it.

    >>> import glassnet as tf
    >>> x = tf.Variable(3.0)
    >>> with tf.GradientTape() as tape:
    ...     y = x * x
    >>> float(tape.gradient(y, x))
    6.0

Each op's ``backward`` is written with ops too, so when an outer tape is
recording, it records the inner tape's backward, and the outer tape's gradient
is a second derivative. A layer called under a tape is one node whose
backward is the layer's own ``backward`` (see ``glassnet.ops.function``).

The rules, TensorFlow's (``backprop.py``):

- trainable variables read inside the tape are watched on their own
  (``watch_accessed_variables=True``); other tensors need ``tape.watch``;
- a source the target does not depend on gets ``None`` (zeros with
  ``unconnected_gradients="zero"``);
- a non-scalar target gets the gradient of its sum;
- integer tensors carry no gradient;
- a tape that is not ``persistent`` answers ``gradient`` once.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np

from glassnet import graph

__all__ = ["GradientTape", "recording", "paused", "record"]

_active = []   # the tapes whose ``with`` block is open, innermost last
_pause = [0]   # > 0 while a layer's own forward runs (its inner NumPy is not recorded)


def recording():
    """Whether any tape records right now (the fast path's test)."""
    return bool(_active) and not _pause[0]


@contextlib.contextmanager
def paused():
    """Run code whose NumPy arithmetic must not be recorded (a layer's own
    forward inside its node)."""
    _pause[0] += 1
    try:
        yield
    finally:
        _pause[0] -= 1


@contextlib.contextmanager
def only(*tapes):
    """Run code with ``tapes`` as the only active ones (none: nothing
    records): a Keras-style layer inside a model replays its own ops on a
    private tape, which no outer tape must see twice."""
    saved, saved_pause = list(_active), _pause[0]
    _active[:] = list(tapes)
    _pause[0] = 0
    try:
        yield
    finally:
        _active[:] = saved
        _pause[0] = saved_pause


class _Node:
    """One recorded op: what ran, on what, making what (output ids)."""

    __slots__ = ("op", "inputs", "outputs")

    def __init__(self, op, inputs, outputs):
        self.op, self.inputs, self.outputs = op, inputs, outputs


def _is_float(x):
    return np.dtype(x.dtype).kind in "fc"


def record(op, inputs, outputs):
    """Write the node (op, inputs → outputs) on every recording tape that
    watches one of its inputs; return whether any did (then the op keeps its
    inputs and outputs for backward)."""
    from glassnet.variables import Variable

    recorded = False
    for tape in _active:
        if not tape._recording:
            continue
        watched = tape._watched
        hit = False
        for x in inputs:
            if id(x) in watched:
                hit = True
            elif (tape._watch_accessed and type(x) is Variable and x.trainable
                  and _is_float(x)):
                tape._watch_one(x)  # a trainable variable read under the tape
                hit = True
        if hit:
            for y in outputs:
                if _is_float(y):  # integers carry no gradient
                    watched[id(y)] = y
            tape._nodes.append(_Node(op, inputs, [id(y) for y in outputs]))
            recorded = True
    return recorded


class GradientTape:
    """Record operations for automatic differentiation (TensorFlow's
    ``tf.GradientTape``): ``persistent``, ``watch_accessed_variables``."""

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self._persistent = bool(persistent)
        self._watch_accessed = bool(watch_accessed_variables)
        self._nodes = []
        self._watched = {}      # id → tensor or variable (kept alive: ids stay unique)
        self._variables = []    # the watched variables, in order
        self._recording = False
        self._used = False
        self._entered = False

    # ------------------------------------------------------------ recording
    def __enter__(self):
        if self._entered:
            raise ValueError("GradientTape: this tape is already recording (a tape's `with` "
                             "block cannot be nested in itself)")
        self._entered = True
        self._recording = True
        _active.append(self)
        return self

    def __exit__(self, *exc):
        self._recording = False
        self._entered = False
        if self in _active:
            _active.remove(self)
        return False

    def _watch_one(self, x):
        from glassnet.variables import Variable

        if id(x) not in self._watched:
            self._watched[id(x)] = x
            if isinstance(x, Variable):
                self._variables.append(x)

    def watch(self, tensor):
        """Watch ``tensor`` (a Tensor, a Variable, or a nested structure of
        them): the gradient with respect to it can then be asked for."""
        from glassnet.tensor import Tensor
        from glassnet.variables import Variable

        for x in graph.flatten(tensor):
            if not isinstance(x, (Tensor, Variable)):
                raise ValueError(f"GradientTape.watch: only tensors and variables can be "
                                 f"watched; received {type(x).__name__} (use tf.constant(x) "
                                 f"first)")
            if not _is_float(x):
                warnings.warn(f"The dtype of the watched tensor must be floating (e.g. "
                              f"tf.float32), got {x.dtype.name}", UserWarning, stacklevel=2)
                continue
            self._watch_one(x)

    def watched_variables(self):
        """The variables this tape watched, in the order it first saw them."""
        return tuple(self._variables)

    @contextlib.contextmanager
    def stop_recording(self):
        """Run a block without recording it on this tape."""
        if not self._recording:
            raise ValueError("GradientTape.stop_recording: the tape is not recording (use it "
                             "inside the tape's `with` block)")
        self._recording = False
        try:
            yield
        finally:
            self._recording = True

    def reset(self):
        """Forget everything recorded so far (the tape keeps recording)."""
        self._skeleton = None
        self._nodes = []
        self._watched = {}
        self._variables = []
        self._used = False

    def _release(self):
        if not self._persistent:
            self._skeleton = self.records()
            self._watched_ids = set(self._watched)
            self._nodes = []
            self._watched = {}

    def records(self):
        """What this tape recorded, one dict per node, in order: ``name``
        (the op, or the layer's class and name), ``kind`` ("op" or
        "layer"), ``inputs``/``outputs`` (object ids) and their ``shapes``.
        A used non-persistent tape keeps these (no arrays) for
        ``glassnet.inspect.why_none`` and ``glassnet.plot.tape``."""
        if not self._nodes and getattr(self, "_skeleton", None) is not None:
            return self._skeleton
        out = []
        for node in self._nodes:
            op = node.op
            layer = getattr(op, "layer", None)
            out.append({
                "name": op.op_name, "kind": "layer" if layer is not None else "op",
                "inputs": [id(x) for x in node.inputs],
                "input_shapes": [tuple(np.shape(getattr(x, "_value", x))) for x in node.inputs],
                "input_names": [getattr(x, "path", None) for x in node.inputs],
                "outputs": list(node.outputs),
                "output_shapes": [tuple(o.shape) for o in op.outputs] if op.outputs else [],
            })
        return out

    def watched_ids(self):
        """The ids of every tensor and variable this tape watches or watched."""
        return set(self._watched) or set(getattr(self, "_watched_ids", ()))

    # ------------------------------------------------------------ gradients
    def gradient(self, target, sources, output_gradients=None,
                 unconnected_gradients="none"):
        """∂target/∂sources: ``sources`` in any nested structure (list, tuple,
        dict), and the result in the same structure; ``None`` for a source the
        target does not reach (zeros with ``unconnected_gradients="zero"``).
        A non-scalar target gets the gradient of its sum, or of Σ target ·
        ``output_gradients``."""
        if unconnected_gradients not in ("none", "zero", None) and \
                getattr(unconnected_gradients, "value", None) not in ("none", "zero"):
            raise ValueError(f"GradientTape.gradient: unconnected_gradients must be 'none' or "
                             f"'zero'; received {unconnected_gradients!r}")
        zero = "zero" in (unconnected_gradients, getattr(unconnected_gradients, "value", None))
        if self._used and not self._persistent:
            raise RuntimeError("A non-persistent GradientTape can only be used to compute one "
                               "set of gradients (or jacobians)")
        if self._recording and self._persistent:
            warnings.warn("Calling GradientTape.gradient on a persistent tape inside its "
                          "context is significantly less efficient than calling it outside "
                          "the context (it causes the gradient ops to be recorded on the "
                          "tape, leading to increased CPU and memory usage). Only call "
                          "GradientTape.gradient inside the context if you actually want "
                          "to trace the gradient in order to compute higher order "
                          "derivatives.", UserWarning, stacklevel=2)
        self._used = True
        flat_sources = graph.flatten(sources)
        targets = graph.flatten(target)
        for what, values in (("target", targets), ("source", flat_sources)):
            for x in values:  # TensorFlow's warning: integers carry no gradient
                if hasattr(x, "dtype") and np.dtype(x.dtype).kind not in "fc":
                    warnings.warn(f"The dtype of the {what} tensor must be floating (e.g. "
                                  f"tf.float32) when calling GradientTape.gradient, got "
                                  f"{np.dtype(x.dtype).name}", UserWarning, stacklevel=2)
        seeds = [None] * len(targets) if output_gradients is None else \
            graph.flatten(output_gradients)
        if len(seeds) != len(targets):
            raise ValueError(f"GradientTape.gradient: {len(targets)} targets but "
                             f"{len(seeds)} output_gradients")
        try:
            grads = self._backward(targets, seeds, flat_sources)
        finally:
            self._release()
        result = []
        for s, g in zip(flat_sources, grads):
            if g is None and zero:
                from glassnet.ops import array_ops
                g = array_ops.zeros_like(s)
            result.append(g)
        return graph.pack_like(sources, result)

    def _backward(self, targets, seeds, sources):
        """The walk: seed ∂L/∂target, then each node from the last, the chain
        rule at each; the gradients of the sources."""
        from glassnet.ops import function

        for s in sources:
            if not hasattr(s, "dtype") or not hasattr(s, "shape"):
                raise ValueError(f"GradientTape.gradient: a source must be a tensor or a "
                                 f"variable; received {type(s).__name__}")
        source_ids = {id(s) for s in sources}
        # which tensors lie on a path from a source (forward, in recording order)
        reach = set(source_ids)
        needed = []
        for node in self._nodes:
            if any(id(x) in reach for x in node.inputs):
                reach.update(node.outputs)
                needed.append(node)
        grads = {}
        for t, seed in zip(targets, seeds):
            if id(t) not in reach:
                continue
            g = function.ones_like_value(t) if seed is None else function.as_tensor(seed)
            grads[id(t)] = g if id(t) not in grads else grads[id(t)] + g
        was = self._recording
        self._recording = False  # a tape does not record its own backward
        try:
            for node in reversed(needed):
                gys = [grads.pop(i, None) if i not in source_ids else grads.get(i)
                       for i in node.outputs]
                if all(g is None for g in gys):
                    continue
                wants = [id(x) in reach for x in node.inputs]
                gxs = node.op.backward_node(gys, wants)
                for x, gx, want in zip(node.inputs, gxs, wants):
                    if gx is None or not want:
                        continue
                    gx = function.sum_to(gx, x.shape)  # broadcasting, undone in one place
                    key = id(x)
                    grads[key] = gx if key not in grads else grads[key] + gx
        finally:
            self._recording = was
        out = []
        for s in sources:
            g = grads.get(id(s))
            if g is not None and g.dtype != s.dtype and _is_float(s):
                from glassnet.ops import math_ops
                g = math_ops.cast(g, s.dtype)
            out.append(g)
        return out

    def jacobian(self, target, sources, unconnected_gradients="none",
                 parallel_iterations=None, experimental_use_pfor=True):
        """∂target[i]/∂source[j] for every element pair: shape
        target.shape + source.shape, for each source (nested as given)."""
        from glassnet.ops import array_ops

        if self._used and not self._persistent:
            raise RuntimeError("A non-persistent GradientTape can only be used to compute one "
                               "set of gradients (or jacobians)")
        self._used = True
        flat_sources = graph.flatten(sources)
        t = graph.flatten(target)[0]
        size = int(np.prod(t.shape))
        rows = [[] for _ in flat_sources]
        try:
            for i in range(size):
                seed = np.zeros(size, dtype=t.dtype)
                seed[i] = 1
                grads = self._backward([t], [seed.reshape(t.shape)], flat_sources)
                for k, (s, g) in enumerate(zip(flat_sources, grads)):
                    rows[k].append(g)
        finally:
            self._release()
        result = []
        for s, gs in zip(flat_sources, rows):
            if all(g is None for g in gs):
                result.append(None if unconnected_gradients in ("none", None) else
                              array_ops.zeros(tuple(t.shape) + tuple(s.shape), dtype=s.dtype))
                continue
            gs = [array_ops.zeros_like(s) if g is None else g for g in gs]
            result.append(array_ops.reshape(array_ops.stack(gs),
                                            tuple(t.shape) + tuple(s.shape)))
        return graph.pack_like(sources, result)

    def batch_jacobian(self, target, source, unconnected_gradients="none",
                       parallel_iterations=None, experimental_use_pfor=True):
        """∂target[b, i]/∂source[b, j] for each example b: shape
        (batch,) + target.shape[1:] + source.shape[1:] (samples independent)."""
        from glassnet.ops import array_ops

        if self._used and not self._persistent:
            raise RuntimeError("A non-persistent GradientTape can only be used to compute one "
                               "set of gradients (or jacobians)")
        self._used = True
        if target.shape[0] != source.shape[0]:
            raise ValueError(f"GradientTape.batch_jacobian: target and source need the same "
                             f"batch size; received {tuple(target.shape)} and "
                             f"{tuple(source.shape)}")
        batch = target.shape[0]
        inner = int(np.prod(target.shape[1:]))
        columns = []
        try:
            for i in range(inner):
                seed = np.zeros((batch, inner), dtype=target.dtype)
                seed[:, i] = 1
                g = self._backward([target], [seed.reshape(target.shape)], [source])[0]
                columns.append(g)
        finally:
            self._release()
        if all(g is None for g in columns):
            if unconnected_gradients in ("none", None):
                return None
            return array_ops.zeros((batch,) + tuple(target.shape[1:]) + tuple(source.shape[1:]),
                                   dtype=source.dtype)
        columns = [array_ops.zeros_like(source) if g is None else g for g in columns]
        stacked = array_ops.stack(columns, axis=1)  # (batch, inner, *source[1:])
        return array_ops.reshape(stacked, (batch,) + tuple(target.shape[1:]) +
                                 tuple(source.shape[1:]))

    def __repr__(self):
        return (f"<GradientTape persistent={self._persistent}, {len(self._nodes)} nodes, "
                f"{len(self._watched)} watched>")


def function(func=None, input_signature=None, autograph=True, jit_compile=None,
             reduce_retracing=False, experimental_compile=None, **kwargs):
    """``tf.function``: glassnet runs eagerly, so the function runs as it is
    (bare ``@tf.function`` or ``@tf.function(jit_compile=True)`` alike)."""
    if func is None:
        return lambda f: f
    return func
