"""Your own classes and functions in model files, as Keras does it.

A file only *names* a custom layer, loss or metric (its class name and
``registered_name``, e.g. ``"Custom>Linear"``); glassnet builds it only from
an object your code handed over:

    @keras.saving.register_keras_serializable()      # registered for good
    class Linear(keras.layers.Layer): ...

    keras.models.load_model(path, custom_objects={"Linear": Linear,
                                                  "my_loss": my_loss})  # for this load

So loading never runs code that the caller did not register or pass: an
unknown name is refused with its name, as before.
"""

from __future__ import annotations

import contextlib

__all__ = ["register_keras_serializable", "custom_object_scope", "get_custom_objects",
           "get_registered_name", "get_registered_object", "lookup"]

_REGISTERED = {}  # "package>name" -> the class or function
_SCOPES = []      # the custom_objects of the loads under way, innermost last


def register_keras_serializable(package="Custom", name=None):
    """Decorator: make a class or function known to every ``load_model``
    under ``"package>name"`` (Keras's ``keras.saving.register_keras_serializable``)."""
    if not isinstance(package, str) or ">" in package:
        raise ValueError(f"register_keras_serializable: package must be a string without "
                         f"'>'; received {package!r}")

    def decorator(obj):
        key = f"{package}>{name or obj.__name__}"
        if key in _REGISTERED and _REGISTERED[key] is not obj:
            raise ValueError(f"register_keras_serializable: {key!r} is already registered "
                             f"to {_REGISTERED[key]!r}")
        _REGISTERED[key] = obj
        obj._registered_name = key
        _register_layer(obj)
        return obj

    return decorator


def _register_layer(obj):
    from glassnet import layers

    if isinstance(obj, type) and issubclass(obj, layers.Layer):
        layers.register(obj)


def get_registered_name(obj):
    """The name a file stores for ``obj``: ``"package>name"`` once registered."""
    return getattr(obj, "_registered_name", None) or getattr(obj, "__name__", type(obj).__name__)


def get_custom_objects():
    """Every registered object, by its registered name."""
    return dict(_REGISTERED)


def get_registered_object(name, custom_objects=None):
    found = (custom_objects or {}).get(name)
    return found if found is not None else lookup(name)


def lookup(name):
    """The object a file names (``"Linear"`` or ``"Custom>Linear"``), from the
    loads' ``custom_objects`` or the registry; None when nobody handed it over."""
    if not isinstance(name, str):
        return None
    short = name.split(">", 1)[-1]
    for scope in reversed(_SCOPES):
        for key in (name, short):
            if key in scope:
                return scope[key]
    if name in _REGISTERED:
        return _REGISTERED[name]
    matches = [obj for key, obj in _REGISTERED.items() if key.split(">", 1)[1] == short]
    if len(matches) == 1:
        return matches[0]
    from glassnet import layers  # a layer class your code gave glassnet.layers.register

    found = layers._CLASSES.get(short)
    return found if found is not None and found not in layers._LAYERS else None


@contextlib.contextmanager
def custom_object_scope(custom_objects):
    """Make ``custom_objects`` ({name: class or function}) known while loading."""
    from glassnet import layers

    objects = dict(custom_objects or {})
    for key, obj in objects.items():
        if not isinstance(key, str) or not callable(obj):
            raise TypeError(f"custom_objects maps names to classes or functions; received "
                            f"{key!r}: {type(obj).__name__}")
    added = []
    for key, obj in objects.items():
        if isinstance(obj, type) and issubclass(obj, layers.Layer):
            for name in {key, obj.__name__}:
                if name not in layers._CLASSES:
                    layers._CLASSES[name] = obj
                    added.append(name)
    _SCOPES.append(objects)
    try:
        yield
    finally:
        _SCOPES.remove(objects)
        for name in added:
            layers._CLASSES.pop(name, None)
