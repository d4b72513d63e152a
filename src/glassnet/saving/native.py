"""glassnet's own model files: safetensors, never pickle.

A glassnet model file is a safetensors file: each weight is a tensor named
``<layer>/<weight>`` (``dense/kernel``), the optimizer's state is stored as
``optimizer/<slot>``, and the metadata holds JSON: the architecture
(``model_config``) and the compile settings (``compile_config``). Any
safetensors reader can open it; nothing in it can run code.

Files are written to a temporary file beside the target and renamed over it,
so a failed save leaves the old file intact.
"""

from __future__ import annotations

import errno
import json
import os

import numpy as np

from glassnet.saving.files import atomic_write

__all__ = ["save_model", "load_model", "load_weights", "read_file", "weight_keys"]

FORMAT = "glassnet"
FORMAT_VERSION = "1"


def _weight_key(layer, variable):
    """``kernel``; a wrapper's inner layer's weight: ``forward_lstm/kernel``."""
    return variable.name if getattr(variable, "_owner", layer) in (layer, None) else variable.path


def weight_keys(model, prefix=""):
    """A name per weight, in ``model.weights`` order: the layer path and the
    weight's name (``dense/kernel``; nested models add their names:
    ``sequential/dense/kernel``)."""
    keys, seen = [], set()
    for layer in model.layers:
        if hasattr(layer, "layers") and hasattr(layer, "_nodes"):
            inner = weight_keys(layer, f"{prefix}{layer.name}/")
            pairs = zip(layer.weights, inner)
        else:
            pairs = ((v, f"{prefix}{layer.name}/{_weight_key(layer, v)}") for v in layer.weights)
        for variable, key in pairs:
            if id(variable) not in seen:
                seen.add(id(variable))
                keys.append(key)
    return keys


def save_model(model, path, weights_only=False, include_optimizer=True, overwrite=True):
    """Write ``model`` (architecture, weights, compile settings, optimizer
    state) to ``path``; with ``weights_only`` just the weights."""
    from safetensors.numpy import save_file

    model._require_built("save")
    path = os.fspath(path)
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path!r} exists and overwrite=False")
    keys = weight_keys(model)
    tensors = {key: np.array(v.value, order="C") for key, v in zip(keys, model.weights)}
    metadata = {"format": FORMAT, "format_version": FORMAT_VERSION,
                "model_class": "Sequential" if type(model).__name__ == "Sequential" else
                "Functional",
                "model_config": json.dumps(model.get_config()),
                "weight_order": json.dumps(keys),
                "user_metadata": json.dumps(getattr(model, "metadata", {}) or {})}
    if not weights_only:
        compile_config = model.compile_config()
        if compile_config is not None:
            metadata["compile_config"] = json.dumps(compile_config)
        optimizer = model.optimizer
        if include_optimizer and optimizer is not None and optimizer._scratch is not None:
            for slot, value in optimizer.variables().items():
                tensors[f"optimizer/{slot}"] = np.asarray(value, order="C")  # keeps 0-d
    def write(temp):
        try:
            save_file(tensors, temp, metadata=metadata)
        except OSError:
            raise
        except Exception as error:  # safetensors' own SafetensorError (a full disk...)
            message = str(error)
            code = errno.ENOSPC if "No space left" in message else errno.EIO
            raise OSError(code, message.split(": ", 1)[-1] if "os error" in message
                          else message, os.fspath(path)) from None

    atomic_write(path, write)


def read_file(path):
    """(tensors, metadata) of a glassnet file; a clear ValueError naming the
    file when it is not one (corrupt, truncated, another format)."""
    from safetensors import SafetensorError, safe_open

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No model file at {path!r}")
    try:
        with safe_open(path, framework="numpy") as f:
            metadata = f.metadata() or {}
            tensors = {key: f.get_tensor(key) for key in f.keys()}
    except (SafetensorError, OSError, ValueError) as error:
        raise ValueError(f"{path!r} is not a readable safetensors model file (corrupt or "
                         f"truncated?): {error}") from None
    if metadata.get("format") != FORMAT or "model_config" not in metadata:
        raise ValueError(f"{path!r} is a safetensors file but not a glassnet model (its "
                         f"metadata has no glassnet model_config)")
    try:
        metadata = {**metadata, "model_config": json.loads(metadata["model_config"])}
        if "compile_config" in metadata:
            metadata["compile_config"] = json.loads(metadata["compile_config"])
        metadata["user_metadata"] = json.loads(metadata.get("user_metadata", "{}"))
    except (json.JSONDecodeError, RecursionError) as error:  # nesting 50,000 deep: hostile
        raise ValueError(f"{path!r}: its model description is not valid JSON (or nested too "
                         f"deeply): {error}") from None
    if not isinstance(metadata["model_config"], dict):
        raise ValueError(f"{path!r}: its model description is not a mapping")
    return tensors, metadata


def _assign_weights(model, tensors, metadata, path):
    """By position, as Keras does, so a model whose layers got other automatic
    names still loads."""
    order = metadata.get("weight_order")
    mine = model.weights
    if order is not None:
        try:
            order = json.loads(order) if isinstance(order, str) else order
        except (json.JSONDecodeError, RecursionError) as error:
            raise ValueError(f"{path!r}: its weight_order is not valid JSON: {error}") from None
        if not isinstance(order, list) or not all(isinstance(k, str) for k in order):
            raise ValueError(f"{path!r}: its weight_order is not a list of names")
        if len(order) != len(mine):
            raise ValueError(f"{path!r} holds {len(order)} weight arrays; model "
                             f"{model.name!r} has {len(mine)}")
        missing = [key for key in order if key not in tensors]
        if missing:
            raise ValueError(f"{path!r} lists weights it does not hold: {missing[:3]}")
        model.set_weights([tensors[key] for key in order])
        return
    # glassnet's first files: a Sequential model, tensors named <layer>/<weight>
    saved = [layer["config"]["name"] for layer in metadata["model_config"]["layers"]
             if layer.get("class_name") != "InputLayer"]
    layers = model.layers
    if len(saved) != len(layers):
        raise ValueError(f"{path!r} holds a model of {len(saved)} layers; this model has "
                         f"{len(layers)}")
    values = []
    for saved_name, layer in zip(saved, layers):
        for variable in layer.weights:
            key = f"{saved_name}/{variable.name}"
            if key not in tensors:
                raise ValueError(f"{path!r} has no tensor {key!r} for layer {layer.name!r} "
                                 f"({type(layer).__name__})")
            values.append(tensors[key])
    model.set_weights(values)


def load_model(path, compile=True):
    """Rebuild the model saved at ``path``, with its weights, compile settings
    and optimizer state."""
    from glassnet import losses, optimizers
    from glassnet.models import Model, Sequential

    tensors, metadata = read_file(path)
    cls = Model if metadata.get("model_class") == "Functional" else Sequential
    try:
        model = cls.from_config(metadata["model_config"])
    except (KeyError, TypeError, IndexError, RecursionError) as error:
        raise ValueError(f"{path!r}: cannot rebuild the model from its description: "
                         f"{error!r:.200}") from None
    _assign_weights(model, tensors, metadata, path)
    model.metadata = metadata["user_metadata"]
    config = metadata.get("compile_config")
    if compile and config:
        loss = losses.map_per_output(config["loss"],
                                     lambda spec: None if spec is None else losses.get(spec))
        model.compile(optimizer=optimizers.get(config["optimizer"]), loss=loss,
                      loss_weights=config.get("loss_weights"),
                      metrics=config.get("metrics") or None)
        state = {key.split("/", 1)[1]: value for key, value in tensors.items()
                 if key.startswith("optimizer/")}
        if state:
            model._pack()
            model.optimizer._layout = model._layout
            model.optimizer.load_variables(state, model._params)
    return model


def load_weights(model, path):
    """Load the weights saved at ``path`` into ``model`` (same architecture)."""
    tensors, metadata = read_file(path)
    _assign_weights(model, tensors, metadata, path)
