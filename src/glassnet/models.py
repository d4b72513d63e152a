"""Models: a graph of layers (``Model``) and its chain case (``Sequential``).

    inputs = Input((28, 28))
    x = Flatten()(inputs)
    x = Dense(128, activation="relu")(x)
    outputs = Dense(10, activation="softmax")(x)
    model = Model(inputs, outputs)          # = Sequential([Input((28, 28)), Flatten(),
                                            #    Dense(128, "relu"), Dense(10, "softmax")])

A model is a layer: it can be called on a tensor, put in a Sequential, or
used twice (its weights shared). ``Sequential`` builds the same kind of graph
as soon as it knows its input shape (from an ``Input``, a first layer's
``input_shape=``, or the first data), so both train through the one engine
(``glassnet.engine``), and ``Model(seq.inputs, seq.layers[i].output)`` reads
from inside a Sequential model with its weights. A subclass of Model that
defines ``call(inputs)`` out of glassnet layers is traced into a graph on
its first data.
"""

from __future__ import annotations

import collections
import inspect as _inspect
import os

import numpy as np

from glassnet import graph, utils
from glassnet import layers as layers_module
from glassnet.engine import Engine
from glassnet.layers import InputLayer, Layer
from glassnet.layers.base import UnknownArgumentError, _compatible, _show
from glassnet.ops import function
from glassnet.tensor import Tensor
from glassnet.variables import Variable

__all__ = ["Model", "Sequential", "load_model", "clone_model"]


def _dedup(variables):
    seen, found = set(), []
    for v in variables:
        if id(v) not in seen:
            seen.add(id(v))
            found.append(v)
    return found


class Model(Engine, Layer):
    """A graph of layers from ``inputs`` to ``outputs`` (each a symbolic
    tensor, or a list or dict of them)."""

    _records_build = False  # build() makes the graph, which records its own shapes

    def __init__(self, inputs=None, outputs=None, name=None, trainable=True, **kwargs):
        if kwargs:
            raise UnknownArgumentError(f"Model: unrecognized keyword arguments "
                                       f"{sorted(kwargs)}; Model takes inputs, outputs, name, "
                                       f"trainable")
        default = "sequential" if isinstance(self, Sequential) else "functional"
        Layer.__init__(self, name=name or utils.unique_name(default), trainable=trainable)
        self._init_engine()
        self.metadata = {}  # free-form facts saved with the model (class names, data set)
        self._nodes, self._operations = [], []
        self.inputs = self.outputs = None
        self._inputs_struct = self._outputs_struct = None
        self.input_names = self.output_names = []
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise ValueError("Model(inputs, outputs) needs both: the keras.Input tensor(s) "
                                 "and the tensor(s) computed from them")
            self._init_graph(inputs, outputs)
        elif type(self) is Model:
            raise ValueError("Model(inputs, outputs): give the keras.Input tensor(s) and the "
                             "output tensor(s) (or use Sequential, or subclass Model with a "
                             "call method)")

    # ------------------------------------------------------------ the graph
    def _init_graph(self, inputs, outputs):
        for what, structure in (("inputs", inputs), ("outputs", outputs)):
            for tensor in graph.flatten(structure):
                if not isinstance(tensor, graph.KerasTensor):
                    raise ValueError(f"Model {what} must be symbolic tensors (from keras.Input "
                                     f"and layers called on them); received "
                                     f"{type(tensor).__name__} {tensor!r:.80}")
        self._inputs_struct, self._outputs_struct = inputs, outputs
        self.inputs, self.outputs = graph.flatten(inputs), graph.flatten(outputs)
        self._nodes, self._operations = graph.map_graph(self.inputs, self.outputs)
        self.input_names = (sorted(inputs) if isinstance(inputs, dict) else
                            [t.name for t in self.inputs])
        if isinstance(outputs, dict):
            names = sorted(outputs)
        else:
            names = [t._keras_history.operation.name for t in self.outputs]
            counts = collections.Counter(names)
            if any(c > 1 for c in counts.values()):
                names = [f"{n}_{i}" if counts[n] > 1 else n for i, n in enumerate(names)]
        self.output_names = names
        self.built = True
        shapes = [t.shape for t in self.inputs]
        self._input_shape = shapes[0] if len(shapes) == 1 else shapes
        self._sample_shape = tuple(shapes[0][1:]) if len(shapes) == 1 else None
        out_shapes = [t.shape for t in self.outputs]
        self._output_shape = out_shapes[0] if len(out_shapes) == 1 else out_shapes
        self._invalidate_plan()
        self._packed = None
        if self.compiled:
            self._build_compiled()

    def build(self, input_shape):
        """A subclass with its own ``call`` is traced on symbolic inputs of
        ``input_shape`` (batch axis None) into a graph."""
        if self.built:
            return
        if type(self).call is Model.call:
            raise ValueError(f"Model {self.name!r} has no graph to build")
        if isinstance(input_shape, dict):  # call(inputs) reads inputs["name"]
            arguments = {name: InputLayer(batch_shape=(None,) + tuple(shape[1:]),
                                          name=name).output
                         for name, shape in input_shape.items()}
        else:
            shapes = input_shape if _is_shape_list(input_shape) else [input_shape]
            input_layers = [InputLayer(batch_shape=(None,) + tuple(s[1:])) for s in shapes]
            tensors = [layer.output for layer in input_layers]
            arguments = tensors[0] if len(tensors) == 1 else tensors
        call = self.call
        try:
            outputs = call(arguments, training=False) if "training" in _inspect.signature(
                call).parameters else call(arguments)
        except TypeError:  # its call computes with ops between its layers: no graph of
            outputs = _OwnCall(self)(arguments)  # layers, but one step that runs the call
        self._init_graph(arguments, outputs)

    def call(self, inputs, training=None, mask=None):
        """Run the graph (Keras's name for the model's computation)."""
        if mask is not None:
            raise NotImplementedError("Model.call: masks are not implemented in glassnet yet")
        return self.forward(inputs, training=bool(training))

    @property
    def layers(self):
        """The layers in Keras's order (a functional model's InputLayers included);
        a subclass with no graph (yet) lists the layers set as its attributes."""
        if type(self) not in (Model, Sequential) and (not self._operations or any(
                isinstance(op, _OwnCall) for op in self._operations)):
            return _attribute_layers(self)
        return [op for op in self._operations if isinstance(op, Layer)]

    @property
    def input(self):
        if self._inputs_struct is None:
            return Layer.input.fget(self)
        return self._inputs_struct

    @property
    def output(self):
        if self._outputs_struct is None:
            return Layer.output.fget(self)
        return self._outputs_struct

    def get_layer(self, name=None, index=None):
        """The layer called ``name`` (or at position ``index`` of ``layers``)."""
        if (name is None) == (index is None):
            raise ValueError("get_layer takes a name or an index (one of them)")
        if index is not None:
            if not 0 <= index < len(self.layers):
                raise ValueError(f"get_layer: index {index} is out of range; the model has "
                                 f"{len(self.layers)} layers")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No layer named {name!r} in model {self.name!r}; its layers: "
                         f"{[layer.name for layer in self.layers]}")

    # ------------------------------------------------------------ weights
    @property
    def weights(self):
        return _dedup(v for layer in self.layers for v in layer.weights)

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return _dedup(v for layer in self.layers for v in layer.trainable_weights)

    @property
    def non_trainable_weights(self):
        trainable = {id(v) for v in self.trainable_weights}
        return [v for v in self.weights if id(v) not in trainable]

    variables = weights
    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    def _sublayers(self):
        return [layer for layer in getattr(self, "_operations", None) or []
                if not isinstance(layer, InputLayer)]

    @property
    def dtype(self):
        variables = self.weights
        return variables[0].dtype if variables else self.__dict__.get(
            "_dtype", np.dtype(utils.floatx()))

    @dtype.setter
    def dtype(self, value):
        self._dtype = value

    def get_weights(self):
        """Every weight, in Keras's order and shapes."""
        self._require_built("get_weights")
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights):
        self._require_built("set_weights")
        weights, mine = list(weights), self.weights
        if len(weights) != len(mine):
            raise ValueError(f"Model {self.name!r} has {len(mine)} weight arrays; received "
                             f"{len(weights)}")
        for v, value in zip(mine, weights):
            if np.shape(value) != v.shape:
                layer = v.path.rsplit("/", 1)[0]
                raise ValueError(f"Model {self.name!r}: layer {layer!r} weight {v.name!r} has "
                                 f"shape {v.shape}; received an array of shape "
                                 f"{np.shape(value)}")
        for v, value in zip(mine, weights):
            v.assign(value)

    def count_params(self):
        self._require_built("count_params")
        return int(sum(v.size for v in self.weights))

    def _require_built(self, what):
        if not self.built:
            raise ValueError(f"{what}: the model is not built yet. Give it an Input((...)) "
                             f"first, or call it on data (fit/predict) so it can infer the "
                             f"input shape")

    def regularization_loss(self):
        return self._regularization_loss()

    # ------------------------------------------------------------ as a layer
    def compute_output_shape(self, input_shape):
        return self._output_shape

    def _maybe_build(self, input_shape):
        if not self.built:
            self.build(input_shape if not isinstance(input_shape, dict) or
                       type(self).call is not Model.call else list(input_shape.values()))
            return
        if isinstance(input_shape, dict):
            input_shape = [input_shape[name] for name in self.input_names]
        expected = self._input_shape
        if not _compatible(expected, input_shape):
            raise ValueError(f"Model {self.name!r} expects input of shape {_show(expected)}; "
                             f"received input of shape {_show(input_shape)}")

    def _symbolic_call(self, inputs):
        flat = graph.flatten(inputs)
        shapes = [(None,) + tuple(t.shape[1:]) for t in flat]
        self._maybe_build(shapes[0] if len(shapes) == 1 else shapes)
        outputs = [graph.KerasTensor(t.shape, t.dtype, name=f"{self.name}_{i}" if len(
            self.outputs) > 1 else self.name) for i, t in enumerate(self.outputs)]
        graph.Node(self, inputs, outputs)
        return self._pack_outputs(outputs)

    def _eager_call(self, inputs, training):
        """``model(x)``: Tensors back; under a tape, the whole model is one node
        whose backward is the engine's backward (``LayerCall``)."""
        arrays = _arrays(inputs)
        self._build_from(arrays)
        xs = self._predict_inputs(arrays, f"model {self.name!r}")
        xs = [x.astype(_float_or(t, self.dtype), copy=False) for x, t in zip(xs, self.inputs)]
        flat = [inputs[name] for name in self.input_names] if isinstance(inputs, dict) else \
            list(inputs) if isinstance(inputs, (list, tuple)) else inputs
        return function.call_layer(
            self, xs if len(xs) > 1 else xs[0], training,
            lambda a: self._pack_outputs(self._run_forward(a if len(xs) > 1 else [a], training)),
            tensors=flat)

    def forward(self, inputs, training=False):
        """The outputs for a batch of inputs (an array, or a list or dict of
        them): the graph's layers run in order."""
        if isinstance(inputs, dict):
            flat = [inputs[name] for name in self.input_names]
        elif isinstance(inputs, (list, tuple)):
            flat = list(inputs)
        else:
            flat = [inputs]
        return self._pack_outputs(self._run_forward(flat, training))

    def backward(self, grad):
        """∂L/∂inputs from ∂L/∂outputs: the graph's layers in reverse."""
        return self._backward(grad, True)

    def _backward(self, grad, input_grad=True):
        flat = graph.flatten(grad) if isinstance(grad, (list, tuple, dict)) else [grad]
        output_grads = {}
        for tensor, g in zip(self.outputs, flat):
            if g is not None:
                output_grads[id(tensor)] = g if id(tensor) not in output_grads else \
                    output_grads[id(tensor)] + g
        grads = self._run_backward(output_grads, {}, input_grad)
        return grads[0] if len(grads) == 1 else grads

    def _call_state(self):
        return {"model": dict(self.__dict__),
                "layers": [(layer, layer._call_state()) for layer in self.layers]}

    def _restore_call_state(self, state):
        self.__dict__.update(state["model"])
        for layer, layer_state in state["layers"]:
            layer._restore_call_state(layer_state)

    def last_output(self):
        return None

    # ------------------------------------------------------------ summary
    def _chain_like(self):
        if isinstance(self, Sequential):
            return True
        if len(self.inputs) != 1 or len(self.outputs) != 1 or any(
                len(node.input_tensors) > 1 for node in self._nodes):
            return False
        calls = collections.Counter(node.operation for node in self._nodes)
        readers = collections.Counter(id(t) for node in self._nodes for t in node.input_tensors)
        return all(c == 1 for c in calls.values()) and all(c == 1 for c in readers.values())

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        """Keras's table: each layer, its output shape and parameter count, and
        for a graph that is not a chain, what each layer is connected to."""
        for argument, value in (("positions", positions), ("layer_range", layer_range)):
            if value is not None:
                raise NotImplementedError(f"summary: {argument} is not implemented in glassnet")
        built = self.built
        chain = self._chain_like() if built else True
        own = set(self._nodes)
        rows = []

        def add_rows(model, prefix=""):
            if not built:  # Keras 3: the layers so far, "?" and "0 (unbuilt)"
                for layer in getattr(model, "_layers", []):
                    rows.append([f"{prefix}{layer.name} ({type(layer).__name__})", "?",
                                 f"{layer.count_params():,}" if layer.built else
                                 "0 (unbuilt)"] + (["-"] if show_trainable else []))
                return
            for layer in model.layers:
                shapes = _layer_output_shapes(layer, own)
                row = [f"{prefix}{layer.name} ({type(layer).__name__})", shapes,
                       f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"]
                if not chain:
                    row.append(_connections(layer, own))
                if show_trainable:
                    row.append(("Y" if layer.trainable else "N") if layer.weights else "-")
                rows.append(row)
                if expand_nested and isinstance(layer, Model):
                    add_rows(layer, prefix + "   └ ")

        add_rows(self)
        header = ["Layer (type)", "Output Shape", "Param #"] + ([] if chain else
                                                               ["Connected to"])
        if show_trainable:
            header.append("Trainable")
        minimum = [31, 24, 15, 22, 11] if line_length is None else [1] * 5
        widths = [max(minimum[i], len(header[i]) + 2, *(len(r[i]) + 2 for r in rows))
                  for i in range(len(header))]
        right = {2}

        def line(left, mid, end, fill):
            return left + mid.join(fill * w for w in widths) + end

        def cells(values, edge):
            parts = [f" {v:>{w - 2}} " if i in right else f" {v:<{w - 2}} "
                     for i, (v, w) in enumerate(zip(values, widths))]
            return edge + edge.join(parts) + edge

        trainable = sum(v.size for v in self.trainable_weights) if built else 0
        total = self.count_params() if built else 0
        itemsize = self.dtype.itemsize
        out = [f'Model: "{self.name}"', line("┏", "┳", "┓", "━"), cells(header, "┃"),
               line("┡", "╇", "┩", "━")]
        for i, row in enumerate(rows):
            out.append(cells(row, "│"))
            out.append(line("├", "┼", "┤", "─") if i < len(rows) - 1 else
                       line("└", "┴", "┘", "─"))
        optimizer_size = self._optimizer_size() if built else 0
        counts = [("Total", total + optimizer_size), ("Trainable", trainable),
                  ("Non-trainable", total - trainable)]
        if optimizer_size:
            counts.append(("Optimizer", optimizer_size))
        for label, count in counts:
            out.append(f" {label} params: {count:,} ({_format_bytes(count * itemsize)})")
        (print_fn or print)("\n".join(out))

    def _optimizer_size(self):
        optimizer = self.optimizer
        if optimizer is None or optimizer._scratch is None:
            return 0
        return int(sum(np.size(v) for v in optimizer._state.values())) + 1

    # ------------------------------------------------------------ configs, files
    def get_config(self):
        """Keras 3's functional config: every layer with the nodes it was
        called at (``inbound_nodes``), and the input and output layers."""
        own = set(self._nodes)
        index = {}  # (layer, node) -> node index among this model's nodes of that layer
        for layer in self.layers:
            mine = [n for n in layer._inbound_nodes if n in own or n.is_input]
            for i, node in enumerate(mine):
                index[id(node)] = i

        def tensor_ref(tensor):
            history = tensor._keras_history
            node = history.operation._inbound_nodes[history.node_index]
            return [history.operation.name, index[id(node)], history.tensor_index]

        def spec(tensor):
            return {"class_name": "__keras_tensor__",
                    "config": {"shape": list(tensor.shape), "dtype": tensor.dtype,
                               "keras_history": tensor_ref(tensor)}}

        layer_configs = []
        for layer in self.layers:
            nodes = []
            for node in layer._inbound_nodes:
                if node not in own:
                    continue
                arguments = node.arguments
                own_call = getattr(layer, "_keras_call_arguments", None)
                if own_call is not None:  # a layer Keras calls with several arguments
                    args, kwargs = own_call(arguments, spec)
                    if node.training is not None:
                        kwargs["training"] = node.training
                    nodes.append({"args": args, "kwargs": kwargs})
                    continue
                if isinstance(arguments, dict):
                    args = [{k: spec(v) for k, v in arguments.items()}]
                elif isinstance(arguments, (list, tuple)):
                    args = [[spec(t) for t in arguments]]
                else:
                    args = [spec(arguments)]
                nodes.append({"args": args, "kwargs": {} if node.training is None else
                              {"training": node.training}})
            layer_configs.append({**layers_module.serialize(layer), "name": layer.name,
                                  "inbound_nodes": nodes})

        def refs(structure):
            if isinstance(structure, dict):
                return {k: tensor_ref(v) for k, v in structure.items()}
            if isinstance(structure, (list, tuple)):
                return [tensor_ref(t) for t in structure]
            return tensor_ref(structure)

        return {"name": self.name, "trainable": self.trainable, "layers": layer_configs,
                "input_layers": refs(self._inputs_struct),
                "output_layers": refs(self._outputs_struct)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        if custom_objects:
            from glassnet.saving import custom

            with custom.custom_object_scope(custom_objects):
                return cls.from_config(config)
        created = {}   # layer name -> layer
        outputs = {}   # (layer name, node index) -> list of output tensors
        pending = []
        for layer_config in config["layers"]:
            layer = layers_module.deserialize(layer_config)
            created[layer_config.get("name", layer.name)] = layer
            if isinstance(layer, InputLayer):
                outputs[(layer.name, 0)] = [layer.output]
            for node_index, node in enumerate(layer_config.get("inbound_nodes", [])):
                pending.append((layer, layer_config.get("name", layer.name), node_index, node))

        def resolve(item):
            if isinstance(item, dict) and item.get("class_name") == "__keras_tensor__":
                name, node_index, tensor_index = item["config"]["keras_history"]
                made = outputs.get((name, node_index))
                if made is None:
                    raise LookupError
                return made[tensor_index]
            if isinstance(item, dict):
                return {k: resolve(v) for k, v in item.items()}
            if isinstance(item, list):
                return [resolve(v) for v in item]
            return item

        while pending:
            progress = False
            for entry in list(pending):
                layer, name, node_index, node = entry
                try:
                    arguments = resolve(node["args"][0] if len(node["args"]) == 1 else
                                        node["args"])
                except LookupError:
                    continue
                try:
                    kwargs = resolve({k: v for k, v in node.get("kwargs", {}).items()
                                      if k == "training" or k in _named_call_arguments(layer)})
                except LookupError:
                    continue
                result = layer(arguments, **kwargs)
                outputs[(name, node_index)] = graph.flatten(result)
                pending.remove(entry)
                progress = True
            if not progress:
                raise ValueError(f"Model config {config.get('name')!r}: cannot connect the "
                                 f"layers {[e[1] for e in pending]} (a node refers to a tensor "
                                 f"no layer makes)")

        def tensors(refs):
            if isinstance(refs, dict):
                return {k: tensors(v) for k, v in refs.items()}
            if refs and isinstance(refs[0], list):
                return [tensors(r) for r in refs]
            name, node_index, tensor_index = refs
            return outputs[(name, node_index)][tensor_index]

        return cls(tensors(config["input_layers"]), tensors(config["output_layers"]),
                   name=config.get("name"), trainable=config.get("trainable", True))

    def compile_config(self):
        if not self.compiled:
            return None
        from glassnet import losses, optimizers

        loss = self.loss
        if isinstance(loss, (list, tuple)):
            loss = [None if spec is None else losses.serialize(losses.get(spec)) for spec in loss]
        elif isinstance(loss, dict):
            loss = {k: None if v is None else losses.serialize(losses.get(v))
                    for k, v in loss.items()}
        elif loss is not None:
            loss = losses.serialize(losses.get(loss))
        metrics = self._compile_args[2]
        return {"optimizer": optimizers.serialize(self.optimizer), "loss": loss,
                "loss_weights": self._compile_args[1],
                "metrics": _serializable_metrics(metrics)}

    def save(self, path, overwrite=True, include_optimizer=True, save_format=None):
        """Save architecture, weights, compile settings and optimizer state;
        the extension decides the format, as in Keras: ``.keras`` (Keras 3's
        zip, which real Keras opens), ``.h5`` (Keras's legacy HDF5) or
        ``.safetensors`` (glassnet's own). Written to a temporary file, then
        renamed."""
        from glassnet import saving

        if save_format is not None:  # tf.keras 2's argument; the extension says it in Keras 3
            wanted = {"h5": ".h5", "keras": ".keras", "keras_v3": ".keras"}.get(save_format)
            if save_format == "tf":
                raise NotImplementedError("save_format='tf' (TensorFlow's SavedModel) is not a "
                                          "format glassnet writes; save as .keras or .h5")
            if wanted is None or not str(path).lower().endswith(wanted):
                raise ValueError(f"save: save_format={save_format!r} does not match "
                                 f"{str(path)!r}; the extension chooses the format (.keras, "
                                 f".h5, .safetensors)")
        saving.save_model(self, path, overwrite=overwrite, include_optimizer=include_optimizer)

    def export(self, filepath, format=None, verbose=True, input_signature=None, opset=None,
               **kwargs):
        """Keras 3's ``model.export``: ``format="onnx"`` writes an ONNX file
        (``glassnet.saving.onnx_export``); ``format=None`` takes it from a
        ``.onnx`` name. Keras's other formats (tf_saved_model, openvino, litert)
        raise NotImplementedError."""
        fmt = format or ("onnx" if os.fspath(filepath).endswith(".onnx") else "tf_saved_model")
        if fmt != "onnx":
            raise NotImplementedError(f"Model {self.name!r}: export format {fmt!r} is not "
                                      f"implemented in glassnet; use format='onnx'")
        for argument, value in (("input_signature", input_signature),):
            if value is not None:
                raise NotImplementedError(f"export: {argument} is not implemented in glassnet")
        if kwargs:
            raise TypeError(f"export: unexpected arguments {sorted(kwargs)}")
        from glassnet.saving.onnx_export import OPSET, export_onnx

        path = export_onnx(self, filepath, opset=opset or OPSET)
        if verbose:
            print(f"Saved ONNX model (opset {opset or OPSET}) to {path}")
        return path

    def save_weights(self, path, overwrite=True):
        """Save the weights: ``.weights.h5`` (Keras 3), ``.h5`` (tf.keras 2)
        or ``.safetensors``."""
        from glassnet import saving

        saving.save_weights(self, path, overwrite=overwrite)

    def load_weights(self, path, skip_mismatch=False):
        """Load weights saved by glassnet or Keras (any of its weight or model
        files) into this model of the same architecture."""
        from glassnet import saving

        saving.load_weights(self, path, skip_mismatch=skip_mismatch)

    def __repr__(self):
        return (f"<{type(self).__name__} name={self.name}, built={self.built}, "
                f"layers={len(self.layers)}>")


class Sequential(Model):
    """A linear stack of layers: ``Sequential([Input((28, 28)), Flatten(),
    Dense(128, activation="relu"), Dense(10, activation="softmax")])``."""

    def __init__(self, layers=None, trainable=True, name=None):
        self._layers = []
        Model.__init__(self, name=name, trainable=trainable)
        if isinstance(layers, Layer):  # tf.keras 2 took one layer too: Sequential(dense)
            layers = [layers]
        if layers is not None and not isinstance(layers, (list, tuple)):
            raise TypeError(f"Sequential takes a list of layers; received "
                            f"{type(layers).__name__}")
        for layer in layers or []:
            self.add(layer, rebuild=False)
        if self._layers:
            self._maybe_rebuild()

    def add(self, layer, rebuild=True):
        """Put ``layer`` on top of the stack (a keras.Input tensor sets the
        input shape)."""
        if isinstance(layer, graph.KerasTensor) and isinstance(
                getattr(layer._keras_history, "operation", None), InputLayer):
            layer = layer._keras_history.operation
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add takes a layer; received {type(layer).__name__} "
                            f"{layer!r:.60}")
        if not self._layers and not isinstance(layer, InputLayer) and \
                layer._input_shape_arg is not None:  # Keras 2's input_shape= on the first layer
            self._layers.append(InputLayer(shape=layer._input_shape_arg))
        if isinstance(layer, InputLayer) and self._layers:
            raise ValueError(f"Sequential model {self.name!r} already has an input shape; an "
                             f"Input comes first, once")
        if any(existing.name == layer.name for existing in self._layers):
            raise ValueError(f"Sequential {self.name!r} already has a layer named "
                             f"{layer.name!r}; layer names must be unique")
        self._layers.append(layer)
        self.built = False
        self._invalidate_plan()
        if rebuild:
            self._maybe_rebuild()

    def pop(self, rebuild=True):
        """Remove the top layer, and return it."""
        if not self.layers:
            raise ValueError(f"Sequential {self.name!r} has no layers to pop")
        layer = self._layers.pop()
        self.built = False
        self._invalidate_plan()
        if rebuild:
            self._maybe_rebuild()
        return layer

    def _maybe_rebuild(self):
        first = self._layers[0]
        if isinstance(first, InputLayer):  # an Input alone waits for the first layer
            if len(self._layers) > 1:
                self.build(first.batch_shape)
        elif first.built and first.input_shape is not None and not _is_shape_list(
                first.input_shape):  # e.g. a model that knows its input: build on its shape
            self.build(first.input_shape)

    @property
    def layers(self):
        layers = self._layers
        return list(layers[1:] if layers and isinstance(layers[0], InputLayer) else layers)

    def build(self, input_shape=None):
        """Build the graph for inputs of ``input_shape`` (with the batch axis,
        e.g. ``(None, 784)``; Keras's convention)."""
        if not self.layers:
            raise ValueError(f"Sequential model {self.name!r} has no layers; add some first")
        if input_shape is None:
            if not isinstance(self._layers[0], InputLayer):
                raise ValueError(f"Sequential model {self.name!r}: build() needs an input "
                                 f"shape, e.g. build((None, 784))")
            input_shape = self._layers[0].batch_shape
        input_shape = tuple(input_shape)
        first = self._layers[0]
        if isinstance(first, InputLayer):
            if not _compatible(first.output.shape, (None,) + input_shape[1:]):
                raise ValueError(f"Sequential model {self.name!r} has the input shape "
                                 f"{first.output.shape}; it cannot be built for "
                                 f"{input_shape}")
        else:
            dtype = self._layers[0].dtype
            self._layers.insert(0, InputLayer(batch_shape=(None,) + input_shape[1:],
                                              dtype=dtype))
        x = self._layers[0].output
        for index, layer in enumerate(self._layers[1:], 1):
            if isinstance(x, list):  # a layer that returned several tensors, then another
                previous = self._layers[index - 1]
                raise ValueError(f"All layers in a Sequential model should have a single output "
                                 f"tensor. For multi-output layers, use the functional API. "
                                 f"Layer {previous.name!r} ({type(previous).__name__}) returns "
                                 f"{len(x)} tensors"
                                 + (" (return_state=True)" if getattr(previous, "return_state",
                                                                       False) else ""))
            x = layer(x)
        self._init_graph(self._layers[0].output, x)

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable,
                "layers": [layers_module.serialize(layer) for layer in self._layers]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        if custom_objects:
            from glassnet.saving import custom

            with custom.custom_object_scope(custom_objects):
                return cls.from_config(config)
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        shape = config.get("input_shape") or config.get("build_input_shape")
        if shape is not None:  # glassnet's first files: one sample's shape
            shape = tuple(shape)
            if config.get("build_input_shape") is None:
                shape = (None,) + shape
            model.add(InputLayer(batch_shape=shape), rebuild=False)
        for layer_config in config["layers"]:
            model.add(layers_module.deserialize(layer_config), rebuild=False)
        if model._layers:
            model._maybe_rebuild()
        return model


def _arrays(inputs):
    """Tensors (nested) as their arrays, for the engine's checks."""
    if isinstance(inputs, dict):
        return {k: _arrays(v) for k, v in inputs.items()}
    if isinstance(inputs, (list, tuple)):
        return type(inputs)(_arrays(v) for v in inputs)
    return function.value_of(inputs) if isinstance(inputs, (Tensor, Variable)) else inputs


def _float_or(tensor, float_dtype):
    dtype = np.dtype(tensor.dtype)
    return float_dtype if dtype.kind == "f" else dtype


def _is_shape_list(shape):
    return isinstance(shape, list) and shape and isinstance(shape[0], (tuple, list))


def _layer_output_shapes(layer, own):
    nodes = [n for n in layer._inbound_nodes if n in own or n.is_input]
    if not nodes:
        return "?" if layer.output_shape is None else str(tuple(layer.output_shape))
    shapes = [str(tuple(t.shape)) for t in nodes[-1].outputs]
    return shapes[0] if len(shapes) == 1 else "[" + ", ".join(shapes) + "]"


def _connections(layer, own):
    found = []
    for node in layer._inbound_nodes:
        if node not in own:
            continue
        for tensor in node.input_tensors:
            history = tensor._keras_history
            found.append(f"{history.operation.name}[{history.node_index}]"
                         f"[{history.tensor_index}]")
    return ", ".join(found) or "-"


def _serializable_metrics(metrics):
    if metrics is None:
        return None
    if isinstance(metrics, dict):
        return {k: _serializable_metrics(v) for k, v in metrics.items()}
    if isinstance(metrics, (list, tuple)):
        return [m for m in (_serializable_metrics(v) for v in metrics) if m is not None]
    return metrics if isinstance(metrics, str) else getattr(metrics, "name", None)


def _format_bytes(count):
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.2f} {unit}"
        count /= 1024


def _named_call_arguments(layer):
    """The keyword arguments a layer's own ``__call__`` names (MultiHeadAttention's
    key=, attention_mask=, use_causal_mask=, ...), which a Keras node may carry."""
    call = type(layer).__call__
    if call is layers_module.Layer.__call__:
        return ()
    import inspect

    return tuple(name for name, p in inspect.signature(call).parameters.items()
                 if p.kind is p.POSITIONAL_OR_KEYWORD and name not in ("self", "mask"))


def _with_dtype(config, dtype):
    """A copy of a model or layer config with every layer's dtype replaced."""
    config = {**config}
    if "layers" in config:
        config["layers"] = [_with_dtype(c, dtype) for c in config["layers"]]
        return config
    inner = {**config.get("config", {})}
    if "layers" in inner:
        inner = _with_dtype(inner, dtype)
    elif config.get("class_name") != "InputLayer" or np.dtype(
            inner.get("dtype", "float32")).kind == "f":
        inner["dtype"] = dtype
    config["config"] = inner
    return config


class _OwnCall(Layer):
    """A subclassed Model's own ``call`` as one step of its graph, for a call
    that computes with ops between its layers (keras.io's VAE: ``tf.exp``,
    ``self.add_loss``), which cannot be traced into a graph of layers. Like
    any Keras-style layer, its forward runs the call on a private tape and its
    backward asks that tape; its weights are those of the model's layers."""

    def __init__(self, model):
        super().__init__(name=f"{model.name}_call", dtype=model.__dict__.get("_dtype"))
        self.__dict__["_owner_model"] = model  # not a sublayer: the model holds this step

    def call(self, inputs, training=None):
        model = self._owner_model
        if "training" in _inspect.signature(model.call).parameters:
            return type(model).call(model, inputs, training=training)
        return type(model).call(model, inputs)

    def _sublayers(self):
        return _attribute_layers(self._owner_model)

    def _added_loss_terms(self):
        model = self._owner_model
        terms = list(model.__dict__.get("_added_losses", ()))  # the call's self.add_loss
        for layer in self._sublayers():
            terms += layer._added_loss_terms() if type(layer).activity_loss is \
                Layer.activity_loss else [a for a in [layer.activity_loss()] if a]
        return terms

    def _clear_added_losses(self):
        self._owner_model.__dict__["_added_losses"] = []
        for layer in self._sublayers():
            layer._clear_added_losses()


def _attribute_layers(model):
    """The layers (and models) set as attributes of ``model``, in order, as
    Keras tracks them."""
    found = []
    for value in model.__dict__.values():
        for item in (value if isinstance(value, (list, tuple)) else [value]):
            if isinstance(item, Layer) and item is not model and item not in found and \
                    not isinstance(item, (_OwnCall, InputLayer)):
                found.append(item)
    return found


def clone_model(model, dtype=None):
    """A new model of the same architecture, with fresh weights (Keras's
    ``clone_model``); ``dtype`` rebuilds it in another float type."""
    from glassnet.saving import custom

    config = model.get_config()
    if dtype is not None:
        config = _with_dtype(config, str(np.dtype(dtype)))
    cls = type(model) if type(model) in (Model, Sequential) else Model  # a traced subclass
    own = {type(layer).__name__: type(layer) for layer in _every_layer(model)
           if type(layer).__module__.split(".")[0] != "glassnet"}  # your classes, in memory
    with custom.custom_object_scope(own):
        return cls.from_config(config)


def _every_layer(model):
    for layer in getattr(model, "layers", []):
        yield layer
        yield from _every_layer(layer)


def load_model(path, compile=True, safe_mode=True, custom_objects=None):
    """A model from a ``.keras``, ``.h5`` or ``.safetensors`` file, written by
    glassnet or by Keras (3.x, or tf.keras 2.13+); see :mod:`glassnet.saving`."""
    from glassnet import saving

    from glassnet.saving import custom

    with custom.custom_object_scope(custom_objects):  # yours, for this load only
        return saving.load_model(path, compile=compile, safe_mode=safe_mode)
