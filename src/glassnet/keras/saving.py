"""keras.saving: load_model, save_model, save_weights, load_weights (the
files are Keras's: see glassnet.saving)."""

from glassnet.models import load_model
from glassnet.saving.custom import (custom_object_scope, get_custom_objects,
                                    get_registered_name, get_registered_object,
                                    register_keras_serializable)


def save_model(model, filepath, overwrite=True, **kwargs):
    """``model.save(filepath)``: ``.keras``, ``.h5`` or ``.safetensors``."""
    model.save(filepath, overwrite=overwrite, **kwargs)


def save_weights(model, filepath, overwrite=True):
    model.save_weights(filepath, overwrite=overwrite)


def load_weights(model, filepath, skip_mismatch=False):
    model.load_weights(filepath, skip_mismatch=skip_mismatch)


__all__ = ["load_model", "save_model", "save_weights", "load_weights",
           "register_keras_serializable", "custom_object_scope", "get_custom_objects",
           "get_registered_name", "get_registered_object"]
