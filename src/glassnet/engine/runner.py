"""The runner: the one walk over a model's graph, forward and backward.

Forward runs the steps in order (each a layer's node, or a fused pair),
passing each its inputs, its training mode, and (where masks flow) its mask;
a shared layer's call keeps what its forward remembered. Backward runs them in
reverse: each step's own backward turns ∂L/∂output into ∂L/∂input, and where a
tensor fans out, the gradients add up. ``fit``, a model called under a
``GradientTape``, ``glassnet.inspect`` and ``glassnet.gradcheck`` all run
this walk; nothing else walks the graph.
"""

from __future__ import annotations

import collections

import numpy as np

from glassnet import graph, utils
from glassnet.engine.plan import FUSIONS, BackwardPlan, Step

__all__ = ["Runner"]


class Runner:
    """The forward/backward walk (mixed into the engine)."""

    def _plan_steps(self, fuse=True):
        """The forward steps: one per node, or one for a pair that a fusion
        takes (a Conv2D + MaxPooling2D where nothing else reads the
        convolution's output). ``fuse=False``: one step per node, always
        (inspect, which shows every layer's output)."""
        fuse = fuse and self._fusion
        cached = self._steps if fuse else self.__dict__.get("_unfused_steps")
        if cached is not None:
            return cached
        nodes = self._nodes
        consumers = collections.defaultdict(list)
        for node in nodes:
            for tensor in node.input_tensors:
                consumers[id(tensor)].append(node)
        calls = collections.Counter(node.operation for node in nodes)
        output_ids = {id(t) for t in self.outputs}
        steps, fused_away = [], set()
        for node in nodes:
            if node in fused_away:
                continue
            layer = node.operation
            readers = consumers[id(node.outputs[0])]
            fusion = None
            if (fuse and len(node.outputs) == 1 and id(node.outputs[0]) not in output_ids
                    and len(readers) == 1 and calls[layer] == 1
                    and calls[readers[0].operation] == 1):
                fusion = next((f for f in FUSIONS if f.applies(layer, readers[0].operation)),
                              None)
            if fusion is not None:
                second = readers[0]
                fused_away.add(second)
                step = Step(fusion(layer, second.operation), [layer, second.operation],
                            [id(node.input_tensors[0])], [id(second.outputs[0])], True,
                            [second.outputs[0].shape])
            else:
                step = Step(layer, [layer], [id(t) for t in node.input_tensors],
                            [id(t) for t in node.outputs],
                            not isinstance(node.arguments, (list, tuple, dict)),
                            [t.shape for t in node.outputs])
                step.shared = calls[layer] > 1
                step.training = node.training
                step.mask_in = node.input_masked
                step.mask_out = [t._keras_masked for t in node.outputs]
                step.takes_mask = any(graph.flatten(node.input_masked)) and layer.uses_mask()
            steps.append(step)
        if fuse:
            self._steps = steps
        else:
            self._unfused_steps = steps
        self._masked = any(any(graph.flatten(step.mask_in)) or any(step.mask_out)
                           for step in steps)
        return steps

    def _plan(self, input_grad):
        """The backward plan, remade when a trainable flag or the graph changes."""
        key = (bool(input_grad), utils.trainable_version[0])
        plan = self._plans.get(key[0])
        if plan is None or plan.key != key:
            plan = BackwardPlan(self._plan_steps(), [id(t) for t in self.inputs], input_grad)
            plan.key = key
            self._plans[key[0]] = plan
        return plan

    def _invalidate_plan(self):
        self._steps = None
        self._unfused_steps = None
        self._plans = {}

    # ------------------------------------------------------------ running
    def _run_forward(self, flat_inputs, training, observe=None):
        """The outputs for one batch: each step in order, given its inputs,
        its mode (``training``, unless the node was called with its own), and
        where masks flow its mask (Keras's rule: a step's output mask comes
        from its layer's ``compute_mask`` of the first input's mask;
        ``self.output_masks`` holds the outputs' masks). ``observe(step,
        output)``, if given, sees every layer's output (one step per layer)."""
        steps = self._plan_steps(fuse=observe is None)
        masked = self._masked
        values = {id(t): x for t, x in zip(self.inputs, flat_inputs)}
        masks = {}
        states = self._states
        self._activity_penalty = 0.0  # the layers' activity_loss(), each call's
        for step in steps:
            mode = training if step.training is None else step.training
            x = values[step.inputs[0]] if step.single_input else \
                [values[i] for i in step.inputs]
            if masked:
                mask = masks.get(step.inputs[0]) if step.single_input else \
                    [masks.get(i) for i in step.inputs]
            out = step.forward(x, mode, mask=mask) if step.takes_mask else step.forward(x, mode)
            if step.multi_output:
                for i, value in zip(step.outputs, graph.flatten(out)):
                    values[i] = value
            else:
                values[step.outputs[0]] = out
            if masked and any(step.mask_out):
                out_masks = step.layer.compute_mask(x, mask)
                out_masks = out_masks if isinstance(out_masks, list) else [out_masks]
                out_masks = [None if m is None else np.asarray(getattr(m, "_value", m))
                             for m in out_masks]  # a layer's own compute_mask: a Tensor
                for i, m, flag in zip(step.outputs, out_masks, step.mask_out):
                    if flag and m is not None:
                        masks[i] = m
            penalty = step.layer.activity_loss()
            if penalty:
                self._activity_penalty += penalty
            if step.shared and training:
                states[(id(step), step.outputs[0])] = step.layer._call_state()
            if observe is not None:
                observe(step, out)
        if masked:
            self.output_masks = [masks.get(id(t)) for t in self.outputs]
        return [values[id(t)] for t in self.outputs]

    def activity_loss(self):
        """The activity penalties of the last forward (ActivityRegularization's,
        in this model and the models inside it), summed over every call."""
        return self.__dict__.get("_activity_penalty", 0.0)

    def _run_backward(self, output_grads, z_grads, input_grad):
        """Backward from ``output_grads`` ({tensor id: ∂L/∂tensor}) and
        ``z_grads`` ({step: ∂L/∂z} for outputs whose loss was fused with
        softmax/sigmoid); returns ∂L/∂inputs (None where not computed)."""
        plan = self._plan(input_grad)
        grads = dict(output_grads)
        runs = None
        if plan.shared_ids:  # weights that several calls write: their gradients add up
            runs = collections.Counter()
            for _, _, _, shared in plan.backward:
                for v in shared:
                    v.grad[...] = 0
        for step, input_needs, need_any, shared in plan.backward:
            if step in z_grads:
                grad_in = step.layer.backward_from_z(z_grads[step], need_any)
                step.collect_gradients()
            else:
                if step.multi_output:
                    incoming = [grads.pop(i, None) for i in step.outputs]
                    if all(g is None for g in incoming):
                        continue
                    batch = len(next(g for g in incoming if g is not None))
                    incoming = [np.zeros((batch,) + tuple(shape[1:]), dtype=self.dtype)
                                if g is None else g
                                for g, shape in zip(incoming, step.output_shapes)]
                else:
                    incoming = grads.pop(step.outputs[0], None)
                    if incoming is None:
                        continue
                if step.shared:
                    step.layer._restore_call_state(self._states[(id(step), step.outputs[0])])
                saved = [(v, v.grad.copy()) for v in shared]
                grad_in = step.backward(incoming, need_any)
                step.collect_gradients()
                for v, before in saved:
                    v.grad += before
                    if runs[id(v)] and v.regularizer is not None:
                        v.grad -= v.regularizer.gradient(v.value)  # counted once, not per call
                    runs[id(v)] += 1
            if not need_any or grad_in is None:
                continue
            if step.single_input:
                i = step.inputs[0]
                grads[i] = grad_in if i not in grads else grads[i] + grad_in
                continue
            for i, g, need in zip(step.inputs, grad_in, input_needs):
                if need and g is not None:
                    grads[i] = g if i not in grads else grads[i] + g
        return [grads.get(id(t)) for t in self.inputs]

    def _pack_outputs(self, flat):
        return graph.pack_like(self._outputs_struct, flat) if not (
            isinstance(self._outputs_struct, (list, tuple)) and len(flat) == 1
        ) else flat[0]
