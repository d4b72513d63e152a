"""ONNX export: ``model.export(path, format="onnx")``.

The graph is built with the ``onnx`` package (imported only here) from the
model's own nodes, in the order the engine runs them. The input keeps the
model's own layout (NHWC images, as Keras) with a dynamic batch axis named
``batch``. Convolutions and pooling run in ONNX's NCHW: a Transpose in, the
op, a Transpose out (onnxruntime removes the pairs between two such layers).

Opset 17: it has LayerNormalization and is run by every onnxruntime since
1.12 (2022) and by onnxruntime-web, so the file works on phones and in
browsers; nothing glassnet exports needs a newer operator. The class names
go in the model's metadata (``class_names``, JSON), and for a text model the
vocabulary that makes its token ids (TextVectorization's regular expressions
over strings have no standard ONNX operator: the application vectorizes).

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
    def __init__(self, onnx, outer=None):
        self.onnx, self.helper = onnx, onnx.helper
        self.nodes = []
        # a loop body (Scan) shares its outer graph's constants and names
        self.initializers = outer.initializers if outer is not None else []
        self.counter = outer.counter if outer is not None else [0]

    def name(self, hint):
        self.counter[0] += 1
        return f"{hint}_{self.counter[0]}"

    def ints(self, values, hint="ints"):
        return self.const(values, hint, np.int64)

    def outs(self, op_type, inputs, n, hint=None, **attributes):
        """An operator with ``n`` outputs ("" in ``inputs``: an optional input left out)."""
        outs = [self.name(hint or op_type.lower()) for _ in range(n)]
        self.nodes.append(self.helper.make_node(op_type, list(inputs), outs, **attributes))
        return outs

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
    if name == "step":  # the perceptron's: 1 where x > 0, else 0
        return g.op("Cast", [g.op("Greater", [x, g.const(0.0)])], to=1)  # 1: FLOAT
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
    if None in tuple(shape[1:3]):
        return None  # sizes known only at run time: auto_pad="SAME_UPPER" (TensorFlow's)
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
    pads = _pads(layer, shape, kernel.shape[:2])
    placement = {"pads": pads} if pads is not None else {"auto_pad": "SAME_UPPER"}
    out = g.op("Conv", inputs, kernel_shape=list(kernel.shape[:2]),
               strides=list(layer.strides), **placement)
    return _activation(g, _nhwc(g, out), layer.activation, owner)


def _conv2d_transpose(g, layer, x, shape, owner):
    """ONNX's ConvTranspose (weights (in, out, kh, kw), as PyTorch's) on the
    full scatter, (n - 1)·s + k long; pads cut (top, left) and whatever the
    output does not reach at the end, output_padding adds what it reaches
    beyond (zeros plus the bias), so the output has the layer's size."""
    kernel = layer.kernel.numpy()                        # (kh, kw, out, in)
    weights = g.const(np.transpose(kernel, (3, 2, 0, 1)), "kernel")
    inputs = [_nchw(g, x), weights]
    if layer.use_bias:
        inputs.append(g.const(layer.bias.numpy(), "bias"))
    sizes = layer._output_size(*shape[1:3])
    if None in sizes:
        raise NotImplementedError(f"{owner}: ONNX export of Conv2DTranspose needs the "
                                  f"input's height and width")
    begins, ends, extra = [], [], []
    for n, out, k, s, (before, _) in zip(shape[1:3], sizes, layer.kernel_size, layer.strides,
                                         layer._pads(*sizes)):
        full = (n - 1) * s + k
        begins.append(before)
        ends.append(max(full - before - out, 0))
        extra.append(max(out - (full - before), 0))
    out = g.op("ConvTranspose", inputs, kernel_shape=list(layer.kernel_size),
               strides=list(layer.strides), pads=begins + ends, output_padding=extra)
    return _activation(g, _nhwc(g, out), layer.activation, owner)


def _pool2d(g, layer, x, shape, owner):
    kind = "MaxPool" if type(layer).__name__.startswith("Max") else "AveragePool"
    if len(shape) != 4:
        raise NotImplementedError(f"{owner}: ONNX export of 1-D pooling is not implemented")
    pads = _pads(layer, shape, layer.pool_size)
    attributes = {"kernel_shape": list(layer.pool_size), "strides": list(layer.strides),
                  **({"pads": pads} if pads is not None else {"auto_pad": "SAME_UPPER"})}
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


def _ncw(g, x):
    return g.op("Transpose", [x], perm=[0, 2, 1])


def _conv1d(g, layer, x, shape, owner):
    kernel = layer.kernel.numpy()                        # (k, in, out)
    k, stride = kernel.shape[0], layer.strides[1]
    inputs = [_ncw(g, x), g.const(np.transpose(kernel, (2, 1, 0)), "kernel")]
    if layer.use_bias:
        inputs.append(g.const(layer.bias.numpy(), "bias"))
    attributes = {"kernel_shape": [k], "strides": [stride]}
    attributes.update(_pads_1d(layer.padding, shape[1], k, stride))
    out = g.op("Conv", inputs, **attributes)
    return _activation(g, _ncw(g, out), layer.activation, owner)


def _pads_1d(padding, steps, window, stride):
    """ONNX pads for a 1-D window: TensorFlow's "same" puts the odd one at the
    end (SAME_UPPER where the length is only known at run time); "causal"
    pads window - 1 before."""
    if padding == "valid":
        return {"pads": [0, 0]}
    if padding == "causal":
        return {"pads": [window - 1, 0]}
    if steps is None:
        return {"auto_pad": "SAME_UPPER"}
    return {"pads": list(_same_pads(steps, window, stride))}


def _pool1d(g, layer, x, shape, owner):
    kind = "MaxPool" if "Max" in type(layer).__name__ else "AveragePool"
    window, stride = layer.pool_size[1], layer.strides[1]
    attributes = {"kernel_shape": [window], "strides": [stride]}
    attributes.update(_pads_1d(layer.padding, shape[1], window, stride))
    if kind == "AveragePool":
        attributes["count_include_pad"] = 0
    return _ncw(g, g.op(kind, [_ncw(g, x)], **attributes))


def _zero_padding2d(g, layer, x, shape, owner):
    (top, bottom), (left, right) = layer.padding
    return g.op("Pad", [x, g.ints([0, top, left, 0, 0, bottom, right, 0], "pads")],
                mode="constant")


def _cropping2d(g, layer, x, shape, owner):
    (top, bottom), (left, right) = layer.cropping
    ends = [-bottom if bottom else 2 ** 62, -right if right else 2 ** 62]
    return g.op("Slice", [x, g.ints([top, left]), g.ints(ends), g.ints([1, 2])])


def _repeat_vector(g, layer, x, shape, owner):
    # (batch, features) → (batch, 1, features), broadcast to (batch, n, features)
    return g.op("Expand", [g.op("Unsqueeze", [x, g.ints([1])]), g.ints([1, layer.n, 1])])


def _upsampling2d(g, layer, x, shape, owner):
    # nearest, integer scales: out[i, j] = x[i // sh, j // sw], exactly (floor, asymmetric)
    scales = g.const([1.0, float(layer.size[0]), float(layer.size[1]), 1.0], "scales")
    return g.op("Resize", [x, "", scales], mode="nearest",
                coordinate_transformation_mode="asymmetric", nearest_mode="floor")


def _ids(g, x, dtype):
    return x if dtype in (np.int64, np.int32) else g.op("Cast", [x], to=7)  # INT64


def _embedding(g, layer, x, shape, owner, dtype=None):
    return g.op("Gather", [g.const(layer.embeddings.numpy(), "embeddings"),
                           _ids(g, x, dtype)], axis=0)


def _masking(g, layer, x, shape, owner):
    return g.op("Mul", [x, g.op("Unsqueeze", [_masking_mask(g, layer, x), g.ints([-1])])])


def _masking_mask(g, layer, x):
    differs = g.op("Cast", [g.op("Not", [g.op("Equal", [x, g.const(layer.mask_value)])])], to=1)
    return g.op("ReduceMax", [differs], axes=[-1], keepdims=0)   # (batch, steps), 1 = real


def _flip_time(g, x, axis):
    """x reversed along ``axis`` (any length): Slice with step -1."""
    return g.op("Slice", [x, g.ints([-1]), g.ints([-2 ** 63]), g.ints([axis]), g.ints([-1])])


# --------------------------------------------------------- recurrent layers
_ONNX_RNN_ACTIVATIONS = {"tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "Relu"}
_ONNX_GATES = {"LSTM": [0, 3, 1, 2], "GRU": [0, 1, 2], "SimpleRNN": [0]}  # Keras → ONNX order


def _gate_rows(matrix, kind, units):
    """Keras's (in, gates·units) → ONNX's (gates·units, in), gates in ONNX's order
    (LSTM: Keras i f c o → ONNX i o f c; GRU: z r h in both)."""
    blocks = [matrix[:, j * units:(j + 1) * units].T for j in _ONNX_GATES[kind]]
    return np.concatenate(blocks, axis=0)[np.newaxis]


def _recurrent(g, layer, x, shape, owner, mask=None):
    """SimpleRNN / LSTM / GRU. ONNX's own RNN/LSTM/GRU operators where they fit
    (no mask, tanh/sigmoid/relu); else a Scan loop over the steps, the same
    step as the layer's, with the mask carrying the state as in Keras."""
    kind = type(layer).__name__
    if layer.stateful:
        raise NotImplementedError(f"ONNX export of {owner} with stateful=True is not "
                                  f"implemented (an ONNX graph carries no state between runs)")
    names = [layer.activation.name] + ([layer.recurrent_activation.name]
                                       if kind != "SimpleRNN" else [])
    if mask is None and all(n in _ONNX_RNN_ACTIVATIONS for n in names):
        outputs = _recurrent_op(g, layer, x, kind)
    else:
        outputs = _recurrent_scan(g, layer, x, kind, mask, owner)
    return outputs if layer.return_state else outputs[0]


def _recurrent_op(g, layer, x, kind):
    u = layer.units
    if layer.go_backwards:        # glassnet and Keras: the steps run, and come out, reversed
        x = _flip_time(g, x, 1)
    W = g.const(_gate_rows(layer.kernel.numpy(), kind, u), "W")
    R = g.const(_gate_rows(layer.recurrent_kernel.numpy(), kind, u), "R")
    inputs = [g.op("Transpose", [x], perm=[1, 0, 2]), W, R]   # time-major: (T, N, D)
    gates = layer.GATES * u
    if layer.use_bias:
        bias = layer.bias.numpy()
        if kind == "GRU" and layer.reset_after:
            b = np.concatenate([_gate_rows(bias[:1], kind, u)[0, :, 0],
                                _gate_rows(bias[1:], kind, u)[0, :, 0]])
        else:
            b = np.concatenate([_gate_rows(bias[None], kind, u)[0, :, 0], np.zeros(gates)])
        inputs.append(g.const(b[np.newaxis], "B"))
    activation = _ONNX_RNN_ACTIVATIONS[layer.activation.name]
    attributes = {"hidden_size": u}
    if kind == "SimpleRNN":
        op, attributes["activations"] = "RNN", [activation]
    else:
        gate = _ONNX_RNN_ACTIVATIONS[layer.recurrent_activation.name]
        if kind == "LSTM":
            op, attributes["activations"] = "LSTM", [gate, activation, activation]
        else:  # reset_after=True: r multiplies (h @ R + Rb), ONNX's linear_before_reset;
            # reset_after=False: (r · h) @ R, ONNX's default
            op, attributes["activations"] = "GRU", [gate, activation]
            attributes["linear_before_reset"] = int(layer.reset_after)
    outs = g.outs(op, inputs, 3 if kind == "LSTM" else 2, hint=kind.lower(), **attributes)
    y, states = outs[0], outs[1:]
    zero = g.ints([0])
    if layer.return_sequences:    # (T, 1, N, u) → (N, T, u)
        out = g.op("Transpose", [g.op("Squeeze", [y, g.ints([1])])], perm=[1, 0, 2])
    else:
        out = g.op("Squeeze", [states[0], zero])
    return [out] + [g.op("Squeeze", [s, zero]) for s in states]


def _recurrent_scan(g, layer, x, kind, mask, owner):
    onnx, u = g.onnx, layer.units
    act, rec = layer.activation, layer.recurrent_activation
    z = g.op("MatMul", [x, g.const(layer.kernel.numpy(), "kernel")])   # x_t @ kernel, all t
    if layer.use_bias:
        bias = layer.bias.numpy()
        input_bias = bias[0] if kind == "GRU" and layer.reset_after else bias
        z = g.op("Add", [z, g.const(input_bias, "bias")])
    z = g.op("Transpose", [z], perm=[1, 0, 2])                          # (T, N, gates·u)
    m = None
    if mask is not None:
        m = g.op("Unsqueeze", [g.op("Transpose", [mask], perm=[1, 0]), g.ints([-1])])
    if layer.go_backwards:
        z = _flip_time(g, z, 0)
        m = None if m is None else _flip_time(g, m, 0)
    batch = g.op("Slice", [g.op("Shape", [x]), g.ints([0]), g.ints([1])])
    zeros = g.op("ConstantOfShape", [g.op("Concat", [batch, g.ints([u])], axis=0)],
                 value=onnx.numpy_helper.from_array(np.zeros(1, np.float32)))
    states = [zeros] * layer.STATES

    body = _Graph(onnx, outer=g)
    info = onnx.helper.make_tensor_value_info
    f32 = onnx.TensorProto.FLOAT
    h, c = body.name("h"), body.name("c")
    zt, mt = body.name("z_t"), body.name("m_t")
    body_in = [info(h, f32, None)] + ([info(c, f32, None)] if kind == "LSTM" else []) + \
        [info(zt, f32, None)] + ([info(mt, f32, None)] if m is not None else [])
    U = g.const(layer.recurrent_kernel.numpy(), "recurrent_kernel")
    if kind == "SimpleRNN":
        new = [_activation(body, body.op("Add", [zt, body.op("MatMul", [h, U])]), act, owner)]
    elif kind == "LSTM":
        total = body.op("Add", [zt, body.op("MatMul", [h, U])])
        i, f, cc, o = body.outs("Split", [total], 4, axis=-1)
        i, f, o = (_activation(body, v, rec, owner) for v in (i, f, o))
        c_new = body.op("Add", [body.op("Mul", [f, c]),
                                body.op("Mul", [i, _activation(body, cc, act, owner)])])
        h_new = body.op("Mul", [o, _activation(body, c_new, act, owner)])
        new = [h_new, c_new]
    elif not layer.reset_after:  # GRU, reset_after=False: n = act(x̂_h + (r · h) @ U_h)
        kernel = layer.recurrent_kernel.numpy()
        U_zr = g.const(kernel[:, :2 * u], "recurrent_kernel_zr")
        U_h = g.const(kernel[:, 2 * u:], "recurrent_kernel_h")
        xz, xr, xh = body.outs("Split", [zt], 3, axis=-1)
        hz, hr = body.outs("Split", [body.op("MatMul", [h, U_zr])], 2, axis=-1)
        gz = _activation(body, body.op("Add", [xz, hz]), rec, owner)
        gr = _activation(body, body.op("Add", [xr, hr]), rec, owner)
        hn = body.op("MatMul", [body.op("Mul", [gr, h]), U_h])
        cand = _activation(body, body.op("Add", [xh, hn]), act, owner)
        new = [body.op("Add", [cand, body.op("Mul", [gz, body.op("Sub", [h, cand])])])]
    else:  # GRU, reset_after=True
        hh = body.op("MatMul", [h, U])
        if layer.use_bias:
            hh = body.op("Add", [hh, g.const(layer.bias.numpy()[1], "recurrent_bias")])
        xz, xr, xh = body.outs("Split", [zt], 3, axis=-1)
        hz, hr, hn = body.outs("Split", [hh], 3, axis=-1)
        gz = _activation(body, body.op("Add", [xz, hz]), rec, owner)
        gr = _activation(body, body.op("Add", [xr, hr]), rec, owner)
        cand = _activation(body, body.op("Add", [xh, body.op("Mul", [gr, hn])]), act, owner)
        new = [body.op("Add", [cand, body.op("Mul", [gz, body.op("Sub", [h, cand])])])]
    if m is not None:  # a masked step keeps the state: s + m·(new - s)
        new = [body.op("Add", [old, body.op("Mul", [mt, body.op("Sub", [n, old])])])
               for n, old in zip(new, [h, c][:len(new)])]
    out_t = body.op("Identity", [new[0]])
    body_out = [info(v, f32, None) for v in new + [out_t]]
    graph = onnx.helper.make_graph(body.nodes, g.name("step"), body_in, body_out)
    scanned = [z] + ([m] if m is not None else [])
    outs = g.outs("Scan", states + scanned, layer.STATES + 1, hint=kind.lower(), body=graph,
                  num_scan_inputs=len(scanned))
    finals, seq = outs[:-1], outs[-1]                                   # seq: (T, N, u)
    out = finals[0]
    if m is not None:  # Keras: a masked step outputs the last real output (zeros before)
        weights = m if layer.zero_output_for_mask else g.op("Cast", [g.op("Greater", [
            g.op("CumSum", [m, g.ints(0)]), g.const(0.0)])], to=1)
        seq = g.op("Mul", [seq, weights])
        last = g.op("Gather", [weights, g.ints(-1)], axis=0)
        out = g.op("Mul", [out, last])
    if layer.return_sequences:
        out = g.op("Transpose", [seq], perm=[1, 0, 2])
    return [out] + finals


def _bidirectional(g, layer, x, shape, owner, mask=None):
    fw = _recurrent(g, layer.forward_layer, x, shape, owner, mask)
    bw = _recurrent(g, layer.backward_layer, x, shape, owner, mask)
    fw, bw = (v if isinstance(v, list) else [v] for v in (fw, bw))
    y, y_rev = fw[0], bw[0]
    if layer.return_sequences:
        y_rev = _flip_time(g, y_rev, 1)
    mode = layer.merge_mode
    if mode == "concat":
        out = [g.op("Concat", [y, y_rev], axis=-1)]
    elif mode == "sum":
        out = [g.op("Add", [y, y_rev])]
    elif mode == "ave":
        out = [g.op("Mul", [g.op("Add", [y, y_rev]), g.const(0.5)])]
    elif mode == "mul":
        out = [g.op("Mul", [y, y_rev])]
    else:
        out = [y, y_rev]
    out = out + fw[1:] + bw[1:]
    return out[0] if len(out) == 1 else out


def _time_distributed(g, layer, x, shape, owner, dtype=None):
    """(N, T, ...) → (N·T, ...) → the layer → (N, T, ...)."""
    inner, every = layer.layer, g.ints([2 ** 62])
    dims = g.op("Shape", [x])
    flat = g.op("Reshape", [x, g.op("Concat", [g.ints([-1]), g.op(
        "Slice", [dims, g.ints([2]), every])], axis=0)])
    inner_shape = (None,) + tuple(shape[2:])
    out = _apply(g, inner, [flat], [inner_shape], f"layer {inner.name!r} "
                 f"({type(inner).__name__}) in {owner}", [None], [dtype])
    if isinstance(out, list):
        raise NotImplementedError(f"ONNX export of {owner}: an inner layer with several "
                                  f"outputs is not implemented")
    back = g.op("Concat", [g.op("Slice", [dims, g.ints([0]), g.ints([2])]),
                           g.op("Slice", [g.op("Shape", [out]), g.ints([1]), every])], axis=0)
    return g.op("Reshape", [out, back])


_LAYERS = {
    "Dense": _dense,
    "Conv2D": _conv2d,
    "Conv2DTranspose": _conv2d_transpose,
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
    "GaussianNoise": lambda g, layer, x, shape, owner: x,            # noise: training only
    "ActivityRegularization": lambda g, layer, x, shape, owner: x,   # a loss term only
    "Rescaling": lambda g, layer, x, shape, owner: g.op(
        "Add", [g.op("Mul", [x, g.const(layer.scale)]), g.const(layer.offset)]),
    "Activation": lambda g, layer, x, shape, owner: _activation(g, x, layer.activation, owner),
    "ReLU": _relu_layer,
    "LeakyReLU": lambda g, layer, x, shape, owner: g.op("LeakyRelu", [x],
                                                       alpha=layer.negative_slope),
    "ELU": lambda g, layer, x, shape, owner: g.op("Elu", [x], alpha=layer.alpha),
    "Softmax": lambda g, layer, x, shape, owner: g.op("Softmax", [x], axis=layer.axis),
    "Conv1D": _conv1d,
    "MaxPooling1D": _pool1d,
    "AveragePooling1D": _pool1d,
    "ZeroPadding2D": _zero_padding2d,
    "UpSampling2D": _upsampling2d,
    "Cropping2D": _cropping2d,
    "RepeatVector": _repeat_vector,
    "Masking": _masking,
}
# the layers that read the mask of their input (``mask=``), or the input's dtype
_MASKED = {"SimpleRNN": _recurrent, "LSTM": _recurrent, "GRU": _recurrent,
           "Bidirectional": _bidirectional}
_TYPED = {"Embedding": _embedding, "TimeDistributed": _time_distributed}
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


def _average_1d(g, layer, x, shape, owner, mask=None):
    """GlobalAveragePooling1D; with a mask, the mean over the real steps only
    (Σ m x / Σ m, as the layer)."""
    if mask is None:
        return _global_pool(g, layer, x, shape, owner)
    m = g.op("Unsqueeze", [mask, g.ints([-1])])
    total = g.op("ReduceSum", [g.op("Mul", [x, m]), g.ints([1])], keepdims=int(layer.keepdims))
    count = g.op("ReduceSum", [m, g.ints([1])], keepdims=int(layer.keepdims))
    return g.op("Div", [total, count])


_MASKED["GlobalAveragePooling1D"] = _average_1d


# what goes into the file's metadata (JSON) from model.metadata: the class names, the
# data set, and for a text model how to make its token ids (ids 0 = padding, 1 = unknown,
# then the vocabulary; texts lowered, punctuation stripped, split on whitespace, padded
# or cut to sequence_length), as glassnet's TextVectorization does
_METADATA = ("class_names", "dataset", "input", "vocabulary", "sequence_length")


def _attention(g, layer, args, owner, masks):
    """MultiHeadAttention as MatMul and Softmax (its docstring's formulas): the heads
    by Reshape and Transpose, 1/√K folded into the query's weights, and the mask
    (attention_mask, the query's and value's padding, the causal triangle) as
    1/0 factors: a masked score becomes -1e9 before the softmax and its weight
    0 after it, as the layer does."""
    parts = dict(zip(layer._parts, args))
    part_masks = dict(zip(layer._parts, masks))
    h, kd, vd = layer.num_heads, layer.key_dim, layer.value_dim
    scale = 1.0 / np.sqrt(kd)

    def project(x, kernel, bias, factor, perm):
        w = kernel.numpy().reshape(kernel.shape[0], -1) * factor
        out = g.op("MatMul", [x, g.const(w, "kernel")])
        if bias is not None:
            out = g.op("Add", [out, g.const(bias.numpy().reshape(-1) * factor, "bias")])
        out = g.op("Reshape", [out, g.ints([0, 0, h, kernel.shape[2]])])
        return g.op("Transpose", [out], perm=perm)            # heads second

    key = parts.get("key", parts["value"])
    Q = project(parts["query"], layer.query_kernel, layer.query_bias, scale, [0, 2, 1, 3])
    Kt = project(key, layer.key_kernel, layer.key_bias, 1.0, [0, 2, 3, 1])
    V = project(parts["value"], layer.value_kernel, layer.value_bias, 1.0, [0, 2, 1, 3])
    scores = g.op("MatMul", [Q, Kt])                          # (B, H, T, S)
    factors = []
    if part_masks.get("query") is not None:
        factors.append(g.op("Unsqueeze", [part_masks["query"], g.ints([1, 3])]))
    for name in ("value", "key"):
        if name in parts and part_masks.get(name) is not None:
            factors.append(g.op("Unsqueeze", [part_masks[name], g.ints([1, 2])]))
    if layer.use_causal_mask:
        size = g.op("Slice", [g.op("Shape", [scores]), g.ints([2]), g.ints([4])])
        ones = g.op("ConstantOfShape", [size],
                    value=g.helper.make_tensor("one", 1, [1], [1.0]))
        factors.append(g.op("Unsqueeze", [g.op("Trilu", [ones], upper=0), g.ints([0, 1])]))
    if "attention_mask" in parts:
        given = g.op("Cast", [g.op("Greater", [g.op("Cast", [parts["attention_mask"]], to=1),
                                               g.const(0.5)])], to=1)
        factors.append(g.op("Unsqueeze", [given, g.ints([1])]))
    allowed = None
    for factor in factors:
        allowed = factor if allowed is None else g.op("Mul", [allowed, factor])
    if allowed is not None:
        scores = g.op("Where", [g.op("Greater", [allowed, g.const(0.5)]), scores,
                                g.const(-1e9)])
    weights = g.op("Softmax", [scores], axis=-1)
    if allowed is not None:
        weights = g.op("Mul", [weights, allowed])
    mixed = g.op("MatMul", [weights, V])                      # (B, H, T, Dv')
    mixed = g.op("Reshape", [g.op("Transpose", [mixed], perm=[0, 2, 1, 3]),
                             g.ints([0, 0, h * vd])])
    out = g.op("MatMul", [mixed, g.const(layer.output_kernel.numpy().reshape(h * vd, -1),
                                         "kernel")])
    if layer.output_bias is not None:
        out = g.op("Add", [out, g.const(layer.output_bias.numpy(), "bias")])
    return [out, weights] if layer.return_attention_scores else out


def _luong_bahdanau(g, layer, args, owner, masks):
    """Attention and AdditiveAttention: their scores (dot: MatMul; concat and additive:
    Tanh of the broadcast sum, reduced over the features), S - 1e9 where the value's mask
    or the causal triangle forbids, Softmax, MatMul with the value, zeros at the query's
    masked steps."""
    q, v = args[0], args[1]
    k = args[2] if len(args) > 2 else v
    scale = layer.scale
    if type(layer).__name__ == "AdditiveAttention":
        t = g.op("Tanh", [g.op("Add", [g.op("Unsqueeze", [q, g.ints([2])]),
                                       g.op("Unsqueeze", [k, g.ints([1])])])])
        if scale is not None:
            t = g.op("Mul", [t, g.const(scale.numpy(), "scale")])
        scores = g.op("ReduceSum", [t, g.ints([-1])], keepdims=0)
    elif layer.score_mode == "dot":
        scores = g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 2, 1])])
        if scale is not None:
            scores = g.op("Mul", [scores, g.const(scale.numpy(), "scale")])
    else:
        summed = g.op("Add", [g.op("Unsqueeze", [q, g.ints([2])]),
                              g.op("Unsqueeze", [k, g.ints([1])])])
        if scale is not None:
            summed = g.op("Mul", [summed, g.const(scale.numpy(), "scale")])
        scores = g.op("Mul", [g.op("ReduceSum", [g.op("Tanh", [summed]), g.ints([-1])],
                                   keepdims=0),
                              g.const(layer.concat_score_weight.numpy(), "concat_weight")])
    allowed = None
    if len(masks) > 1 and masks[1] is not None:
        allowed = g.op("Unsqueeze", [masks[1], g.ints([1])])        # (B, 1, S)
    if layer.use_causal_mask:
        size = g.op("Slice", [g.op("Shape", [scores]), g.ints([1]), g.ints([3])])
        ones = g.op("ConstantOfShape", [size],
                    value=g.helper.make_tensor("one", 1, [1], [1.0]))
        causal = g.op("Unsqueeze", [g.op("Trilu", [ones], upper=0), g.ints([0])])
        allowed = causal if allowed is None else g.op("Mul", [allowed, causal])
    if allowed is not None:
        scores = g.op("Where", [g.op("Greater", [allowed, g.const(0.5)]), scores,
                                g.op("Sub", [scores, g.const(1e9)])])
    weights = g.op("Softmax", [scores], axis=-1)
    out = g.op("MatMul", [weights, v])
    if masks and masks[0] is not None:
        out = g.op("Mul", [out, g.op("Unsqueeze", [masks[0], g.ints([-1])])])
    return [out, weights] if layer.return_attention_scores else out


def supported():
    """The layer classes the exporter converts."""
    return sorted(list(_LAYERS) + list(_MASKED) + list(_TYPED) +
                  ["InputLayer", "Concatenate", "Average", "MultiHeadAttention", "Attention",
                   "AdditiveAttention"] +
                  list(_MERGES))


def _apply(g, layer, args, shapes, owner, masks, dtypes):
    """The ONNX nodes of one call of ``layer``: its output name (a list for
    several outputs)."""
    kind = type(layer).__name__
    if kind in _MERGES or kind in ("Concatenate", "Average"):
        return _merge(g, layer, args, owner)
    if kind == "MultiHeadAttention":
        return _attention(g, layer, args, owner, masks)
    if kind in ("Attention", "AdditiveAttention"):
        return _luong_bahdanau(g, layer, args, owner, masks)
    if len(args) == 1:
        if kind in _MASKED:  # first: GlobalAveragePooling1D is in both, and reads a mask
            return _MASKED[kind](g, layer, args[0], shapes[0], owner, mask=masks[0])
        if kind in _LAYERS:
            return _LAYERS[kind](g, layer, args[0], shapes[0], owner)
        if kind in _TYPED:
            return _TYPED[kind](g, layer, args[0], shapes[0], owner, dtype=dtypes[0])
    if kind == "TextVectorization":
        raise NotImplementedError(
            f"ONNX export of {owner} is not implemented: its standardize and split are "
            f"regular expressions over strings, which standard ONNX (opset {OPSET}) cannot "
            f"run. Export the model that takes its token ids (the layers after it) and "
            f"vectorize the text in the application with the same vocabulary "
            f"(layer.get_vocabulary())")
    raise NotImplementedError(
        f"ONNX export of {owner} is not implemented in glassnet; it exports "
        f"{', '.join(supported())}")


def _out_masks(g, node, kind, args, masks):
    """The ONNX names of the masks of the node's outputs ((batch, steps) floats,
    1 = a real step), following the graph's own marks (KerasTensor._keras_masked)."""
    flags = [getattr(t, "_keras_masked", False) for t in node.outputs]
    if not any(flags):
        return [None] * len(flags)
    layer = node.operation
    if kind == "Embedding":
        mask = g.op("Cast", [g.op("Not", [g.op("Equal", [
            _ids(g, args[0], None), g.ints(0)])])], to=1)
    elif kind == "Masking":
        mask = _masking_mask(g, layer, args[0])
    elif kind in _MERGES or kind in ("Concatenate", "Average"):
        mask = masks[0] if len(masks) == 1 else g.op("Max", list(masks))
    else:  # passed on unchanged (a recurrent layer: with its sequence, not its states)
        mask = masks[0]
    return [mask if flag else None for flag in flags]


def _numpy_dtype(tensor):
    return np.dtype(getattr(tensor, "dtype", None) or "float32").type


def _serialize(data, temp):
    with open(temp, "wb") as f:
        f.write(data)


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
        dtype = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(_numpy_dtype(tensor)))
        dims = ["batch"] + [int(d) if d is not None else f"{name}_d{i}"
                            for i, d in enumerate(tensor.shape[1:], 1)]
        inputs.append(onnx.helper.make_tensor_value_info(name, dtype, dims))
        names[id(tensor)], shapes[id(tensor)] = name, tuple(tensor.shape)
    masks, dtypes = {}, {}
    for tensor in model.inputs:
        dtypes[id(tensor)] = _numpy_dtype(tensor)
    for node in model._nodes:
        layer = node.operation
        kind = type(layer).__name__
        if kind == "InputLayer":
            continue
        owner = f"layer {layer.name!r} ({kind})"
        ids = [id(t) for t in node.input_tensors]
        args = [names[i] for i in ids]
        out = _apply(g, layer, args, [shapes[i] for i in ids], owner,
                     [masks.get(i) for i in ids], [dtypes.get(i) for i in ids])
        outs = out if isinstance(out, list) else [out]
        if len(outs) != len(node.outputs):
            raise NotImplementedError(f"ONNX export of {owner}: {len(node.outputs)} outputs "
                                      f"in the graph, {len(outs)} exported")
        for tensor, value, mask in zip(node.outputs, outs,
                                       _out_masks(g, node, kind, args,
                                                  [masks.get(i) for i in ids])):
            if value in args:  # an identity layer: give its output its own name
                value = g.op("Identity", [value])
            names[id(tensor)], shapes[id(tensor)] = value, tuple(tensor.shape)
            dtypes[id(tensor)] = np.float32
            if mask is not None:
                masks[id(tensor)] = mask
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
    props = {key: json.dumps(metadata[key]) for key in _METADATA if metadata.get(key) is not None}
    if props:
        onnx.helper.set_model_props(proto, props)
    onnx.checker.check_model(proto)
    data = proto.SerializeToString()

    def write(temp):
        _serialize(data, temp)

    atomic_write(path, write)
    return path
