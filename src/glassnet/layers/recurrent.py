"""Recurrent layers: SimpleRNN, LSTM, GRU, with Keras 3's arguments, defaults
and weight layouts, and backpropagation through time written out.

Every one reads a batch of sequences x of shape (N, T, D) one step at a time,
carrying a state h (and LSTM a cell c) of ``units`` numbers from step to step.
The input part of every step is one matrix product done for all steps at
once, x @ kernel + bias; the recurrent part, h @ recurrent_kernel, has to wait
for the step before. Backward runs the steps in reverse (backpropagation
through time): the gradient that reaches h_t comes from the output at t (with
``return_sequences``) and from step t + 1, through the recurrent kernel; that
second path is the one that fades over many steps for SimpleRNN and is
carried by LSTM's cell and GRU's update gate.

Options, as in Keras: ``return_sequences`` (every h_t, (N, T, units), instead
of the last), ``return_state`` (also the final states), ``go_backwards``
(read the sequence from its end; the outputs come in that order too),
``dropout`` and ``recurrent_dropout`` (one mask per sequence on x_t and on
h_{t-1}, the same at every step), ``stateful`` (the final states of a batch
are the initial states of the next; ``reset_states()``).

Masks (from ``Embedding(mask_zero=True)`` or ``Masking``, or ``mask=`` given
to the call): a masked step leaves the states as they were, so padding
changes nothing, wherever it sits,

    h_t = m_t · step(x_t, h_{t-1}) + (1 - m_t) · h_{t-1}       (m_t = 1 unmasked, 0 masked)

and backward splits ∂L/∂h_t the same way: m_t · ∂L/∂h_t into the step, the
rest straight to h_{t-1}. A masked step outputs the last unmasked output
(zeros before the first one), or zeros with ``zero_output_for_mask``, as in
Keras. Internally the steps are time-major, (T, N, ·), so each step reads
contiguous memory.
"""

from __future__ import annotations

import numpy as np

from glassnet import activations, initializers, regularizers, utils
from glassnet.layers.base import Layer, not_implemented

__all__ = ["SimpleRNN", "LSTM", "GRU"]


def _activate(activation, z, out):
    """out = activation(z); tanh and sigmoid in place (σ(z) = (1 + tanh(z/2)) / 2,
    one ufunc pass with no temporary), any other activation through its function."""
    name = activation.name
    if name == "tanh":
        np.tanh(z, out=out)
    elif name == "sigmoid":
        np.multiply(z, 0.5, out=out)
        np.tanh(out, out=out)
        out *= 0.5
        out += 0.5
    else:
        out[...] = activation(z)
    return out


def _slope(activation, z, a):
    """activation'(z) elementwise, from its output a where that is enough:
    tanh' = 1 - a², σ' = a(1 - a)."""
    if activation.name == "tanh":
        return 1 - a * a
    if activation.name == "sigmoid":
        return a * (1 - a)
    return activation.backward(z, np.ones_like(a), a)


class _Recurrent(Layer):
    GATES = 1          # kernel columns per unit: SimpleRNN 1, GRU 3, LSTM 4
    STATES = 1         # h (and c for LSTM)
    supports_masking = True

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, zero_output_for_mask=False,
                 **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        owner = f"{type(self).__name__} {self.name!r}"
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"{owner}: units must be a positive integer; received {units!r}")
        for argument, value in (("kernel_constraint", kernel_constraint),
                                ("recurrent_constraint", recurrent_constraint),
                                ("bias_constraint", bias_constraint)):
            not_implemented(owner, argument, value)
        for argument, value in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                    not 0 <= value < 1:
                raise ValueError(f"{owner}: {argument} must be a number in [0, 1); received "
                                 f"{value!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.dropout, self.recurrent_dropout = float(dropout), float(recurrent_dropout)
        self.seed = seed
        self._generator = None if seed is None else np.random.default_rng(seed)
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.stateful, self.unroll = bool(go_backwards), bool(stateful), \
            bool(unroll)  # unroll changes nothing here: the loop is NumPy either way
        self.zero_output_for_mask = bool(zero_output_for_mask)  # what masked steps output
        self.states = None

    # ------------------------------------------------------------ weights
    def _bias_shape(self):
        return (self.GATES * self.units,)

    def _bias_initial(self, shape, dtype):
        return self.bias.numpy()

    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError(f"{type(self).__name__} {self.name!r} takes sequences of shape "
                             f"(batch, steps, features); received {tuple(input_shape)}")
        columns = self.GATES * self.units
        self.kernel = self.add_weight(shape=(input_shape[-1], columns),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, columns),
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                name="recurrent_kernel")
        if self.use_bias:
            self.bias = self.add_weight(shape=self._bias_shape(),
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, name="bias")
            self.bias.assign(self._bias_initial(self._bias_shape(), self.dtype))

    def _record_build(self, input_shape):
        # any number of steps later, as in Keras: only the feature axis is fixed
        shape = tuple(input_shape)
        super()._record_build((shape[0], None, shape[2]) if len(shape) == 3 else shape)

    def compute_output_shape(self, input_shape):
        batch, steps = input_shape[0], input_shape[1]
        output = (batch, steps, self.units) if self.return_sequences else (batch, self.units)
        if not self.return_state:
            return output
        return [output] + [(batch, self.units)] * self.STATES

    # ------------------------------------------------------------ running
    def reset_states(self, states=None):
        """Forget the carried states (stateful layers), or set them."""
        self.states = None if states is None else [np.asarray(s, dtype=self.dtype)
                                                   for s in states]

    def _masks(self, n, d, training):
        generator = self._generator or utils.rng()
        x_mask = h_mask = None
        if training and self.dropout:
            x_mask = (generator.random((n, d)) >= self.dropout).astype(self.dtype) / \
                self.dtype.type(1 - self.dropout)
        if training and self.recurrent_dropout:
            h_mask = (generator.random((n, self.units)) >= self.recurrent_dropout).astype(
                self.dtype) / self.dtype.type(1 - self.recurrent_dropout)
        return x_mask, h_mask

    def _initial(self, n):
        if self.stateful and self.states is not None and len(self.states[0]) == n:
            return [s.copy() for s in self.states]
        return [np.zeros((n, self.units), dtype=self.dtype) for _ in range(self.STATES)]

    def compute_mask(self, inputs, mask=None):
        """The mask goes on with the sequence (``return_sequences``); a last
        state or a returned state has none."""
        if mask is None or not self.return_sequences:
            return None if not self.return_state else [None] * (1 + self.STATES)
        return mask if not self.return_state else [mask] + [None] * self.STATES

    def _output_masked(self, masked):
        out = bool(masked) and self.return_sequences
        return [out] + [False] * self.STATES if self.return_state else out

    def _step_mask(self, mask, n, steps):
        """The mask as (T, N, 1) floats 1/0, in the order the steps run."""
        mask = np.asarray(mask)
        if mask.shape != (n, steps):
            raise ValueError(f"{type(self).__name__} {self.name!r}: the mask must have shape "
                             f"(batch, steps) = {(n, steps)} to fit the input of shape "
                             f"{(n, steps, self.xin.shape[-1])}; received a mask of shape "
                             f"{mask.shape}")
        m = mask.astype(bool).T
        if self.go_backwards:
            m = m[::-1]
        return np.ascontiguousarray(m, dtype=self.dtype)[:, :, None]

    def forward(self, x, training=False, mask=None):
        x = np.asarray(x, dtype=self.dtype)
        if x.ndim != 3:
            raise ValueError(f"{type(self).__name__} {self.name!r} takes sequences of shape "
                             f"(batch, steps, features); received {x.shape}")
        n, steps, d = x.shape
        self.x_mask, self.h_mask = self._masks(n, d, training)
        xt = x.transpose(1, 0, 2)[::-1] if self.go_backwards else x.transpose(1, 0, 2)
        xin = np.multiply(xt, self.x_mask) if self.x_mask is not None else \
            np.ascontiguousarray(xt)
        self.xin = xin                                 # (T, N, D): time-major from here on
        self.m = None if mask is None else self._step_mask(mask, n, steps)
        zs = (xin.reshape(-1, d) @ self.kernel.value).reshape(steps, n, -1)
        if self.use_bias:                              # x_t @ kernel + bias, every step at once
            zs += self._input_bias()
        self.hs = np.empty((steps + 1, n, self.units), dtype=self.dtype)  # carried h_0..h_T
        states = self._initial(n)
        self.hs[0] = states[0]
        self._steps(zs, states)
        self.steps_run = steps
        final = self._final
        if self.stateful:
            self.states = [s.copy() for s in final]
        weights = self._output_weights()               # which steps' outputs count
        if self.return_sequences:
            seq = self.hs[1:] if weights is None else self.hs[1:] * weights
            out = np.ascontiguousarray(seq.transpose(1, 0, 2))
        else:
            out = final[0] if weights is None else final[0] * weights[-1]
        return [out] + list(final) if self.return_state else out

    def _output_weights(self):
        """With a mask, a masked step outputs the last unmasked step's output
        (zeros before the first one), as Keras: h_t · seen_t, where seen_t is
        1 once any step up to t was unmasked; ``zero_output_for_mask``: h_t · m_t."""
        if self.m is None:
            return None
        if self.zero_output_for_mask:
            return self.m
        return np.maximum.accumulate(self.m, axis=0)

    def _input_bias(self):
        return self.bias.value

    def backward(self, grad):
        return self._backward(grad)

    def _backward(self, grad, input_grad=True):
        grads = grad if isinstance(grad, list) else [grad]
        steps, n, d = self.xin.shape
        weights = self._output_weights()
        d_out = grads[0]
        d_seq = None
        d_final = [np.zeros((n, self.units), dtype=self.dtype) for _ in range(self.STATES)]
        if self.return_sequences:
            d_seq = d_out.transpose(1, 0, 2)
            d_seq = d_seq * weights if weights is not None else d_seq
        else:
            d_final[0] += d_out if weights is None else d_out * weights[-1]
        for i, g in enumerate(grads[1:]):
            if g is not None:
                d_final[i] += g
        self._step_gradients = np.empty((steps, n, self.units), dtype=self.dtype)
        d_zs = self._steps_backward(d_seq, d_final)    # ∂L/∂(x_t @ kernel + bias), (T, N, G)
        columns = d_zs.shape[-1]
        d2 = d_zs.reshape(-1, columns)
        np.matmul(self.xin.reshape(-1, d).T, d2, out=self.grad_kernel)
        if self.use_bias:
            self._input_bias_grad(d2)
        self.add_regularization_gradients()
        if not input_grad:
            return None
        dx = (d2 @ self.kernel.value.T).reshape(steps, n, d)
        if self.x_mask is not None:
            dx *= self.x_mask
        if self.go_backwards:
            dx = dx[::-1]
        return np.ascontiguousarray(dx.transpose(1, 0, 2))

    def _input_bias_grad(self, d2):
        np.sum(d2, axis=0, out=self.grad_bias)

    def _recurrent_grad(self, d_rec):
        """grad_recurrent_kernel = Σ_t h_{t-1}ᵀ @ ∂L/∂(recurrent part at t): one
        product over all steps at once."""
        h_in = self.hs[:-1] if self.h_mask is None else self.hs[:-1] * self.h_mask
        np.matmul(h_in.reshape(-1, self.units).T, d_rec.reshape(-1, d_rec.shape[-1]),
                  out=self.grad_recurrent_kernel)

    def _carry(self, t, new, old, out):
        """out = new where step t is unmasked, else old (the state carried on)."""
        np.subtract(new, old, out=out)
        out *= self.m[t]
        out += old
        return out

    def _arrive(self, t, g, d_seq):
        """∂L/∂h_t: what step t + 1 sent back plus, with return_sequences, the
        output's own gradient at t; recorded in step_gradients, then split by
        the mask (:meth:`_split`)."""
        if d_seq is not None:
            g = g + d_seq[t]
        self._step_gradients[t] = g
        return self._split(t, g)

    def _split(self, t, g):
        """∂L/∂(carried state at t) → (part to the step's new value, part
        carried straight to step t - 1)."""
        if self.m is None:
            return g, None
        m = self.m[t]
        return g * m, g - g * m

    @property
    def step_gradients(self):
        """∂L/∂h_t for every step t of the last backward, (N, T, units), in
        the order the steps ran (reversed with ``go_backwards``)."""
        grads = getattr(self, "_step_gradients", None)
        return None if grads is None else grads.transpose(1, 0, 2)

    def _recurrent_in(self, h):
        return h * self.h_mask if self.h_mask is not None else h

    def get_config(self):
        def ser(obj):
            return None if obj is None else (initializers.serialize(obj) if isinstance(
                obj, initializers.Initializer) else regularizers.serialize(obj))

        return {**super().get_config(), "units": self.units,
                "activation": self.activation.name,
                "use_bias": self.use_bias,
                "kernel_initializer": ser(self.kernel_initializer),
                "recurrent_initializer": ser(self.recurrent_initializer),
                "bias_initializer": ser(self.bias_initializer),
                "kernel_regularizer": ser(self.kernel_regularizer),
                "recurrent_regularizer": ser(self.recurrent_regularizer),
                "bias_regularizer": ser(self.bias_regularizer),
                "kernel_constraint": None, "recurrent_constraint": None,
                "bias_constraint": None, "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout, "seed": self.seed,
                "return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful,
                "unroll": self.unroll, "zero_output_for_mask": self.zero_output_for_mask}


class SimpleRNN(_Recurrent):
    """The plain recurrent layer (Elman network):

        h_t = tanh(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)

    kernel (D, units), recurrent_kernel (units, units), bias (units,).
    Backward through time, from g_t = ∂L/∂h_t (its output's gradient plus what
    step t + 1 sends back):

        ∂L/∂z_t        = g_t · tanh'(z_t) = g_t · (1 - h_t²)
        grad_recurrent += h_{t-1}ᵀ @ ∂L/∂z_t
        g_{t-1}       += ∂L/∂z_t @ recurrent_kernelᵀ

    Each step back multiplies by recurrent_kernelᵀ and by tanh' ≤ 1, so the
    gradient from far steps shrinks geometrically: the vanishing gradient.
    """

    def __init__(self, units, activation="tanh", **kwargs):
        kwargs.pop("recurrent_activation", None)
        super().__init__(units, activation=activation, **kwargs)

    def _steps(self, zs, states):
        steps, n, units = zs.shape
        h, u = states[0], self.recurrent_kernel.value
        masked = self.m is not None
        hn = np.empty_like(zs) if masked else self.hs[1:]   # each step's new h
        rec = np.empty((n, units), dtype=self.dtype)
        for t in range(steps):
            np.matmul(self._recurrent_in(h), u, out=rec)
            zs[t] += rec                                      # z_t
            _activate(self.activation, zs[t], hn[t])
            h = self._carry(t, hn[t], h, self.hs[t + 1]) if masked else hn[t]
        self.zs, self.hn = zs, hn
        self._final = [h.copy()]

    def _steps_backward(self, d_seq, d_final):
        steps, n, units = self.zs.shape
        u = self.recurrent_kernel.value
        slope = _slope(self.activation, self.zs, self.hn)    # tanh'(z_t), every step
        d_zs = np.empty_like(self.zs)
        g = d_final[0]
        for t in range(steps - 1, -1, -1):
            g, g_old = self._arrive(t, g, d_seq)
            np.multiply(g, slope[t], out=d_zs[t])             # ∂L/∂z_t
            g = d_zs[t] @ u.T                                 # g_{t-1}
            if self.h_mask is not None:
                g *= self.h_mask
            if g_old is not None:
                g += g_old
        self._recurrent_grad(d_zs)
        return d_zs


class LSTM(_Recurrent):
    """Long short-term memory (Hochreiter and Schmidhuber), Keras's gate order
    i, f, c, o in the kernel's columns:

        z = x_t @ kernel + h_{t-1} @ recurrent_kernel + bias   (N, 4·units)
        i = σ(z_i)   f = σ(z_f)   g = tanh(z_c)   o = σ(z_o)
        c_t = f · c_{t-1} + i · g
        h_t = o · tanh(c_t)

    ``unit_forget_bias`` (default) starts the forget gate's bias at 1, so at
    first the cell keeps what it has. Backward, from g_h = ∂L/∂h_t and g_c
    (from step t + 1):

        ∂L/∂o = g_h · tanh(c_t)
        ∂L/∂c_t = g_h · o · (1 - tanh²(c_t)) + g_c
        ∂L/∂i = ∂L/∂c_t · g     ∂L/∂g = ∂L/∂c_t · i     ∂L/∂f = ∂L/∂c_t · c_{t-1}
        g_c for step t - 1 = ∂L/∂c_t · f
        ∂L/∂z = [∂L/∂i · i(1-i), ∂L/∂f · f(1-f), ∂L/∂g · (1-g²), ∂L/∂o · o(1-o)]
        g_h for step t - 1 = ∂L/∂z @ recurrent_kernelᵀ

    The cell's path back, ∂L/∂c_{t-1} = ∂L/∂c_t · f, has no squashing
    derivative in it: with f near 1 a gradient crosses many steps intact.
    """

    GATES, STATES = 4, 2

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 unit_forget_bias=True, implementation=2, **kwargs):
        super().__init__(units, activation=activation,
                         recurrent_activation=recurrent_activation, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.implementation = implementation  # a speed choice in Keras; one loop here

    def _bias_initial(self, shape, dtype):
        u = self.units
        if not self.unit_forget_bias:
            return self.bias_initializer(shape, dtype=dtype)
        return np.concatenate([self.bias_initializer((u,), dtype=dtype),
                               np.ones((u,), dtype=dtype),
                               self.bias_initializer((2 * u,), dtype=dtype)])

    def _steps(self, zs, states):
        h, c = states
        steps, n, _ = zs.shape
        u, k = self.units, self.recurrent_kernel.value
        act, rec = self.activation, self.recurrent_activation
        masked = self.m is not None
        self.acts = acts = np.empty_like(zs)           # i, f, g, o after σ / tanh
        self.cs = np.empty((steps + 1, n, u), dtype=self.dtype)   # carried c_0..c_T
        self.cs[0] = c
        cn = np.empty((steps, n, u), dtype=self.dtype) if masked else self.cs[1:]
        hn = np.empty((steps, n, u), dtype=self.dtype) if masked else self.hs[1:]
        self.tcs = np.empty((steps, n, u), dtype=self.dtype)      # tanh(c_t)
        r = np.empty((n, 4 * u), dtype=self.dtype)
        ig = np.empty((n, u), dtype=self.dtype)
        fast = act.name == "tanh" and rec.name == "sigmoid"
        scale = np.full(4 * u, 0.5, dtype=self.dtype)   # per column: σ for i, f, o; tanh for g
        scale[2 * u:3 * u] = 1
        offset = np.where(scale == 1, 0, 0.5).astype(self.dtype)
        for t in range(steps):
            z, a = zs[t], acts[t]
            np.matmul(self._recurrent_in(h), k, out=r)
            z += r
            if fast:  # all four gates in one tanh: σ(z) = tanh(z/2)/2 + 1/2
                np.multiply(z, scale, out=a)
                np.tanh(a, out=a)
                a *= scale
                a += offset
            else:
                _activate(rec, z[:, :2 * u], a[:, :2 * u])           # i, f
                _activate(act, z[:, 2 * u:3 * u], a[:, 2 * u:3 * u]) # g
                _activate(rec, z[:, 3 * u:], a[:, 3 * u:])           # o
            np.multiply(a[:, u:2 * u], c, out=cn[t])                 # c_t = f·c_{t-1} + i·g
            np.multiply(a[:, :u], a[:, 2 * u:3 * u], out=ig)
            cn[t] += ig
            _activate(act, cn[t], self.tcs[t])
            np.multiply(a[:, 3 * u:], self.tcs[t], out=hn[t])        # h_t = o·tanh(c_t)
            if masked:
                c = self._carry(t, cn[t], c, self.cs[t + 1])
                h = self._carry(t, hn[t], h, self.hs[t + 1])
            else:
                c, h = cn[t], hn[t]
        self.zs, self.cn = zs, cn
        self._final = [h.copy(), c.copy()]

    def _steps_backward(self, d_seq, d_final):
        steps, n, _ = self.zs.shape
        u, k = self.units, self.recurrent_kernel.value
        act, rec = self.activation, self.recurrent_activation
        acts, zs = self.acts, self.zs
        slope = np.empty_like(acts)                    # σ' / tanh' of every gate, every step
        slope[..., :2 * u] = _slope(rec, zs[..., :2 * u], acts[..., :2 * u])
        slope[..., 2 * u:3 * u] = _slope(act, zs[..., 2 * u:3 * u], acts[..., 2 * u:3 * u])
        slope[..., 3 * u:] = _slope(rec, zs[..., 3 * u:], acts[..., 3 * u:])
        o_slope = acts[..., 3 * u:] * _slope(act, self.cn, self.tcs)   # o · tanh'(c_t)
        d_zs = np.empty_like(zs)
        g_h, g_c = d_final
        d_c = np.empty((n, u), dtype=self.dtype)
        for t in range(steps - 1, -1, -1):
            g_h, h_old = self._arrive(t, g_h, d_seq)
            g_c, c_old = self._split(t, g_c)
            a, dz = acts[t], d_zs[t]
            np.multiply(g_h, o_slope[t], out=d_c)                    # ∂L/∂c_t
            d_c += g_c
            np.multiply(d_c, a[:, 2 * u:3 * u], out=dz[:, :u])       # ∂L/∂i = ∂L/∂c_t · g
            np.multiply(d_c, self.cs[t], out=dz[:, u:2 * u])         # ∂L/∂f = ∂L/∂c_t · c_{t-1}
            np.multiply(d_c, a[:, :u], out=dz[:, 2 * u:3 * u])       # ∂L/∂g = ∂L/∂c_t · i
            np.multiply(g_h, self.tcs[t], out=dz[:, 3 * u:])         # ∂L/∂o = g_h · tanh(c_t)
            dz *= slope[t]                                           # ∂L/∂z
            g_c = d_c * a[:, u:2 * u]
            g_h = dz @ k.T
            if self.h_mask is not None:
                g_h *= self.h_mask
            if h_old is not None:
                g_h += h_old
                g_c += c_old
        self._recurrent_grad(d_zs)
        return d_zs

    def get_config(self):
        return {**super().get_config(),
                "recurrent_activation": self.recurrent_activation.name,
                "unit_forget_bias": self.unit_forget_bias}


class GRU(_Recurrent):
    """Gated recurrent unit (Cho et al.), Keras's default form
    ``reset_after=True`` (as cuDNN): gate order z (update), r (reset), h, and
    two biases, bias[0] for the input part and bias[1] for the recurrent part
    (bias shape (2, 3·units)):

        x̂ = x_t @ kernel + bias[0]          ĥ = h_{t-1} @ recurrent_kernel + bias[1]
        z = σ(x̂_z + ĥ_z)   r = σ(x̂_r + ĥ_r)   n = tanh(x̂_h + r · ĥ_h)
        h_t = z · h_{t-1} + (1 - z) · n

    Backward, from g = ∂L/∂h_t:

        ∂L/∂n = g · (1 - z)     ∂L/∂z = g · (h_{t-1} - n)
        ∂L/∂a_n = ∂L/∂n · (1 - n²)  (a_n: tanh's input)
        ∂L/∂r = ∂L/∂a_n · ĥ_h
        ∂L/∂x̂ = [∂L/∂z · z(1-z), ∂L/∂r · r(1-r), ∂L/∂a_n]
        ∂L/∂ĥ = [∂L/∂z · z(1-z), ∂L/∂r · r(1-r), ∂L/∂a_n · r]
        g for step t - 1 = g · z + ∂L/∂ĥ @ recurrent_kernelᵀ

    The direct term g · z carries the gradient back when the update gate
    keeps the old state (z near 1).

    ``reset_after=False`` (the original GRU, older tutorials and tf.keras 1's
    files): one bias (3·units,), and r resets h *before* its product, U being
    recurrent_kernel's three parts:

        z = σ(x̂_z + h_{t-1} @ U_z)   r = σ(x̂_r + h_{t-1} @ U_r)
        n = tanh(x̂_h + (r · h_{t-1}) @ U_h)

    so ∂L/∂(r·h) = ∂L/∂a_n @ U_hᵀ, ∂L/∂r = ∂L/∂(r·h) · h_{t-1}, and step t - 1
    also gets ∂L/∂(r·h) · r; grad U_h = Σ (r·h_{t-1})ᵀ @ ∂L/∂a_n.
    """

    GATES, STATES = 3, 1

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 reset_after=True, implementation=2, **kwargs):
        super().__init__(units, activation=activation,
                         recurrent_activation=recurrent_activation, **kwargs)
        self.reset_after = bool(reset_after)
        self.implementation = implementation

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _input_bias(self):
        return self.bias.value[0] if self.reset_after else self.bias.value

    def _input_bias_grad(self, d2):
        np.sum(d2, axis=0, out=self.grad_bias[0] if self.reset_after else self.grad_bias)

    def _steps(self, zs, states):
        if not self.reset_after:
            return self._steps_reset_before(zs, states)
        h = states[0]
        steps, n, _ = zs.shape
        u, k = self.units, self.recurrent_kernel.value
        b_rec = self.bias.value[1] if self.use_bias else None
        act, rec = self.activation, self.recurrent_activation
        masked = self.m is not None
        hn = np.empty((steps, n, u), dtype=self.dtype) if masked else self.hs[1:]
        self.hh = np.empty_like(zs)                    # ĥ, every step
        self.acts = acts = np.empty_like(zs)           # z, r, n
        tmp = np.empty((n, u), dtype=self.dtype)
        for t in range(steps):
            x, hh, a = zs[t], self.hh[t], acts[t]
            np.matmul(self._recurrent_in(h), k, out=hh)
            if b_rec is not None:
                hh += b_rec
            x[:, :2 * u] += hh[:, :2 * u]                            # a_z, a_r
            _activate(rec, x[:, :2 * u], a[:, :2 * u])               # z, r
            np.multiply(a[:, u:2 * u], hh[:, 2 * u:], out=tmp)
            x[:, 2 * u:] += tmp                                      # a_n = x̂_h + r·ĥ_h
            _activate(act, x[:, 2 * u:], a[:, 2 * u:])               # n
            np.subtract(h, a[:, 2 * u:], out=tmp)                    # h_t = n + z·(h_{t-1} - n)
            tmp *= a[:, :u]
            np.add(a[:, 2 * u:], tmp, out=hn[t])
            h = self._carry(t, hn[t], h, self.hs[t + 1]) if masked else hn[t]
        self.zs = zs                                   # now a_z, a_r, a_n
        self._final = [h.copy()]

    def _steps_reset_before(self, zs, states):
        """The forward of reset_after=False (see the class docstring)."""
        h = states[0]
        steps, n, _ = zs.shape
        u, k = self.units, self.recurrent_kernel.value
        act, rec = self.activation, self.recurrent_activation
        masked = self.m is not None
        hn = np.empty((steps, n, u), dtype=self.dtype) if masked else self.hs[1:]
        self.hh = np.empty_like(zs)                    # h @ U_zr, (r·h) @ U_h, every step
        self.rh = np.empty((steps, n, u), dtype=self.dtype)    # r · h_{t-1}
        self.acts = acts = np.empty_like(zs)           # z, r, n
        tmp = np.empty((n, u), dtype=self.dtype)
        for t in range(steps):
            x, hh, a = zs[t], self.hh[t], acts[t]
            h_in = self._recurrent_in(h)
            np.matmul(h_in, k[:, :2 * u], out=hh[:, :2 * u])
            x[:, :2 * u] += hh[:, :2 * u]                            # a_z, a_r
            _activate(rec, x[:, :2 * u], a[:, :2 * u])               # z, r
            np.multiply(a[:, u:2 * u], h_in, out=self.rh[t])
            np.matmul(self.rh[t], k[:, 2 * u:], out=hh[:, 2 * u:])
            x[:, 2 * u:] += hh[:, 2 * u:]                            # a_n = x̂_h + (r·h) U_h
            _activate(act, x[:, 2 * u:], a[:, 2 * u:])               # n
            np.subtract(h, a[:, 2 * u:], out=tmp)                    # h_t = n + z·(h_{t-1} - n)
            tmp *= a[:, :u]
            np.add(a[:, 2 * u:], tmp, out=hn[t])
            h = self._carry(t, hn[t], h, self.hs[t + 1]) if masked else hn[t]
        self.zs = zs
        self._final = [h.copy()]

    def _gate_slopes(self):
        """f'(a) of every gate, every step: the recurrent activation's for z and
        r, the activation's for n."""
        u, zs, acts = self.units, self.zs, self.acts
        slope = np.empty_like(acts)
        slope[..., :2 * u] = _slope(self.recurrent_activation, zs[..., :2 * u],
                                    acts[..., :2 * u])
        slope[..., 2 * u:] = _slope(self.activation, zs[..., 2 * u:], acts[..., 2 * u:])
        return slope

    def _steps_backward_reset_before(self, d_seq, d_final):
        steps, n, _ = self.zs.shape
        u, k = self.units, self.recurrent_kernel.value
        acts, zs = self.acts, self.zs
        slope = self._gate_slopes()
        d_zs = np.empty_like(zs)                       # ∂L/∂x̂ (= ∂L/∂ of each gate's input)
        g = d_final[0]
        for t in range(steps - 1, -1, -1):
            g, g_old = self._arrive(t, g, d_seq)
            a, s, dx = acts[t], slope[t], d_zs[t]
            z, r, cand = a[:, :u], a[:, u:2 * u], a[:, 2 * u:]
            h_in = self._recurrent_in(self.hs[t])
            np.multiply(g * (1 - z), s[:, 2 * u:], out=dx[:, 2 * u:])            # ∂L/∂a_n
            np.multiply(g * (self.hs[t] - cand), s[:, :u], out=dx[:, :u])        # ∂L/∂a_z
            d_rh = dx[:, 2 * u:] @ k[:, 2 * u:].T                                # ∂L/∂(r·h)
            np.multiply(d_rh * h_in, s[:, u:2 * u], out=dx[:, u:2 * u])          # ∂L/∂a_r
            back = dx[:, :2 * u] @ k[:, :2 * u].T + d_rh * r
            if self.h_mask is not None:
                back *= self.h_mask
            g = g * z + back                                                     # g_{t-1}
            if g_old is not None:
                g += g_old
        h_in = self.hs[:-1] if self.h_mask is None else self.hs[:-1] * self.h_mask
        flat = d_zs.reshape(-1, 3 * u)
        self.grad_recurrent_kernel[:, :2 * u] = h_in.reshape(-1, u).T @ flat[:, :2 * u]
        self.grad_recurrent_kernel[:, 2 * u:] = self.rh.reshape(-1, u).T @ flat[:, 2 * u:]
        return d_zs

    def _steps_backward(self, d_seq, d_final):
        if not self.reset_after:
            return self._steps_backward_reset_before(d_seq, d_final)
        steps, n, _ = self.zs.shape
        u, k = self.units, self.recurrent_kernel.value
        acts, zs = self.acts, self.zs
        slope = self._gate_slopes()
        d_zs = np.empty_like(zs)                       # ∂L/∂x̂
        d_hh = np.empty_like(zs)                       # ∂L/∂ĥ
        g = d_final[0]
        for t in range(steps - 1, -1, -1):
            g, g_old = self._arrive(t, g, d_seq)
            a, s, dx, dh = acts[t], slope[t], d_zs[t], d_hh[t]
            z, r, cand = a[:, :u], a[:, u:2 * u], a[:, 2 * u:]
            np.multiply(g * (1 - z), s[:, 2 * u:], out=dx[:, 2 * u:])            # ∂L/∂a_n
            np.multiply(g * (self.hs[t] - cand), s[:, :u], out=dx[:, :u])        # ∂L/∂a_z
            np.multiply(dx[:, 2 * u:] * self.hh[t, :, 2 * u:], s[:, u:2 * u],
                        out=dx[:, u:2 * u])                                      # ∂L/∂a_r
            dh[:, :2 * u] = dx[:, :2 * u]
            np.multiply(dx[:, 2 * u:], r, out=dh[:, 2 * u:])
            back = dh @ k.T
            if self.h_mask is not None:
                back *= self.h_mask
            g = g * z + back                                                     # g_{t-1}
            if g_old is not None:
                g += g_old
        self._recurrent_grad(d_hh)
        if self.use_bias:
            self._brec_grad = d_hh.reshape(-1, 3 * u).sum(axis=0)
        return d_zs

    def _backward(self, grad, input_grad=True):
        out = super()._backward(grad, input_grad)
        if self.use_bias and self.reset_after:
            self.grad_bias[1] = self._brec_grad
            if self.bias.regularizer is not None and self.trainable:  # row 1 was just reset
                self.grad_bias[1] += self.bias.regularizer.gradient(self.bias.value)[1]
        return out

    def get_config(self):
        return {**super().get_config(),
                "recurrent_activation": self.recurrent_activation.name,
                "reset_after": self.reset_after}
