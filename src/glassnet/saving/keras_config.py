"""Keras's model descriptions, to glassnet's and back.

glassnet's configs already use Keras's names and values (``units``,
``kernel_initializer``, ``inbound_nodes``, ...). What Keras adds around them:

* Keras 3 wraps every object as ``{"module", "class_name", "config",
  "registered_name"}`` and a layer's dtype as a ``DTypePolicy``;
* tf.keras 2 (and the legacy ``.h5`` files) write ``batch_input_shape``,
  nodes as lists (``[[["dense", 0, 0, {}]]]``) and ``"Custom>Adam"``.

Reading is an allow-list: only Keras's own modules and the layer classes
glassnet has are built, so nothing in a file can run code. A ``Lambda``
layer (Python code in the file), a custom class, or a ``registered_name``
from outside Keras is refused with an error naming the layer and its class.
"""

from __future__ import annotations

from glassnet.saving.files import FileFormatError

__all__ = ["model_to_keras", "model_from_keras", "compile_to_keras", "compile_from_keras",
           "KERAS_VERSION"]

KERAS_VERSION = "3.15.1"   # the Keras release whose file layout glassnet writes
MODEL_CLASSES = ("Sequential", "Functional", "Model")
_CODE_LAYERS = ("Lambda", "TFOpLambda", "SlicingOpLambda")
_MODULES = {"_initializer": "keras.initializers", "_regularizer": "keras.regularizers",
            "_constraint": "keras.constraints"}


# ------------------------------------------------------------------ writing
def _keras_object(class_name, config, module, legacy=False, registered_name=None):
    if legacy:
        return {"class_name": class_name, "config": config}
    return {"module": module, "class_name": class_name, "config": config,
            "registered_name": registered_name}


_INNER_LAYERS = ("layer", "backward_layer")  # a wrapper's layers (Bidirectional, TimeDistributed)


def _layer_config_to_keras(config, legacy):
    out = {}
    for key, value in config.items():
        if key in _INNER_LAYERS and isinstance(value, dict) and "class_name" in value:
            value = _entry_to_keras(value, legacy)
        elif isinstance(value, dict) and "class_name" in value:
            module = next((m for suffix, m in _MODULES.items() if key.endswith(suffix)),
                          "keras.layers")
            value = _keras_object(value["class_name"], value.get("config", {}), module, legacy)
        out[key] = value
    return out


def _entry_to_keras(entry, legacy):
    class_name, config = entry["class_name"], entry["config"]
    if class_name in MODEL_CLASSES:
        out = model_to_keras_body(class_name, config, legacy)
    else:
        config = _layer_config_to_keras(config, legacy)
        if class_name == "InputLayer":  # the name both Keras 3 and tf.keras 2 read
            config = {("batch_input_shape" if k == "batch_shape" else k): v
                      for k, v in config.items()}
        # your own class: its module and registered name (layers.serialize)
        module, registered = entry.get("module", "keras.layers"), entry.get("registered_name")
        out = _keras_object(class_name, config, module, legacy, registered)
    if "name" in entry:
        out["name"] = entry["name"]
    if "inbound_nodes" in entry:
        out["inbound_nodes"] = [_node_to_legacy(node) for node in entry["inbound_nodes"]]
    return out


def _node_to_legacy(node):
    """Keras 3's ``{"args": [tensor or [tensors]], "kwargs": {}}`` as the
    list tf.keras 2 writes, ``[[layer, node, tensor, kwargs], ...]``; Keras
    3 reads both, tf.keras 2 only this."""
    args = node["args"]
    if len(args) != 1:
        return node
    tensors = args[0] if isinstance(args[0], list) else [args[0]]
    if not all(isinstance(t, dict) and t.get("class_name") == "__keras_tensor__"
               for t in tensors):
        return node  # a dict of inputs: only Keras 3's form can say it
    return [[*t["config"]["keras_history"], node.get("kwargs", {})] for t in tensors]


def _refs_as_lists(refs):
    """input_layers / output_layers as a list of [layer, node, tensor], as
    every Keras writes them for a single tensor too."""
    if isinstance(refs, list) and refs and not isinstance(refs[0], list):
        return [refs]
    return refs


def model_to_keras_body(class_name, config, legacy=False):
    """A glassnet model config as Keras writes it (no compile state)."""
    layers = [_entry_to_keras(entry, legacy) for entry in config["layers"]]
    body = {**{k: v for k, v in config.items() if k != "layers"}, "layers": layers}
    if class_name == "Sequential":
        first = config["layers"][0] if config["layers"] else None
        if first is not None and first["class_name"] == "InputLayer":
            body["build_input_shape"] = first["config"]["batch_shape"]
        return _keras_object("Sequential", body, "keras", legacy)
    for key in ("input_layers", "output_layers"):
        body[key] = _refs_as_lists(body[key])
    if legacy:
        return _keras_object("Functional", body, None, legacy)
    # keras.Model builds a functional model from this config in Keras 3 and in tf.keras 2
    # alike; Keras 3's own module path (keras.src.models.functional) is not in tf.keras 2
    return _keras_object("Model", body, "keras", legacy)


def model_to_keras(model, legacy=False):
    """``model``'s architecture as Keras 3's ``config.json`` (or, with
    ``legacy``, as the ``model_config`` of a legacy ``.h5`` file)."""
    class_name = "Sequential" if type(model).__name__ == "Sequential" else "Functional"
    out = model_to_keras_body(class_name, model.get_config(), legacy)
    if not legacy:
        shape = list(model.input_shape) if class_name == "Sequential" else None
        out["build_config"] = {"input_shape": shape}
    return out


def compile_to_keras(model, legacy=False):
    """The compile state as Keras 3 writes it (``compile_config``, or the
    legacy ``training_config``), or None for an uncompiled model."""
    config = model.compile_config()
    if config is None:
        return None

    def loss_object(spec):
        from glassnet import losses
        from glassnet.saving import custom

        if isinstance(spec, dict) and spec.get("class_name") == "LossFunctionWrapper":
            fn = spec["config"].get("fn")  # your own function: Keras 3 writes its name
            return fn if legacy else _keras_object("function", fn, "builtins", legacy,
                                                   "function")
        if isinstance(spec, dict) and "class_name" in spec:
            cls = custom.lookup(spec["class_name"])
            if cls is not None and spec["class_name"] not in losses._BY_CLASS:
                return _keras_object(spec["class_name"], spec["config"], cls.__module__,
                                     legacy, custom.get_registered_name(cls))
            return _keras_object(spec["class_name"], spec["config"], "keras.losses", legacy)
        return spec

    from glassnet.losses import map_per_output

    loss = map_per_output(config["loss"], loss_object)
    optimizer = config["optimizer"]
    opt_config = dict(optimizer["config"])
    rate = opt_config.get("learning_rate")
    if isinstance(rate, dict):
        opt_config["learning_rate"] = _keras_object(rate["class_name"], rate["config"],
                                                    "keras.optimizers.schedules", legacy)
    optimizer = _keras_object(optimizer["class_name"], opt_config, "keras.optimizers", legacy)
    out = {"loss": loss, "loss_weights": config.get("loss_weights"),
           "metrics": config.get("metrics"), "weighted_metrics": None,
           "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False}
    if legacy:
        out["optimizer_config"] = optimizer
    else:
        out = {"optimizer": optimizer, **out}
    return out


# ------------------------------------------------------------------ reading
def _refuse(path, where, message):
    raise FileFormatError(f"{path!r}: {where}: {message}")


def _check_origin(obj, path, where):
    """A ``module`` / ``registered_name`` from outside Keras is refused,
    unless the caller registered or passed that class (``saving.custom``)."""
    from glassnet.saving import custom

    if custom.lookup(obj.get("registered_name")) is not None or (
            obj.get("module") not in (None, "builtins")
            and custom.lookup(obj.get("class_name")) is not None):
        return
    module = obj.get("module")
    if module is not None:
        if not isinstance(module, str) or not (module == "keras" or module.startswith(
                ("keras.", "tf_keras.", "tensorflow.keras"))):
            _refuse(path, where, f"its module {module!r} is not Keras's; glassnet builds only "
                                 f"Keras's own classes from a file")
    registered = obj.get("registered_name")
    if registered is not None:
        if not isinstance(registered, str):
            _refuse(path, where, f"registered_name {registered!r} is not a name")
        base = registered.split(">", 1)[1] if registered.startswith("Custom>") else registered
        if ">" in base or base not in (obj.get("class_name"), "Functional", "Sequential"):
            _refuse(path, where, f"registered_name {registered!r} is a custom object; "
                                 f"glassnet never loads code or custom classes from a file")


def _plain(value, path, where):
    """Strip Keras's wrappers from an initializer, regularizer, loss or
    schedule description: ``{"class_name", "config"}`` only."""
    if isinstance(value, dict):
        if "class_name" in value:
            _check_origin(value, path, where)
            class_name = value["class_name"]
            if not isinstance(class_name, str):
                _refuse(path, where, f"class_name {class_name!r} is not a name")
            if class_name.startswith("Custom>"):  # tf.keras 2.11+ registered its optimizers so
                class_name = class_name[len("Custom>"):]
            config = value.get("config", {})
            if not isinstance(config, dict):
                _refuse(path, where, f"the config of {class_name!r} is not a mapping")
            return {"class_name": class_name,
                    "config": {k: _plain(v, path, where) for k, v in config.items()
                               if k != "shared_object_id"}}
        return {k: _plain(v, path, where) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, path, where) for v in value]
    return value


def _dtype(value, path, where):
    if isinstance(value, dict):  # Keras 3's DTypePolicy / FloatDTypePolicy
        _check_origin(value, path, where)
        config = value.get("config")
        value = config.get("name") if isinstance(config, dict) else None
        if value is None:
            _refuse(path, where, "its dtype policy names no dtype")
    if value is None:
        return None
    if not isinstance(value, str):
        _refuse(path, where, f"dtype {value!r} is not a dtype name")
    if value.startswith("mixed_") or value in ("float16", "bfloat16"):
        _refuse(path, where, f"its dtype policy {value!r} is not supported (glassnet computes "
                             f"in float32 or float64)")
    return value


def _legacy_nodes(nodes, path, where):
    """tf.keras 2's ``[[["dense", 0, 0, {}]]]`` as Keras 3's
    ``[{"args": [...], "kwargs": {...}}]``."""
    if not isinstance(nodes, list):
        _refuse(path, where, "inbound_nodes is not a list")
    out = []
    for node in nodes:
        if isinstance(node, dict):
            if not isinstance(node.get("args", []), list) or not isinstance(
                    node.get("kwargs", {}), dict):
                _refuse(path, where, "a node's args or kwargs are malformed")
            out.append(node)
            continue
        if not isinstance(node, list) or not node or not all(
                isinstance(ref, list) and len(ref) >= 3 for ref in node):
            _refuse(path, where, f"the node {node!r:.80} is malformed")
        specs = [{"class_name": "__keras_tensor__", "config": {"keras_history": ref[:3]}}
                 for ref in node]
        kwargs = node[0][3] if len(node[0]) > 3 and isinstance(node[0][3], dict) else {}
        out.append({"args": [specs[0]] if len(specs) == 1 else [specs], "kwargs": kwargs})
    return out


def _layer_from_keras(entry, path, known):
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
        _refuse(path, "a layer", f"{entry!r:.80} is not a layer description")
    class_name = entry["class_name"]
    config = entry.get("config", {})
    if not isinstance(config, dict):
        _refuse(path, f"layer of class {class_name}", "its config is not a mapping")
    name = entry.get("name", config.get("name"))
    where = f"layer {name!r} ({class_name})"
    _check_origin(entry, path, where)
    if class_name in _CODE_LAYERS:
        _refuse(path, where, "a Lambda layer is Python code stored in the file; glassnet never "
                             "runs code from a file. Rebuild this part of the model in code "
                             "and load the weights with load_weights")
    if class_name in MODEL_CLASSES:
        inner = _model_config_from_keras(class_name, config, path, known)
        out = {"class_name": "Sequential" if class_name == "Sequential" else "Model",
               "config": inner}
    else:
        if class_name not in known:
            _refuse(path, where, f"glassnet has no layer {class_name!r} (custom or not yet "
                                 f"implemented); its layers: {', '.join(sorted(known))}")
        config = {k: v for k, v in config.items() if k != "shared_object_id"}
        if "dtype" in config:
            config["dtype"] = _dtype(config["dtype"], path, where)
        config = {k: _layer_from_keras(v, path, known) if k in _INNER_LAYERS and isinstance(
            v, dict) else _plain(v, path, where) for k, v in config.items()}
        if class_name == "InputLayer" and "batch_input_shape" in config:  # tf.keras 2
            config["batch_shape"] = config.pop("batch_input_shape")
        if class_name == "BatchNormalization" and isinstance(config.get("axis"), list) \
                and len(config["axis"]) == 1:  # tf.keras 2 wrote axis=[3]
            config["axis"] = config["axis"][0]
        out = {"class_name": class_name, "config": config}
    if name is not None:
        out["name"] = name
    if "inbound_nodes" in entry:
        out["inbound_nodes"] = _legacy_nodes(entry["inbound_nodes"], path, where)
    return out


def _refs(value, path, where):
    """input_layers / output_layers: tf.keras 2 always wrote a list of
    [name, node, tensor]; one of them is the single tensor Keras 3 writes."""
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], list):
        return value[0]
    if not isinstance(value, (list, dict)):
        _refuse(path, where, f"input_layers/output_layers {value!r:.60} are malformed")
    return value


def _mask_refs(value):
    """The names of the operations that ``value`` (a node's kwargs) refers to."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            history = (value.get("config") or {}).get("keras_history")
            return [history[0]] if isinstance(history, list) and history else []
        return [n for v in value.values() for n in _mask_refs(v)]
    if isinstance(value, list):
        return [n for v in value for n in _mask_refs(v)]
    return []


def _without_mask_ops(layers):
    """Keras 3.15 writes the mask that an Embedding(mask_zero=True) makes as a
    ``NotEqual`` operation in the functional graph, passed on as the next
    layer's ``mask=``. glassnet's graph carries masks itself (from the same
    Embedding), so those operations and ``mask`` arguments are left out;
    a NotEqual that feeds anything else stays (and is refused, naming it)."""
    ops = {e.get("name") for e in layers if isinstance(e, dict) and e.get("class_name") ==
           "NotEqual" and str(e.get("module", "")).startswith("keras.src.ops")}
    if not ops:
        return layers
    used_otherwise = set()
    for entry in layers:
        for node in (entry.get("inbound_nodes") or []) if isinstance(entry, dict) else []:
            if isinstance(node, dict):
                kwargs = {k: v for k, v in (node.get("kwargs") or {}).items() if k != "mask"}
                used_otherwise.update(_mask_refs(node.get("args")) + _mask_refs(kwargs))
    dropped = ops - used_otherwise
    out = []
    for entry in layers:
        if isinstance(entry, dict) and entry.get("name") in dropped:
            continue
        if isinstance(entry, dict) and entry.get("inbound_nodes"):
            nodes = []
            for node in entry["inbound_nodes"]:
                if isinstance(node, dict) and set(_mask_refs((node.get("kwargs") or {}).get(
                        "mask"))) & dropped:
                    node = {**node, "kwargs": {k: v for k, v in node["kwargs"].items()
                                               if k != "mask"}}
                nodes.append(node)
            entry = {**entry, "inbound_nodes": nodes}
        out.append(entry)
    return out


def _model_config_from_keras(class_name, config, path, known):
    where = f"model {config.get('name')!r} ({class_name})"
    layers = config.get("layers")
    if not isinstance(layers, list):
        _refuse(path, where, "its config has no list of layers")
    if class_name != "Sequential":
        layers = _without_mask_ops(layers)
    body = {"name": config.get("name"), "trainable": config.get("trainable", True),
            "layers": [_layer_from_keras(entry, path, known) for entry in layers]}
    if class_name == "Sequential":
        if body["layers"] and body["layers"][0]["class_name"] != "InputLayer":
            first = body["layers"][0]["config"]
            shape = config.get("build_input_shape") or first.get("batch_input_shape")
            if shape is not None:  # tf.keras 2 without an InputLayer entry
                body["layers"].insert(0, {"class_name": "InputLayer",
                                          "config": {"batch_shape": shape}})
        for entry in body["layers"][1:]:
            entry["config"].pop("batch_input_shape", None)
        return body
    for key in ("input_layers", "output_layers"):
        if key not in config:
            _refuse(path, where, f"its config has no {key}")
        body[key] = _refs(config[key], path, where)
    return body


def model_from_keras(serialized, path):
    """A glassnet model built from Keras's description (``config.json`` or
    an ``.h5`` file's ``model_config``)."""
    from glassnet import layers as layers_module
    from glassnet.models import Model, Sequential

    if not isinstance(serialized, dict) or not isinstance(serialized.get("config"), dict):
        raise FileFormatError(f"{path!r}: the model description is not a Keras model config")
    class_name = serialized.get("class_name")
    where = f"the model ({class_name})"
    _check_origin(serialized, path, where)
    if class_name not in MODEL_CLASSES:
        _refuse(path, where, f"class {class_name!r} is not Sequential or Functional (a "
                             f"subclassed model is code; glassnet never runs code from a "
                             f"file)")
    known = set(layers_module._CLASSES)  # Keras's classes and those the caller register()ed
    cls = Sequential if class_name == "Sequential" else Model
    try:
        config = _model_config_from_keras(class_name, serialized["config"], path, known)
        return cls.from_config(config)
    except FileFormatError:
        raise
    except _MALFORMED as error:
        raise FileFormatError(f"{path!r}: cannot rebuild the model from its description: "
                              f"{type(error).__name__}: {error}") from None


# what a malformed description can make Python raise while it is read and built
_MALFORMED = (ValueError, TypeError, KeyError, IndexError, LookupError, AttributeError,
              NotImplementedError, MemoryError, OverflowError, RecursionError)


def _metric_names(value, path):
    """Keras's metric entries as names glassnet's compile takes."""
    if value is None:
        return None
    if isinstance(value, dict) and "class_name" in value:
        config = value.get("config") or {}
        name = config.get("name") if isinstance(config, dict) else None
        fn = config.get("fn") if isinstance(config, dict) else None
        if isinstance(name, str) and _known_metric(_unprefixed(name)):
            return _unprefixed(name)  # "accuracy" stays "accuracy", as Keras logs it
        if isinstance(fn, str) and _known_metric(fn):  # a MeanMetricWrapper: its function
            return fn
        if not isinstance(name, str):
            _refuse(path, "compile metrics", f"{value!r:.80} has no metric name")
        return name
    if isinstance(value, dict):
        return {k: _metric_names(v, path) for k, v in value.items()}
    if isinstance(value, list):
        items = [_metric_names(v, path) for v in value]
        return [i for i in items if i is not None]
    if isinstance(value, str):
        return _unprefixed(value)
    _refuse(path, "compile metrics", f"{value!r:.80} is not a metric")


def _known_metric(name):
    from glassnet import metrics as metrics_module

    if name.lower() in ("accuracy", "acc"):
        return True
    try:
        metrics_module.get(name)
    except (ValueError, TypeError, KeyError):
        return False
    return True


def _unprefixed(name):
    """tf.keras 2 stores a per-output metric under the name it logs,
    "<output>_<metric>" ("cls_accuracy"): the metric is what follows the
    output's name. A name glassnet knows stays as it is."""
    if _known_metric(name):
        return name
    parts = name.split("_")
    for start in range(1, len(parts)):
        rest = "_".join(parts[start:])
        if _known_metric(rest):
            return rest
    return name


def compile_from_keras(config, path, legacy=False):
    """``model.compile`` arguments from Keras's compile_config (or the
    legacy ``training_config``); None when the file has none."""
    try:
        return _compile_from_keras(config, path, legacy)
    except FileFormatError:
        raise
    except _MALFORMED as error:
        raise FileFormatError(f"{path!r}: cannot read the compile state: "
                              f"{type(error).__name__}: {error}") from None


def _compile_from_keras(config, path, legacy):
    from glassnet import losses, optimizers

    if not config:
        return None
    if not isinstance(config, dict):
        _refuse(path, "compile state", "it is not a mapping")
    optimizer = config.get("optimizer_config" if legacy else "optimizer",
                           config.get("optimizer", config.get("optimizer_config")))
    where = "the optimizer"
    if optimizer is None:
        return None
    optimizer = _plain(optimizer, path, where)
    try:
        if isinstance(optimizer, dict):
            opt_config = {k: v for k, v in optimizer["config"].items()
                          if k not in ("jit_compile", "is_legacy_optimizer")}
            if isinstance(opt_config.get("learning_rate"), dict):
                rate = opt_config["learning_rate"]
                opt_config["learning_rate"] = {"class_name": rate["class_name"],
                                               "config": rate["config"]}
            optimizer = optimizers.get({"class_name": optimizer["class_name"],
                                        "config": opt_config})
        else:
            optimizer = optimizers.get(optimizer)
    except (ValueError, TypeError, KeyError, NotImplementedError) as error:
        raise FileFormatError(f"{path!r}: cannot rebuild the optimizer "
                              f"{getattr(optimizer, 'get', lambda k: optimizer)('class_name')!r}"
                              f": {error}") from None

    def loss_spec(spec):
        from glassnet.saving import custom

        if spec is None:
            return None
        if isinstance(spec, dict) and spec.get("class_name") == "function":
            spec = spec.get("config")  # Keras 3's way of naming a function
        if isinstance(spec, str) and spec not in losses.names() and \
                custom.lookup(spec) is not None:
            return losses.get(custom.lookup(spec))
        if isinstance(spec, dict) and custom.lookup(spec.get("registered_name")
                                                    or spec.get("class_name")) is not None \
                and spec.get("class_name") not in losses._BY_CLASS:
            cls = custom.lookup(spec.get("registered_name") or spec["class_name"])
            return cls.from_config(spec.get("config", {})) if hasattr(cls, "from_config") \
                else cls(**spec.get("config", {}))
        spec = _plain(spec, path, "the loss")
        try:
            if isinstance(spec, dict):
                conf = {k: v for k, v in spec["config"].items() if k != "fn"}
                if conf.get("reduction") == "auto":
                    conf["reduction"] = "sum_over_batch_size"
                return losses.get({"class_name": spec["class_name"], "config": conf})
            return losses.get(spec)
        except (ValueError, TypeError, KeyError, NotImplementedError) as error:
            raise FileFormatError(f"{path!r}: cannot rebuild the loss {spec!r:.60}: "
                                  f"{error}") from None

    loss = losses.map_per_output(config.get("loss"), loss_spec)
    metrics = _metric_names(config.get("metrics"), path)
    if isinstance(metrics, list) and len(metrics) == 1 and isinstance(metrics[0], list):
        metrics = metrics[0]  # tf.keras 2: one list per output
    return {"optimizer": optimizer, "loss": loss, "loss_weights": config.get("loss_weights"),
            "metrics": metrics or None}
