"""Optimizers: how a gradient becomes a step. Keras's update rules and defaults.

g is the gradient, w the weight, lr the learning rate, t the step number:

SGD        v ← momentum·v - lr·g;  w ← w + v
           (nesterov: w ← w + momentum·v - lr·g; no momentum: w ← w - lr·g)
RMSprop    s ← ρ·s + (1-ρ)·g²;  w ← w - lr·g / √(s + ε)
Adagrad    s ← s + g²  (s starts at 0.1);  w ← w - lr·g / √(s + ε)
Adam       m ← m + (1-β₁)(g - m);  v ← v + (1-β₂)(g² - v)
           w ← w - α·m / (√v + ε),  α = lr·√(1-β₂ᵗ) / (1-β₁ᵗ)

A model keeps all its trainable weights in one contiguous float32 vector
(each layer's ``kernel`` and ``bias`` are views into it) and the gradients in
another, so ``apply(params, grads)`` updates everything in a few in-place
passes with one scratch buffer: no per-layer loop, no temporary arrays.

    >>> import numpy as np
    >>> w, g = np.array([1.0, -2.0]), np.array([0.5, 0.5])
    >>> SGD(learning_rate=0.1).apply(w, g); w
    array([ 0.95, -2.05])
"""

from __future__ import annotations

import math

import numpy as np

from glassnet import threads, utils
from glassnet.variables import Variable

# weights from which an update is split over glassnet's threads (where they are at work)
SPLIT_UPDATE = 1 << 18

__all__ = ["Optimizer", "SGD", "RMSprop", "Adagrad", "Adam", "AdamW", "get", "names",
           "serialize", "LearningRateSchedule", "CosineDecay", "ExponentialDecay",
           "InverseTimeDecay", "PolynomialDecay", "PiecewiseConstantDecay"]


def _check_positive(owner, name, value, allow_zero=False):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{owner} {name} must be a number; received {value!r}") from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{owner} {name} must be a finite number "
                         f"{'>= 0' if allow_zero else '> 0'}; received {value!r}")
    return value


def _check_fraction(owner, name, value):
    value = _check_positive(owner, name, value, allow_zero=True)
    if value >= 1:
        raise ValueError(f"{owner} {name} must lie in [0, 1); received {value!r}")
    return value


class LearningRateSchedule:
    """A learning rate that depends on the step: ``schedule(step)``."""

    def get_config(self):
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _steps(owner, name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{owner} {name} must be a positive integer; received {value!r}")
    return int(value)


class CosineDecay(LearningRateSchedule):
    """Keras's cosine decay: from ``initial_learning_rate`` down to
    ``alpha · initial_learning_rate`` over ``decay_steps``, along half a cosine:

        lr(t) = initial · ((1 - alpha) · ½(1 + cos(π · min(t, T) / T)) + alpha)

    With ``warmup_steps`` it first rises linearly from initial to
    ``warmup_target``, and decays from there.
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        self.initial_learning_rate = _check_positive("CosineDecay", "initial_learning_rate",
                                                     initial_learning_rate, allow_zero=True)
        self.decay_steps = _steps("CosineDecay", "decay_steps", decay_steps)
        self.alpha = _check_fraction("CosineDecay", "alpha", alpha)
        self.name = name
        self.warmup_target = None if warmup_target is None else float(warmup_target)
        self.warmup_steps = int(warmup_steps)

    def __call__(self, step):
        initial = self.initial_learning_rate
        if self.warmup_target is not None and self.warmup_steps:
            if step < self.warmup_steps:
                return initial + (self.warmup_target - initial) * step / self.warmup_steps
            initial, step = self.warmup_target, step - self.warmup_steps
        progress = min(step, self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1 + math.cos(math.pi * progress))
        return initial * ((1 - self.alpha) * cosine + self.alpha)


class _RateDecay(LearningRateSchedule):
    """The arguments ExponentialDecay and InverseTimeDecay share; ``power(t)``
    is t / decay_steps, floored with ``staircase``."""

    zero_rate_allowed = False

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name=None):
        owner = type(self).__name__
        self.initial_learning_rate = _check_positive(owner, "initial_learning_rate",
                                                     initial_learning_rate)
        self.decay_steps = _steps(owner, "decay_steps", decay_steps)
        self.decay_rate = _check_positive(owner, "decay_rate", decay_rate,
                                          allow_zero=self.zero_rate_allowed)
        self.staircase = bool(staircase)
        self.name = name or owner

    def power(self, step):
        power = step / self.decay_steps
        return math.floor(power) if self.staircase else power


class ExponentialDecay(_RateDecay):
    """lr(t) = initial · decay_rate^(t / decay_steps) (floored with
    ``staircase``), as Keras."""

    def __call__(self, step):
        return self.initial_learning_rate * self.decay_rate ** self.power(step)


class InverseTimeDecay(_RateDecay):
    """lr(t) = initial / (1 + decay_rate · t / decay_steps) (floored with ``staircase``)."""

    zero_rate_allowed = True  # a constant rate

    def __call__(self, step):
        return self.initial_learning_rate / (1 + self.decay_rate * self.power(step))


class PolynomialDecay(LearningRateSchedule):
    """lr(t) = (initial - end) · (1 - min(t, T) / T)^power + end."""

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001,
                 power=1.0, cycle=False, name="PolynomialDecay"):
        if cycle:
            raise NotImplementedError("PolynomialDecay: cycle=True is not implemented in "
                                      "glassnet")
        self.initial_learning_rate = _check_positive("PolynomialDecay",
                                                     "initial_learning_rate",
                                                     initial_learning_rate)
        self.decay_steps = _steps("PolynomialDecay", "decay_steps", decay_steps)
        self.end_learning_rate = _check_positive("PolynomialDecay", "end_learning_rate",
                                                 end_learning_rate, allow_zero=True)
        self.power, self.cycle, self.name = float(power), False, name

    def __call__(self, step):
        fraction = 1 - min(step, self.decay_steps) / self.decay_steps
        return (self.initial_learning_rate - self.end_learning_rate) * fraction ** self.power \
            + self.end_learning_rate


class PiecewiseConstantDecay(LearningRateSchedule):
    """values[0] up to boundaries[0] (inclusive), values[1] up to boundaries[1], ..."""

    def __init__(self, boundaries, values, name="PiecewiseConstantDecay"):
        if len(values) != len(boundaries) + 1:
            raise ValueError(f"PiecewiseConstantDecay needs one more value than boundaries; "
                             f"received {len(boundaries)} boundaries and {len(values)} values")
        self.boundaries, self.values, self.name = list(boundaries), list(values), name

    def __call__(self, step):
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]


_SCHEDULES = {cls.__name__: cls for cls in (CosineDecay, ExponentialDecay, InverseTimeDecay,
                                            PolynomialDecay, PiecewiseConstantDecay)}


class StepCount(int):
    """An optimizer's step count: an int that also reads as Keras's
    ``iterations`` variable does (``.numpy()``, ``.value``)."""

    def numpy(self):
        return np.int64(self)

    @property
    def value(self):
        return np.int64(self)


class Optimizer:
    """Base class. ``apply(params, grads)`` makes one step, in place, on two
    arrays of the same shape; state (moments) is created on the first call.

    ``learning_rate`` is a number (read and set it as
    ``optimizer.learning_rate``, a Variable: ``float(...)``, ``.assign(...)``)
    or a schedule, a function of the step count ``iterations``. Keras's
    options: ``weight_decay`` (w ← w - lr·wd·w before each step, decoupled as
    in AdamW), ``clipnorm`` (each weight's gradient scaled to at most this
    norm), ``global_clipnorm`` (all gradients together), ``clipvalue``.
    """

    name = "optimizer"
    _slots = ()  # names of the state arrays, e.g. ("momentum",)

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        owner = type(self).__name__
        if "lr" in kwargs:  # Keras 2's name
            learning_rate = kwargs.pop("lr")
        if kwargs.get("decay") not in (None, 0, 0.0):  # Keras 2's per-step decay
            raise NotImplementedError(f"{owner}: the argument decay={kwargs['decay']!r} is not "
                                      f"implemented (Keras 3 has no decay either; use a "
                                      f"learning-rate schedule such as InverseTimeDecay)")
        kwargs.pop("decay", None)
        if kwargs:
            raise TypeError(f"{owner}: unrecognized keyword arguments {sorted(kwargs)}")
        # ema_overwrite_frequency matters only with use_ema (tf.keras 2 saved 100 by default)
        for argument, value, default in (("use_ema", use_ema, False),
                                         ("loss_scale_factor", loss_scale_factor, None),
                                         ("gradient_accumulation_steps",
                                          gradient_accumulation_steps, None)):
            if value not in (default,):
                raise NotImplementedError(f"{owner}: the Keras argument {argument}={value!r} "
                                          f"is not implemented in glassnet")
        if clipnorm is not None and global_clipnorm is not None:
            raise ValueError(f"{owner}: give clipnorm or global_clipnorm, not both")
        self.weight_decay = None if weight_decay is None else _check_positive(
            owner, "weight_decay", weight_decay, allow_zero=True)
        self.clipnorm = None if clipnorm is None else _check_positive(owner, "clipnorm",
                                                                      clipnorm)
        self.global_clipnorm = None if global_clipnorm is None else _check_positive(
            owner, "global_clipnorm", global_clipnorm)
        self.clipvalue = None if clipvalue is None else _check_positive(owner, "clipvalue",
                                                                        clipvalue)
        if name is not None:
            self.name = name
        self._learning_rate = None
        self.learning_rate = learning_rate
        self._iterations = 0
        self._state = {}
        self._scratch = None
        self._layout = None  # [(offset, size)] per weight, for clipnorm

    @property
    def iterations(self):
        """How many steps this optimizer has taken: an int, read as Keras's
        ``optimizer.iterations`` variable is read (``.numpy()``, ``int(...)``)."""
        return StepCount(self._iterations)

    @iterations.setter
    def iterations(self, value):
        self._iterations = int(value)

    # ------------------------------------------------------- learning rate
    @property
    def learning_rate(self):
        """The learning rate: a Variable (read it with float(), set it with
        ``optimizer.learning_rate = 0.01`` or ``.assign(0.01)``); with a
        schedule, the schedule's value for the next step."""
        if callable(self._learning_rate):
            return np.float64(self._learning_rate(self.iterations))
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        owner = type(self).__name__
        if isinstance(value, dict) and value.get("class_name") in _SCHEDULES:
            value = _SCHEDULES[value["class_name"]](**value["config"])
        if callable(value) and not isinstance(value, Variable):
            self._learning_rate = value
            return
        if callable(self._learning_rate):
            raise TypeError(f"{owner} was created with a learning-rate schedule, so its "
                            f"learning rate cannot be set to a number")
        if isinstance(value, (str, bytes)) or np.ndim(value) != 0:
            raise ValueError(f"{owner} learning_rate must be a number (or a schedule); "
                             f"received {value!r:.60}")
        rate = _check_positive(owner, "learning_rate", value, allow_zero=True)
        if isinstance(self._learning_rate, Variable):
            self._learning_rate.assign(rate)
        else:  # float64: exact for float64 training; float32 weights round it per step anyway
            self._learning_rate = Variable(np.array(rate, dtype=np.float64),
                                           name="learning_rate", trainable=False)

    lr = learning_rate

    def current_learning_rate(self):
        """The learning rate for the next step, a float."""
        return float(self.learning_rate)

    # --------------------------------------------------------------- steps
    def build(self, params, layout=None):
        self._state = {name: self._initial_state(name, params) for name in self._slots}
        self._scratch = np.empty_like(params)
        self._layout = layout

    def _initial_state(self, name, params):
        return np.zeros_like(params)

    def step(self, params, grads, layout=None):
        """One step: update ``params`` in place from ``grads``. ``layout``
        (a list of (offset, size), one per weight) is needed for clipnorm."""
        if params.shape != grads.shape:
            raise ValueError(f"{type(self).__name__}: params {params.shape} and grads "
                             f"{grads.shape} differ in shape")
        if self._scratch is None or self._scratch.shape != params.shape \
                or self._scratch.dtype != params.dtype:
            self.build(params, layout)
        lr = self.current_learning_rate()
        self._clip(grads, layout or self._layout)
        if self.weight_decay:
            params -= params * params.dtype.type(lr * self.weight_decay)
        self.iterations += 1
        self._update_on_threads(params, grads, lr)

    # ------------------------------------------------ gradients from a tape
    def apply_gradients(self, grads_and_vars, name=None, skip_gradients_aggregation=False,
                        **kwargs):
        """One step on ``(gradient, variable)`` pairs, as a tape returns them:
        ``optimizer.apply_gradients(zip(grads, model.trainable_variables))``.
        A ``None`` gradient is skipped with a warning; all ``None`` raises."""
        pairs = list(grads_and_vars)
        for pair in pairs:
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError(f"{type(self).__name__}.apply_gradients takes (gradient, "
                                f"variable) pairs, e.g. zip(grads, model.trainable_variables); "
                                f"received {type(pair).__name__}")
        return self.apply([g for g, _ in pairs], [v for _, v in pairs])

    def apply(self, grads, trainable_variables=None, layout=None):
        """Keras 3's ``optimizer.apply(grads, trainable_variables)`` (and the
        engine's ``apply(params, grads)`` on two arrays: see ``step``)."""
        if isinstance(grads, np.ndarray) and isinstance(trainable_variables, np.ndarray):
            return self.step(grads, trainable_variables, layout)  # (params, grads): engine's
        grads = list(grads)
        if trainable_variables is None:
            raise ValueError(f"{type(self).__name__}.apply(grads, trainable_variables): give "
                             f"the variables the gradients belong to")
        variables = list(trainable_variables)
        if len(grads) != len(variables):
            raise ValueError(f"{type(self).__name__}.apply: {len(grads)} gradients for "
                             f"{len(variables)} variables")
        kept = [(g, v) for g, v in zip(grads, variables) if g is not None]
        if not kept:
            raise ValueError(f"No gradients provided for any variable: "
                             f"{[getattr(v, 'path', getattr(v, 'name', '?')) for v in variables]}"
                             f". Check that the loss depends on them (glassnet.inspect.why_none "
                             f"says why a gradient is None)")
        if len(kept) < len(variables):
            import warnings
            missing = [getattr(v, "path", "?") for g, v in zip(grads, variables) if g is None]
            warnings.warn(f"Gradients do not exist for variables {missing} when minimizing "
                          f"the loss. If you're using `model.compile()`, did you forget to "
                          f"provide a `loss` argument?", UserWarning, stacklevel=3)
        arrays = []
        for g, v in kept:
            if not hasattr(v, "assign") or not hasattr(v, "_value"):
                raise TypeError(f"{type(self).__name__}.apply: expected Variables to update; "
                                f"received {type(v).__name__}")
            a = np.asarray(g._value if hasattr(g, "_value") else g)
            if a.shape != v.shape:
                raise ValueError(f"{type(self).__name__}: the gradient for variable "
                                 f"{v.path!r} has shape {a.shape}; the variable has shape "
                                 f"{tuple(v.shape)}")
            arrays.append(a)
        group = tuple(id(v) for _, v in kept)
        params, base = _packed_view([v for _, v in kept])
        if params is None and len({v.dtype for _, v in kept}) == 1:
            params = base = _pack([v for _, v in kept])  # once; later steps find the view
        if params is None:
            params = np.concatenate([v._value.ravel() for _, v in kept]).astype(
                kept[0][1].dtype, copy=False)
        grads_flat = np.concatenate([a.ravel() for a in arrays]).astype(params.dtype,
                                                                        copy=False)
        layout, offset = [], 0
        for _, v in kept:
            layout.append((offset, v.size))
            offset += v.size
        self._use_group(group, params)
        self.step(params, grads_flat, layout)
        if base is None:
            for (_, v), (offset, size) in zip(kept, layout):
                v._value[...] = params[offset:offset + size].reshape(v.shape)
        return self.iterations

    def _use_group(self, group, params):
        """Keep each set of variables' slots apart (a GAN's two models)."""
        groups = self.__dict__.setdefault("_groups", {})
        current = self.__dict__.get("_group")
        if current == group:
            return
        if current is not None:
            groups[current] = (self._state, self._scratch, self._layout)
        if group in groups:
            self._state, self._scratch, self._layout = groups.pop(group)
        else:
            self._state, self._scratch = {}, None
        self._group = group

    def _clip(self, grads, layout):
        if self.clipvalue is not None:
            np.clip(grads, -self.clipvalue, self.clipvalue, out=grads)
        if self.global_clipnorm is not None:
            norm = float(np.sqrt(np.dot(grads, grads)))
            if norm > self.global_clipnorm:
                grads *= grads.dtype.type(self.global_clipnorm / norm)
        if self.clipnorm is not None:
            for offset, size in layout or [(0, grads.size)]:
                part = grads[offset:offset + size]
                norm = float(np.sqrt(np.dot(part, part)))
                if norm > self.clipnorm:
                    part *= part.dtype.type(self.clipnorm / norm)

    def update(self, w, g, lr):
        """One step on the flat weights ``w`` from their gradients ``g``, in place."""
        self._update(w, g, lr, self._state, self._scratch)

    def _update(self, w, g, lr, state, tmp):
        """The rule itself, on any part of the weights: ``state`` holds the same
        part of each slot, ``tmp`` is scratch space of w's shape."""
        raise NotImplementedError

    def _update_on_threads(self, w, g, lr):
        """The update, elementwise, split into contiguous parts on glassnet's threads
        where they are at work already and the weights are many (an embedding's)."""
        if threads.size() == 1 or w.size < SPLIT_UPDATE or not threads.busy() or \
                type(self).update is not Optimizer.update:   # a subclass's own update: as is
            return self.update(w, g, lr)
        state, tmp = self._state, self._scratch
        threads.run(lambda part: self._update(w[part], g[part], lr, {
            name: slot[part] for name, slot in state.items()}, tmp[part]),
            threads.split(w.size))

    def _scaled_step(self, w, g, s, lr, tmp):
        """w ← w - lr·g / √(s + ε), the last step of RMSprop and Adagrad."""
        np.add(s, self.epsilon, out=tmp)
        np.sqrt(tmp, out=tmp)
        np.divide(g, tmp, out=tmp)
        tmp *= lr
        w -= tmp

    def variables(self):
        """The state to save: name -> array (and the step count)."""
        state = dict(self._state)
        state["iterations"] = np.array(self.iterations, dtype=np.int64)
        return state

    def load_variables(self, variables, params):
        """Restore what :meth:`variables` returned, for weights like ``params``."""
        self.build(params, self._layout)
        for name in self._slots:
            if name in variables:
                if variables[name].shape != params.shape:
                    raise ValueError(f"{type(self).__name__} state {name!r} has shape "
                                     f"{variables[name].shape}; the model has "
                                     f"{params.shape} weights")
                self._state[name][...] = variables[name]
        self.iterations = int(np.asarray(variables.get("iterations", 0)).reshape(-1)[0])

    def get_config(self):
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            lr = {"class_name": type(lr).__name__, "config": lr.get_config()}
        elif callable(lr) and not hasattr(lr, "numpy"):
            lr = None  # a plain function cannot be saved; a loaded model gets the default
        else:
            lr = float(lr)
        config = {"name": self.name, "learning_rate": lr}
        for key in ("weight_decay", "clipnorm", "global_clipnorm", "clipvalue"):
            if getattr(self, key) is not None:
                config[key] = getattr(self, key)
        return config

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum."""

    name = "sgd"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.momentum = _check_fraction("SGD", "momentum", momentum)
        self.nesterov = bool(nesterov)
        self._slots = ("momentum",) if self.momentum else ()

    def _update(self, w, g, lr, state, step):
        np.multiply(g, lr, out=step)                     # lr·g
        if not self.momentum:
            w -= step                                    # w ← w - lr·g
            return
        v = state["momentum"]
        v *= self.momentum
        v -= step                                        # v ← momentum·v - lr·g
        if self.nesterov:
            w -= step
            np.multiply(v, self.momentum, out=step)
            w += step                                    # w ← w + momentum·v - lr·g
        else:
            w += v                                       # w ← w + v

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class RMSprop(Optimizer):
    """Divide by a running root-mean-square of the gradient."""

    name = "rmsprop"
    _slots = ("velocity",)

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        if momentum or centered:
            raise NotImplementedError("RMSprop: momentum and centered are not implemented in "
                                      "glassnet")
        self.rho = _check_fraction("RMSprop", "rho", rho)
        self.epsilon = _check_positive("RMSprop", "epsilon", epsilon, allow_zero=True)

    def _update(self, w, g, lr, state, tmp):
        s = state["velocity"]
        np.multiply(g, g, out=tmp)
        tmp -= s
        tmp *= 1 - self.rho
        s += tmp                                         # s ← ρ·s + (1-ρ)·g²
        self._scaled_step(w, g, s, lr, tmp)              # w ← w - lr·g / √(s + ε)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adagrad(Optimizer):
    """Divide by the root of the sum of all squared gradients so far."""

    name = "adagrad"
    _slots = ("accumulator",)

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.initial_accumulator_value = _check_positive(
            "Adagrad", "initial_accumulator_value", initial_accumulator_value, allow_zero=True)
        self.epsilon = _check_positive("Adagrad", "epsilon", epsilon, allow_zero=True)

    def _initial_state(self, name, params):
        return np.full_like(params, self.initial_accumulator_value)

    def _update(self, w, g, lr, state, tmp):
        s = state["accumulator"]
        np.multiply(g, g, out=tmp)
        s += tmp                                         # s ← s + g²
        self._scaled_step(w, g, s, lr, tmp)              # w ← w - lr·g / √(s + ε)

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value":
                self.initial_accumulator_value, "epsilon": self.epsilon}


class Adam(Optimizer):
    """Momentum (m) over a running RMS (v), both bias-corrected through α."""

    name = "adam"
    _slots = ("m", "v")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        owner = type(self).__name__
        self.beta_1 = _check_fraction(owner, "beta_1", beta_1)
        self.beta_2 = _check_fraction(owner, "beta_2", beta_2)
        self.epsilon = _check_positive(owner, "epsilon", epsilon, allow_zero=True)
        self.amsgrad = bool(amsgrad)
        self._slots = ("m", "v", "v_hat") if self.amsgrad else ("m", "v")

    def _update(self, w, g, lr, state, tmp):
        m, v = state["m"], state["v"]
        t = self.iterations
        alpha = lr * math.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t)
        np.subtract(g, m, out=tmp)
        tmp *= 1 - self.beta_1
        m += tmp                                         # m ← m + (1-β₁)(g - m)
        np.multiply(g, g, out=tmp)
        tmp -= v
        tmp *= 1 - self.beta_2
        v += tmp                                         # v ← v + (1-β₂)(g² - v)
        if self.amsgrad:                                 # v̂ ← max(v̂, v), used for v
            v = np.maximum(state["v_hat"], v, out=state["v_hat"])
        np.sqrt(v, out=tmp)
        tmp += self.epsilon
        np.divide(m, tmp, out=tmp)
        tmp *= alpha
        w -= tmp                                         # w ← w - α·m / (√v + ε)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter): each step
    first shrinks every weight, w ← w - lr·weight_decay·w (Keras's default
    weight_decay 0.004)."""

    name = "adamw"

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, **kwargs):
        super().__init__(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, weight_decay=weight_decay, **kwargs)


def _packed_view(variables):
    """The one contiguous vector these variables' values are consecutive
    views of (a model's packed weights, in order), else (None, None)."""
    first = variables[0]._value
    base = first.base
    if base is None or base.ndim != 1 or not first.flags.c_contiguous:
        return None, None
    start = (first.__array_interface__["data"][0] - base.__array_interface__["data"][0]) \
        // base.itemsize
    offset = start
    for v in variables:
        value = v._value
        if value.base is not base or not value.flags.c_contiguous or \
                value.__array_interface__["data"][0] != \
                base.__array_interface__["data"][0] + offset * base.itemsize:
            return None, None
        offset += value.size
    return base[start:offset], base


def _pack(variables):
    """Move the variables' values into one vector (each Variable's values
    become a view of it, as a model's engine does), so each step updates
    them in place, in a few passes."""
    params = np.concatenate([v._value.ravel() for v in variables])
    offset = 0
    for v in variables:
        v._value = params[offset:offset + v.size].reshape(v.shape)
        offset += v.size
    return params


_BY_NAME = {"sgd": SGD, "rmsprop": RMSprop, "adagrad": Adagrad, "adam": Adam, "adamw": AdamW}
_BY_CLASS = {cls.__name__: cls for cls in _BY_NAME.values()}


def names():
    return sorted(_BY_NAME)


def get(identifier):
    """An Optimizer from a name (``"adam"``, ``"sgd"``, ``"rmsprop"``,
    ``"adagrad"``, with Keras's defaults), a config dict, or an Optimizer."""
    if isinstance(identifier, dict) and "config" in identifier:  # None: the default value
        identifier = {**identifier, "config": {k: v for k, v in identifier["config"].items()
                                               if v is not None}}
    return utils.resolve(identifier, "optimizer", Optimizer, _BY_NAME, _BY_CLASS)


def serialize(optimizer):
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}
