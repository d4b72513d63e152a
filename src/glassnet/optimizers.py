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

from glassnet import utils

__all__ = ["Optimizer", "SGD", "RMSprop", "Adagrad", "Adam", "get", "names", "serialize",
           "CosineDecay", "ExponentialDecay"]


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
        return dict(vars(self))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class CosineDecay(LearningRateSchedule):
    """Keras's cosine decay: from ``initial_learning_rate`` down to
    ``alpha · initial_learning_rate`` over ``decay_steps``, along half a cosine:

        lr(t) = initial · ((1 - alpha) · ½(1 + cos(π · min(t, T) / T)) + alpha)
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0):
        self.initial_learning_rate = _check_positive("CosineDecay", "initial_learning_rate",
                                                     initial_learning_rate)
        if isinstance(decay_steps, bool) or not isinstance(decay_steps, int) or decay_steps < 1:
            raise ValueError(f"CosineDecay decay_steps must be a positive integer; received "
                             f"{decay_steps!r}")
        self.decay_steps = decay_steps
        self.alpha = _check_fraction("CosineDecay", "alpha", alpha)

    def __call__(self, step):
        progress = min(step, self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1 + math.cos(math.pi * progress))
        return self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha)


class ExponentialDecay(LearningRateSchedule):
    """lr(t) = initial · decay_rate^(t / decay_steps) (floored with
    ``staircase``), as Keras."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False):
        self.initial_learning_rate = _check_positive("ExponentialDecay",
                                                     "initial_learning_rate",
                                                     initial_learning_rate)
        self.decay_steps = int(decay_steps)
        if self.decay_steps < 1:
            raise ValueError(f"ExponentialDecay decay_steps must be >= 1; received "
                             f"{decay_steps!r}")
        self.decay_rate = _check_positive("ExponentialDecay", "decay_rate", decay_rate)
        self.staircase = bool(staircase)

    def __call__(self, step):
        power = step / self.decay_steps
        return self.initial_learning_rate * self.decay_rate ** (
            math.floor(power) if self.staircase else power)


_SCHEDULES = {"CosineDecay": CosineDecay, "ExponentialDecay": ExponentialDecay}


class Optimizer:
    """Base class. ``apply(params, grads)`` makes one step, in place, on two
    arrays of the same shape; state (moments) is created on the first call.

    ``learning_rate`` is a number or a function of the step count
    ``iterations`` (a schedule).
    """

    name = "optimizer"
    _slots = ()  # names of the state arrays, e.g. ("momentum",)

    def __init__(self, learning_rate):
        if isinstance(learning_rate, dict) and learning_rate.get("class_name") in _SCHEDULES:
            learning_rate = _SCHEDULES[learning_rate["class_name"]](**learning_rate["config"])
        if not callable(learning_rate):
            learning_rate = _check_positive(type(self).__name__, "learning_rate", learning_rate)
        self.learning_rate = learning_rate
        self.iterations = 0
        self._state = {}
        self._scratch = None

    def current_learning_rate(self):
        """The learning rate for the next step."""
        if callable(self.learning_rate):
            return float(self.learning_rate(self.iterations))
        return self.learning_rate

    def build(self, params):
        self._state = {name: self._initial_state(name, params) for name in self._slots}
        self._scratch = np.empty_like(params)

    def _initial_state(self, name, params):
        return np.zeros_like(params)

    def apply(self, params, grads):
        """One step: update ``params`` in place from ``grads``."""
        if params.shape != grads.shape:
            raise ValueError(f"{type(self).__name__}: params {params.shape} and grads "
                             f"{grads.shape} differ in shape")
        if self._scratch is None or self._scratch.shape != params.shape \
                or self._scratch.dtype != params.dtype:
            self.build(params)
        lr = self.current_learning_rate()
        self.iterations += 1
        self.update(params, grads, lr)

    def update(self, w, g, lr):
        raise NotImplementedError

    def _scaled_step(self, w, g, s, lr):
        """w ← w - lr·g / √(s + ε), the last step of RMSprop and Adagrad."""
        tmp = self._scratch
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
        self.build(params)
        for name in self._slots:
            if name in variables:
                if variables[name].shape != params.shape:
                    raise ValueError(f"{type(self).__name__} state {name!r} has shape "
                                     f"{variables[name].shape}; the model has "
                                     f"{params.shape} weights")
                self._state[name][...] = variables[name]
        self.iterations = int(np.asarray(variables.get("iterations", 0)).reshape(-1)[0])

    def get_config(self):
        lr = self.learning_rate
        if isinstance(lr, LearningRateSchedule):
            lr = {"class_name": type(lr).__name__, "config": lr.get_config()}
        elif callable(lr):
            lr = None  # a plain function cannot be saved; a loaded model gets the default
        return {"learning_rate": lr}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum."""

    name = "sgd"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False):
        super().__init__(learning_rate)
        self.momentum = _check_fraction("SGD", "momentum", momentum)
        self.nesterov = bool(nesterov)
        self._slots = ("momentum",) if self.momentum else ()

    def update(self, w, g, lr):
        step = self._scratch
        np.multiply(g, lr, out=step)                     # lr·g
        if not self.momentum:
            w -= step                                    # w ← w - lr·g
            return
        v = self._state["momentum"]
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

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-7):
        super().__init__(learning_rate)
        self.rho = _check_fraction("RMSprop", "rho", rho)
        self.epsilon = _check_positive("RMSprop", "epsilon", epsilon, allow_zero=True)

    def update(self, w, g, lr):
        s, tmp = self._state["velocity"], self._scratch
        np.multiply(g, g, out=tmp)
        tmp -= s
        tmp *= 1 - self.rho
        s += tmp                                         # s ← ρ·s + (1-ρ)·g²
        self._scaled_step(w, g, s, lr)                   # w ← w - lr·g / √(s + ε)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adagrad(Optimizer):
    """Divide by the root of the sum of all squared gradients so far."""

    name = "adagrad"
    _slots = ("accumulator",)

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7):
        super().__init__(learning_rate)
        self.initial_accumulator_value = _check_positive(
            "Adagrad", "initial_accumulator_value", initial_accumulator_value, allow_zero=True)
        self.epsilon = _check_positive("Adagrad", "epsilon", epsilon, allow_zero=True)

    def _initial_state(self, name, params):
        return np.full_like(params, self.initial_accumulator_value)

    def update(self, w, g, lr):
        s, tmp = self._state["accumulator"], self._scratch
        np.multiply(g, g, out=tmp)
        s += tmp                                         # s ← s + g²
        self._scaled_step(w, g, s, lr)                   # w ← w - lr·g / √(s + ε)

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value":
                self.initial_accumulator_value, "epsilon": self.epsilon}


class Adam(Optimizer):
    """Momentum (m) over a running RMS (v), both bias-corrected through α."""

    name = "adam"
    _slots = ("m", "v")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        super().__init__(learning_rate)
        self.beta_1 = _check_fraction("Adam", "beta_1", beta_1)
        self.beta_2 = _check_fraction("Adam", "beta_2", beta_2)
        self.epsilon = _check_positive("Adam", "epsilon", epsilon, allow_zero=True)

    def update(self, w, g, lr):
        m, v, tmp = self._state["m"], self._state["v"], self._scratch
        t = self.iterations
        alpha = lr * math.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t)
        np.subtract(g, m, out=tmp)
        tmp *= 1 - self.beta_1
        m += tmp                                         # m ← m + (1-β₁)(g - m)
        np.multiply(g, g, out=tmp)
        tmp -= v
        tmp *= 1 - self.beta_2
        v += tmp                                         # v ← v + (1-β₂)(g² - v)
        np.sqrt(v, out=tmp)
        tmp += self.epsilon
        np.divide(m, tmp, out=tmp)
        tmp *= alpha
        w -= tmp                                         # w ← w - α·m / (√v + ε)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


_BY_NAME = {"sgd": SGD, "rmsprop": RMSprop, "adagrad": Adagrad, "adam": Adam}
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
