"""The training engine: compile / fit / evaluate / predict / *_on_batch, for
every model (Sequential is the chain case of the same graph).

One training step on a batch (x, y) is the whole of deep learning:

    outputs = the graph's nodes run in order        (forward, training=True)
    loss, g = Σ per-output losses, ∂loss/∂outputs
    the nodes run in reverse, each one's backward    (gradients summed where a
                                                      tensor fans out)
    optimizer.apply(params, grads)

The plan is the engine's own business; no layer's public method changes:

1. All trainable weights live in one float32 vector (each Variable's values a
   view into it) and all gradients in another, so the optimizer updates
   everything in a few in-place passes.
2. When an output layer ends in softmax (or sigmoid) and its loss is
   cross-entropy on probabilities, the loss is computed from the logits z,
   and backward starts from ∂loss/∂z = p - y (exact and stable).
3. A Conv2D (relu or linear) whose output only a MaxPooling2D reads runs with
   it as one fused step (glassnet/layers/fused.py): the same numbers, 4x less
   work.
4. Backward runs only where a gradient is needed: from the losses down to the
   last layer with trainable weights (not for a Rescaling at the bottom, not
   for the data itself, unless ``model.input_gradient_wanted``).
5. A layer used at several places (a shared layer) keeps what each call's
   forward remembered, and its weight gradients are summed over the calls.
"""

from __future__ import annotations

import collections
import math
import time
import warnings

import numpy as np

from glassnet import callbacks as callbacks_module
from glassnet import graph, losses, metrics as metrics_module, optimizers, utils
from glassnet.layers import fused

__all__ = ["Engine"]


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer; received {value!r}")
    return int(value)


def _verbose(value, default):
    if value == "auto":
        return default
    if value not in (0, 1, 2, True, False):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2; received {value!r}")
    return int(value)


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


class _Plan:
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


class _Data:
    """Arrays of one fit/evaluate call: inputs, targets (None where an output
    has no loss) and sample weights, all with the same number of samples."""

    def __init__(self, xs, ys, weights, n):
        self.xs, self.ys, self.weights, self.n = xs, ys, weights, n

    def take(self, index):
        """The samples at ``index`` (a slice, or an array of positions)."""
        return _Data([x[index] for x in self.xs],
                     [None if y is None else y[index] for y in self.ys],
                     None if self.weights is None else [None if w is None else w[index]
                                                        for w in self.weights],
                     len(range(self.n)[index]) if isinstance(index, slice) else len(index))

    def split(self, at):
        return self.take(slice(0, at)), self.take(slice(at, self.n))


def _per_output(spec, names, what, list_of_one_is_a_value=False):
    """``spec`` for each output: a dict by output name, a list with one entry
    per output, or one value for every output. With ``list_of_one_is_a_value``
    (targets, weights) a list given to a one-output model is its value."""
    if isinstance(spec, dict):
        unknown = sorted(set(spec) - set(names))
        if unknown:
            raise ValueError(f"{what} has keys {unknown} that are not output names of the "
                             f"model; its outputs are {names}")
        return [spec.get(name) for name in names]
    if isinstance(spec, (list, tuple)) and (len(names) > 1 or not list_of_one_is_a_value):
        if len(spec) != len(names):
            raise ValueError(f"{what} is a list of {len(spec)}, but the model has "
                             f"{len(names)} output(s) {names}")
        return list(spec)
    return [spec] * len(names)


class _CompiledLoss:
    """The losses of every output, their weights, and their names (Keras's
    CompileLoss): ``total = Σ weightᵢ · lossᵢ``."""

    def __init__(self, loss, loss_weights, output_names):
        per_output = _per_output(loss, output_names, "compile: loss")
        if loss_weights is not None and not isinstance(loss_weights, (dict, list, tuple)) \
                and len(output_names) > 1:
            raise ValueError("compile: for several outputs, loss_weights is a list or a dict")
        weights = _per_output(1.0 if loss_weights is None else loss_weights, output_names,
                              "compile: loss_weights")
        weights = [1.0 if w is None else w for w in weights]
        resolved = {}
        self.entries = []  # (output index, name, Loss, weight)
        for index, (spec, weight) in enumerate(zip(per_output, weights)):
            if spec is None:
                continue
            key = id(spec)
            if key not in resolved:
                resolved[key] = losses.get(spec)
            self.entries.append((index, output_names[index], resolved[key], float(weight)))
        if not self.entries:
            raise ValueError("compile: no loss for any output")
        self.several = len(self.entries) > 1


class _CompiledMetrics:
    """The metrics of every output (Keras's CompileMetrics), built on the
    first data, when the target shapes decide what "accuracy" means."""

    def __init__(self, metrics, weighted_metrics, output_names):
        self.specs = (metrics, weighted_metrics)
        self.output_names = output_names
        self.built = False
        self.entries = []  # (output index, log name, Metric, weighted)

    def _per_output(self, spec):
        names, count = self.output_names, len(self.output_names)
        if spec is None or spec == []:
            return [[] for _ in names]
        if isinstance(spec, dict):
            unknown = sorted(set(spec) - set(names))
            if unknown:
                raise ValueError(f"compile: metrics has keys {unknown} that are not output "
                                 f"names of the model; its outputs are {names}")
            return [_as_list(spec.get(name)) for name in names]
        if isinstance(spec, (list, tuple)):
            if count > 1 and len(spec) == count:
                return [_as_list(s) for s in spec]
            flat = [m for s in spec for m in _as_list(s)]
            return [list(flat) for _ in names]
        return [[spec] for _ in names]

    def build(self, y_shapes, output_shapes):
        taken = collections.Counter()
        for weighted, spec in ((False, self.specs[0]), (True, self.specs[1])):
            for index, specs in enumerate(self._per_output(spec)):
                if specs and y_shapes[index] is None:
                    raise ValueError(f"metrics for output {self.output_names[index]!r} need its "
                                     f"targets; y has none for it")
                for identifier in specs:
                    metric = metrics_module.for_compile(identifier, y_shapes[index],
                                                        output_shapes[index])
                    name = metric.name
                    if len(self.output_names) > 1:
                        name = f"{self.output_names[index]}_{name}"
                    if taken[name]:
                        name = (f"weighted_{name}" if weighted and not taken[f"weighted_{name}"]
                                else f"{name}_{taken[name]}")
                    taken[name] += 1
                    self.entries.append((index, name, metric, weighted))
        self.built = True

    def reset(self):
        for _, _, metric, _ in self.entries:
            metric.reset_state()


def _as_list(spec):
    if spec is None:
        return []
    return list(spec) if isinstance(spec, (list, tuple)) else [spec]


class Engine:
    """compile / fit / evaluate / predict for a model whose graph is
    ``self.inputs``, ``self.outputs`` and ``self._nodes`` (glassnet.models)."""

    def _init_engine(self):
        self.optimizer = None
        self.loss = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        self.input_gradient_wanted = False  # True: backward also computes ∂loss/∂x
        self.input_gradient = None
        self._compiled_loss = None
        self._compiled_metrics = None
        self._compile_args = None
        self._trackers = {}
        self._steps = None
        self._plans = {}
        self._packed = None
        self._params = self._grads = None
        self._layout = None
        self._states = {}
        self._fusion = True  # tests switch it off to compare with the layers one by one

    # ------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True):
        """Choose how to learn: the optimizer (name or object), the loss (a
        name, a Loss, or one per output as a list or dict), ``loss_weights``,
        and ``metrics`` (e.g. ``["accuracy"]``, or per output). glassnet
        always runs eagerly in NumPy, so ``run_eagerly`` and ``jit_compile``
        change nothing."""
        if steps_per_execution != 1:
            raise NotImplementedError(f"compile: steps_per_execution={steps_per_execution!r} is "
                                      f"not implemented in glassnet (only 1)")
        if isinstance(metrics, str) or (metrics is not None and not isinstance(
                metrics, (list, tuple, dict))):
            metrics = [metrics]
        for spec in (metrics, weighted_metrics):
            for identifier in graph.flatten(spec if isinstance(spec, (list, tuple, dict))
                                            else [spec]):
                if identifier is not None:
                    if isinstance(identifier, str) and identifier.lower() in ("accuracy",
                                                                                "acc"):
                        continue
                    metrics_module.get(identifier)  # fail now on an unknown name
        if loss is not None:
            for spec in graph.flatten(loss if isinstance(loss, (list, tuple, dict)) else [loss]):
                if spec is not None:
                    losses.get(spec)
        self.optimizer = optimizers.get(optimizer)
        self.loss = loss
        self._compile_args = (loss, loss_weights, metrics, weighted_metrics)
        self._compiled_loss = self._compiled_metrics = None
        self.compiled = True
        if getattr(self, "built", False) and self.outputs is not None:
            self._build_compiled()

    def _build_compiled(self):
        loss, loss_weights, metrics, weighted = self._compile_args
        names = self.output_names
        self._compiled_loss = None if loss is None else _CompiledLoss(loss, loss_weights, names)
        self._compiled_metrics = _CompiledMetrics(metrics, weighted, names)
        self._trackers = {"loss": metrics_module.Mean(name="loss")}
        if self._compiled_loss is not None and self._compiled_loss.several:
            for _, name, _, _ in self._compiled_loss.entries:
                self._trackers[f"{name}_loss"] = metrics_module.Mean(name=f"{name}_loss")

    def _require_compiled(self, what, need_loss=True):
        if not self.compiled:
            raise ValueError(f"{what} needs compile() first, e.g. model.compile("
                             f"optimizer='adam', loss='sparse_categorical_crossentropy', "
                             f"metrics=['accuracy'])")
        if self._compiled_loss is None and self._compile_args is not None and self.built:
            self._build_compiled()
        if need_loss and self._compiled_loss is None:
            raise ValueError(f"{what} needs a loss: compile(loss=...) with one of "
                             f"{', '.join(losses.names())}")

    @property
    def metrics(self):
        """The loss trackers and the compiled metrics (Keras's ``model.metrics``)."""
        found = list(self._trackers.values())
        if self._compiled_metrics is not None:
            found += [m for _, _, m, _ in self._compiled_metrics.entries]
        return found

    @property
    def metrics_names(self):
        names = list(self._trackers)
        if self._compiled_metrics is not None:
            names += [name for _, name, _, _ in self._compiled_metrics.entries]
        return names

    def reset_metrics(self):
        for tracker in self._trackers.values():
            tracker.reset_state()
        if self._compiled_metrics is not None:
            self._compiled_metrics.reset()

    # ------------------------------------------------------------ the plan
    def _plan_steps(self):
        """The forward steps: one per node, a Conv2D + MaxPooling2D pair
        fused where nothing else reads the convolution's output."""
        if self._steps is not None:
            return self._steps
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
            if (self._fusion and len(node.outputs) == 1 and id(node.outputs[0]) not in output_ids
                    and len(readers) == 1 and calls[layer] == 1
                    and calls[readers[0].operation] == 1
                    and fused.Conv2DMaxPooling.applies(layer, readers[0].operation)):
                pool_node = readers[0]
                fused_away.add(pool_node)
                step = Step(fused.Conv2DMaxPooling(layer, pool_node.operation),
                            [layer, pool_node.operation], [id(node.input_tensors[0])],
                            [id(pool_node.outputs[0])], True, [pool_node.outputs[0].shape])
            else:
                step = Step(layer, [layer], [id(t) for t in node.input_tensors],
                            [id(t) for t in node.outputs],
                            not isinstance(node.arguments, (list, tuple, dict)),
                            [t.shape for t in node.outputs])
                step.shared = calls[layer] > 1
                step.training = node.training
                step.mask_in = node.input_masked
                step.mask_out = [t._keras_masked for t in node.outputs]
                step.takes_mask = bool(node.input_masked) and layer.uses_mask()
            steps.append(step)
        self._steps = steps
        self._masked = any(any(graph.flatten(step.mask_in)) or any(step.mask_out)
                           for step in steps)
        return steps

    def _plan(self, input_grad):
        """The backward plan, remade when a trainable flag or the graph changes."""
        key = (bool(input_grad), utils.trainable_version[0])
        plan = self._plans.get(key[0])
        if plan is None or plan.key != key:
            plan = _Plan(self._plan_steps(), [id(t) for t in self.inputs], input_grad)
            plan.key = key
            self._plans[key[0]] = plan
        return plan

    def _invalidate_plan(self):
        self._steps = None
        self._plans = {}

    # ------------------------------------------------------------ weights
    def _pack(self):
        """Move every trainable weight (and its gradient) into one contiguous
        vector, leaving each Variable a view into it. A weight another model
        packed since (a shared layer) is moved back, values kept."""
        variables = self.trainable_weights
        packed = self._packed
        if packed is not None and len(packed) == len(variables) and all(
                v is w and v._value is view for v, (w, view) in zip(variables, packed)):
            return
        if not variables:
            self._params = self._grads = np.zeros(0, dtype=self.dtype)
            self._packed, self._layout = [], []
            return
        dtypes = {v.dtype for v in variables}
        if len(dtypes) > 1:
            raise ValueError(f"Model {self.name!r} mixes weight dtypes {sorted(map(str, dtypes))}; "
                             f"give all its layers one dtype")
        dtype = dtypes.pop()
        total = sum(v.size for v in variables)
        params = np.empty(total, dtype=dtype)
        grads = np.zeros(total, dtype=dtype)
        packed, layout, offset = [], [], 0
        for v in variables:
            view = params[offset:offset + v.size].reshape(v.shape)
            view[...] = v._value
            v._value = view
            v.grad = grads[offset:offset + v.size].reshape(v.shape)
            packed.append((v, view))
            layout.append((offset, v.size))
            offset += v.size
        self._params, self._grads, self._packed, self._layout = params, grads, packed, layout

    # ------------------------------------------------------------ running
    def _run_forward(self, flat_inputs, training):
        steps = self._plan_steps()
        if self._masked:
            return self._run_forward_masked(flat_inputs, training)
        values = {id(t): x for t, x in zip(self.inputs, flat_inputs)}
        states = self._states
        for step in steps:
            mode = training if step.training is None else step.training
            if step.single_input:
                out = step.forward(values[step.inputs[0]], mode)
            else:
                out = step.forward([values[i] for i in step.inputs], mode)
            if step.multi_output:
                for i, value in zip(step.outputs, graph.flatten(out)):
                    values[i] = value
            else:
                values[step.outputs[0]] = out
            if step.shared and training:
                states[(id(step), step.outputs[0])] = step.layer._call_state()
        return [values[id(t)] for t in self.outputs]

    def _run_forward_masked(self, flat_inputs, training):
        """``_run_forward`` where masks flow: each step's output mask comes from
        its layer's ``compute_mask`` (Keras's rule: from the first input's
        mask), and the layers that read masks get theirs as ``mask=``.
        ``self.output_masks`` holds the outputs' masks (None where none)."""
        values = {id(t): x for t, x in zip(self.inputs, flat_inputs)}
        masks = {}
        states = self._states
        for step in self._plan_steps():
            mode = training if step.training is None else step.training
            x = values[step.inputs[0]] if step.single_input else \
                [values[i] for i in step.inputs]
            mask = masks.get(step.inputs[0]) if step.single_input else \
                [masks.get(i) for i in step.inputs]
            if step.takes_mask:
                out = step.forward(x, mode, mask=mask)
            else:
                out = step.forward(x, mode)
            outs = graph.flatten(out) if step.multi_output else [out]
            for i, value in zip(step.outputs, outs):
                values[i] = value
            if any(step.mask_out):
                out_masks = step.layer.compute_mask(x, mask)
                out_masks = out_masks if isinstance(out_masks, list) else [out_masks]
                for i, m, flag in zip(step.outputs, out_masks, step.mask_out):
                    if flag and m is not None:
                        masks[i] = m
            if step.shared and training:
                states[(id(step), step.outputs[0])] = step.layer._call_state()
        self.output_masks = [masks.get(id(t)) for t in self.outputs]
        return [values[id(t)] for t in self.outputs]

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

    # ------------------------------------------------------------ losses
    def _fused_steps(self):
        """{output index: step} where the loss works from the logits z."""
        found = {}
        if self._compiled_loss is None:
            return found
        steps = self._plan_steps()
        by_output = {step.outputs[0]: step for step in steps if not step.multi_output}
        readers = collections.Counter(i for step in steps for i in step.inputs)
        output_ids = [id(t) for t in self.outputs]
        for index, _, loss, _ in self._compiled_loss.entries:
            step = by_output.get(output_ids[index])
            layer = None if step is None else step.layer
            activation = getattr(layer, "activation", None)
            if (step is not None and not step.shared and len(step.layers) == 1
                    and loss.fused_activation and not loss.from_logits
                    and activation is not None and activation.name == loss.fused_activation
                    and hasattr(layer, "backward_from_z") and getattr(layer, "fusable", True)
                    and readers[output_ids[index]] == 0 and output_ids.count(output_ids[index]) == 1):
                found[index] = step
        return found

    def _losses(self, ys, outputs, weights, gradients):
        """(total loss, {name: loss}, {tensor id: grad}, {step: grad_z})."""
        compiled = self._compiled_loss
        fused_steps = self._fused
        total, values, grads, z_grads = 0.0, {}, {}, {}
        output_ids = [id(t) for t in self.outputs]
        masks = self.output_masks if self._masked else None
        for index, name, loss, weight in compiled.entries:
            y, w = ys[index], None if weights is None else weights[index]
            if masks is not None and masks[index] is not None:
                w = _mask_weights(masks[index], w, loss.reduction)
            step = fused_steps.get(index)
            if step is not None:
                logits = self._logits[id(loss)]
                source = step.layer.z
            else:
                logits, source = loss, outputs[index]
            if gradients:
                value, grad = logits.value_and_gradient(y, source, w)
                if weight != 1.0:
                    grad *= grad.dtype.type(weight)
                if step is not None:
                    z_grads[step] = grad
                else:
                    grads[output_ids[index]] = grad if output_ids[index] not in grads else \
                        grads[output_ids[index]] + grad
            else:
                value = logits.value(y, source, w)
            values[name] = value
            total += weight * value
        if self._has_regularizers:
            total += self._regularization_loss()
        return total, values, grads, z_grads

    def _regularization_loss(self):
        return float(sum(v.regularizer(v.value) for v in self.weights if v.regularizer))

    # ------------------------------------------------------------ training
    def _prepare(self):
        """Before fit, evaluate or a batch call: threads, packing, the plan,
        which losses fuse."""
        utils.prepare_threads()  # worker threads = BLAS threads; warm-up (see its docstring)
        self._pack()
        if self._compiled_loss is None and self._compile_args is not None:
            self._build_compiled()
        self._fused = self._fused_steps()
        self._logits = {id(loss): type(loss).from_config({**loss.get_config(),
                                                           "from_logits": True})
                        for index, _, loss, _ in (self._compiled_loss.entries
                                                  if self._compiled_loss else [])
                        if index in self._fused}
        self._has_regularizers = any(v.regularizer is not None for v in self.weights)
        self._input_dtypes = [_input_dtype(t, self.dtype) for t in self.inputs]

    def compute_gradients(self, x, y, sample_weight=None):
        """Forward (training mode), loss, backward: fills every weight's
        gradient and returns (loss including regularization, output).
        Skips backward when the loss is not finite. With
        ``model.input_gradient_wanted = True``, ∂loss/∂x is left in
        ``self.input_gradient``.

        Overflow on the way (a diverging run) raises no NumPy warning: it
        shows up as a non-finite loss, which ``fit`` reports and stops on."""
        self._prepare()
        xs = x if isinstance(x, list) else [x]
        ys = y if isinstance(y, list) else [y]
        weights = None if sample_weight is None else (
            sample_weight if isinstance(sample_weight, list) else [sample_weight] * len(ys))
        loss, _, outputs = self._gradient_step(xs, ys, weights)
        return loss, outputs[0] if len(outputs) == 1 else outputs

    def _gradient_step(self, xs, ys, weights, update=False):
        """Forward, loss, backward (and with ``update`` the optimizer's step),
        where a diverging run's overflow raises no warning: it shows up as a
        non-finite loss, which fit reports and stops on."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            self._states = {}
            outputs = self._run_forward(xs, training=True)
            total, values, grads, z_grads = self._losses(ys, outputs, weights, True)
            if math.isfinite(total):
                input_grads = self._run_backward(grads, z_grads, self.input_gradient_wanted)
                if self.input_gradient_wanted:
                    self.input_gradient = input_grads[0] if len(input_grads) == 1 else \
                        input_grads
                if update:
                    self.optimizer.step(self._params, self._grads, self._layout)
            self._states = {}
        return total, values, outputs

    def compute_loss(self, x, y, training=True, sample_weight=None):
        """The loss (including regularization) on one batch, without backward."""
        self._prepare()
        xs = x if isinstance(x, list) else [x]
        ys = y if isinstance(y, list) else [y]
        outputs = self._run_forward(xs, training=training)
        return self._losses(ys, outputs, None if sample_weight is None else [sample_weight] *
                            len(ys), False)[0]

    def train_step(self, data):
        """Keras's ``train_step(data)``: one step on the batch ``data = (x, y)``
        or ``(x, y, sample_weight)``; returns the logs (the loss and the
        metrics so far)."""
        if not isinstance(data, tuple) or len(data) not in (2, 3):
            raise ValueError("train_step takes data = (x, y) or (x, y, sample_weight)")
        self._prepare()
        batch = self._batch(self._data(data[0], data[1], data[2] if len(data) == 3 else None,
                                       None, "train_step"), slice(None))
        loss, values, outputs = self._train_batch(batch)
        if math.isfinite(loss):
            self._update_metrics(batch, loss, values, outputs)
        return self._logs()

    def _train_batch(self, data):
        """One step on one batch: forward, loss, backward, update. Returns the
        loss, the per-output losses and the outputs; a non-finite loss leaves
        the weights untouched."""
        return self._gradient_step(data.xs, data.ys, data.weights, update=True)

    def _update_metrics(self, data, loss, values, outputs):
        batch = data.n
        self._trackers["loss"].update_state(loss, sample_weight=batch)
        if self._compiled_loss.several:
            for name, value in values.items():
                self._trackers[f"{name}_loss"].update_state(value, sample_weight=batch)
        metrics = self._compiled_metrics
        if not metrics.built:
            metrics.build([None if y is None else y.shape for y in data.ys],
                          [o.shape for o in outputs])
        for index, _, metric, weighted in metrics.entries:
            weight = data.weights[index] if weighted and data.weights is not None else None
            metric.update_state(data.ys[index], outputs[index], sample_weight=weight)

    def _logs(self):
        logs = {name: float(t.result()) for name, t in self._trackers.items()}
        for _, name, metric, _ in self._compiled_metrics.entries:
            logs[name] = float(metric.result())
        return logs

    # ------------------------------------------------------------ data
    def _standardize_inputs(self, x, what, check_finite=True):
        names = self.input_names
        if isinstance(x, dict):
            missing = [n for n in names if n not in x]
            if missing:
                raise ValueError(f"{what}: x is a dict without the input(s) {missing}; the "
                                 f"model's inputs are {names}")
            extra = sorted(set(x) - set(names))
            if extra:
                raise ValueError(f"{what}: x has keys {extra} that are not the model's inputs "
                                 f"{names}")
            xs = [x[n] for n in names]
        elif isinstance(x, (list, tuple)) and len(names) > 1:
            if len(x) != len(names):
                raise ValueError(f"{what}: the model has {len(names)} inputs {names}; received "
                                 f"a list of {len(x)} arrays")
            xs = list(x)
        elif isinstance(x, (list, tuple)) and len(x) == 1 and isinstance(
                x[0], (np.ndarray, list, tuple)) and np.ndim(x[0]) >= 1 and not np.isscalar(
                x[0]) and _looks_like_array_list(x):
            xs = [x[0]]
        else:
            if len(names) > 1:
                raise ValueError(f"{what}: the model has {len(names)} inputs {names}; give a "
                                 f"list or a dict of arrays")
            xs = [x]
        return [self._check_input(value, tensor, what, check_finite) for value, tensor in
                zip(xs, self.inputs)]

    def _check_input(self, value, tensor, what, check_finite=True):
        name = tensor.name
        if value is None:
            raise ValueError(f"{what}: no data for input {name!r}")
        ragged = (f"{what}: input {name!r} holds sequences of different lengths; pad them to "
                  f"one length first: keras.utils.pad_sequences(x, maxlen=...)")
        try:
            array = np.asarray(value)
        except ValueError as error:
            if isinstance(value, (list, tuple)) and value and all(
                    isinstance(v, (list, tuple, np.ndarray)) for v in value):
                raise ValueError(ragged) from None
            raise ValueError(f"{what}: x is not a rectangular array ({error})") from None
        if array.dtype.kind == "O" and array.ndim == 1 and len(array) and all(
                isinstance(v, (list, tuple, np.ndarray)) for v in array[:100]):
            raise ValueError(ragged)  # what imdb.load_data returns: an object array of lists
        if array.dtype.kind == "O" and array.ndim == 0:
            raise TypeError(f"{what}: input {name!r} must be a NumPy array; received "
                            f"{type(value).__name__} (glassnet takes arrays, not tf.data "
                            f"datasets or generators)")
        if array.dtype.kind not in "biuf":
            raise ValueError(f"{what}: x must be numeric; received dtype {array.dtype}")
        if array.ndim < 1 or len(array) == 0:
            raise ValueError(f"{what}: x must hold at least one sample; received shape "
                             f"{array.shape}")
        expected = tensor.shape
        if array.ndim == len(expected) + 1 and array.shape[-1] == 1:
            array = array[..., 0]
        elif array.ndim == len(expected) - 1 and expected[-1] == 1:
            array = array[..., np.newaxis]  # Keras adds a missing channel axis of 1
        if len(expected) != array.ndim or any(
                e is not None and e != a for e, a in zip(expected[1:], array.shape[1:])):
            layer = self._first_layer_reading(tensor)
            raise ValueError(f"{what}: {layer} expects input of shape {tuple(expected)}; "
                             f"received x of shape {array.shape}")
        if check_finite and array.dtype.kind == "f" and not np.isfinite(array).all():
            bad = int(array.size - np.count_nonzero(np.isfinite(array)))
            raise ValueError(f"{what}: x contains {bad} NaN or infinite values; clean the data "
                             f"before training")
        return array

    def _first_layer_reading(self, tensor):
        for node in self._nodes:
            if any(t is tensor for t in node.input_tensors):
                return f"layer {node.operation.name!r} ({type(node.operation).__name__})"
        return f"input {tensor.name!r}"

    def _standardize_targets(self, y, n, what, needed, x_shape):
        names, count = self.output_names, len(self.output_names)
        if y is None:
            raise ValueError(f"{what} needs targets y (glassnet takes arrays, not datasets)")
        ys = _per_output(y, names, f"{what}: y", list_of_one_is_a_value=True)
        checked = []
        for index, (value, name) in enumerate(zip(ys, names)):
            loss = needed.get(index)
            if value is None:
                if loss is not None:
                    raise ValueError(f"{what}: no targets for output {name!r}, which has a "
                                     f"loss")
                checked.append(None)
                continue
            value = np.asarray(value)
            if value.ndim == 0 or len(value) != n:
                raise ValueError(f"{what}: x and y must hold the same number of samples; "
                                 f"received x of shape {x_shape} and y of shape {value.shape}"
                                 f"{'' if count == 1 else f' for output {name!r}'}")
            if value.dtype.kind == "f" and not np.isfinite(value).all():
                raise ValueError(f"{what}: y contains NaN or infinite values")
            if loss is not None:
                value = loss.check_targets(value, (n,) + tuple(self.outputs[index].shape[1:]))
            if value.dtype.kind == "f":
                value = value.astype(self.dtype, copy=False)
            checked.append(value)
        return checked

    def _standardize_weights(self, sample_weight, class_weight, ys, n, what):
        count = len(self.output_names)
        weights = None
        if sample_weight is not None:
            weights = _per_output(sample_weight, self.output_names, f"{what}: sample_weight",
                                  list_of_one_is_a_value=True)
            checked = []
            for w in weights:
                if w is None:
                    checked.append(None)
                    continue
                w = np.asarray(w, dtype=np.float64)
                if w.ndim == 0 or len(w) != n:
                    raise ValueError(f"{what}: sample_weight must hold one weight per sample "
                                     f"({n}); received shape {w.shape}")
                if not np.isfinite(w).all() or (w < 0).any():
                    raise ValueError(f"{what}: sample_weight must be finite and >= 0")
                checked.append(w)
            weights = checked
        if class_weight is not None:
            if count > 1:
                raise ValueError(f"{what}: class_weight is only supported for models with one "
                                 f"output (use sample_weight per output)")
            if not isinstance(class_weight, dict):
                raise ValueError(f"{what}: class_weight must be a dict {{class: weight}}; "
                                 f"received {type(class_weight).__name__}")
            y = ys[0]
            labels = y.argmax(axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else \
                np.asarray(y).reshape(len(y), -1)[:, 0]
            labels = np.rint(labels).astype(np.int64)
            table = np.ones(int(max(labels.max(initial=0), max(class_weight))) + 1)
            for key, value in class_weight.items():
                table[int(key)] = float(value)
            from_classes = table[labels]
            weights = [from_classes if weights is None or weights[0] is None
                       else weights[0] * from_classes]
        return weights

    def _data(self, x, y, sample_weight, class_weight, what):
        xs = self._standardize_inputs(x, what)
        n = len(xs[0])
        for value, tensor in zip(xs, self.inputs):
            if len(value) != n:
                raise ValueError(f"{what}: all inputs must hold the same number of samples; "
                                 f"input {tensor.name!r} has {len(value)}, not {n}")
        needed = {index: loss for index, _, loss, _ in self._compiled_loss.entries}
        ys = self._standardize_targets(y, n, what, needed, xs[0].shape)
        weights = self._standardize_weights(sample_weight, class_weight, ys, n, what)
        return _Data(xs, ys, weights, n)

    def _batch(self, data, index):
        batch = data.take(index)
        batch.xs = [x.astype(dtype, copy=False)  # one gather, one cast
                    for x, dtype in zip(batch.xs, self._input_dtypes)]
        return batch

    def _build_from(self, x):
        """A model that does not know its input shape yet (a Sequential model
        with no Input, a subclass of Model) builds on its first data."""
        if not self.built:
            if isinstance(x, dict):
                arrays = list(x.values())
            elif isinstance(x, (list, tuple)) and x and all(isinstance(v, np.ndarray)
                                                            for v in x):
                arrays = list(x)
            else:
                arrays = [x]
            shapes = [(None,) + tuple(np.shape(a)[1:]) for a in arrays]
            self.build(shapes[0] if len(shapes) == 1 else shapes)
        if self.compiled and self._compiled_loss is None and self._compile_args[0] is not None:
            self._build_compiled()

    # ------------------------------------------------------------ fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1, seed=None):
        """Train for ``epochs`` passes over (x, y) in mini-batches (Keras's
        arguments). Returns a History whose ``history`` dict holds one value
        per epoch for ``loss``, each metric, and ``val_``-prefixed ones when
        validating; for several outputs also ``<output>_loss`` and
        ``<output>_<metric>``. ``seed`` (glassnet's) makes the shuffling and
        dropout of this call reproducible."""
        self._require_compiled("fit", need_loss=False)
        for argument, value in (("steps_per_epoch", steps_per_epoch),
                                ("validation_steps", validation_steps)):
            if value is not None:
                raise NotImplementedError(f"fit: {argument}={value!r} is not implemented in "
                                          f"glassnet (it trains on whole arrays)")
        batch_size = 32 if batch_size is None else _positive_int(batch_size, "batch_size")
        validation_batch_size = batch_size if validation_batch_size is None else \
            _positive_int(validation_batch_size, "validation_batch_size")
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"epochs must be an integer >= 0; received {epochs!r}")
        if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, (int, np.integer)) \
                or initial_epoch < 0:
            raise ValueError(f"initial_epoch must be an integer >= 0; received "
                             f"{initial_epoch!r}")
        verbose = _verbose(verbose, 1)
        validation_freq = _positive_int(validation_freq, "validation_freq")
        if not (isinstance(validation_split, (int, float)) and 0 <= validation_split < 1):
            raise ValueError(f"validation_split must be a number in [0, 1); received "
                             f"{validation_split!r}")
        if shuffle not in (True, False):
            raise NotImplementedError(f"fit: shuffle={shuffle!r} is not implemented in "
                                      f"glassnet (only True or False)")
        with utils.seeded(seed):
            self._build_from(x)
            self._require_compiled("fit")
            data = self._data(x, y, sample_weight, class_weight, "fit")
            val = None
            if validation_data is not None:
                if validation_split:
                    raise ValueError("give validation_data or validation_split, not both")
                if not (isinstance(validation_data, (tuple, list)) and
                        len(validation_data) in (2, 3)):
                    raise ValueError("validation_data must be a tuple (x_val, y_val) or "
                                     "(x_val, y_val, sample_weight_val)")
                val = self._data(validation_data[0], validation_data[1],
                                 validation_data[2] if len(validation_data) == 3 else None,
                                 None, "fit validation_data")
            elif validation_split:
                split = int(data.n * (1 - validation_split))  # Keras: the last fraction
                if split == 0 or split == data.n:
                    raise ValueError(f"validation_split={validation_split} leaves no samples "
                                     f"for training or validation with {data.n} samples")
                data, val = data.split(split)
            return self._fit_loop(data, val, batch_size, validation_batch_size, epochs,
                                  verbose, callbacks, shuffle, initial_epoch, validation_freq)

    def _fit_loop(self, data, val, batch_size, val_batch_size, epochs, verbose, callbacks,
                  shuffle, initial_epoch, validation_freq):
        self._prepare()
        n = data.n
        steps = math.ceil(n / batch_size)
        callback_list = callbacks_module.CallbackList(
            callbacks, model=self, add_history=True, add_progbar=True, verbose=verbose,
            params={"epochs": epochs, "steps": steps})
        history = callback_list.history
        self.history = history
        self.stop_training = False
        generator = utils.rng()
        self._grads[...] = 0
        self._initial_epoch = None
        callback_list.on_train_begin()
        if self._initial_epoch is not None:  # BackupAndRestore found a backup to resume from
            initial_epoch, self._initial_epoch = self._initial_epoch, None
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            callback_list.on_epoch_begin(epoch)
            order = generator.permutation(n) if shuffle else None
            seen, logs = 0, {}
            for step in range(steps):
                part = slice(step * batch_size, min((step + 1) * batch_size, n))
                batch = self._batch(data, part if order is None else order[part])
                callback_list.on_train_batch_begin(step)
                loss, values, outputs = self._train_batch(batch)
                if not math.isfinite(loss):
                    callback_list.on_train_batch_end(step, {**self._logs(), "loss": loss})
                    self._stop_on_bad_loss(loss, epoch, step, history)
                    break
                seen += batch.n
                self._update_metrics(batch, loss, values, outputs)
                logs = self._logs()
                callback_list.on_train_batch_end(step, logs)
                if self.stop_training:  # a callback or Ctrl-C asked: stop after this batch
                    break
            if not seen:
                break
            logs = dict(sorted(self._logs().items()))
            if val is not None and (epoch + 1 - initial_epoch) % validation_freq == 0:
                values = self._evaluate_data(val, val_batch_size, in_fit=True,
                                             callback_list=callback_list)
                logs.update({f"val_{k}": v for k, v in sorted(values.items())})
            callback_list.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        callback_list.on_train_end()
        return history

    def _stop_on_bad_loss(self, loss, epoch, step, history):
        lr = self.optimizer.current_learning_rate()
        message = (f"Training stopped at epoch {epoch + 1}, batch {step + 1}: the loss became "
                   f"{loss} (not finite), so that batch's update was not applied and the "
                   f"weights are those from before it. The usual cause is a learning rate "
                   f"that is too high (it is {lr:g}); try a lower one, e.g. {lr / 10:g}. Also "
                   f"check that the inputs are scaled (e.g. x / 255).")
        history.stopped_reason = message
        self.stop_training = True
        warnings.warn(message, RuntimeWarning, stacklevel=4)

    # ------------------------------------------------------------ evaluation
    def _evaluate_data(self, data, batch_size, in_fit=False, callback_list=None):
        """The loss and metrics over ``data`` (metrics reset first)."""
        saved = None
        if in_fit:  # validation must not disturb the epoch's training metrics
            saved = (self._trackers, self._compiled_metrics)
            self._trackers = {name: metrics_module.Mean(name=name) for name in self._trackers}
            copy = _CompiledMetrics(*self._compiled_metrics.specs,
                                    self._compiled_metrics.output_names)
            self._compiled_metrics = copy
        else:
            self.reset_metrics()
        steps = math.ceil(data.n / batch_size)
        if callback_list is not None:
            callback_list.on_test_begin()
        for step in range(steps):
            batch = self._batch(data, slice(step * batch_size, (step + 1) * batch_size))
            if callback_list is not None:
                callback_list.on_test_batch_begin(step)
            outputs = self._run_forward(batch.xs, training=False)
            loss, values, _, _ = self._losses(batch.ys, outputs, batch.weights, False)
            self._update_metrics(batch, loss, values, outputs)
            if callback_list is not None:
                callback_list.on_test_batch_end(step, self._logs())
        logs = self._logs()
        if callback_list is not None:
            callback_list.on_test_end(logs)
        if saved is not None:
            self._trackers, self._compiled_metrics = saved
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False):
        """The loss and metrics on (x, y): ``[loss, metric, ...]`` (Keras's
        order: the loss, the per-output losses, then the metrics), or the
        loss alone (a float) when there is nothing else, as in Keras;
        ``return_dict=True`` gives a dict."""
        self._require_compiled("evaluate", need_loss=False)
        if steps is not None:
            raise NotImplementedError("evaluate: steps is not implemented in glassnet")
        batch_size = 32 if batch_size is None else _positive_int(batch_size, "batch_size")
        verbose = _verbose(verbose, 1)
        self._build_from(x)
        self._require_compiled("evaluate")
        data = self._data(x, y, sample_weight, None, "evaluate")
        self._prepare()
        callback_list = callbacks_module.CallbackList(
            callbacks, model=self, add_progbar=True, verbose=verbose,
            params={"steps": math.ceil(data.n / batch_size)})
        logs = self._evaluate_data(data, batch_size, callback_list=callback_list)
        return self._result(logs, return_dict)

    def _result(self, logs, return_dict):
        if return_dict:
            return dict(sorted(logs.items()))
        values = [logs[name] for name in self.metrics_names]
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The model's outputs for x, computed in batches (one array, or a
        list/dict of them for several outputs)."""
        if steps is not None:
            raise NotImplementedError("predict: steps is not implemented in glassnet")
        batch_size = 32 if batch_size is None else _positive_int(batch_size, "batch_size")
        verbose = _verbose(verbose, 1)
        self._build_from(x)
        # no NaN scan here (a pass over all of x): NaN in, NaN out, as in Keras; fit refuses it
        xs = self._predict_inputs(x, "predict")
        utils.prepare_threads()
        n = len(xs[0])
        steps = math.ceil(n / batch_size)
        callback_list = callbacks_module.CallbackList(callbacks, model=self, add_progbar=True,
                                                      verbose=verbose, params={"steps": steps})
        callback_list.on_predict_begin()
        results = None
        for step in range(steps):
            part = slice(step * batch_size, (step + 1) * batch_size)
            callback_list.on_predict_batch_begin(step)
            outputs = self._run_forward([x[part].astype(_input_dtype(t, self.dtype), copy=False)
                                         for x, t in zip(xs, self.inputs)], training=False)
            if results is None:
                results = [np.empty((n,) + o.shape[1:], dtype=o.dtype) for o in outputs]
            for result, output in zip(results, outputs):
                result[part] = output
            callback_list.on_predict_batch_end(step, {"outputs": outputs})
        callback_list.on_predict_end()
        return self._pack_outputs(results)

    def _predict_inputs(self, x, what):
        xs = self._standardize_inputs(x, what, check_finite=False)
        n = len(xs[0])
        if any(len(v) != n for v in xs):
            raise ValueError(f"{what}: all inputs must hold the same number of samples")
        return xs

    def _pack_outputs(self, flat):
        return graph.pack_like(self._outputs_struct, flat) if not (
            isinstance(self._outputs_struct, (list, tuple)) and len(flat) == 1
        ) else flat[0]

    # ------------------------------------------------------------ one batch
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        """One training step on this batch; returns the loss and metrics so
        far (they accumulate until ``reset_metrics()``, as in Keras)."""
        self._build_from(x)
        self._require_compiled("train_on_batch")
        data = self._data(x, y, sample_weight, class_weight, "train_on_batch")
        self._prepare()
        batch = self._batch(data, slice(0, data.n))
        loss, values, outputs = self._train_batch(batch)
        if math.isfinite(loss):
            self._update_metrics(batch, loss, values, outputs)
        else:
            warnings.warn(f"train_on_batch: the loss became {loss} (not finite); the weights "
                          f"were not updated", RuntimeWarning, stacklevel=2)
            return loss
        return self._result(self._logs(), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """The loss and metrics on this batch (metrics reset first)."""
        self._build_from(x)
        self._require_compiled("test_on_batch")
        data = self._data(x, y, sample_weight, None, "test_on_batch")
        self._prepare()
        logs = self._evaluate_data(data, data.n)
        return self._result(logs, return_dict)

    def predict_on_batch(self, x):
        """The outputs for this batch, in one pass."""
        self._build_from(x)
        return self.predict(x, batch_size=len(self._predict_inputs(x, "predict_on_batch")[0]),
                            verbose=0)


def _mask_weights(mask, sample_weight, reduction):
    """An output's mask folded into the sample weights, as Keras does: for a
    mean, real steps weigh total / valid and padded ones 0, so the loss is
    the mean over the real steps; for a sum, the mask itself."""
    m = np.asarray(mask, dtype=np.float64)
    if reduction in ("sum_over_batch_size", "mean"):
        valid = m.sum()
        m = m * (m.size / valid) if valid else np.zeros_like(m)
    if sample_weight is None:
        return m
    w = np.asarray(sample_weight, dtype=np.float64)
    while w.ndim < m.ndim:
        w = w[..., None]
    return w * m


def _input_dtype(tensor, float_dtype):
    dtype = np.dtype(tensor.dtype)
    return float_dtype if dtype.kind == "f" else dtype


def _looks_like_array_list(x):
    """A list holding one array (not a list of numbers, which is one array)."""
    return isinstance(x[0], np.ndarray) or (isinstance(x[0], (list, tuple)) and len(x) == 1
                                            and np.ndim(x[0]) >= 2)
