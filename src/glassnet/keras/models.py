"""keras.models: Sequential, Model, load_model, clone_model."""

from glassnet.models import Model, Sequential, clone_model, load_model


def save_model(model, filepath, overwrite=True, **kwargs):
    """``model.save(filepath)``."""
    model.save(filepath, overwrite=overwrite, **kwargs)


__all__ = ["Model", "Sequential", "load_model", "save_model", "clone_model"]
