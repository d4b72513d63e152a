"""Weights in Keras's HDF5 layouts, read and written with h5py.

**Keras 3** (``model.weights.h5`` inside a ``.keras`` file, and
``.weights.h5``): one group per layer, named not by the layer's name but by
its class in snake case, numbered in order (``layers/dense``,
``layers/dense_1``, ``layers/conv2d``; a nested model adds
``layers/sequential/layers/dense``), with the layer's variables as datasets
``vars/0``, ``vars/1``, ... in the order the layer created them. The
optimizer's variables follow in ``optimizer/vars``: the step count, the
learning rate, then its slots (Adam: m and v of each weight in turn).
tf.keras 2.13-2.15 wrote the same, without the learning rate.

**Legacy** (``.h5`` full models, and weights-only ``.h5``): a group per layer
*name* listing its ``weight_names`` (``dense/kernel`` in Keras 3,
``dense/kernel:0`` in tf.keras 2), trainable weights first; optimizer
weights under ``optimizer_weights``. Loading goes by position, as Keras's
does.
"""

from __future__ import annotations

import re

import numpy as np

from glassnet.saving.files import (FileFormatError, h5_array, h5_arrays, h5_group,
                                   h5_text)
from glassnet.saving.keras_config import KERAS_VERSION
from glassnet.variables import Variable

__all__ = ["weight_paths", "write_weights", "read_weights", "read_optimizer_arrays",
           "optimizer_arrays", "restore_optimizer", "write_legacy_weights",
           "read_legacy_weights", "legacy_optimizer_arrays", "write_legacy_optimizer"]


def _snake(name):
    """Keras's ``naming.to_snake_case``: Conv2D -> conv2d, BatchNormalization
    -> batch_normalization."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _is_model(layer):
    return hasattr(layer, "layers") and hasattr(layer, "_nodes")


def _keras_class(layer):
    name = type(layer).__name__
    if _is_model(layer) and name != "Sequential":
        return "Functional"
    return name


def weight_paths(model, prefix="layers"):
    """[(group path, layer)] in Keras 3's order and naming; nested models
    come with their own path, then their layers'."""
    found, used = [], {}
    for layer in model.layers:
        name = _snake(_keras_class(layer))
        if name in used:
            used[name] += 1
            name = f"{name}_{used[name]}"
        else:
            used[name] = 0
        path = f"{prefix}/{name}"
        found.append((path, layer))
        if _is_model(layer):
            found.extend(weight_paths(layer, f"{path}/layers"))
    return found


def _own_weights(layer):
    return [] if _is_model(layer) else list(layer.weights)


def keras_trainable_order(model):
    """The model's trainable Variables in Keras's order (the optimizer's
    slots follow it)."""
    from glassnet.models import _dedup

    return _dedup(v for _, layer in weight_paths(model) if not _is_model(layer)
                  for v in layer.trainable_weights)


# ------------------------------------------------------------ model weights
def _in_cell(layer):
    """Keras keeps a recurrent layer's weights in its cell (``lstm/cell/vars``)."""
    return hasattr(layer, "recurrent_kernel")


def _weight_groups(layer, prefix=""):
    """[(group under the layer's path, its attrs name, the Variables in it)]:
    where Keras 3 keeps a layer's weights. A recurrent layer's are in its
    cell; a wrapper's in its inner layers (``forward_layer/cell/vars``,
    ``backward_layer/…``, TimeDistributed's ``layer/vars``)."""
    if hasattr(layer, "forward_layer"):
        return [(f"{prefix}vars", layer.name, [])] + \
            _weight_groups(layer.forward_layer, f"{prefix}forward_layer/") + \
            _weight_groups(layer.backward_layer, f"{prefix}backward_layer/")
    if hasattr(layer, "_wrapped"):
        return [(f"{prefix}vars", layer.name, [])] + \
            _weight_groups(layer.layer, f"{prefix}layer/")
    if type(layer).__name__ == "MultiHeadAttention":  # Keras's EinsumDense sublayers
        layer_weights = [(f"{prefix}{dense}/vars", name, [w for w in (kernel, bias) if w is not None])
                         for dense, name, kernel, bias in (
                             ("query_dense", "query", layer.query_kernel, layer.query_bias),
                             ("key_dense", "key", layer.key_kernel, layer.key_bias),
                             ("value_dense", "value", layer.value_kernel, layer.value_bias),
                             ("output_dense", "attention_output", layer.output_kernel,
                              layer.output_bias))]
        return [(f"{prefix}vars", layer.name, []), (f"{prefix}_softmax/vars", "softmax", []),
                (f"{prefix}_dropout_layer/vars", "dropout", [])] + layer_weights
    if _in_cell(layer):
        return [(f"{prefix}vars", layer.name, []),
                (f"{prefix}cell/vars", f"{_snake(type(layer).__name__)}_cell",
                 list(layer.weights))]
    return [(f"{prefix}vars", layer.name, _own_weights(layer))]


def write_weights(model, f, optimizer_values=None):
    """Write ``model``'s weights into the open h5py File ``f`` in Keras 3's
    layout (and the optimizer's variables, when given)."""
    for path, layer in weight_paths(model):
        if _is_model(layer):
            f.create_group(f"{path}/vars").attrs["name"] = layer.name
            continue
        for where, name, variables in _weight_groups(layer):
            group = f.create_group(f"{path}/{where}")
            group.attrs["name"] = name
            for i, variable in enumerate(variables):
                group.create_dataset(str(i), data=np.asarray(variable.numpy()))
    f.create_group("vars").attrs["name"] = model.name
    if optimizer_values is not None:
        values, name = optimizer_values
        group = f.create_group("optimizer/vars")
        group.attrs["name"] = name
        for i, value in enumerate(values):
            group.create_dataset(str(i), data=value)


def _check_and_assign(pairs, path):
    """Assign (variable, value, layer, index) after every shape is checked, so
    a file that does not fit changes nothing."""
    for variable, value, layer, index in pairs:
        if tuple(value.shape) != tuple(variable.shape):
            raise ValueError(f"{path!r} does not fit this model: layer {layer.name!r} "
                             f"({type(layer).__name__}) has {variable.name} of shape "
                             f"{tuple(variable.shape)}; the file's weight {index} has shape "
                             f"{tuple(value.shape)}")
        if value.dtype.kind not in "fiu":
            raise FileFormatError(f"{path!r}: layer {layer.name!r}'s weight {index} has dtype "
                                  f"{value.dtype}")
    for variable, value, _, _ in pairs:
        variable.assign(value.astype(variable.dtype, copy=False))


_CONTAINERS = ("layers", "_layer_checkpoint_dependencies")  # Keras 3; tf.keras 2.13


def _saved_layer_groups(group, path):
    """{snake-case class: [child group, ...] in the order Keras numbered them}
    under ``group``'s layer container. Keras 3 numbers dense, dense_1,
    dense_2; tf.keras 2.13 counted some classes twice (dense, dense_2,
    dense_4), so the order, not the number, says which layer is which."""
    container = next((c for c in _CONTAINERS if c in group), None)
    if container is None:
        return {}, None
    node = h5_group(group, container, path)
    found = {}
    for key in node.keys():
        match = re.fullmatch(r"(.*?)(?:_(\d+))?", key)
        found.setdefault(match.group(1), []).append((int(match.group(2) or 0), key))
    return {base: [node[key] for _, key in sorted(items)] for base, items in found.items()}, \
        f"{group.name.rstrip('/')}/{container}"


def _collect(model, group, path, pairs):
    saved, where = _saved_layer_groups(group, path)
    seen = {}
    for layer in model.layers:
        base = _snake(_keras_class(layer))
        index = seen[base] = seen.get(base, -1) + 1
        candidates = saved.get(base, [])
        mine = _own_weights(layer)
        if index >= len(candidates):
            if mine or (_is_model(layer) and layer.weights):
                raise ValueError(f"{path!r} does not fit this model: it has no weights for "
                                 f"layer {layer.name!r} ({type(layer).__name__}) under "
                                 f"{where or group.name} (saved from another architecture?)")
            continue  # a layer without weights may have no group
        child = candidates[index]
        if _is_model(layer):
            _collect(layer, child, path, pairs)
            continue
        if not mine and "vars" not in child:
            continue
        for where, _, variables in _weight_groups(layer):
            if not variables:
                continue
            values = h5_arrays(h5_group(child, where, path), path)
            if len(values) != len(variables):
                raise ValueError(f"{path!r} does not fit this model: layer {layer.name!r} "
                                 f"({type(layer).__name__}) has {len(variables)} weights "
                                 f"in {where}; the file holds {len(values)} at "
                                 f"{child.name}/{where}")
            pairs.extend((v, value, layer, i) for i, (v, value) in
                         enumerate(zip(variables, values)))


def read_weights(model, f, path):
    """Load Keras 3 weights (also tf.keras 2.13-2.15's ``.keras`` layout)
    from the snapshot ``f`` into ``model``; nothing changes unless every
    weight fits."""
    pairs = []
    _collect(model, f, path, pairs)
    _check_and_assign(pairs, path)


def read_optimizer_arrays(f, path):
    """The arrays under ``optimizer/vars`` (None when the file has none)."""
    if "optimizer" not in f:
        return None
    group = h5_group(f, "optimizer/vars", path)
    return h5_arrays(group, path)


# ------------------------------------------------------------ optimizer state
def _slot_groups(optimizer):
    """glassnet's slot names, grouped as Keras creates them: within a group,
    each weight's slots in turn (Adam: m and v of the first weight, then of
    the second ...); groups one after the other."""
    from glassnet import optimizers

    if isinstance(optimizer, optimizers.Adam):
        return [["m", "v"]] + ([["v_hat"]] if optimizer.amsgrad else [])
    if isinstance(optimizer, optimizers.SGD):
        return [["momentum"]] if optimizer.momentum else []
    if isinstance(optimizer, optimizers.RMSprop):
        return [["velocity"]]
    if isinstance(optimizer, optimizers.Adagrad):
        return [["accumulator"]]
    raise NotImplementedError(f"saving the state of {type(optimizer).__name__} in Keras's "
                              f"layout is not implemented")


def _slot_order(model, groups):
    """(slot, variable, slice of the packed vector) in the order Keras keeps
    the optimizer's slot variables (packs the model's weights first)."""
    model._pack()
    spans = {id(v): slice(offset, offset + size)
             for (v, _), (offset, size) in zip(model._packed, model._layout)}
    order = keras_trainable_order(model)
    return [(slot, v, spans[id(v)]) for group in groups for v in order for slot in group]


def optimizer_arrays(model, legacy_names=False):
    """(arrays, name) of the model's optimizer in Keras 3's order: iteration,
    learning rate (unless a schedule), then the slots; an optimizer that has
    not stepped yet has no slots (as in Keras). With ``legacy_names``, the
    names a legacy .h5 file lists instead of the optimizer's name."""
    optimizer = model.optimizer
    slots = _slot_order(model, _slot_groups(optimizer))
    params = model._params
    values = [np.array(optimizer.iterations, dtype=np.int64)]
    names = [f"{optimizer.name}/iteration"]
    if isinstance(optimizer._learning_rate, Variable):  # a schedule has no variable
        values.append(np.array(float(optimizer.learning_rate), dtype=np.float32))
        names.append(f"{optimizer.name}/learning_rate")
    keras_names = {"m": "momentum", "v": "velocity", "v_hat": "velocity_hat"}
    if optimizer._scratch is None or optimizer._scratch.shape != params.shape:
        # not stepped yet: as Keras, only the step count and rate (its slots do not exist)
        return (values, names) if legacy_names else (values, optimizer.name)
    for slot, variable, span in slots:
        values.append(np.array(optimizer._state[slot][span]).reshape(variable.shape))
        names.append(f"{optimizer.name}/{variable.path.replace('/', '_')}_"
                     f"{keras_names.get(slot, slot)}")
    return (values, names) if legacy_names else (values, optimizer.name)


def restore_optimizer(model, arrays, path):
    """Put Keras's optimizer variables (iteration, [learning rate], slots)
    into the compiled ``model``'s optimizer, so that fit goes on where Keras
    stopped."""
    import warnings

    optimizer = model.optimizer
    try:
        groups = _slot_groups(optimizer)
    except NotImplementedError:
        warnings.warn(f"{path!r}: the state of {type(optimizer).__name__} is not restored; "
                      f"it starts fresh", RuntimeWarning, stacklevel=3)
        return
    order = _slot_order(model, groups)
    slots = len(order)
    arrays = list(arrays)
    if len(arrays) == slots + 2:
        head, rest = arrays[:2], arrays[2:]
    elif len(arrays) == slots + 1:
        head, rest = arrays[:1], arrays[1:]
    elif slots and len(arrays) in (1, 2):  # saved before the first step: no slots yet
        head, rest = arrays, None
    else:
        warnings.warn(f"{path!r}: the optimizer state holds {len(arrays)} variables; "
                      f"{type(optimizer).__name__} on this model has {slots} slots (plus the "
                      f"step count and learning rate), so it starts fresh", RuntimeWarning,
                      stacklevel=3)
        return
    iteration = head[0]
    if iteration.size != 1 or iteration.dtype.kind not in "iuf":
        raise FileFormatError(f"{path!r}: the optimizer's step count is not a number")
    if len(head) == 2 and isinstance(optimizer._learning_rate, Variable):
        rate = float(np.asarray(head[1]).reshape(-1)[0])
        if np.isfinite(rate) and rate >= 0:
            optimizer.learning_rate = rate
    params = model._params
    optimizer._layout = model._layout
    state = {"iterations": np.array(int(iteration.reshape(-1)[0]))}
    if rest is not None:
        flat = {slot: np.empty_like(params) for group in groups for slot in group}
        for (slot, variable, span), value in zip(order, rest):
            if tuple(value.shape) != tuple(variable.shape):
                raise ValueError(f"{path!r}: the optimizer's {slot} for {variable.path} has "
                                 f"shape {tuple(value.shape)}; the weight has "
                                 f"{tuple(variable.shape)}")
            flat[slot][span] = value.reshape(-1)
        state.update(flat)
    optimizer.load_variables(state, params)


# ------------------------------------------------------------ legacy .h5
def _attr_list(group, name, path):
    """Keras's ``load_attributes_from_hdf5_group``: the attribute, or its
    chunks name0, name1, ... when it was too large for one."""
    if name in group.attrs:
        return h5_text(group.attrs[name], path, f"{group.name} {name}")
    out, i = [], 0
    while f"{name}{i}" in group.attrs:
        out.extend(h5_text(group.attrs[f"{name}{i}"], path, f"{group.name} {name}{i}"))
        i += 1
    return out


def _legacy_order(layer):
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def write_legacy_weights(group, model):
    """Keras's ``save_weights_to_hdf5_group``."""
    group.attrs["layer_names"] = np.array([layer.name.encode("utf8") for layer in model.layers])
    group.attrs["backend"] = b"numpy"
    group.attrs["keras_version"] = KERAS_VERSION.encode("utf8")
    for layer in sorted(model.layers, key=lambda layer: layer.name):
        sub = group.create_group(layer.name)
        weights = _legacy_order(layer)
        names = [v.path for v in weights]
        sub.attrs["weight_names"] = np.array([n.encode("utf8") for n in names]) if names \
            else np.array([], dtype=np.float64)
        for name, variable in zip(names, weights):
            sub.create_dataset(name, data=np.asarray(variable.numpy()))
    group.create_group("top_level_model_weights").attrs["weight_names"] = np.array(
        [], dtype=np.float64)


def read_legacy_weights(group, model, path):
    """Keras's ``load_weights_from_hdf5_group``: layers with weights, in
    order, matched by position."""
    names = _attr_list(group, "layer_names", path)
    if not names and "layer_names" not in group.attrs:
        raise FileFormatError(f"{path!r} has no layer_names: not a Keras weights file")
    saved = []
    for name in names:
        sub = h5_group(group, name, path)
        weight_names = _attr_list(sub, "weight_names", path)
        if weight_names:
            saved.append((name, sub, weight_names))
    layers = [layer for layer in model.layers if layer.weights]
    if len(saved) != len(layers):
        first = next((layer for layer, entry in zip(layers, saved)
                      if len(_legacy_order(layer)) != len(entry[2])), None)
        detail = f"; the first that differs is layer {first.name!r} ({type(first).__name__})" \
            if first is not None else ""
        raise ValueError(f"{path!r} does not fit this model: it holds weights for "
                         f"{len(saved)} layers, the model has {len(layers)} layers with "
                         f"weights{detail}")
    pairs = []
    for layer, (name, sub, weight_names) in zip(layers, saved):
        mine = _legacy_order(layer)
        if len(weight_names) != len(mine):
            raise ValueError(f"{path!r} does not fit this model: layer {layer.name!r} "
                             f"({type(layer).__name__}) has {len(mine)} weights; the file's "
                             f"layer {name!r} holds {len(weight_names)}")
        values = [h5_array(sub, w, path) for w in weight_names]
        pairs.extend((v, value, layer, i) for i, (v, value) in enumerate(zip(mine, values)))
    _check_and_assign(pairs, path)


def write_legacy_optimizer(f, model):
    values, names = optimizer_arrays(model, legacy_names=True)
    group = f.create_group("optimizer_weights")
    group.attrs["weight_names"] = np.array([n.encode("utf8") for n in names])
    for name, value in zip(names, values):
        group.create_dataset(name, data=value)


def legacy_optimizer_arrays(f, path):
    if "optimizer_weights" not in f:
        return None
    group = h5_group(f, "optimizer_weights", path)
    return [h5_array(group, name, path) for name in _attr_list(group, "weight_names", path)]
