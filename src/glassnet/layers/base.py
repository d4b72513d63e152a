"""The Layer base class: everything a layer has, on one screen.

A layer turns an input batch x into an output batch: ``forward(x, training)``.
Backpropagation runs it in reverse: ``backward(grad)`` takes ∂loss/∂output
and returns ∂loss/∂input, and on the way fills ``grad_<weight>`` (for Dense,
``grad_kernel`` and ``grad_bias``) with ∂loss/∂weight. ``backward`` never
changes ``grad``; it uses what ``forward`` remembered, so call it right after
a ``forward`` with ``training=True``. That is the book's way, and it works on
any layer alone::

    >>> import numpy as np
    >>> from glassnet.layers import Dense
    >>> layer = Dense(3)
    >>> out = layer.forward(np.ones((2, 4)), training=True)   # builds the layer
    >>> layer.backward(np.ones_like(out)).shape, layer.grad_kernel.shape
    ((2, 4), (4, 3))

Weights are created in ``build(input_shape)`` on the first input, as in
Keras, with ``add_weight``; shapes given to ``build`` and
``compute_output_shape`` include the batch axis as None, as in Keras.
Weights are :class:`glassnet.variables.Variable` handles (``layer.kernel``,
``layer.weights``): live views with ``.numpy()`` and ``.assign()``.

Calling a layer, ``layer(x)``, on arrays runs ``forward``; on symbolic tensors
(``keras.Input``) it records a node of the graph instead (``glassnet.graph``)
and returns symbolic tensors. A layer knows nothing of the models it is in.
"""

from __future__ import annotations

import functools
import inspect as _inspect

import numpy as np

from glassnet import activations, graph, initializers, regularizers, utils
from glassnet.ops import function
from glassnet.tensor import Tensor
from glassnet.variables import Variable

__all__ = ["Layer", "ActivatedLayer", "UnknownArgumentError", "not_implemented"]

_DTYPES = ("float32", "float64")
_CALL_DEPTH = 0  # how deep in Keras-style calls (the outermost clears add_loss's losses)


class UnknownArgumentError(TypeError, ValueError):
    """A keyword argument the layer does not have (a TypeError, as Python's
    own; also a ValueError, as Keras raises)."""


def not_implemented(owner, argument, value, default=None):
    """Raise NotImplementedError for a Keras argument glassnet does not
    implement, when it is given a value other than its default."""
    same = value == default if not isinstance(value, (tuple, list)) else \
        all(v == default for v in value) if not isinstance(default, (tuple, list)) else \
        tuple(value) == tuple(default)
    if value is not None and not same:
        raise NotImplementedError(f"{owner}: the Keras argument {argument}={value!r} is not "
                                  f"implemented in glassnet (only {argument}={default!r})")


def _dtype_name(dtype, owner):
    if isinstance(dtype, dict):  # Keras 3's DTypePolicy config
        dtype = dtype.get("config", {}).get("name", dtype)
    if dtype is None:
        return utils.floatx()  # keras.backend.set_floatx's default
    try:
        name = str(np.dtype(dtype))
    except TypeError:
        name = str(dtype)
    if name not in _DTYPES:
        raise ValueError(f"{owner}: dtype must be one of {_DTYPES}; received {dtype!r}")
    return name


class Layer:
    def __init__(self, *, name=None, trainable=True, dtype=None, input_shape=None,
                 input_dim=None, batch_input_shape=None, activity_regularizer=None,
                 autocast=True, **kwargs):
        self.name = name or utils.unique_name(utils.to_snake_case(type(self).__name__))
        if not isinstance(self.name, str) or not self.name or "/" in self.name:
            raise ValueError(f"A layer name is a non-empty string without '/'; received "
                             f"{name!r}")
        if kwargs:
            valid = ", ".join(self.argument_names())
            raise UnknownArgumentError(
                f"{type(self).__name__} {self.name!r}: unrecognized keyword argument"
                f"{'s' if len(kwargs) > 1 else ''} {', '.join(map(repr, kwargs))}. Valid "
                f"arguments: {valid}")
        if activity_regularizer is not None:
            not_implemented(f"{type(self).__name__} {self.name!r}", "activity_regularizer",
                            activity_regularizer)
        self.dtype = np.dtype(_dtype_name(dtype, f"Layer {self.name!r}"))
        if not isinstance(trainable, (bool, np.bool_)):
            raise ValueError(f"Layer {self.name!r}: trainable must be True or False; received "
                             f"{trainable!r}")
        self._trainable = bool(trainable)
        utils.trainable_version[0] += 1
        self.built = False
        self._input_shape = None    # with None for the batch, as given to build
        self._output_shape = None
        self._sample_shape = None   # the input's shape without the batch (forward's check)
        self._trainable_variables = []
        self._non_trainable_variables = []
        self._regularized = []  # the weights with a regularizer
        self._inbound_nodes = []
        self._outbound_nodes = []
        if input_dim is not None:
            input_shape = (input_dim,)
        if batch_input_shape is not None:
            input_shape = tuple(batch_input_shape)[1:]
        self._input_shape_arg = None if input_shape is None else _shape(input_shape)

    _records_build = True  # Model builds its graph itself

    def __init_subclass__(cls, **kwargs):
        # layer.forward(x) builds the layer on its first input, and layer.build(shape)
        # records the shapes it was built for, for every subclass (as Keras's wrappers)
        super().__init_subclass__(**kwargs)
        forward = getattr(cls, "forward", None)  # its own, a mixin's or a base's
        if forward is not None and not getattr(forward, "_builds", False):
            cls.forward = _building(forward)
        build = cls.__dict__.get("build")
        if build is not None and cls._records_build and not getattr(build, "_records", False):
            cls.build = _recording(build)

    @classmethod
    def argument_names(cls):
        """Every keyword argument the constructor takes (its own and its bases')."""
        names = []
        for klass in cls.__mro__:
            init = klass.__dict__.get("__init__")
            if init is None or klass is object:
                continue
            for parameter in _inspect.signature(init).parameters.values():
                if parameter.name != "self" and parameter.kind not in (
                        parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL) \
                        and parameter.name not in names:
                    names.append(parameter.name)
        return names

    # ---------------------------------------------------------------- weights
    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True,
                   autocast=True, regularizer=None, constraint=None, aggregation="none",
                   overwrite_with_gradient=False, name=None):
        """Create a weight (a Variable) of ``shape``, as Keras's ``add_weight``;
        ``self.kernel = self.add_weight(shape=(4, 3), initializer="glorot_uniform",
        name="kernel")``. Its gradient is ``self.grad_<name>``."""
        owner = f"{type(self).__name__} {self.name!r}"
        not_implemented(owner, "constraint", constraint)
        taken = {v.name for v in self._variables()}
        if name is None:  # Keras names them variable, variable_1, ...
            name = "variable"
            while name in taken:
                name = f"variable_{len(taken)}" if name == "variable" else \
                    f"variable_{int(name.rsplit('_', 1)[1]) + 1}"
        if name in taken:
            raise ValueError(f"{owner} already has a weight named {name!r}")
        shape = () if shape is None else tuple(int(d) for d in shape)
        dtype = np.dtype(_dtype_name(dtype, owner)) if dtype is not None else self.dtype
        if initializer is None:
            initializer = "glorot_uniform"
        value = initializers.get(initializer)(shape, dtype=dtype)
        variable = Variable(np.array(value, dtype=dtype, order="C"), name=name,  # 0-d stays 0-d
                            trainable=trainable, path=f"{self.name}/{name}",
                            regularizer=regularizers.get(regularizer), owner=self)
        if variable.regularizer is not None:
            self._regularized.append(variable)
        (self._trainable_variables if trainable else self._non_trainable_variables).append(
            variable)
        utils.trainable_version[0] += 1
        return variable

    def _variables(self):
        return self._trainable_variables + self._non_trainable_variables

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        utils.trainable_version[0] += 1  # models holding this layer make a new plan
        for layer in self._sublayers():  # Keras: the layers inside follow
            layer.trainable = value

    def _sublayers(self):
        """The layers inside this one (a model's, a wrapper's). A Keras-style
        layer tracks the layers set as its attributes, as Keras does."""
        if not self._calls_with_ops():
            return []
        found = []
        for value in self.__dict__.values():
            for item in (value if isinstance(value, (list, tuple)) else [value]):
                if isinstance(item, Layer) and item is not self and item not in found:
                    found.append(item)
        return found

    def _attribute_variables(self):
        """tf.Variables set as attributes of a Keras-style layer
        (``self.w = tf.Variable(...)``, the guide's first layer): tracked as
        weights, as Keras tracks them."""
        seen = {id(v) for v in self._variables()}
        found = []
        for value in self.__dict__.values():
            for item in (value if isinstance(value, (list, tuple)) else [value]):
                if isinstance(item, Variable) and id(item) not in seen:
                    seen.add(id(item))
                    found.append(item)
        return found

    @property
    def weights(self):
        """Every weight, trainable ones first (Keras's order); a Keras-style
        layer's include those of the layers it tracks."""
        if self._calls_with_ops():
            extra = self._attribute_variables()
            found = list(self._trainable_variables) + [v for v in extra if v.trainable] + \
                list(self._non_trainable_variables) + [v for v in extra if not v.trainable]
            for layer in self._sublayers():
                seen = {id(v) for v in found}
                found += [v for v in layer.weights if id(v) not in seen]
            return found
        return self._variables()

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        if self._calls_with_ops():
            found = list(self._trainable_variables) + [
                v for v in self._attribute_variables() if v.trainable]
            for layer in self._sublayers():
                seen = {id(v) for v in found}
                found += [v for v in layer.trainable_weights if id(v) not in seen]
            return found
        return list(self._trainable_variables)

    @property
    def non_trainable_weights(self):
        if self.trainable:
            if self._calls_with_ops():
                trainable = {id(v) for v in self.trainable_weights}
                return [v for v in self.weights if id(v) not in trainable]
            return list(self._non_trainable_variables)
        return self.weights

    variables = weights
    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    @property
    def weight_names(self):
        return [v.name for v in self.weights]

    @property
    def trainable_weight_names(self):
        return [v.name for v in self.trainable_weights]

    def get_weights(self):
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights):
        weights = list(weights)
        mine = self.weights
        if len(weights) != len(mine):
            raise ValueError(f"Layer {self.name!r} has {len(mine)} weights "
                             f"{[v.name for v in mine]}; received {len(weights)} arrays")
        for variable, value in zip(mine, weights):
            value = np.asarray(value)
            if value.shape != variable.shape:
                raise ValueError(f"Layer {self.name!r} weight {variable.name!r} has shape "
                                 f"{variable.shape}; received an array of shape {value.shape}")
        for variable, value in zip(mine, weights):
            variable.assign(value)  # in place: a model's optimizer holds views

    def count_params(self):
        return int(sum(v.size for v in self.weights))

    @property
    def losses(self):
        """Keras's ``layer.losses``: each weight regularizer's penalty, as a
        Tensor that a GradientTape records (add them to a hand-written loss);
        and, after a call, what ``add_loss`` gathered in that call (this
        layer's and the layers' inside it), or a built-in layer's activity
        penalty (``activity_loss()``) as a number: its gradient is in the
        layer's own backward already."""
        found = [function.Penalty(v.regularizer)(v) for v in self.weights
                 if v.regularizer is not None]
        if type(self).activity_loss is Layer.activity_loss:
            found += [t if isinstance(t, Tensor) else Tensor(np.asarray(t, dtype=self.dtype))
                      for t in self._added_loss_terms()]
        else:
            activity = self.activity_loss()
            if activity:
                found.append(Tensor(np.asarray(activity, dtype=self.dtype)))
        return found

    def add_loss(self, loss):
        """Keras's ``add_loss``: inside ``call``, add ``loss`` (a Tensor written
        with ops, or a number) to the loss that training minimises. The losses
        of a call replace those of the call before; ``layer.losses`` shows
        them. ``fit`` adds their sum to the loss, and the layer's backward
        adds their gradient (a seed of 1 on each)."""
        if graph.is_symbolic(loss):
            raise NotImplementedError(
                f"{type(self).__name__} {self.name!r}: add_loss on a symbolic tensor (outside "
                f"a call on data) is not implemented in glassnet, nor in Keras 3; call "
                f"self.add_loss(...) inside the call() of a Layer subclass instead")
        for item in (loss if isinstance(loss, (list, tuple)) else [loss]):
            value = np.asarray(function.value_of(item))
            if value.dtype.kind not in "fiub":
                raise TypeError(f"{type(self).__name__} {self.name!r}: add_loss takes a "
                                f"number or a Tensor of numbers; received {type(item).__name__}")
            self.__dict__.setdefault("_added_losses", []).append(item)

    def add_metric(self, value, name=None, aggregation="mean"):
        """Keras 2's ``add_metric`` (TensorFlow 2's guides; Keras 3 removed it):
        inside ``call``, track the mean of ``value`` over the calls of a
        ``fit`` epoch or an ``evaluate``, shown in their logs under ``name``."""
        from glassnet import metrics as metrics_module

        owner = f"{type(self).__name__} {self.name!r}"
        if graph.is_symbolic(value):
            raise NotImplementedError(f"{owner}: add_metric on a symbolic tensor is not "
                                      f"implemented in glassnet (nor in Keras 3); call it in "
                                      f"a layer's call()")
        if aggregation not in ("mean", None):
            raise NotImplementedError(f"{owner}: add_metric(aggregation={aggregation!r}) is "
                                      f"not implemented in glassnet (only 'mean')")
        if not isinstance(name, str) or not name:
            raise ValueError(f"{owner}: add_metric needs a name= for the logs")
        added = self.__dict__.setdefault("_added_metrics", {})
        if name not in added:
            added[name] = metrics_module.Mean(name=name)
        added[name].update_state(np.asarray(function.value_of(value), dtype=np.float64))

    @property
    def metrics(self):
        """Keras 2's ``layer.metrics``: the Metric objects the layer holds as
        attributes, then those of ``add_metric``."""
        from glassnet import metrics as metrics_module

        found = [v for v in self.__dict__.values() if isinstance(v, metrics_module.Metric)]
        return found + list(self.__dict__.get("_added_metrics", {}).values())

    def _added_loss_terms(self):
        """What ``add_loss`` gathered in the last call of this layer and of the
        layers inside it (Tensors or numbers); a built-in layer inside gives
        its ``activity_loss()``."""
        terms = list(self.__dict__.get("_added_losses", ()))
        for layer in self._sublayers():
            if type(layer).activity_loss is Layer.activity_loss:
                terms += layer._added_loss_terms()
            else:
                activity = layer.activity_loss()
                if activity:
                    terms.append(activity)
        return terms

    def _clear_added_losses(self):
        self.__dict__["_added_losses"] = []
        for layer in self._sublayers():
            layer._clear_added_losses()

    def regularization_loss(self):
        return sum(v.regularizer(v.value) for v in self.weights if v.regularizer)

    def activity_loss(self):
        """The penalty on this layer's activity in its last forward, which the
        engine adds to the loss as it adds the weight regularizers' penalties
        (ActivityRegularization's; for a Keras-style layer, the sum of what
        ``add_loss`` gathered; else 0). As with a weight regularizer, the
        penalty's gradient is part of the layer's backward."""
        terms = self._added_loss_terms() if "_added_losses" in self.__dict__ or \
            self._calls_with_ops() else ()
        return float(sum(float(np.sum(function.value_of(t))) for t in terms))

    def add_regularization_gradients(self):
        if self._regularized and self.trainable:
            for variable in self._regularized:
                if variable.trainable:
                    variable.grad += variable.regularizer.gradient(variable.value)

    # ---------------------------------------------------------- shapes, calls
    def build(self, input_shape):
        """Create the weights for inputs of ``input_shape`` (batch axis None)."""

    def compute_output_shape(self, input_shape):
        return input_shape

    def _maybe_build(self, input_shape):
        """Build on the first input shape; later shapes must agree with it."""
        if not self.built:
            self.build(input_shape)
            if not self.built:  # a layer with no build of its own
                self._record_build(input_shape)
        else:
            self._check_shape(input_shape)

    def _record_build(self, input_shape):
        self._output_shape = self.compute_output_shape(input_shape)
        self._input_shape = input_shape
        self._sample_shape = _per_sample(input_shape)
        self.built = True

    def _check_shape(self, input_shape):
        expected = self._input_shape
        if expected is None or self._calls_with_ops():  # Keras checks only an input_spec
            return
        if not _compatible(expected, input_shape):
            raise ValueError(f"Layer {self.name!r} ({type(self).__name__}) expects input of "
                             f"shape {_show(expected)}; received input of shape "
                             f"{_show(input_shape)}")

    def _build_from_data(self, x):
        self._maybe_build(_batch_shape(x))

    @property
    def input_shape(self):
        """The input's shape with None for the batch, e.g. (None, 28, 28)."""
        return self._input_shape

    @property
    def output_shape(self):
        return self._output_shape

    def __call__(self, *args, **kwargs):
        if not args and "inputs" in kwargs:
            args = (kwargs.pop("inputs"),)
        training = kwargs.pop("training", None)
        if self._calls_with_ops() and (len(args) > 1 or set(kwargs) - {"mask"}):
            args = (self._own_call_arguments(args, kwargs),)  # call(targets, logits, ...)
        if len(args) != 1:
            raise TypeError(f"Layer {self.name!r} takes one input (a tensor, or a list of "
                            f"them for merge layers); received {len(args)} positional "
                            f"arguments")
        mask = kwargs.pop("mask", None)
        for argument in ("initial_state", "constants"):  # Keras's RNN call arguments
            if kwargs.get(argument) is not None:
                raise NotImplementedError(f"Layer {self.name!r}: the call argument {argument}= "
                                          f"is not implemented in glassnet")
            kwargs.pop(argument, None)
        if kwargs:
            raise UnknownArgumentError(f"Layer {self.name!r}: unexpected call arguments "
                                       f"{sorted(kwargs)}; a layer takes its input and "
                                       f"training=")
        inputs = args[0]
        if mask is not None:
            if graph.is_symbolic(inputs) or graph.is_symbolic(mask):
                raise NotImplementedError(
                    f"Layer {self.name!r}: mask= on symbolic tensors is not implemented in "
                    f"glassnet; masks come from Embedding(mask_zero=True) or Masking")
            if not self.uses_mask():
                raise TypeError(f"Layer {self.name!r} ({type(self).__name__}) takes no mask "
                                f"argument; the layers that use one: SimpleRNN, LSTM, GRU, "
                                f"Bidirectional, GlobalAveragePooling1D")
            x = np.asarray(inputs)
            self._maybe_build(_batch_shape(x.astype(self.dtype, copy=False)
                                           if x.dtype.kind in "biuf" else x))
            mask = np.asarray(mask)
            return function.call_layer(self, x, bool(training), lambda a: self.forward(
                a, training=bool(training), mask=mask), tensors=inputs)
        if graph.is_symbolic(inputs):
            outputs = self._symbolic_call(inputs)
            if training is not None:  # base(x, training=False): this call always infers
                self._inbound_nodes[-1].training = bool(training)
            return outputs
        return self._eager_call(inputs, bool(training))

    def _eager_call(self, inputs, training):
        """A call on data: a Tensor back. Under a tape, a layer with its own
        forward/backward is one node (``glassnet.ops.function.LayerCall``);
        a Keras-style layer (its own ``call``) runs its ops, each recorded."""
        def array(x):
            x = np.asarray(function.value_of(x))
            if x.ndim == 0:
                raise ValueError(f"Layer {self.name!r} expects a batch (batch, ...); received "
                                 f"a scalar")
            return x.astype(self.dtype, copy=False) if x.dtype.kind in "biuf" else x

        x = [array(v) for v in inputs] if isinstance(inputs, (list, tuple)) else array(inputs)
        self._maybe_build(_batch_shape(x))
        if self._calls_with_ops():  # its ops record themselves on the caller's tape
            if isinstance(inputs, (list, tuple)):
                tensors = [v if _is_tensor(v) else Tensor(a) for v, a in zip(inputs, x)]
            else:
                tensors = inputs if _is_tensor(inputs) else Tensor(x)
            return function.wrap(self._call_ops(tensors, training))
        return function.call_layer(self, x, training,
                                   lambda a: self.forward(a, training=training), tensors=inputs)

    @classmethod
    def _calls_with_ops(cls):
        """A Keras-style layer: its own ``call`` and no ``backward`` of its own."""
        return cls.call is not Layer.call and cls.backward is Layer.backward

    def _symbolic_call(self, inputs):
        flat = graph.flatten(inputs)
        if not all(isinstance(t, graph.KerasTensor) for t in flat):
            raise TypeError(f"Layer {self.name!r}: mix of symbolic tensors and arrays in "
                            f"its input; pass keras.Input tensors only")
        shapes = graph.pack_like(inputs, [(None,) + tuple(t.shape[1:]) for t in flat])
        if isinstance(inputs, tuple):
            shapes = list(shapes)  # several inputs: a list of shapes, as Keras
        self._maybe_build(shapes)
        if self._calls_with_ops() and type(self).compute_output_shape is \
                Layer.compute_output_shape:
            output_shape = self._probe_output_shape(inputs)
            self._output_shape = output_shape  # what call gives, not its input's shape
        else:
            output_shape = self.compute_output_shape(shapes)
        dtype = str(self.dtype)
        if _is_shape_list(output_shape):
            outputs = [graph.KerasTensor(s, dtype, name=f"{self.name}_{i}")
                       for i, s in enumerate(output_shape)]
        else:
            outputs = [graph.KerasTensor(output_shape, dtype, name=self.name)]
        node = graph.Node(self, inputs, outputs)
        self._propagate_mask(node, flat, outputs)
        return outputs if len(outputs) > 1 else outputs[0]

    def _probe_output_shape(self, inputs):
        """A Keras-style layer's output shape, as Keras finds it: run ``call``
        (on zeros, recording nothing) for two sizes of each unknown axis; an
        axis whose size follows them is unknown (None) in the output too."""
        from glassnet import tape as tape_module

        flat = graph.flatten(inputs)
        shapes = []
        for size in (2, 3):
            arrays = [Tensor(np.zeros([size if d is None else d for d in t.shape],
                                      dtype=t.dtype if t.dtype != "string" else "float32"))
                      for t in flat]
            PROBING[0] += 1
            try:
                with tape_module.only():
                    out = self._call_ops(graph.pack_like(inputs, arrays) if len(arrays) > 1
                                         else arrays[0], False)
            finally:
                PROBING[0] -= 1
            shapes.append([tuple(np.shape(function.value_of(o))) for o in graph.flatten(out)])
        self._clear_added_losses()  # the probe's add_loss values are not a call's
        probed = [tuple(None if i == 0 or a != b else a for i, (a, b) in enumerate(zip(s2, s3)))
                  for s2, s3 in zip(*shapes)]
        return probed if len(probed) > 1 else probed[0]

    # ------------------------------------------------------------ masks
    supports_masking = False  # Keras's flag: the layer passes a mask on (or uses it)

    @classmethod
    def uses_mask(cls):
        """Whether ``forward`` takes ``mask=``: the layers that read the mask (a
        Keras-style layer: whether its ``call`` takes ``mask``, as Keras asks)."""
        if cls._calls_with_ops():
            return "mask" in _inspect.signature(cls.call).parameters
        return "mask" in _inspect.signature(cls.forward).parameters

    def compute_mask(self, inputs, mask=None):
        """The mask of this layer's output, given its input and the input's
        mask ((batch, steps) booleans, True = a real step), as in Keras: the
        same mask where the layer supports masking, else none."""
        return mask if self.supports_masking else None

    def _output_masked(self, masked):
        """Whether the output will carry a mask, given whether the (first)
        input does: the graph's version of ``compute_mask``."""
        if self._calls_with_ops() and type(self).compute_mask is not Layer.compute_mask:
            return True  # a Keras-style layer's own compute_mask makes one (PositionalEmbedding)
        if isinstance(masked, list):  # a merge: Keras combines the masks if all have one
            return all(masked) and self.supports_masking
        return bool(masked) and self.supports_masking

    def _propagate_mask(self, node, flat, outputs):
        """Mark the node's outputs that carry a mask (symbolic: no values)."""
        first = getattr(flat[0], "_keras_masked", False)
        masked = [getattr(t, "_keras_masked", False) for t in flat] if len(flat) > 1 else first
        node.input_masked = masked
        out = self._output_masked(masked)  # may refuse a mask it cannot handle
        if any(graph.flatten(masked)) and not self.supports_masking and not self.uses_mask():
            import warnings
            warnings.warn(f"Layer {self.name!r} (of type {type(self).__name__}) was passed an "
                          f"input with a mask attached to it. However, this layer does not "
                          f"support masking and will therefore destroy the mask information. "
                          f"Downstream layers will not see the mask.", UserWarning,
                          stacklevel=4)
        out = out if isinstance(out, list) else [out] * len(outputs)
        for tensor, flag in zip(outputs, out):
            tensor._keras_masked = bool(flag)

    def call(self, inputs, training=None):
        """Keras's name for the computation; glassnet layers define ``forward``."""
        return self.forward(inputs, training=bool(training))

    def _call_ops(self, inputs, training, mask=None):
        """A Keras-style layer's own ``call``, with ``training`` if it takes it
        (and the input's ``mask``, as Keras gives it, if it takes that).
        The outermost call starts with no added losses (Keras's rule: each
        call's ``add_loss`` replaces the last call's)."""
        global _CALL_DEPTH
        if _CALL_DEPTH == 0:
            self._clear_added_losses()
        _CALL_DEPTH += 1
        try:
            arguments = self.__dict__.get("_call_arguments")
            args, kwargs = (inputs,), {}
            if arguments is not None:
                count, static = arguments
                if count == 1 and not isinstance(inputs, (list, tuple)):
                    kwargs = dict(static)  # call(x, flag=...)
                elif isinstance(inputs, (list, tuple)) and len(inputs) == count:
                    args, kwargs = tuple(inputs), dict(static)  # call(a, b, flag=...)
            parameters = _inspect.signature(self.call).parameters
            if "training" in parameters:
                kwargs["training"] = training
            if mask is not None and "mask" in parameters and "mask" not in kwargs:
                masks = mask if isinstance(mask, (list, tuple)) else [mask]
                if any(m is not None for m in masks):
                    kwargs["mask"] = Tensor(np.asarray(masks[0])) if len(masks) == 1 else \
                        [None if m is None else Tensor(np.asarray(m)) for m in masks]
            return self.call(*args, **kwargs)
        finally:
            _CALL_DEPTH -= 1

    def _own_call_arguments(self, args, kwargs):
        """A Keras-style ``call`` of several tensors (``call(targets, logits)``)
        or with arguments of its own (``call(x, flag=True)``): the tensors
        become the layer's list of inputs, and the other arguments are kept
        for each call of it (in a model too), as Keras keeps them in its node.
        Tensor keyword arguments join the inputs in the order given."""
        parameters = _inspect.signature(self.call).parameters
        if not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
            unknown = sorted(set(kwargs) - set(parameters) - {"mask"})
            if unknown:
                raise UnknownArgumentError(
                    f"Layer {self.name!r}: unexpected call arguments {unknown}; its call takes "
                    f"{[n for n in parameters]}")
        tensors, static = list(args), {}
        for name in [n for n in kwargs if n != "mask"]:
            value = kwargs.pop(name)
            if _is_tensor(value) or graph.is_symbolic(value) or isinstance(value, np.ndarray):
                if list(parameters).index(name) != len(tensors):
                    raise NotImplementedError(
                        f"Layer {self.name!r}: the tensor argument {name}= after other "
                        f"arguments is not implemented in glassnet; pass it by position")
                tensors.append(value)
            else:
                static[name] = value
        self._call_arguments = (len(tensors), static)
        return tensors if len(tensors) > 1 else tensors[0]

    def forward(self, x, training=False, mask=None):
        """A Keras-style layer (its own ``call`` written with ops) becomes a
        book-style one: forward runs ``call`` on a private tape, and
        ``backward`` asks that tape for ∂L/∂x and ∂L/∂weights. So it trains
        inside any model, on ``fit``'s planned path, and works on its own."""
        if type(self).call is Layer.call:
            raise NotImplementedError(f"Layer {self.name!r} ({type(self).__name__}) defines "
                                      f"no forward")
        from glassnet import tape as tape_module

        many = isinstance(x, (list, tuple))
        xs = [v if isinstance(v, Tensor) else Tensor(np.asarray(v))
              for v in (x if many else [x])]
        private = tape_module.GradientTape(persistent=True)
        with tape_module.only(), private:  # no outer tape sees these ops twice
            for v in xs:
                if v.dtype.kind == "f":
                    private._watch_one(v)
            out = self._call_ops(xs if many else xs[0], training, mask)
        added = [t for t in self._added_loss_terms() if isinstance(t, Tensor)]
        self._ops_record = (private, xs, out, added)
        return _unwrap_output(out)

    def backward(self, grad):
        """∂L/∂x from ∂L/∂output; fills ``grad_<weight>``. A Keras-style layer
        replays the ops its forward recorded; others define their own."""
        record = self.__dict__.get("_ops_record")
        if record is None:
            raise NotImplementedError(
                f"Layer {self.name!r} ({type(self).__name__}) has no backward, so it cannot "
                f"be trained through: glassnet layers define backward(grad) -> ∂L/∂x, or "
                f"call(inputs) written with ops (tf.matmul, ...)")
        from glassnet import tape as tape_module

        private, xs, out, added = record
        variables = self.trainable_weights
        outputs = graph.flatten(out)
        seeds = graph.flatten(grad) if len(outputs) > 1 else [grad]
        seeds = [Tensor(np.asarray(g)) for g in seeds] + \
            [Tensor(np.ones(t.shape, dtype=t.dtype)) for t in added]  # add_loss: ∂L/∂loss = 1
        floats = [x for x in xs if x.dtype.kind == "f"]   # token ids have no gradient
        with tape_module.only():
            found = private.gradient(outputs + added, floats + variables,
                                     output_gradients=seeds)
        by_input = iter(found[:len(floats)])
        grads = [next(by_input) if x.dtype.kind == "f" else None for x in xs] + \
            list(found[len(floats):])
        for v, g in zip(variables, grads[len(xs):]):
            if v.grad is None:
                continue
            if g is None:
                v.grad[...] = 0
            else:
                v.grad[...] = np.asarray(g._value, dtype=v.grad.dtype)
        dxs = [np.zeros(x.shape, dtype=x.dtype) if g is None else np.asarray(g._value)
               for x, g in zip(xs, grads[:len(xs)])]
        return dxs if len(dxs) > 1 or isinstance(grad, list) and len(xs) > 1 else dxs[0]

    def _backward(self, grad, input_grad=True):
        """What a model calls: backward, where ``input_grad=False`` lets a layer
        skip ∂L/∂x when nobody needs it (then it may return None). The public
        ``backward`` always returns ∂L/∂x."""
        return self.backward(grad)

    def last_output(self):
        """This layer's output in the last forward pass (None if unknown)."""
        return getattr(self, "a", None)

    # ------------------------------------------------------ graph attributes
    def _node_attribute(self, attribute, what):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer {self.name!r} has never been called on a symbolic "
                                 f"tensor (keras.Input) and so has no defined {what}")
        tensors = getattr(self._inbound_nodes[0], attribute)
        return tensors[0] if len(tensors) == 1 else list(tensors)

    @property
    def input(self):
        """The symbolic tensor this layer was first called on."""
        return self._node_attribute("input_tensors", "input")

    @property
    def output(self):
        """The symbolic tensor this layer's first call returned."""
        return self._node_attribute("outputs", "output")

    # ------------------------------------------------- state for shared layers
    def _call_state(self):
        """What forward remembered for backward (a layer used twice in one
        model keeps one copy per call; the model swaps them in)."""
        return dict(self.__dict__)

    def _restore_call_state(self, state):
        self.__dict__.update(state)

    # --------------------------------------------------------------- configs
    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "dtype": str(self.dtype)}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _building(forward):
    @functools.wraps(forward)
    def building_forward(self, x, training=False, **kwargs):
        if not self.built:
            self._build_from_data(x)
        elif getattr(x, "shape", None) is not None and x.shape[1:] != self._sample_shape:
            self._check_shape(_batch_shape(x))
        return forward(self, x, training, **kwargs)

    building_forward._builds = True
    return building_forward


def _recording(build):
    @functools.wraps(build)
    def recording_build(self, input_shape=None):
        if self.built:  # weights exist already: building again would make new ones
            return
        input_shape = list(map(tuple, input_shape)) if _is_shape_list(input_shape) else \
            tuple(input_shape)
        build(self, input_shape)
        self._record_build(input_shape)

    recording_build._records = True
    return recording_build


class ActivatedLayer(Layer):
    """A layer with a kernel, an optional bias, and an activation: it computes
    z and then a = activation(z) (Dense, Conv2D). Subclasses call
    ``self.activate(z)`` at the end of ``forward`` and define
    ``backward_from_z(grad_z, input_grad=True)``; backward runs through the
    activation first."""

    def __init__(self, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, **kwargs):
        super().__init__(**kwargs)
        owner = f"{type(self).__name__} {self.name!r}"
        not_implemented(owner, "quantization_config", quantization_config)
        not_implemented(owner, "kernel_constraint", kernel_constraint)
        not_implemented(owner, "bias_constraint", bias_constraint)
        not_implemented(owner, "lora_rank", lora_rank)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)

    def add_kernel_and_bias(self, kernel_shape, units):
        self.kernel = self.add_weight(shape=kernel_shape, initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, name="kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(units,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, name="bias")

    def get_config(self):
        return {**super().get_config(), "activation": self.activation.name,
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer)}

    def activate(self, z):
        self.z = z
        if self.activation.name == "relu":
            self.a = np.maximum(z, 0, out=z)  # in place: relu'(z) = relu'(a)
        elif self.activation.name == "linear":
            self.a = z
        else:
            self.a = self.activation(z)
        return self.a

    def backward(self, grad):
        return self._backward(grad, True)

    def _backward(self, grad, input_grad=True):
        grad_z = grad if self.activation.name == "linear" else \
            self.activation.backward(self.z, grad, self.a)
        return self.backward_from_z(grad_z, input_grad)

    def backward_from_z(self, grad_z, input_grad=True):
        raise NotImplementedError


def _unwrap_output(out):
    """A call's output (Tensors, nested) as arrays, for the engine."""
    if isinstance(out, (list, tuple)):
        return [_unwrap_output(o) for o in out]
    return np.asarray(function.value_of(out))


def _is_tensor(x):
    return isinstance(x, (Tensor, Variable))


def _shape(shape):
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        shape = tuple(None if d is None else int(d) for d in shape)
    except (TypeError, ValueError):
        raise ValueError(f"a shape is a tuple of positive integers; received {shape!r}") from None
    if any(d is not None and d <= 0 for d in shape):
        raise ValueError(f"a shape is a tuple of positive integers; received {shape!r}")
    return shape


def _is_shape_list(shape):
    return isinstance(shape, list) or (isinstance(shape, tuple) and shape and
                                       isinstance(shape[0], (tuple, list)))


def _batch_shape(x):
    """(None, ...) for an array, or a list of them for a list of arrays."""
    if isinstance(x, (list, tuple)):
        return [_batch_shape(v) for v in x]
    return (None,) + tuple(np.shape(x)[1:])


def _per_sample(shape):
    if _is_shape_list(shape):
        return None  # several inputs: checked one by one in _check_shape
    return tuple(shape[1:])


# > 0 while a Keras-style layer's call runs on zeros to find its output shape: a model
# inside it that builds on that first data then takes the axes between the batch and the
# features as unknown, as Keras's symbolic trace gives them (None)
PROBING = [0]


def probed_shape(shape):
    """``shape`` (batch first) as a model built on data takes it: while probing, the
    axes between the batch and the features unknown ((None, 2, 32) → (None, None, 32))."""
    shape = tuple(shape)
    if not PROBING[0] or len(shape) < 3:
        return shape
    return (None,) * (len(shape) - 1) + shape[-1:]


def _compatible(expected, received):
    if _is_shape_list(expected) or _is_shape_list(received):
        return (_is_shape_list(expected) and _is_shape_list(received)
                and len(expected) == len(received)
                and all(_compatible(e, r) for e, r in zip(expected, received)))
    if len(expected) != len(received):
        return False
    # Keras's input specs check the rank and the features (the last axis) a layer's
    # weights were made for; the other axes may change from call to call (a sequence's
    # length, an image's size), as a layer called inside another layer's call sees
    return all(e is None or r is None or e == r for e, r in zip(expected[-1:], received[-1:]))


def _show(shape):
    if _is_shape_list(shape):
        return "[" + ", ".join(_show(s) for s in shape) + "]"
    return str(tuple(shape))
