"""The graph of layers: symbolic tensors, nodes, and their order.

``keras.Input((28, 28))`` returns a :class:`KerasTensor`: a shape (None for
the batch) and a dtype, no values. Calling a layer on symbolic tensors
computes nothing; it records a :class:`Node` (the layer, the tensors it was
called on, the tensors it returned) and returns new symbolic tensors, each of
which remembers where it came from (``_keras_history = (layer, node_index,
tensor_index)``). ``Model(inputs, outputs)`` walks that history back from its
outputs and orders the nodes (:func:`map_graph`), exactly as Keras does, so
``model.layers`` and ``model.get_weights()`` come in Keras's order and weights
copy between the two.

    >>> from glassnet.layers import Dense, Input
    >>> x = Input((4,), name="features")
    >>> y = Dense(2, name="scores")(x)
    >>> y
    <KerasTensor shape=(None, 2), dtype=float32, name=scores>
    >>> y._keras_history[0].name, x._keras_history[0].name
    ('scores', 'features')

This module knows nothing of training; ``glassnet.engine`` runs the nodes.
"""

from __future__ import annotations

import collections

__all__ = ["KerasTensor", "Node", "History", "map_graph", "flatten", "pack_like",
           "is_symbolic"]

History = collections.namedtuple("History", ["operation", "node_index", "tensor_index"])


class KerasTensor:
    """A symbolic tensor: ``shape`` (with None for the batch), ``dtype``, ``name``;
    ``_keras_masked`` says whether its values will come with a mask."""

    _keras_masked = False

    def __init__(self, shape, dtype="float32", name=None, history=None):
        self.shape = tuple(shape)
        self.dtype = str(dtype)
        self.name = name
        self._keras_history = history

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __array__(self, *args, **kwargs):
        raise TypeError(f"{self!r} is symbolic: it has a shape but no values. Build a model "
                        f"from it (keras.Model(inputs, outputs)) and call the model on data")

    def __bool__(self):
        raise TypeError(f"{self!r} is symbolic: it has no truth value")

    __hash__ = object.__hash__


class Node:
    """One call of a layer on symbolic tensors: ``layer``, ``input_tensors``
    (a flat list), ``outputs`` (a flat list), and how the inputs were passed
    (``arguments``: one tensor, or a list/tuple/dict of them)."""

    def __init__(self, operation, arguments, outputs):
        self.operation = operation
        self.arguments = arguments
        self.training = None  # layer(x, training=False) at graph time fixes the mode
        self.input_masked = False  # whether the (first) input comes with a mask
        self.input_tensors = flatten(arguments)
        self.outputs = list(outputs)
        self.is_input = not self.input_tensors
        operation._inbound_nodes.append(self)
        for index, tensor in enumerate(self.outputs):
            tensor._keras_history = History(operation, len(operation._inbound_nodes) - 1, index)
        for tensor in self.input_tensors:
            producer = tensor._keras_history.operation
            producer._outbound_nodes.append(self)

    @property
    def parent_nodes(self):
        """The nodes that produced this node's inputs."""
        return [t._keras_history.operation._inbound_nodes[t._keras_history.node_index]
                for t in self.input_tensors]

    @property
    def layer(self):
        return self.operation

    def __repr__(self):
        return (f"<Node {self.operation.name} "
                f"[{', '.join(t.name or '?' for t in self.input_tensors)}] -> "
                f"[{', '.join(t.name or '?' for t in self.outputs)}]>")


def is_symbolic(structure):
    return any(isinstance(t, KerasTensor) for t in flatten(structure))


def flatten(structure):
    """A flat list of the leaves of a tensor, list, tuple or dict (dicts in key
    order, as Keras's tree.flatten sorts them)."""
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure) for leaf in flatten(structure[key])]
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    return [structure]


def pack_like(structure, flat):
    """The leaves ``flat`` put back into the shape of ``structure``."""
    flat = list(flat)

    def pack(item):
        if isinstance(item, dict):
            packed = {key: pack(item[key]) for key in sorted(item)}
            return {key: packed[key] for key in item}
        if isinstance(item, (list, tuple)):
            packed = [pack(v) for v in item]
            return type(item)(*packed) if hasattr(item, "_fields") else type(item)(packed)
        return flat.pop(0)

    result = pack(structure)
    if flat:
        raise ValueError("pack_like: more values than the structure holds")
    return result


def map_graph(inputs, outputs):
    """(nodes in execution order, operations in Keras's order).

    Keras's algorithm (keras/src/ops/function.py): a depth-first walk back
    from each output orders the nodes from inputs to outputs; a node's depth
    is its distance from the outputs; operations are listed by decreasing
    depth, ties in the order the walk first met them. Raises a ValueError
    naming the tensor when an output needs a tensor the inputs do not give,
    and when two operations share a name.
    """
    inputs, outputs = flatten(inputs), flatten(outputs)
    input_ids = {id(t) for t in inputs}
    finished, in_progress = set(), set()
    ordered = []             # nodes from inputs to outputs
    first_seen = {}          # operation -> traversal index

    def visit(tensor):
        history = tensor._keras_history
        if history is None:
            raise ValueError(f"{tensor!r} was not made by keras.Input or by a layer; a model's "
                             f"inputs and outputs must be symbolic tensors from keras.Input")
        operation = history.operation
        node = operation._inbound_nodes[history.node_index]
        if node in finished:
            return
        if not node.is_input and id(tensor) in input_ids:  # an inner tensor given as input
            finished.add(node)
            return
        if node in in_progress:
            raise ValueError(f"Tensor {tensor.name!r} from layer {operation.name!r} is part of "
                             f"a cycle")
        first_seen.setdefault(operation, len(first_seen))
        in_progress.add(node)
        for parent in node.input_tensors:
            visit(parent)
        finished.add(node)
        in_progress.discard(node)
        ordered.append(node)

    for tensor in outputs:
        visit(tensor)
    in_graph = set(ordered)
    node_depth, operation_depth = {}, {}
    for node in reversed(ordered):
        depth = max(node_depth.setdefault(node, 0), operation_depth.get(node.operation, 0))
        operation_depth[node.operation] = depth
        node_depth[node] = depth
        for parent in node.parent_nodes:
            if parent in in_graph:
                node_depth[parent] = max(depth + 1, node_depth.get(parent, 0))
    for tensor in inputs:  # inputs no output uses still belong to the model
        operation = tensor._keras_history.operation
        node = operation._inbound_nodes[tensor._keras_history.node_index]
        if operation not in operation_depth and node.is_input:
            operation_depth[operation] = 0
            first_seen[operation] = -1
    operations = sorted(operation_depth, key=lambda op: (-operation_depth[op], first_seen[op]))
    nodes = sorted(ordered, key=lambda n: -node_depth[n])  # stable: ties keep the walk's order
    computable = set(input_ids)
    for node in nodes:
        if node.is_input:
            if id(node.outputs[0]) not in input_ids:
                raise ValueError(
                    f"Graph disconnected: the outputs depend on the input "
                    f"{node.outputs[0].name!r}, which is not among the model's inputs "
                    f"{[t.name for t in inputs]}; pass it in Model(inputs=...)")
            continue
        for tensor in node.input_tensors:
            if id(tensor) not in computable:
                raise ValueError(
                    f"Graph disconnected: tensor {tensor.name!r} (from layer "
                    f"{tensor._keras_history.operation.name!r}), an input of layer "
                    f"{node.operation.name!r}, cannot be computed from the model's inputs "
                    f"{[t.name for t in inputs]}")
        computable.update(id(t) for t in node.outputs)
    names = [op.name for op in operations]
    for name in names:
        if names.count(name) > 1:
            raise ValueError(f"The name {name!r} is used {names.count(name)} times in the "
                             f"model; layer names must be unique within a model")
    return [n for n in nodes if not n.is_input], operations
