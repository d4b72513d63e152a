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
are the initial states of the next; ``reset_states()``). Masks are not
implemented yet.
"""

from __future__ import annotations

import numpy as np

from glassnet import activations, initializers, regularizers, utils
from glassnet.layers.base import Layer, not_implemented

__all__ = ["SimpleRNN", "LSTM", "GRU"]


def _sigmoid_grad(a):
    return a * (1 - a)


class _Recurrent(Layer):
    GATES = 1          # kernel columns per unit: SimpleRNN 1, GRU 3, LSTM 4
    STATES = 1         # h (and c for LSTM)

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

    def forward(self, x, training=False):
        x = np.asarray(x, dtype=self.dtype)
        if self.go_backwards:
            x = x[:, ::-1]
        n, steps, d = x.shape
        self.x_mask, self.h_mask = self._masks(n, d, training)
        xin = x * self.x_mask[:, None, :] if self.x_mask is not None else x
        self.xin = xin
        xw = xin @ self.kernel.value                   # (N, T, G·units): every step at once
        if self.use_bias:
            xw += self._input_bias()
        states = self._initial(n)
        outputs = self._steps(xw, states)              # (N, T, units) and the final states
        final = self._final
        if self.stateful:
            self.states = [s.copy() for s in final]
        out = outputs if self.return_sequences else final[0]
        self.steps_run = steps
        return [out] + list(final) if self.return_state else out

    def _input_bias(self):
        return self.bias.value

    def backward(self, grad):
        return self._backward(grad)

    def _backward(self, grad, input_grad=True):
        grads = grad if isinstance(grad, list) else [grad]
        n, steps = self.xin.shape[0], self.xin.shape[1]
        d_out = grads[0]
        d_seq = d_out if self.return_sequences else None
        d_final = [np.zeros((n, self.units), dtype=self.dtype) for _ in range(self.STATES)]
        if not self.return_sequences:
            d_final[0] = d_final[0] + d_out
        for i, g in enumerate(grads[1:]):
            d_final[i] = d_final[i] + g
        d_xw = self._steps_backward(d_seq, d_final)    # ∂L/∂(x @ kernel + bias), every step
        flat = self.xin.reshape(-1, self.xin.shape[-1])
        d2 = d_xw.reshape(-1, d_xw.shape[-1])
        np.matmul(flat.T, d2, out=self.grad_kernel)
        if self.use_bias:
            self._input_bias_grad(d2)
        self.add_regularization_gradients()
        if not input_grad:
            return None
        dx = d_xw @ self.kernel.value.T
        if self.x_mask is not None:
            dx *= self.x_mask[:, None, :]
        return dx[:, ::-1] if self.go_backwards else dx

    def _input_bias_grad(self, d2):
        np.sum(d2, axis=0, out=self.grad_bias)

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

    def _steps(self, xw, states):
        h = states[0]
        n, steps, _ = xw.shape
        u = self.recurrent_kernel.value
        self.zs = np.empty((n, steps, self.units), dtype=self.dtype)
        self.hs = np.empty((n, steps + 1, self.units), dtype=self.dtype)
        self.hs[:, 0] = h
        for t in range(steps):
            z = xw[:, t] + self._recurrent_in(h) @ u
            h = self.activation(z)
            self.zs[:, t], self.hs[:, t + 1] = z, h
        self._final = [h]
        return self.hs[:, 1:]

    def _steps_backward(self, d_seq, d_final):
        n, steps = self.zs.shape[:2]
        u = self.recurrent_kernel.value
        d_xw = np.empty_like(self.zs)
        self.grad_recurrent_kernel[...] = 0
        g_next = d_final[0]
        self.step_gradients = np.empty((n, steps, self.units), dtype=self.dtype)
        for t in range(steps - 1, -1, -1):
            g = g_next if d_seq is None else g_next + d_seq[:, t]
            self.step_gradients[:, t] = g
            dz = self.activation.backward(self.zs[:, t], g, self.hs[:, t + 1])
            d_xw[:, t] = dz
            h_in = self._recurrent_in(self.hs[:, t])
            self.grad_recurrent_kernel += h_in.T @ dz
            g_next = dz @ u.T
            if self.h_mask is not None:
                g_next *= self.h_mask
        return d_xw


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

    def _steps(self, xw, states):
        h, c = states
        n, steps, _ = xw.shape
        u, k = self.units, self.recurrent_kernel.value
        self.gates = np.empty((n, steps, 4 * u), dtype=self.dtype)  # i, f, g, o after σ/tanh
        self.cs = np.empty((n, steps + 1, u), dtype=self.dtype)
        self.hs = np.empty((n, steps + 1, u), dtype=self.dtype)
        self.tcs = np.empty((n, steps, u), dtype=self.dtype)
        self.zs = np.empty((n, steps, 4 * u), dtype=self.dtype)
        self.cs[:, 0], self.hs[:, 0] = c, h
        act, rec = self.activation, self.recurrent_activation
        for t in range(steps):
            z = xw[:, t] + self._recurrent_in(h) @ k
            i, f, o = rec(z[:, :u]), rec(z[:, u:2 * u]), rec(z[:, 3 * u:])
            g = act(z[:, 2 * u:3 * u])
            c = f * c + i * g
            tc = act(c)
            h = o * tc
            self.zs[:, t] = z
            self.gates[:, t] = np.concatenate([i, f, g, o], axis=1)
            self.cs[:, t + 1], self.hs[:, t + 1], self.tcs[:, t] = c, h, tc
        self._final = [h, c]
        return self.hs[:, 1:]

    def _steps_backward(self, d_seq, d_final):
        n, steps = self.zs.shape[:2]
        u, k = self.units, self.recurrent_kernel.value
        act, rec = self.activation, self.recurrent_activation
        d_xw = np.empty_like(self.zs)
        self.grad_recurrent_kernel[...] = 0
        g_h, g_c = d_final
        self.step_gradients = np.empty((n, steps, u), dtype=self.dtype)
        for t in range(steps - 1, -1, -1):
            if d_seq is not None:
                g_h = g_h + d_seq[:, t]
            self.step_gradients[:, t] = g_h
            z, gates = self.zs[:, t], self.gates[:, t]
            i, f, g, o = gates[:, :u], gates[:, u:2 * u], gates[:, 2 * u:3 * u], \
                gates[:, 3 * u:]
            c, c_prev, tc = self.cs[:, t + 1], self.cs[:, t], self.tcs[:, t]
            d_o = g_h * tc
            d_c = act.backward(c, g_h * o, tc) + g_c
            d_i, d_g, d_f = d_c * g, d_c * i, d_c * c_prev
            g_c = d_c * f
            dz = np.concatenate([rec.backward(z[:, :u], d_i, i),
                                 rec.backward(z[:, u:2 * u], d_f, f),
                                 act.backward(z[:, 2 * u:3 * u], d_g, g),
                                 rec.backward(z[:, 3 * u:], d_o, o)], axis=1)
            d_xw[:, t] = dz
            self.grad_recurrent_kernel += self._recurrent_in(self.hs[:, t]).T @ dz
            g_h = dz @ k.T
            if self.h_mask is not None:
                g_h *= self.h_mask
        return d_xw

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
    """

    GATES, STATES = 3, 1

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 reset_after=True, implementation=2, **kwargs):
        super().__init__(units, activation=activation,
                         recurrent_activation=recurrent_activation, **kwargs)
        if not reset_after:
            raise NotImplementedError(f"GRU {self.name!r}: reset_after=False (tf.keras 1's "
                                      f"form) is not implemented in glassnet")
        self.reset_after = True
        self.implementation = implementation

    def _bias_shape(self):
        return (2, 3 * self.units)

    def _input_bias(self):
        return self.bias.value[0]

    def _input_bias_grad(self, d2):
        np.sum(d2, axis=0, out=self.grad_bias[0])

    def _steps(self, xw, states):
        h = states[0]
        n, steps, _ = xw.shape
        u, k = self.units, self.recurrent_kernel.value
        b_rec = self.bias.value[1] if self.use_bias else 0
        act, rec = self.activation, self.recurrent_activation
        self.hs = np.empty((n, steps + 1, u), dtype=self.dtype)
        self.hh = np.empty((n, steps, 3 * u), dtype=self.dtype)   # ĥ
        self.acts = np.empty((n, steps, 3 * u), dtype=self.dtype)  # z, r, n
        self.pre = np.empty((n, steps, 3 * u), dtype=self.dtype)   # their inputs
        self.hs[:, 0] = h
        for t in range(steps):
            hh = self._recurrent_in(h) @ k + b_rec
            xz = xw[:, t]
            a_z, a_r = xz[:, :u] + hh[:, :u], xz[:, u:2 * u] + hh[:, u:2 * u]
            z, r = rec(a_z), rec(a_r)
            a_n = xz[:, 2 * u:] + r * hh[:, 2 * u:]
            cand = act(a_n)
            h = z * h + (1 - z) * cand
            self.hh[:, t] = hh
            self.acts[:, t] = np.concatenate([z, r, cand], axis=1)
            self.pre[:, t] = np.concatenate([a_z, a_r, a_n], axis=1)
            self.hs[:, t + 1] = h
        self._final = [h]
        return self.hs[:, 1:]

    def _steps_backward(self, d_seq, d_final):
        n, steps = self.hs.shape[0], self.hs.shape[1] - 1
        u, k = self.units, self.recurrent_kernel.value
        act, rec = self.activation, self.recurrent_activation
        d_xw = np.empty((n, steps, 3 * u), dtype=self.dtype)
        self.grad_recurrent_kernel[...] = 0
        d_brec = np.zeros(3 * u, dtype=self.dtype)
        g = d_final[0]
        self.step_gradients = np.empty((n, steps, u), dtype=self.dtype)
        for t in range(steps - 1, -1, -1):
            if d_seq is not None:
                g = g + d_seq[:, t]
            self.step_gradients[:, t] = g
            z, r, cand = self.acts[:, t, :u], self.acts[:, t, u:2 * u], self.acts[:, t, 2 * u:]
            a_z, a_r, a_n = self.pre[:, t, :u], self.pre[:, t, u:2 * u], self.pre[:, t, 2 * u:]
            h_prev, hh = self.hs[:, t], self.hh[:, t]
            d_an = act.backward(a_n, g * (1 - z), cand)
            d_az = rec.backward(a_z, g * (h_prev - cand), z)
            d_ar = rec.backward(a_r, d_an * hh[:, 2 * u:], r)
            d_xw[:, t] = np.concatenate([d_az, d_ar, d_an], axis=1)
            d_hh = np.concatenate([d_az, d_ar, d_an * r], axis=1)
            self.grad_recurrent_kernel += self._recurrent_in(h_prev).T @ d_hh
            d_brec += d_hh.sum(axis=0)
            back = d_hh @ k.T
            if self.h_mask is not None:
                back *= self.h_mask
            g = g * z + back
        if self.use_bias:
            self._brec_grad = d_brec
        return d_xw

    def _backward(self, grad, input_grad=True):
        out = super()._backward(grad, input_grad)
        if self.use_bias:
            self.grad_bias[1] = self._brec_grad
            if self.bias.regularizer is not None and self.trainable:  # row 1 was just reset
                self.grad_bias[1] += self.bias.regularizer.gradient(self.bias.value)[1]
        return out

    def get_config(self):
        return {**super().get_config(),
                "recurrent_activation": self.recurrent_activation.name,
                "reset_after": self.reset_after}
