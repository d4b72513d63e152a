"""Model files. The extension decides, as in Keras:

==================  =====================================================
``.keras``          Keras 3's zip: ``config.json`` (the architecture and
                    compile state), ``metadata.json``, ``model.weights.h5``
                    (weights and optimizer variables). Real Keras opens it.
``.h5``             Keras's legacy full-model HDF5 (``model.save``), or
                    tf.keras 2's weights-only HDF5 (``save_weights``).
``.weights.h5``     Keras 3's weights file (``save_weights``).
``.safetensors``    glassnet's own: safetensors with JSON metadata.
==================  =====================================================

``load_model`` and ``load_weights`` look at the file's first bytes, not its
name, and read files written by Keras 3.x, by tf.keras 2.13-2.15 (and its
``.h5`` files with their ``kernel:0`` names), and by glassnet. Nothing in a
file is run: see :mod:`glassnet.saving.keras_config` and
:mod:`glassnet.saving.files` for what is refused. Every save goes to a
temporary file that is renamed over the target, so a failing save leaves the
old file intact.
"""

from __future__ import annotations

import datetime
import io
import json
import os

from glassnet.saving.files import FileFormatError, atomic_write, sniff

__all__ = ["save_model", "load_model", "save_weights", "load_weights", "FileFormatError",
           "atomic_write", "MODEL_FORMATS", "WEIGHTS_FORMATS"]

MODEL_FORMATS = (".keras", ".h5", ".safetensors")
WEIGHTS_FORMATS = (".weights.h5", ".h5", ".safetensors")
_LIMITS = {"metadata.json": 1 << 20, "config.json": 64 << 20, "model.weights.h5": 4 << 30}


def _extension(path, choices, what):
    name = os.fspath(path).lower()
    for extension in sorted(choices, key=len, reverse=True):
        if name.endswith(extension):
            return extension
    if what == "model" and name.endswith(".hdf5"):
        return ".h5"
    raise ValueError(f"Cannot tell the format of {os.fspath(path)!r} for {what} files from its "
                     f"name: use one of {', '.join(choices)}")


def _json(data, path, member):
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise FileFormatError(f"{path!r}: {member} is not valid JSON: {error}") from None


def _h5py():
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py is a dependency
        raise ImportError("Keras's .keras and .h5 files need h5py: pip install h5py") from None
    return h5py


# ------------------------------------------------------------------ saving
def save_model(model, path, overwrite=True, include_optimizer=True):
    """``model.save(path)``: architecture, weights and compile state, in the
    format the extension names."""
    path = os.fspath(path)
    model._require_built("save")
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path!r} exists and overwrite=False")
    if path.lower().endswith(".weights.h5"):
        raise ValueError(f"{path!r} names a weights file; use model.save_weights for it, or "
                         f"save the model as .keras, .h5 or .safetensors")
    extension = _extension(path, MODEL_FORMATS, "model")
    if extension == ".safetensors":
        from glassnet.saving import native

        native.save_model(model, path, include_optimizer=include_optimizer)
    elif extension == ".keras":
        _save_keras(model, path, include_optimizer)
    else:
        _save_legacy_h5(model, path, include_optimizer)


def _optimizer_values(model, include_optimizer):
    from glassnet.saving import keras_weights

    if not include_optimizer or not getattr(model, "compiled", False) or model.optimizer is None:
        return None
    return keras_weights.optimizer_arrays(model)


def _save_keras(model, path, include_optimizer):
    import zipfile

    from glassnet import __version__
    from glassnet.saving import keras_config, keras_weights

    h5py = _h5py()
    config = keras_config.model_to_keras(model)
    compile_config = keras_config.compile_to_keras(model) if include_optimizer else None
    config["compile_config"] = compile_config or {}
    metadata = {"keras_version": keras_config.KERAS_VERSION,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
                "glassnet_version": __version__}
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        keras_weights.write_weights(model, f, _optimizer_values(model, include_optimizer))
    weights = buffer.getvalue()

    def write(temp):
        with zipfile.ZipFile(temp, "w") as archive:
            archive.writestr("metadata.json", json.dumps(metadata),
                             compress_type=zipfile.ZIP_DEFLATED)
            archive.writestr("config.json", json.dumps(config),
                             compress_type=zipfile.ZIP_DEFLATED)
            archive.writestr("model.weights.h5", weights, compress_type=zipfile.ZIP_STORED)

    atomic_write(path, write)


def _save_legacy_h5(model, path, include_optimizer):
    from glassnet.saving import keras_config, keras_weights

    h5py = _h5py()
    config = keras_config.model_to_keras(model, legacy=True)
    training = keras_config.compile_to_keras(model, legacy=True) if include_optimizer else None

    def write(temp):
        with h5py.File(temp, "w") as f:
            f.attrs["keras_version"] = keras_config.KERAS_VERSION
            f.attrs["backend"] = "numpy"
            f.attrs["model_config"] = json.dumps(config).encode("utf8")
            if training is not None:
                f.attrs["training_config"] = json.dumps(training).encode("utf8")
            keras_weights.write_legacy_weights(f.create_group("model_weights"), model)
            if training is not None:
                keras_weights.write_legacy_optimizer(f, model)

    atomic_write(path, write)


def save_weights(model, path, overwrite=True):
    """``model.save_weights(path)``: ``.weights.h5`` (Keras 3, with the
    optimizer's variables as Keras writes them), ``.h5`` (tf.keras 2's
    layout) or ``.safetensors``."""
    path = os.fspath(path)
    model._require_built("save_weights")
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path!r} exists and overwrite=False")
    extension = _extension(path, WEIGHTS_FORMATS, "weights")
    if extension == ".safetensors":
        from glassnet.saving import native

        native.save_model(model, path, weights_only=True)
        return
    from glassnet.saving import keras_weights

    h5py = _h5py()
    if extension == ".weights.h5":
        values = _optimizer_values(model, True)

        def write(temp):
            with h5py.File(temp, "w") as f:
                keras_weights.write_weights(model, f, values)
    else:
        def write(temp):
            with h5py.File(temp, "w") as f:
                keras_weights.write_legacy_weights(f, model)
    atomic_write(path, write)


# ------------------------------------------------------------------ loading
def _kind(path):
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No model file at {path!r}")
    kind = sniff(path)
    if kind is None:
        raise FileFormatError(f"{path!r} is not a model file glassnet reads (not a .keras zip, "
                              f"an HDF5 .h5 file or a .safetensors file; corrupt or "
                              f"truncated?)")
    return path, kind


def _read_keras_zip(path):
    from glassnet.saving.files import read_zip

    members = read_zip(path, _LIMITS)
    for name in ("config.json", "model.weights.h5"):
        if name not in members:
            raise FileFormatError(f"{path!r} is a zip without {name}: not a .keras model "
                                  f"file")
    config = _json(members["config.json"], path, "config.json")
    if "metadata.json" in members:
        metadata = _json(members["metadata.json"], path, "metadata.json")
        if not isinstance(metadata, dict):
            raise FileFormatError(f"{path!r}: metadata.json is not a mapping")
    if not isinstance(config, dict):
        raise FileFormatError(f"{path!r}: config.json is not a Keras model description")
    return config, members["model.weights.h5"]


def load_model(path, compile=True, safe_mode=True):
    """The model in ``path`` (``.keras``, ``.h5`` or ``.safetensors``, told
    apart by content), with its weights and, with ``compile``, its loss,
    metrics and optimizer state."""
    if safe_mode is not True:
        found = _code_layers_in(path)
        raise ValueError("load_model: safe_mode=False is refused; glassnet never runs code "
                         "from a file (Lambda layers and custom objects are not loaded)" +
                         (f". {path!r} holds the code layer(s) {', '.join(found)}: rebuild "
                          f"them in code and load the weights with load_weights"
                          if found else ""))
    path, kind = _kind(path)
    if kind == "safetensors":
        from glassnet.saving import native

        return native.load_model(path, compile=compile)
    from glassnet.saving import files, keras_config, keras_weights

    if kind == "zip":
        config, weights = _read_keras_zip(path)
        compile_config = config.get("compile_config")
        model = keras_config.model_from_keras(config, path)
        f = files.open_h5(weights, path)
        keras_weights.read_weights(model, f, path)
        arrays = keras_weights.read_optimizer_arrays(f, path) if compile else None
        if compile:
            _restore_compile(model, keras_config.compile_from_keras(compile_config, path),
                             arrays, path)
        return model
    f = files.open_h5(path, path)
    if "model_config" not in f.attrs:
        raise FileFormatError(f"{path!r} is an HDF5 file without a model_config: a weights "
                              f"file? Build the model and call load_weights")
    config = _json(files.h5_text(f.attrs["model_config"], path, "model_config"), path,
                   "model_config")
    training = None
    if "training_config" in f.attrs:
        training = _json(files.h5_text(f.attrs["training_config"], path, "training_config"),
                         path, "training_config")
    model = keras_config.model_from_keras(config, path)
    keras_weights.read_legacy_weights(files.h5_group(f, "model_weights", path), model, path)
    arrays = keras_weights.legacy_optimizer_arrays(f, path) if compile else None
    if compile:
        _restore_compile(model, keras_config.compile_from_keras(training, path, legacy=True),
                         arrays, path)
    return model


def _code_layers_in(path):
    """The layers of a file's model config that are Python code (Lambda...),
    as "name (class)": what safe_mode=False would have run. Empty when the
    file cannot be read (load_model's own checks then say why)."""
    from glassnet.saving import files, keras_config

    try:
        path, kind = _kind(path)
        if kind == "zip":
            config, _ = _read_keras_zip(path)
        elif kind == "h5":
            f = files.open_h5(path, path)
            config = _json(files.h5_text(f.attrs["model_config"], path, "model_config"), path,
                           "model_config")
        else:
            return []
    except (FileFormatError, OSError, KeyError, ValueError):
        return []
    found, stack = [], [config]
    while stack and len(found) < 20:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("class_name") in keras_config._CODE_LAYERS:
                inner = item.get("config") if isinstance(item.get("config"), dict) else {}
                found.append(f"{item.get('name', inner.get('name'))!r} "
                             f"({item['class_name']})")
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return found


def _restore_compile(model, arguments, arrays, path):
    from glassnet.saving import keras_weights

    if arguments is None:
        return
    try:
        model.compile(**arguments)
    except (ValueError, TypeError, KeyError, NotImplementedError) as error:
        raise FileFormatError(f"{path!r}: cannot compile the model as saved: {error}") from None
    if arrays:
        keras_weights.restore_optimizer(model, arrays, path)


def load_weights(model, path, skip_mismatch=False):
    """``model.load_weights(path)``: Keras 3's ``.weights.h5`` (and the
    weights inside a ``.keras`` file), tf.keras 2's ``.h5`` weights or full
    models, or glassnet's ``.safetensors``."""
    if skip_mismatch:
        raise NotImplementedError("load_weights: skip_mismatch=True is not implemented in "
                                  "glassnet")
    model._require_built("load_weights")
    path, kind = _kind(path)
    if kind == "safetensors":
        from glassnet.saving import native

        native.load_weights(model, path)
        return
    from glassnet.saving import files, keras_weights

    if kind == "zip":
        _, source = _read_keras_zip(path)
    else:
        source = path
    f = files.open_h5(source, path)
    if "layers" in f or "_layer_checkpoint_dependencies" in f:
        keras_weights.read_weights(model, f, path)
        arrays = keras_weights.read_optimizer_arrays(f, path)
        if arrays and getattr(model, "compiled", False):
            keras_weights.restore_optimizer(model, arrays, path)
    elif "model_weights" in f:
        keras_weights.read_legacy_weights(files.h5_group(f, "model_weights", path), model,
                                          path)
    else:
        keras_weights.read_legacy_weights(f, model, path)
