"""ONNX export: ``model.export(path, format="onnx")``.

The graph is built with the ``onnx`` package (imported only here) from the
model's own nodes, in the order the engine runs them. The input keeps the
model's own layout (NHWC images, as Keras) with a dynamic batch axis named
``batch``. Convolutions and pooling run in ONNX's NCHW: a Transpose in, the
op, a Transpose out (onnxruntime removes the pairs between two such layers).

Opset 17: it has LayerNormalization and is run by every onnxruntime since
1.12 (2022) and by onnxruntime-web, so the file works on phones and in
browsers; nothing glassnet exports needs a newer operator. The class names
go in the model's metadata (``class_names``, JSON).

A layer or an argument the exporter does not know raises
NotImplementedError naming it: never a wrong graph.
"""

from __future__ import annotations

import json
import os

import numpy as np

__all__ = ["export_onnx", "OPSET"]

OPSET = 17


class _Graph:
    def __init__(self, onnx):
        self.onnx, self.helper = onnx, onnx.helper
        self.nodes, self.initializers, self.count = [], [], 0

    def name(self, hint):
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, value, hint="const", dtype=np.float32):
        name = self.name(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(
            np.asarray(value, dtype=dtype), name))
        return name

    def op(self, op_type, inputs, hint=None, **attributes):
        out = self.name(hint or op_type.lower())
        self.nodes.append(self.helper.make_node(op_type, list(inputs), [out], **attributes))
        return out


# ------------------------------------------------------------------ activations
def _activation(g, x, activation, owner):
    name = activation.name
    simple = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softplus": "Softplus",
              "softsign": "Softsign", "exponential": "Exp"}
    if name == "linear":
        return x
    if name in simple:
        return g.op(simple[name], [x])
    if name == "softmax":
        return g.op("Softmax", [x], axis=-1)
    if name == "log_softmax":
        return g.op("LogSoftmax", [x], axis=-1)
    if name == "elu":
        return g.op("Elu", [x], alpha=1.0)
    if name == "selu":
        return g.op("Selu", [x], alpha=1.6732632423543772, gamma=1.0507009873554805)
    if name == "leaky_relu":
        return g.op("LeakyRelu", [x], alpha=0.2)
    if name == "relu6":
        return g.op("Clip", [x, g.const(0.0), g.const(6.0)])
    if name == "hard_sigmoid":  # Keras 3: relu6(x + 3) / 6
        return g.op("HardSigmoid", [x], alpha=1 / 6, beta=0.5)
    if name == "silu":
        return g.op("Mul", [x, g.op("Sigmoid", [x])])
    if name == "mish":
        return g.op("Mul", [x, g.op("Tanh", [g.op("Softplus", [x])])])
    if name == "gelu":  # exact: x · (1 + erf(x / √2)) / 2
        half = g.op("Mul", [x, g.const(0.5)])
        erf = g.op("Erf", [g.op("Mul", [x, g.const(1 / np.sqrt(2))])])
        return g.op("Mul", [half, g.op("Add", [erf, g.const(1.0)])])
    raise NotImplementedError(f"{owner}: ONNX export of the activation {name!r} is not "
                              f"implemented")


# ------------------------------------------------------------------ layers
def _nchw(g, x):
    return g.op("Transpose", [x], perm=[0, 3, 1, 2])


def _nhwc(g, x):
    return g.op("Transpose", [x], perm=[0, 2, 3, 1])


def _same_pads(size, kernel, stride):
    """TensorFlow's "same": the output is ceil(size / stride); the extra
    padding goes at the end (bottom/right)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _pads(layer, shape, kernel):
    if layer.padding == "valid":
        return [0, 0, 0, 0]
    (top, bottom), (left, right) = (_same_pads(shape[1], kernel[0], layer.strides[0]),
                                    _same_pads(shape[2], kernel[1], layer.strides[1]))
    return [top, left, bottom, right]


def _dense(g, layer, x, shape, owner):
    out = g.op("MatMul", [x, g.const(layer.kernel.numpy(), "kernel")])
    if layer.use_bias:
        out = g.op("Add", [out, g.const(layer.bias.numpy(), "bias")])
    return _activation(g, out, layer.activation, owner)


def _conv2d(g, layer, x, shape, owner):
    if len(shape) != 4:
        raise NotImplementedError(f"{owner}: ONNX export of {type(layer).__name__} is "
                                  f"implemented for 2-D images only")
    for argument, default in (("dilation_rate", (1, 1)), ("groups", 1)):
        if getattr(layer, argument, default) not in (default, list(default) if isinstance(
                default, tuple) else default):
            raise NotImplementedError(f"{owner}: ONNX export with {argument} is not "
                                      f"implemented")
    kernel = layer.kernel.numpy()                        # (kh, kw, in, out)
    weights = g.const(np.transpose(kernel, (3, 2, 0, 1)), "kernel")
    inputs = [_nchw(g, x), weights]
    if layer.use_bias:
        inputs.append(g.const(layer.bias.numpy(), "bias"))
    out = g.op("Conv", inputs, kernel_shape=list(kernel.shape[:2]),
               strides=list(layer.strides), pads=_pads(layer, shape, kernel.shape[:2]))
    return _activation(g, _nhwc(g, out), layer.activation, owner)


def _pool2d(g, layer, x, shape, owner):
    kind = "MaxPool" if type(layer).__name__.startswith("Max") else "AveragePool"
    if len(shape) != 4:
        raise NotImplementedError(f"{owner}: ONNX export of 1-D pooling is not implemented")
    attributes = {"kernel_shape": list(layer.pool_size), "strides": list(layer.strides),
                  "pads": _pads(layer, shape, layer.pool_size)}
    if kind == "AveragePool":
        attributes["count_include_pad"] = 0  # TensorFlow averages the real values only
    return _nhwc(g, g.op(kind, [_nchw(g, x)], **attributes))


def _global_pool(g, layer, x, shape, owner):
    kind = "ReduceMean" if "Average" in type(layer).__name__ else "ReduceMax"
    return g.op(kind, [x], axes=list(range(1, len(shape) - 1)), keepdims=int(layer.keepdims))


def _batch_norm(g, layer, x, shape, owner):
    if layer.axis not in (-1, len(shape) - 1):
        raise NotImplementedError(f"{owner}: ONNX export of BatchNormalization over axis "
                                  f"{layer.axis} is not implemented (only the last)")
    scale = 1 / np.sqrt(layer.moving_variance.numpy().astype(np.float64) + layer.epsilon)
    if layer.scale:
        scale = scale * layer.gamma.numpy()
    shift = -layer.moving_mean.numpy() * scale
    if layer.center:
        shift = shift + layer.beta.numpy()
    return g.op("Add", [g.op("Mul", [x, g.const(scale, "bn_scale")]),
                        g.const(shift, "bn_shift")])


def _layer_norm(g, layer, x, shape, owner):
    if layer.axis not in (-1, len(shape) - 1):
        raise NotImplementedError(f"{owner}: ONNX export of LayerNormalization over axis "
                                  f"{layer.axis} is not implemented (only the last)")
    size = shape[-1]
    gamma = layer.gamma.numpy() if layer.scale else np.ones(size, np.float32)
    beta = layer.beta.numpy() if layer.center else np.zeros(size, np.float32)
    return g.op("LayerNormalization", [x, g.const(gamma, "gamma"), g.const(beta, "beta")],
                axis=-1, epsilon=layer.epsilon)


def _reshape(g, layer, x, shape, owner):
    target = [0] + [int(d) for d in layer.target_shape]
    return g.op("Reshape", [x, g.const(target, "shape", np.int64)])


def _relu_layer(g, layer, x, shape, owner):
    if layer.max_value is None and layer.negative_slope == 0 and layer.threshold == 0:
        return g.op("Relu", [x])
    if layer.threshold != 0:
        raise NotImplementedError(f"{owner}: ONNX export of ReLU with threshold is not "
                                  f"implemented")
    out = g.op("LeakyRelu", [x], alpha=layer.negative_slope) if layer.negative_slope else \
        g.op("Relu", [x])
    if layer.max_value is not None:
        out = g.op("Min", [out, g.const(layer.max_value)])
    return out


_LAYERS = {
    "Dense": _dense,
    "Conv2D": _conv2d,
    "MaxPooling2D": _pool2d,
    "AveragePooling2D": _pool2d,
    "GlobalAveragePooling2D": _global_pool,
    "GlobalMaxPooling2D": _global_pool,
    "GlobalAveragePooling1D": _global_pool,
    "GlobalMaxPooling1D": _global_pool,
    "BatchNormalization": _batch_norm,
    "LayerNormalization": _layer_norm,
    "Reshape": _reshape,
    "Flatten": lambda g, layer, x, shape, owner: g.op("Flatten", [x], axis=1),
    "Dropout": lambda g, layer, x, shape, owner: x,
    "Identity": lambda g, layer, x, shape, owner: x,
    "Rescaling": lambda g, layer, x, shape, owner: g.op(
        "Add", [g.op("Mul", [x, g.const(layer.scale)]), g.const(layer.offset)]),
    "Activation": lambda g, layer, x, shape, owner: _activation(g, x, layer.activation, owner),
    "ReLU": _relu_layer,
    "LeakyReLU": lambda g, layer, x, shape, owner: g.op("LeakyRelu", [x],
                                                       alpha=layer.negative_slope),
    "ELU": lambda g, layer, x, shape, owner: g.op("Elu", [x], alpha=layer.alpha),
    "Softmax": lambda g, layer, x, shape, owner: g.op("Softmax", [x], axis=layer.axis),
}
_MERGES = {"Add": "Add", "Subtract": "Sub", "Multiply": "Mul", "Maximum": "Max",
           "Minimum": "Min"}


def _merge(g, layer, xs, owner):
    kind = type(layer).__name__
    if kind == "Concatenate":
        return g.op("Concat", xs, axis=layer.axis)
    if kind == "Average":
        return g.op("Mul", [g.op("Sum", xs), g.const(1 / len(xs))])
    if kind in ("Add", "Maximum", "Minimum") and len(xs) > 2:
        return g.op({"Add": "Sum", "Maximum": "Max", "Minimum": "Min"}[kind], xs)
    out = xs[0]
    for other in xs[1:]:
        out = g.op(_MERGES[kind], [out, other])
    return out


def supported():
    """The layer classes the exporter converts."""
    return sorted(list(_LAYERS) + ["InputLayer", "Concatenate", "Average"] + list(_MERGES))


def export_onnx(model, path, opset=OPSET):
    """Write ``model`` as an ONNX file at ``path`` (atomically); returns the path."""
    try:
        import onnx
    except ImportError:
        raise ImportError("ONNX export needs the onnx package: pip install 'glassnet[onnx]' "
                          "(or pip install onnx)") from None
    from glassnet.saving.files import atomic_write

    if not getattr(model, "built", False) or not getattr(model, "_nodes", None) and \
            not getattr(model, "inputs", None):
        raise ValueError(f"Model {model.name!r} is not built: give it an Input((...)), or "
                         f"call it on data (model.build(shape) or model.predict(x)) before "
                         f"exporting")
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"ONNX export: the folder {folder!r} of {path!r} does not exist")
    g = _Graph(onnx)
    names, shapes = {}, {}
    inputs = []
    for tensor in model.inputs:
        name = tensor.name or g.name("input")
        dtype = onnx.TensorProto.FLOAT if np.dtype(tensor.dtype).kind == "f" else \
            onnx.TensorProto.INT64
        dims = ["batch"] + [int(d) if d is not None else f"{name}_d{i}"
                            for i, d in enumerate(tensor.shape[1:], 1)]
        inputs.append(onnx.helper.make_tensor_value_info(name, dtype, dims))
        names[id(tensor)], shapes[id(tensor)] = name, tuple(tensor.shape)
    for node in model._nodes:
        layer = node.operation
        kind = type(layer).__name__
        owner = f"layer {layer.name!r} ({kind})"
        args = [names[id(t)] for t in node.input_tensors]
        in_shapes = [shapes[id(t)] for t in node.input_tensors]
        if kind == "InputLayer":
            continue
        if kind in _MERGES or kind in ("Concatenate", "Average"):
            out = _merge(g, layer, args, owner)
        elif kind in _LAYERS and len(args) == 1:
            out = _LAYERS[kind](g, layer, args[0], in_shapes[0], owner)
        else:
            raise NotImplementedError(
                f"ONNX export of {owner} is not implemented in glassnet; it exports "
                f"{', '.join(supported())}")
        if len(node.outputs) != 1:
            raise NotImplementedError(f"ONNX export of {owner}: a layer with several outputs "
                                      f"is not implemented")
        if out in args:  # an identity layer: give its output its own name
            out = g.op("Identity", [out])
        names[id(node.outputs[0])], shapes[id(node.outputs[0])] = out, tuple(
            node.outputs[0].shape)
    outputs = []
    for i, tensor in enumerate(model.outputs):
        final = g.op("Identity", [names[id(tensor)]], hint=f"output_{i}")
        dims = ["batch"] + [int(d) if d is not None else f"out{i}_d{j}"
                            for j, d in enumerate(tensor.shape[1:], 1)]
        outputs.append(onnx.helper.make_tensor_value_info(final, onnx.TensorProto.FLOAT, dims))
    graph = onnx.helper.make_graph(g.nodes, model.name, inputs, outputs, g.initializers)
    proto = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", opset)],
                                   producer_name="glassnet")
    proto.ir_version = 8  # what onnxruntime 1.12+ reads (opset 17)
    metadata = getattr(model, "metadata", {}) or {}
    for key, value in (("class_names", metadata.get("class_names")),
                       ("dataset", metadata.get("dataset"))):
        if value is not None:
            onnx.helper.set_model_props(proto, {**{p.key: p.value for p in proto.metadata_props},
                                                key: json.dumps(value)})
    onnx.checker.check_model(proto)
    data = proto.SerializeToString()

    def write(temp):
        with open(temp, "wb") as f:
            f.write(data)

    atomic_write(path, write)
    return path
