"""One browser tab's network: its settings, its data, a glassnet model, and
the frames the page draws.

TensorFlow Playground's network, made of glassnet's layers: Dense layers
with weights drawn uniformly from [-0.5, 0.5] and biases 0.1 (nn.ts), a
tanh output with the square loss ½(o - t)² on labels ±1 for
classification, linear for regression, and plain SGD. Its update is
w -= η · mean over the batch of ∂(½(o - t)²)/∂w; glassnet's "mse" is
(o - t)², twice that, so the optimizer gets η / 2 and the step is the same.
Its regularization steps w -= η · rate · w (L2) or η · rate · sign(w) (L1)
after each batch; ``step_settings`` picks glassnet's L2 / L1 factor that
gives the same step. One epoch is one pass over the training points in
batches, as its ``oneStep``.
"""

from __future__ import annotations

import json
import math
import struct

import numpy as np

from glassnet.callbacks import Callback
from glassnet.playground import data
from glassnet.playground.words import Said, join, korean, refuse, setting

LEARNING_RATES = (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10)
REGULARIZATION_RATES = (0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10)
HIDDEN_ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear", "leaky_relu", "elu", "selu", "gelu",
                      "silu", "softplus", "softsign", "hard_sigmoid", "relu6", "mish")
OPTIMIZERS = ("sgd", "momentum", "adam")
SCHEDULES = ("constant", "exponential", "cosine")   # per epoch: ×0.98, or to 0 over 500
DROPOUTS = (0, 0.1, 0.2, 0.3, 0.5)
COSINE_EPOCHS = 500
LOSSES = ("square", "cross-entropy")
# Keras's names for them (the API contract's), taken as the playground's own
LOSS_NAMES = {"mse": "square", "mean_squared_error": "square",
              "binary_crossentropy": "cross-entropy", "categorical_crossentropy": "cross-entropy",
              "sparse_categorical_crossentropy": "cross-entropy", "crossentropy": "cross-entropy"}
MAX_LAYERS, MAX_UNITS = 8, 16
GRID, CELL = 100, 16          # the output heat map, and each neuron's (points per side)

DEFAULTS = {"dataset": "circle", "features": ["x1", "x2"], "hidden": [4, 2],
            "activation": "tanh", "activations": None, "learningRate": 0.03,
            "optimizer": "sgd", "schedule": "constant", "dropout": 0, "batchNorm": False,
            "loss": "square",
            "regularization": "none", "regularizationRate": 0, "batchSize": 10, "noise": 0,
            "trainRatio": 50, "seed": 0}


def _not_one_of(name, value, choices):
    listed = ', '.join(map(str, choices))
    return refuse(f"{name} must be one of {listed}; received {value!r}",
                  f"{setting(name)}: {listed} 중 하나여야 합니다 (받은 값: {value!r})")


def _choice(name, value, choices):
    if value not in choices:
        raise _not_one_of(name, value, choices)
    return value


def _integer(name, value, low, high):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) \
            or not low <= value <= high:
        raise refuse(f"{name} must be an integer from {low} to {high}; received {value!r}",
                     f"{setting(name)}: {low}부터 {high}까지의 정수여야 합니다 (받은 값: {value!r})")
    return int(value)


def _rate(name, value, choices):
    if not isinstance(value, bool) and isinstance(value, (int, float)):
        for choice in choices:
            if math.isclose(value, choice, rel_tol=1e-9, abs_tol=0):
                return choice
    raise _not_one_of(name, value, choices)


def _count(dataset, uploaded):
    """How many classes a data set has (1: regression); "upload" is the CSV's."""
    return uploaded[2] if dataset == UPLOAD and uploaded else data.classes(dataset)


UPLOAD = "upload"          # the data set of an uploaded CSV
MAX_ROWS = 2000


def validate(name, value, config=None, uploaded=None):
    """The setting ``name`` = ``value`` checked and normalised; a ValueError
    names the setting, what it received and what is valid. ``uploaded``: the
    session's CSV points, which make "upload" a data set."""
    config = config or DEFAULTS
    if name == "dataset":
        return _choice(name, value, data.DATASETS + ((UPLOAD,) if uploaded else ()))
    if name == "features":
        if not isinstance(value, (list, tuple)) or not value or len(set(value)) != len(value) \
                or any(v not in data.FEATURES for v in value):
            raise refuse(f"features must be a non-empty list of distinct names from "
                         f"{', '.join(data.FEATURES)}; received {value!r}",
                         f"특성: {', '.join(data.FEATURES)} 중 서로 다른 것을 하나 이상 골라야 "
                         f"합니다 (받은 값: {value!r})")
        return [f for f in data.FEATURES if f in value]          # the page's order
    if name == "hidden":
        if not isinstance(value, (list, tuple)) or len(value) > MAX_LAYERS:
            raise refuse(f"hidden must be a list of up to {MAX_LAYERS} layer sizes; "
                         f"received {value!r}",
                         f"은닉층: 층 크기를 {MAX_LAYERS}개까지 담은 목록이어야 합니다 "
                         f"(받은 값: {value!r})")
        return [_integer("hidden: each layer's units", v, 1, MAX_UNITS) for v in value]
    if name == "activation":
        return _choice(name, value, HIDDEN_ACTIVATIONS)
    if name == "activations":   # one per hidden layer; None: every layer has `activation`
        if value is None:
            return None
        hidden = config["hidden"]
        if not isinstance(value, (list, tuple)) or len(value) != len(hidden):
            raise refuse(f"activations must be a list of {len(hidden)} "
                         f"name{'s' if len(hidden) != 1 else ''}, one per hidden layer, "
                         f"or null; received {value!r}",
                         f"층별 활성화 함수: 은닉층마다 하나씩 {len(hidden)}개의 이름을 담은 "
                         f"목록이거나 null이어야 합니다 (받은 값: {value!r})")
        return [_choice("activations: each layer's", v, HIDDEN_ACTIVATIONS) for v in value]
    if name == "learningRate":
        return _rate(name, value, LEARNING_RATES)
    if name == "regularizationRate":
        return _rate(name, value, REGULARIZATION_RATES)
    if name == "optimizer":
        return _choice(name, value, OPTIMIZERS)
    if name == "loss":
        value = _choice(name, LOSS_NAMES.get(value, value) if isinstance(value, str) else value,
                        LOSSES)
        k = _count(config["dataset"], uploaded)
        if value == "square" and k > 2:
            raise refuse(f"loss 'square' is for two classes or regression; the dataset "
                         f"{config['dataset']!r} has {k} classes: use 'cross-entropy'",
                         f"제곱 손실은 두 클래스나 회귀에 씁니다. 데이터 세트 "
                         f"{config['dataset']!r}에는 클래스가 {k}개 있으니 교차 엔트로피를 "
                         f"고르세요")
        if value == "cross-entropy" and k == 1:  # a regression: TensorFlow Playground's rule
            raise refuse(f"loss 'cross-entropy' is for classes; the dataset "
                         f"{config['dataset']!r} is a regression: use 'square'",
                         f"교차 엔트로피 손실은 분류에 씁니다. 데이터 세트 "
                         f"{config['dataset']!r}는 회귀이니 제곱 손실을 고르세요")
        return value
    if name == "schedule":
        return _choice(name, value, SCHEDULES)
    if name == "dropout":
        return _rate(name, value, DROPOUTS)
    if name == "batchNorm":
        if not isinstance(value, bool):
            raise refuse(f"batchNorm must be true or false; received {value!r}",
                         f"배치 정규화: true나 false여야 합니다 (받은 값: {value!r})")
        return value
    if name == "regularization":
        return _choice(name, value, ("none", "l1", "l2"))
    if name == "batchSize":
        return _integer(name, value, 1, 30)
    if name == "noise":
        return _integer(name, value, 0, 50)
    if name == "trainRatio":
        return _integer(name, value, 10, 90)
    if name == "seed":
        return _integer(name, value, 0, 2 ** 31 - 1)
    raise refuse(f"unknown setting {name!r}; valid: {', '.join(DEFAULTS)}",
                 f"모르는 설정 {name!r}: {', '.join(DEFAULTS)} 중 하나여야 합니다")


_CHECK_ORDER = ("dataset",) + tuple(n for n in DEFAULTS if n != "dataset")   # others depend on it


def check_config(config, uploaded=None):
    """A whole configuration (the URL's), each value validated; missing names
    take TensorFlow Playground's defaults."""
    if not isinstance(config, dict):
        raise refuse(f"config must be an object of settings; received {config!r}",
                     f"설정은 설정 이름과 값을 담은 객체여야 합니다 (받은 값: {config!r})")
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        raise refuse(f"unknown settings {unknown}; valid: {', '.join(DEFAULTS)}",
                     f"모르는 설정 {unknown}: {', '.join(DEFAULTS)} 중에서 고르세요")
    out = dict(DEFAULTS, features=list(DEFAULTS["features"]), hidden=list(DEFAULTS["hidden"]))
    for name in _CHECK_ORDER:
        if name in config:
            out[name] = validate(name, config[name], out, uploaded)
    classes = _count(out["dataset"], uploaded)
    if classes > 2:
        out["loss"] = "cross-entropy"
    elif classes == 1:  # a regression is fitted by the square loss (TensorFlow Playground's)
        out["loss"] = "square"
    return out


def salvage_config(config):
    """The usable part of a configuration from a link: (the settings kept, what
    was left out and why), so that a link with one bad value still opens the
    page. A link made with uploaded points names the data set "upload", which a
    URL cannot carry (the points stay in the tab that uploaded them)."""
    if not isinstance(config, dict):
        raise refuse(f"config must be an object of settings; received {config!r}",
                     f"설정은 설정 이름과 값을 담은 객체여야 합니다 (받은 값: {config!r})")
    kept, problems = {}, []
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        problems.append(Said(f"unknown settings {unknown}; valid: {', '.join(DEFAULTS)}",
                             f"모르는 설정 {unknown}: {', '.join(DEFAULTS)} 중에서 고르세요"))
    for name in _CHECK_ORDER:
        if name not in config:
            continue
        if name == "dataset" and config[name] == UPLOAD:
            problems.append(Said("this link was made with uploaded points, which a link "
                                 "cannot carry: upload the CSV again",
                                 "이 링크는 올린 점으로 만들어졌는데, 링크는 점을 담지 못합니다: "
                                 "CSV를 다시 올리세요"))
            continue
        try:
            check_config({**kept, name: config[name]})
            kept[name] = config[name]
        except ValueError as error:
            problems.append(error.args[0])
    return kept, problems


class PlaygroundL1(Callback):
    """TensorFlow Playground's L1 (nn.ts ``updateWeights``): after the batch's
    step, a weight that the L1 term pushed across 0 is set to 0 and stays 0
    ("dead") for the life of the network. The step glassnet took is
    w2 = w0 - η(g + l·sign(w0)); the weight before the L1 term is
    w1 = w2 + η·l·sign(w0), and the weight died if w1 and w2 differ in sign.
    (With plain SGD only: other optimizers' steps do not split so.)"""

    def __init__(self, layers):
        super().__init__()
        self.layers = layers
        self.dead = [np.zeros(layer.kernel.shape, dtype=bool) for layer in layers]

    def on_train_batch_begin(self, batch, logs=None):
        self.before = [layer.kernel.numpy().copy() for layer in self.layers]
        self.rate = self.model.optimizer.current_learning_rate()

    def on_train_batch_end(self, batch, logs=None):
        for layer, w0, dead in zip(self.layers, self.before, self.dead):
            w2 = layer.kernel.numpy()
            w1 = w2 + self.rate * layer.kernel_regularizer.l1 * np.sign(w0)
            dead |= (w1 * w2 < 0)
            if dead.any():
                kept = w2.copy()
                kept[dead] = 0
                layer.kernel.assign(kept)


def step_settings(config):
    """TensorFlow Playground's step in glassnet's terms: (the optimizer's
    learning rate, the regularizer as ("l1" | "l2", factor) or None, whether its
    L1 rule (``PlaygroundL1``) applies).

    The square loss ½(o - t)² is glassnet's "mse" halved, so η becomes η / 2.
    Its regularization step is η · rate · w (L2) or η · rate · sign(w) (L1);
    glassnet's L2(l) adds 2l·w to the gradient and L1(l) adds l·sign(w), both
    times the optimizer's rate: with η / 2, a factor 2 more."""
    halved = config["loss"] == "square"
    rate = config["learningRate"] / 2 if halved else config["learningRate"]
    kind, strength = config["regularization"], config["regularizationRate"]
    penalty = None
    if kind != "none" and strength:
        factor = 2 if halved else 1
        penalty = ("l2", strength / 2 * factor) if kind == "l2" else ("l1", strength * factor)
    return rate, penalty, penalty is not None and kind == "l1" and config["optimizer"] == "sgd"


def make_schedule(config, rate, train_points):
    """The learning rate, or a schedule over steps that decays per epoch:
    "exponential" ×0.98 an epoch, "cosine" to 0 over COSINE_EPOCHS epochs."""
    from glassnet import optimizers

    steps = max(1, math.ceil(train_points / config["batchSize"]))   # batches per epoch
    if config["schedule"] == "exponential":
        return optimizers.ExponentialDecay(rate, decay_steps=steps, decay_rate=0.98)
    if config["schedule"] == "cosine":
        return optimizers.CosineDecay(rate, decay_steps=steps * COSINE_EPOCHS)
    return rate


def layer_activations(config):
    """Each hidden layer's activation: its own, or the common one."""
    return list(config["activations"] or [config["activation"]] * len(config["hidden"]))


class Session:
    """A network training on one data set; ``step()`` runs one epoch and
    ``frame()`` packs what the page draws."""

    def __init__(self, config=None):
        self.uploaded = None          # (points, labels, classes) of an uploaded CSV
        self.config = check_config(config or {})
        self.running = False
        self.rebuild(new_data=True)

    # ------------------------------------------------------------ settings
    def set(self, name, value):
        """Change one setting (validated); rebuilds the network, and the data
        when a data setting changed. Returns the new configuration."""
        value = validate(name, value, self.config, self.uploaded)
        config = dict(self.config, **{name: value})
        if name == "activation":                 # one activation for all, as TensorFlow Playground
            config["activations"] = None
        elif name == "hidden" and config["activations"] is not None:
            old = config["activations"]
            config["activations"] = (old + [config["activation"]] * len(value))[:len(value)]
        if name == "dataset" and _count(value, self.uploaded) > 2:
            config["loss"] = "cross-entropy"
        elif name == "dataset" and _count(value, self.uploaded) == 1:
            config["loss"] = "square"  # a regression: the loss follows the problem's type
        self.config = check_config(config, self.uploaded)
        self.rebuild(new_data=name in ("dataset", "noise", "trainRatio", "seed"))
        return self.config

    def regenerate(self):
        self.config["seed"] = (self.config["seed"] + 1) % (2 ** 31)
        self.rebuild(new_data=True)

    def reset(self):
        """A fresh network, the same data."""
        self.rebuild(new_data=False)

    # ------------------------------------------------------------ building
    def rebuild(self, new_data):
        c = self.config
        self.classes = _count(c["dataset"], self.uploaded)
        if new_data or not hasattr(self, "points"):
            if c["dataset"] == UPLOAD:
                points, labels, _ = self.uploaded
            else:
                points, labels = data.generate(c["dataset"], c["noise"] / 100, c["seed"])
            split = int(len(points) * c["trainRatio"] / 100)
            self.points, self.labels, self.split = points, labels, split
        self.x = data.features(self.points, c["features"])
        self.y = self._targets(self.labels)
        self.model = self._build()
        self._l1 = PlaygroundL1(self._dense()) if step_settings(self.config)[2] else None
        self.epoch = 0
        self.history = []
        self.message = None
        self._grid = data.features(data.grid(GRID), c["features"])
        self._cells = data.features(data.grid(CELL), c["features"])
        self._record()

    def _targets(self, labels):
        if self.classes > 2:
            return labels.astype(np.int64)
        if self.classes == 2 and self.config["loss"] == "cross-entropy":
            return (labels > 0).astype(np.float32)[:, None]        # sigmoid output: 0 / 1
        return labels[:, None]

    def _build(self):
        import glassnet as gn
        from glassnet import initializers, optimizers, regularizers
        from glassnet.layers import Activation, BatchNormalization, Dense, Dropout, Input

        c = self.config
        seed = c["seed"]
        rate, penalty, _ = step_settings(c)
        regularizer = None if penalty is None else \
            (regularizers.L2 if penalty[0] == "l2" else regularizers.L1)(penalty[1])

        def dense(units, activation, seed):
            return Dense(units, activation=activation,
                         kernel_initializer=initializers.RandomUniform(-0.5, 0.5, seed=seed),
                         bias_initializer=initializers.Constant(0.1),
                         kernel_regularizer=regularizer)

        layers = [Input((len(c["features"]),))]
        for i, (units, activation) in enumerate(zip(c["hidden"], layer_activations(c))):
            if c["batchNorm"]:   # Dense → BatchNormalization → the activation
                layers += [dense(units, None, seed + i), BatchNormalization(),
                           Activation(activation)]
            else:
                layers.append(dense(units, activation, seed + i))
            if c["dropout"]:
                layers.append(Dropout(c["dropout"], seed=seed + i))
        if self.classes > 2:
            out, loss = dense(self.classes, "softmax", seed + 99), \
                "sparse_categorical_crossentropy"
        elif self.classes == 2 and c["loss"] == "cross-entropy":
            out, loss = dense(1, "sigmoid", seed + 99), "binary_crossentropy"
        else:
            out, loss = dense(1, "tanh" if self.classes == 2 else "linear", seed + 99), "mse"
        layers.append(out)
        model = gn.Sequential(layers)
        rate = make_schedule(c, rate, self.split)
        optimizer = {"sgd": lambda: optimizers.SGD(rate),
                     "momentum": lambda: optimizers.SGD(rate, momentum=0.9),
                     "adam": lambda: optimizers.Adam(rate)}[c["optimizer"]]()
        model.compile(optimizer, loss)
        return model

    # ------------------------------------------------------------ training
    def step(self):
        """One epoch over the training points, in batches, in order (the data
        was shuffled once when made). A loss that turns NaN stops the run."""
        if self.message and self.message.startswith("The loss"):
            return
        import warnings

        x, y = self.x[:self.split], self.y[:self.split]
        callbacks = [self._l1] if self._l1 is not None else None
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)   # glassnet's NaN stop: below
            history = self.model.fit(x, y, batch_size=self.config["batchSize"], epochs=1,
                                     shuffle=False, verbose=0, callbacks=callbacks)
        self.epoch += 1
        self._record()
        if getattr(history, "stopped_reason", None) and not self.message:
            self._stopped("not finite")

    def _stopped(self, value):
        self.running = False
        rate = self.config['learningRate']
        self.message = Said(
            f"The loss became {value} at epoch {self.epoch}: the weights grew without bound, "
            f"and training stopped before that batch's update. Lower the learning rate (it is "
            f"{rate}), use fewer layers or a bounded activation such as tanh, or add L2 "
            f"regularization; then press reset.",
            f"{self.epoch}번째 에폭에서 손실이 {_korean_value(value)}이 되었습니다: 가중치가 한없이 "
            f"커져서, 그 배치의 업데이트 전에 학습을 멈췄습니다. 학습률을 낮추거나(지금 "
            f"{rate}), 층을 줄이거나, tanh처럼 값이 묶인 활성화 함수를 쓰거나, L2 규제를 더한 "
            f"뒤 초기화(↺)를 누르세요.")

    def _record(self):
        """The losses after the weights changed (a new network, an epoch, an
        edit): the predictions are made afresh here."""
        self._outputs = None
        train, test = self._losses()
        self.history.append([self.epoch, train, test])
        del self.history[:-500]
        if not (math.isfinite(train) and math.isfinite(test)):
            self._stopped(train)

    def _predict(self, x):
        with np.errstate(all="ignore"):
            return self.model.predict(x, batch_size=max(1, len(x)), verbose=0)

    def _predictions(self):
        """The network's output on every point (train, then test), once per
        change of the weights: the losses, the accuracies and the confusion
        matrix of a frame all read it."""
        if self._outputs is None:
            self._outputs = self._predict(self.x)
        return self._outputs

    def _losses(self):
        """TensorFlow Playground's loss: the mean of ½(o - t)² (cross-entropy
        for the cross-entropy settings), on the train and on the test points."""
        out = []
        for part in (slice(None, self.split), slice(self.split, None)):
            p, t = self._predictions()[part], self.y[part]
            with np.errstate(all="ignore"):
                if self.classes > 2:
                    value = -np.mean(np.log(np.clip(p[np.arange(len(t)), t], 1e-7, 1)))
                elif self.config["loss"] == "cross-entropy":
                    q = np.clip(p, 1e-7, 1 - 1e-7)
                    value = -np.mean(t * np.log(q) + (1 - t) * np.log(1 - q))
                else:
                    value = np.mean(0.5 * (p - t) ** 2)
            out.append(float(value) if np.isfinite(value) else float("nan"))
        return out

    def _guesses(self, part):
        """(predicted, true) class per point of ``part``, as integers."""
        p = self._predictions()[part]
        if self.classes > 2:
            return p.argmax(1), self.y[part]
        threshold = 0.5 if self.config["loss"] == "cross-entropy" else 0.0
        return (p[:, 0] > threshold).astype(int), (self.labels[part] > 0).astype(int)

    def accuracy(self):
        if self.classes == 1:
            return None, None
        return [float(np.mean(np.equal(*self._guesses(part))))
                for part in (slice(None, self.split), slice(self.split, None))]

    # ------------------------------------------------------------ pictures
    def _dense(self):
        """The Dense layers: the links' weights (BatchNormalization, Activation and
        Dropout come between them)."""
        return [layer for layer in self.model.layers if type(layer).__name__ == "Dense"]

    def _activations(self, x):
        """What each node shows on x: [features, each hidden layer's units (after
        its activation; Dropout is off at inference), output]."""
        outs, h = [x], x
        layers = self.model.layers
        with np.errstate(all="ignore"):
            for i, layer in enumerate(layers):
                h = layer.forward(h, training=False)
                following = type(layers[i + 1]).__name__ if i + 1 < len(layers) else None
                if following in (None, "Dense", "Dropout") and type(layer).__name__ != "Dropout":
                    outs.append(h)
        return outs

    def inside(self):
        """What the page marks on the network, on the training points:
        - ``gradients``: per layer, ||∂L/∂kernel|| over the whole training set
          (one backward pass; the weights do not change): vanishing gradients show
          as the first layers' norms falling far below the last one's;
        - ``units``: per hidden layer, each unit "dead" (relu-like: 0 on every
          point), "saturated" (tanh / sigmoid: over 90% of the points in the flat
          tails, |tanh| > 0.99, sigmoid < 0.01 or > 0.99, as glassnet.inspect) or
          None;
        - ``confusion``: for classes, the test points' counts [true][predicted]."""
        from glassnet import inspect

        x, y = self.x[:self.split], self.y[:self.split]
        with np.errstate(all="ignore"):
            norms = inspect.gradient_norms(self.model, x, y)
        gradients = [_finite(norms[layer.name]["kernel"]) for layer in self._dense()]
        units = []
        for values, name in zip(self._activations(x)[1:-1], layer_activations(self.config)):
            if name in ("relu", "relu6"):
                marks = ["dead" if dead else None for dead in np.all(values <= 0, axis=0)]
            elif name in ("tanh", "sigmoid"):
                flat = np.abs(values) > 0.99 if name == "tanh" else (values < 0.01) | \
                    (values > 0.99)
                marks = ["saturated" if share > 0.9 else None for share in flat.mean(axis=0)]
            else:
                marks = [None] * values.shape[1]
            units.append(marks)
        confusion = None
        if self.classes >= 2:
            guess, truth = self._guesses(slice(self.split, None))
            k = max(self.classes, 2)
            confusion = np.bincount(truth * k + guess, minlength=k * k).reshape(k, k).tolist()
        return {"gradients": gradients, "units": units, "confusion": confusion}

    def frame(self):
        """The binary frame: a 4-byte length, a JSON header (epoch, losses,
        accuracy, the layer sizes, ``inside()`` with the unit marks as one letter
        per unit: d dead, s saturated, . neither), the output heat map (GRID² bytes; with
        more than two classes then the winning class per point), every node's
        heat map (CELL² bytes each, features first; values in [-1, 1] as
        0-255), and last each layer's kernel then bias as little-endian
        float32 (the header and the maps padded to 4 bytes)."""
        train_acc, test_acc = self.accuracy()
        layers = self._dense()
        header = {"epoch": self.epoch, "trainLoss": _finite(self.history[-1][1]),
                  "testLoss": _finite(self.history[-1][2]), "trainAccuracy": train_acc,
                  "testAccuracy": test_acc, "grid": GRID, "cell": CELL,
                  "classes": self.classes,
                  "shape": [len(self.config["features"])] + [l.units for l in layers],
                  "message": self.message,
                  "messageKo": korean(self.message) if self.message else None}
        inside = self.inside()
        header.update(inside, units=["".join("d" if m == "dead" else "s" if m == "saturated"
                                             else "." for m in marks)
                                     for marks in inside["units"]])
        output = self._activations(self._grid)[-1]
        if self.classes > 2:
            maps = [_bytes(output.max(1) * 2 - 1), output.argmax(1).astype(np.uint8)]
        else:
            value = output[:, 0] * 2 - 1 if self.config["loss"] == "cross-entropy" and \
                self.classes == 2 else output[:, 0]
            maps = [_bytes(value)]
        for values in self._activations(self._cells)[:-1]:
            maps += list(np.ascontiguousarray(_bytes(values).T))      # one map per node
        weights = [w for l in layers for w in (l.kernel.numpy(), l.bias.numpy())]
        text = json.dumps(header, allow_nan=False).encode()
        text += b" " * (-(4 + len(text)) % 4)             # the maps start 4-byte aligned
        body = b"".join(m.tobytes() for m in maps)
        body += b"\0" * (-len(body) % 4)                 # and so do the float32 weights
        return struct.pack("<I", len(text)) + text + body + b"".join(
            np.asarray(w, dtype="<f4").tobytes() for w in weights)

    def points_message(self):
        """The data the page scatters: [x1, x2, label] for train and test."""
        rows = np.column_stack([self.points, self.labels]).round(4).tolist()
        return {"type": "data", "train": rows[:self.split], "test": rows[self.split:],
                "classes": self.classes}

    def upload(self, text):
        """Points from a CSV (x1, x2, label per row) become the data set
        "upload". Returns a report: rows read, rows skipped (the first few named
        by line), the classes found, and any rescaling. Labels in {-1, 1} or
        {0, 1} make two classes, integers 0..k-1 (k = 3-5) k classes, anything
        else a regression (scaled into [-1, 1]); points farther than 6 from 0
        are scaled into [-6, 6], both axes alike."""
        if not isinstance(text, str):
            raise refuse("upload: the CSV must be text", "올리기: CSV는 텍스트여야 합니다")
        if len(text.encode()) > 60 * 1024:
            raise refuse(f"upload: the CSV is {len(text.encode()):,} bytes; at most 60 KB "
                         f"({MAX_ROWS:,} points)",
                         f"올리기: CSV가 {len(text.encode()):,}바이트입니다. 60 KB(점 "
                         f"{MAX_ROWS:,}개)까지 올릴 수 있습니다")
        rows, bad = [], []
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            fields = [f for f in line.replace(";", ",").replace("\t", ",").replace(" ", ",")
                      .split(",") if f]
            try:
                values = [float(f) for f in fields]
            except ValueError:
                values = None
            if values is None and not rows and not bad:
                continue                                  # a header line
            if values is None or len(values) != 3 or not all(map(math.isfinite, values)):
                bad.append(Said(f"line {number}: expected 3 numbers (x1, x2, label), got "
                                f"{line[:40]!r}",
                                f"{number}번째 줄: 숫자 3개(x1, x2, label)가 와야 하는데 "
                                f"{line[:40]!r}"))
                continue
            rows.append(values)
            if len(rows) > MAX_ROWS:
                raise refuse(f"upload: more than {MAX_ROWS:,} points",
                             f"올리기: 점이 {MAX_ROWS:,}개보다 많습니다")
        if len(rows) < 10:
            raise refuse(f"upload: {len(rows)} good rows; at least 10 points are needed"
                         + (f" ({'; '.join(bad[:3])})" if bad else ""),
                         f"올리기: 좋은 줄이 {len(rows)}개뿐입니다. 점이 10개 이상 있어야 합니다"
                         + (f" ({join(bad[:3]).ko})" if bad else ""))
        table = np.asarray(rows, dtype=np.float64)
        points, labels = table[:, :2], table[:, 2]
        notes = []
        reach = np.abs(points).max()
        if reach > data.DOMAIN:
            points = points * (data.DOMAIN / reach)
            notes.append(Said(f"points scaled by {data.DOMAIN / reach:.3g} into [-6, 6]",
                              f"점을 {data.DOMAIN / reach:.3g}배 해서 [-6, 6] 안에 넣었습니다"))
        found = set(np.unique(labels).tolist())
        if found <= {-1.0, 1.0} or found <= {0.0, 1.0}:
            k, labels = 2, np.where(labels > 0, 1.0, -1.0)
        elif all(v == int(v) for v in found) and min(found) == 0 and 3 <= max(found) + 1 <= 5:
            k = int(max(found)) + 1
        else:
            k = 1
            top = np.abs(labels).max()
            if top > 1:
                labels = labels / top
                notes.append(Said(f"labels scaled by {1 / top:.3g} into [-1, 1]",
                                  f"레이블을 {1 / top:.3g}배 해서 [-1, 1] 안에 넣었습니다"))
        order = np.random.default_rng(0).permutation(len(points))   # shuffled once
        self.uploaded = (points[order].astype(np.float32), labels[order].astype(np.float32), k)
        config = dict(self.config, dataset=UPLOAD)
        if k > 2:
            config["loss"] = "cross-entropy"
        self.config = check_config(config, self.uploaded)
        self.running = False
        self.rebuild(new_data=True)
        kind = Said("regression", "회귀") if k == 1 else Said(f"{k} classes", f"클래스 {k}개")
        parts = [Said(f"Read {len(rows):,} points ({kind})",
                      f"점 {len(rows):,}개를 읽었습니다 ({kind.ko})")]
        if bad:
            shown = join(bad[:5] + ([Said("...", "...")] if len(bad) > 5 else []))
            parts.append(Said(f"skipped {len(bad)} bad row{'s' if len(bad) > 1 else ''}: "
                              f"{shown}", f"잘못된 줄 {len(bad)}개를 건너뛰었습니다: {shown.ko}"))
        report = join(parts + notes)
        return Said(report + ".", report.ko + ".")

    def model_file(self, kind):
        """The trained model as file bytes: "keras" (Keras 3's .keras, which Keras
        opens) or "safetensors" (glassnet's own), with the settings in its metadata."""
        import os
        import tempfile

        if kind not in ("keras", "safetensors"):
            raise refuse(f"format must be keras or safetensors; received {kind!r}",
                         f"파일 형식: keras나 safetensors여야 합니다 (받은 값: {kind!r})")
        self.model.metadata = {"playground": self.config, "features": self.config["features"]}
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, f"playground.{kind}")
            self.model.save(path)
            with open(path, "rb") as f:
                return f.read()

    def edit_weight(self, layer, row, column, value):
        """Set one weight (row = the input node, column = the unit; row None:
        the unit's bias), as clicking a link on the page does."""
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                not math.isfinite(value) or abs(value) > 100:
            raise refuse(f"a weight must be a finite number in [-100, 100]; received "
                         f"{value!r}",
                         f"가중치는 [-100, 100] 안의 유한한 수여야 합니다 (받은 값: {value!r})")
        layers = self._dense()
        if not isinstance(layer, int) or not 0 <= layer < len(layers):
            raise refuse(f"layer must be 0 .. {len(layers) - 1}; received {layer!r}",
                         f"층: 0부터 {len(layers) - 1}까지여야 합니다 (받은 값: {layer!r})")
        target = layers[layer].bias if row is None else layers[layer].kernel
        array = target.numpy().copy()
        index = (column,) if row is None else (row, column)
        try:
            array[index] = value
        except (IndexError, TypeError):
            raise refuse(f"no weight at {index} in layer {layer} (shape {array.shape})",
                         f"{layer}번 층의 {index}에는 가중치가 없습니다 (모양 "
                         f"{array.shape})") from None
        target.assign(array)
        self._record()


def _korean_value(value):
    return {"not finite": "유한하지 않은 값", "nan": "NaN", "inf": "무한대", "-inf": "음의 무한대"}.get(str(value), str(value))


def _finite(value):
    return value if value is not None and math.isfinite(value) else None


def _bytes(values):
    return np.round((np.clip(np.nan_to_num(values, nan=0.0), -1, 1) + 1) * 127.5).astype(
        np.uint8)
