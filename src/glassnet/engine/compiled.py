"""What ``compile`` made: the losses and metrics of every output, and the
loss of a batch (with softmax/sigmoid + cross-entropy computed from the
logits where the plan allows)."""

from __future__ import annotations

import collections

import numpy as np

from glassnet import losses, metrics as metrics_module

__all__ = ["CompiledLoss", "CompiledMetrics", "Losses", "per_output"]


def per_output(spec, names, what, list_of_one_is_a_value=False):
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


class CompiledLoss:
    """The losses of every output, their weights, and their names (Keras's
    CompileLoss): ``total = Σ weightᵢ · lossᵢ``."""

    def __init__(self, loss, loss_weights, output_names):
        specs = per_output(loss, output_names, "compile: loss")
        if loss_weights is not None and not isinstance(loss_weights, (dict, list, tuple)) \
                and len(output_names) > 1:
            raise ValueError("compile: for several outputs, loss_weights is a list or a dict")
        weights = per_output(1.0 if loss_weights is None else loss_weights, output_names,
                              "compile: loss_weights")
        weights = [1.0 if w is None else w for w in weights]
        resolved = {}
        self.entries = []  # (output index, name, Loss, weight)
        for index, (spec, weight) in enumerate(zip(specs, weights)):
            if spec is None:
                continue
            key = id(spec)
            if key not in resolved:
                resolved[key] = losses.get(spec)
            self.entries.append((index, output_names[index], resolved[key], float(weight)))
        if not self.entries:
            raise ValueError("compile: no loss for any output")
        self.several = len(self.entries) > 1


class CompiledMetrics:
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


class Losses:
    """The loss of a batch, for the engine."""

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
        if compiled is None:  # the loss is what the layers add_loss (Keras's endpoint layers)
            return self._added_losses_only(outputs, gradients)
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
        total += self.activity_loss()  # the runner's sum over this forward's calls
        return total, values, grads, z_grads

    def _added_losses_only(self, outputs, gradients):
        """A model compiled without a loss: its loss is what its layers gave
        ``add_loss`` in this forward (their backward adds its gradient, so the
        outputs' own gradients are zero), plus the regularizers' penalties."""
        if not any(step.layer._added_loss_terms() for step in self._plan_steps()):
            raise ValueError(f"Model {self.name!r} was compiled without a loss and none of its "
                             f"layers called add_loss(): compile(loss=...), or add_loss() in "
                             f"a layer's call")
        grads = {id(t): np.zeros_like(o) for t, o in zip(self.outputs, outputs)} \
            if gradients else {}
        total = self.activity_loss()
        if self._has_regularizers:
            total += self._regularization_loss()
        return total, {}, grads, {}

    def _regularization_loss(self):
        return float(sum(v.regularizer(v.value) for v in self.weights if v.regularizer))


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
