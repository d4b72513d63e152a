"""Wrappers: layers that run another layer. ``Bidirectional`` reads a
sequence both ways; ``TimeDistributed`` applies a layer to every step.

Their weights are their inner layers' (the same Variables), in Keras's
order, and Keras's files keep them under the inner layers' names
(``bidirectional/forward_layer/cell/vars``, ``time_distributed/layer/vars``).
"""

from __future__ import annotations

import numpy as np

from glassnet.layers.base import Layer

__all__ = ["Bidirectional", "TimeDistributed"]


def _inner(layer, owner, what="layer"):
    if isinstance(layer, dict):  # a config (from_config, or a file)
        from glassnet import layers as _layers

        return _layers.deserialize(layer)
    if not isinstance(layer, Layer):
        raise ValueError(f"{owner}: {what} must be a glassnet layer instance, e.g. "
                         f"LSTM(32); received {layer!r:.80}")
    return layer


def _with_dtype(config, dtype):
    if dtype is None or not isinstance(config, dict):
        return config
    return {**config, "config": {**config.get("config", {}), "dtype": dtype}}


class _Wrapper(Layer):
    """The weights of a wrapper are its inner layers' weights."""

    def _inner_layers(self):
        raise NotImplementedError

    def _variables(self):
        layers = self._inner_layers()
        return [v for layer in layers for v in layer._trainable_variables] + \
            [v for layer in layers for v in layer._non_trainable_variables]

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return [v for layer in self._inner_layers() for v in layer.trainable_weights]

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self._variables()
        return [v for layer in self._inner_layers() for v in layer.non_trainable_weights]

    def _sublayers(self):
        return list(getattr(self, "_wrapped", []))

    def regularization_loss(self):
        return sum(layer.regularization_loss() for layer in self._inner_layers())

    def _call_state(self):
        return {"self": dict(self.__dict__),
                "inner": [(layer, layer._call_state()) for layer in self._inner_layers()]}

    def _restore_call_state(self, state):
        self.__dict__.update(state["self"])
        for layer, inner in state["inner"]:
            layer._restore_call_state(inner)


class Bidirectional(_Wrapper):
    """Reads the sequence forwards with one recurrent layer and backwards
    with a copy of it (``go_backwards=True``, its own weights), then merges
    the two, as in Keras:

        y  = forward_layer(x)               (h_1 … h_T, or h_T)
        y' = backward_layer(x)              (read from x_T to x_1; with return_sequences
                                             flipped back, so y'_t lines up with y_t)
        out = concat(y, y') | y + y' | (y + y')/2 | y · y' | [y, y']   (merge_mode)

    Backward splits ∂L/∂out into ∂L/∂y and ∂L/∂y' by the same rule (concat:
    the two halves; mul: ∂L/∂y = ∂L/∂out · y'), runs each layer's backward
    through time, and adds the two ∂L/∂x. With ``return_state`` the output
    is [out, forward states…, backward states…]. A mask reaches both layers
    (their masked outputs are zeros with ``return_sequences``, as Keras sets
    ``zero_output_for_mask``); the output carries none, as in Keras.
    """

    MERGE_MODES = ("concat", "sum", "mul", "ave", None)

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None,
                 **kwargs):
        super().__init__(**kwargs)
        owner = f"Bidirectional {self.name!r}"
        if merge_mode not in self.MERGE_MODES:
            raise ValueError(f"{owner}: merge_mode must be one of 'concat', 'sum', 'mul', "
                             f"'ave' or None; received {merge_mode!r}")
        dtype = kwargs.get("dtype")
        layer = _inner(_with_dtype(layer, dtype) if isinstance(layer, dict) else layer, owner)
        if not hasattr(layer, "go_backwards") or not hasattr(layer, "return_sequences"):
            raise ValueError(f"{owner} wraps a recurrent layer (SimpleRNN, LSTM, GRU); "
                             f"received {type(layer).__name__}")
        config = {**layer.get_config(), "name": "forward_" + _strip(layer.name, "forward_")}
        if dtype is not None:
            config["dtype"] = dtype
        self.forward_layer = type(layer).from_config(config)
        if backward_layer is None:
            config = {**layer.get_config(), "go_backwards": not layer.go_backwards,
                      "name": "backward_" + _strip(layer.name, "backward_")}
            if dtype is not None:
                config["dtype"] = dtype
            self.backward_layer = type(layer).from_config(config)
        else:
            self.backward_layer = _inner(_with_dtype(backward_layer, dtype) if isinstance(
                backward_layer, dict) else backward_layer, owner, "backward_layer")
        fw, bw = self.forward_layer, self.backward_layer
        if fw.go_backwards == bw.go_backwards:
            raise ValueError(f"{owner}: the forward and backward layers must read in opposite "
                             f"directions (go_backwards {fw.go_backwards} and "
                             f"{bw.go_backwards})")
        for attribute in ("stateful", "return_sequences", "return_state"):
            if getattr(fw, attribute) != getattr(bw, attribute):
                raise ValueError(f"{owner}: the forward and backward layers must agree on "
                                 f"{attribute}; received {getattr(fw, attribute)} and "
                                 f"{getattr(bw, attribute)}")
        for inner in (fw, bw):
            inner.zero_output_for_mask = inner.return_sequences
        self.merge_mode = merge_mode
        self.return_sequences, self.return_state = fw.return_sequences, fw.return_state
        self.stateful = fw.stateful
        self._wrapped = [fw, bw]
        self._pending_weights = weights

    def _inner_layers(self):
        return [self.forward_layer, self.backward_layer]

    def build(self, input_shape):
        self.forward_layer.build(input_shape)
        self.backward_layer.build(input_shape)
        if self._pending_weights is not None:
            self.set_weights(self._pending_weights)
            self._pending_weights = None

    def _record_build(self, input_shape):
        shape = tuple(input_shape)
        super()._record_build((shape[0], None, shape[2]) if len(shape) == 3 else shape)

    def compute_output_shape(self, input_shape):
        out = self.forward_layer.compute_output_shape(input_shape)
        states = []
        if self.return_state:
            out, states = out[0], list(out[1:])
        if self.merge_mode == "concat":
            out = tuple(out[:-1]) + (out[-1] * 2,)
        outputs = [tuple(out), tuple(out)] if self.merge_mode is None else [tuple(out)]
        if not self.return_state and self.merge_mode is not None:
            return outputs[0]
        return outputs + states + states

    def compute_mask(self, inputs, mask=None):
        n = len(graph_outputs(self))
        return None if n == 1 else [None] * n

    def _output_masked(self, masked):
        n = len(graph_outputs(self))
        return False if n == 1 else [False] * n

    def reset_states(self, states=None):
        half = None if states is None else len(states) // 2
        self.forward_layer.reset_states(None if states is None else states[:half])
        self.backward_layer.reset_states(None if states is None else states[half:])

    def forward(self, x, training=False, mask=None):
        y = self.forward_layer.forward(x, training=training, mask=mask)
        y_rev = self.backward_layer.forward(x, training=training, mask=mask)
        states = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = y_rev[:, ::-1]
        self.y, self.y_rev = y, y_rev
        mode = self.merge_mode
        if mode == "concat":
            out = [np.concatenate([y, y_rev], axis=-1)]
        elif mode == "sum":
            out = [y + y_rev]
        elif mode == "ave":
            out = [(y + y_rev) / 2]
        elif mode == "mul":
            out = [y * y_rev]
        else:
            out = [y, np.ascontiguousarray(y_rev)]
        out = out + states
        return out[0] if len(out) == 1 else out

    def backward(self, grad):
        return self._backward(grad)

    def _backward(self, grad, input_grad=True):
        grads = list(grad) if isinstance(grad, (list, tuple)) else [grad]
        mode = self.merge_mode
        if mode is None:
            g, g_rev, states = grads[0], grads[1], grads[2:]
        else:
            g, states = grads[0], grads[1:]
            if mode == "concat":
                units = self.y.shape[-1]
                g, g_rev = g[..., :units], g[..., units:]
            elif mode == "sum":
                g_rev = g
            elif mode == "ave":
                g = g_rev = g / 2
            else:  # mul
                g, g_rev = g * self.y_rev, g * self.y
        if self.return_sequences:
            g_rev = g_rev[:, ::-1]
        g, g_rev = np.ascontiguousarray(g), np.ascontiguousarray(g_rev)
        half = len(states) // 2
        if self.return_state:
            g, g_rev = [g] + list(states[:half]), [g_rev] + list(states[half:])
        dx = self.forward_layer._backward(g, input_grad)
        dx_rev = self.backward_layer._backward(g_rev, input_grad)
        if not input_grad:
            return None
        return dx + dx_rev

    def get_config(self):
        from glassnet import layers as _layers

        return {**super().get_config(), "merge_mode": self.merge_mode,
                "layer": _layers.serialize(self.forward_layer),
                "backward_layer": _layers.serialize(self.backward_layer)}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def graph_outputs(layer):
    """How many tensors the layer returns (from its output shape)."""
    n = 1 if layer.merge_mode is not None else 2
    if layer.return_state:
        n += 2 * layer.forward_layer.STATES
    return [None] * n


def _strip(name, prefix):
    return name[len(prefix):] if name.startswith(prefix) else name


class TimeDistributed(_Wrapper):
    """Applies ``layer`` to every step of a sequence, with the same weights,
    as in Keras: (N, T, ...) is read as N·T samples,

        out[:, t] = layer(x[:, t])        for t = 1 … T

    and backward is the layer's backward on the N·T samples (its weight
    gradients summed over the steps). A mask passes on unchanged.
    """

    supports_masking = True

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        owner = f"TimeDistributed {self.name!r}"
        dtype = kwargs.get("dtype")
        self.layer = _inner(_with_dtype(layer, dtype) if isinstance(layer, dict) else layer,
                            owner)
        self._wrapped = [self.layer]

    def _inner_layers(self):
        return [self.layer]

    def build(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError(f"TimeDistributed {self.name!r} takes inputs of shape (batch, "
                             f"steps, ...); received {tuple(input_shape)}")
        self.layer.build((None,) + tuple(input_shape[2:]))

    def _record_build(self, input_shape):
        shape = tuple(input_shape)
        super()._record_build((shape[0], None) + shape[2:])

    def compute_output_shape(self, input_shape):
        inner = self.layer.compute_output_shape((None,) + tuple(input_shape[2:]))
        return (input_shape[0], input_shape[1]) + tuple(inner[1:])

    def forward(self, x, training=False):
        n, steps = x.shape[:2]
        out = self.layer.forward(x.reshape((n * steps,) + x.shape[2:]), training=training)
        return out.reshape((n, steps) + out.shape[1:])

    def backward(self, grad):
        return self._backward(grad)

    def _backward(self, grad, input_grad=True):
        n, steps = grad.shape[:2]
        dx = self.layer._backward(np.ascontiguousarray(grad).reshape((n * steps,) +
                                                                      grad.shape[2:]),
                                  input_grad)
        if dx is None:
            return None
        return dx.reshape((n, steps) + dx.shape[1:])

    def get_config(self):
        from glassnet import layers as _layers

        return {**super().get_config(), "layer": _layers.serialize(self.layer)}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
