"""What the runner runs: one ``Step`` per node of the graph, or one for a
fused pair (``FUSIONS``), and the backward plan (``BackwardPlan``): which
steps backward must visit and which input gradients it may skip. This is the
engine's private business: no layer's public method changes because of it."""

from __future__ import annotations

import collections

import numpy as np

from glassnet.layers import fused

__all__ = ["Step", "BackwardPlan", "FUSIONS"]

# fusions: classes with applies(layer, reader) and a forward/backward of the pair
FUSIONS = (fused.Conv2DMaxPooling,)


class Step:
    """One thing the engine runs: a layer's node, or two nodes fused."""

    def __init__(self, runner, layers, inputs, outputs, single_input, output_shapes):
        self.runner = runner
        self.layers = layers
        self.layer = layers[0]
        self.inputs = inputs          # ids of the tensors it reads
        self.outputs = outputs        # ids of the tensors it writes
        self.single_input = single_input
        self.multi_output = len(outputs) > 1
        self.output_shapes = output_shapes
        self.shared = False
        self.training = None  # set: the node was called with training= (Keras's fixed mode)
        self.mask_in, self.mask_out, self.takes_mask = False, [False], False
        # the layer's forward without the wrapper that builds it and checks shapes on
        # each call: the graph was built, and its shapes checked, when it was made
        wrapped = getattr(runner.forward, "__wrapped__", None)
        self.forward = wrapped.__get__(runner) if wrapped else runner.forward
        self.backward = getattr(runner, "_backward", None) or runner.backward
        # (layer, weight) pairs whose gradient the layer itself names grad_<name>
        self.owned = [(layer, v) for layer in layers for v in layer._trainable_variables
                      if v._owner is layer]

    def collect_gradients(self):
        """A book-style backward may assign ``self.grad_w = …`` (a new array)
        instead of filling the one it was given: copy such a gradient into
        the engine's vector, so that it is never silently lost."""
        for layer, v in self.owned:
            g = layer.__dict__.get("grad_" + v.name)
            if g is not None and g is not v.grad and v.grad is not None:
                if np.shape(g) != v.shape:
                    raise ValueError(f"Layer {layer.name!r}: backward set grad_{v.name} of "
                                     f"shape {np.shape(g)}; the weight has shape {v.shape}")
                v.grad[...] = g
                layer.__dict__["grad_" + v.name] = v.grad

    def trainable_variables(self):
        seen, found = set(), []
        for layer in self.layers:
            for v in layer.trainable_weights:
                if id(v) not in seen:
                    seen.add(id(v))
                    found.append(v)
        return found

    def __repr__(self):
        return f"<Step {'+'.join(layer.name for layer in self.layers)}>"


class BackwardPlan:
    """What backward runs for one setting of "input gradient wanted"."""

    def __init__(self, steps, input_ids, input_grad):
        needs = {i: input_grad for i in input_ids}
        self.backward = []
        for step in steps:
            variables = step.trainable_variables()
            input_needs = [needs.get(i, False) for i in step.inputs]
            run = bool(variables) or any(input_needs)
            for i in step.outputs:
                needs[i] = run
            if run:
                self.backward.append((step, input_needs, any(input_needs), variables))
        self.backward.reverse()
        counts = collections.Counter(id(v) for _, _, _, vs in self.backward for v in vs)
        self.shared_ids = {i for i, c in counts.items() if c > 1}
        # each entry: (step, which inputs need ∂L/∂input, any of them, its shared weights)
        self.backward = [(step, inputs, any_input, [v for v in vs if id(v) in self.shared_ids])
                         for step, inputs, any_input, vs in self.backward]
