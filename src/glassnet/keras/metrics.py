"""keras.metrics: the Metric classes, the per-sample functions, get."""

from glassnet.losses import (binary_crossentropy, categorical_crossentropy,  # noqa: F401
                             mean_absolute_error, mean_squared_error,
                             sparse_categorical_crossentropy)
from glassnet.metrics import *  # noqa: F401,F403
from glassnet.metrics import __all__ as _all
from glassnet.metrics import get


def serialize(metric):
    return {"class_name": type(metric).__name__, "config": metric.get_config()}


def deserialize(config):
    return get(config)


__all__ = list(_all) + ["serialize", "deserialize", "mean_squared_error",
                        "mean_absolute_error", "binary_crossentropy",
                        "categorical_crossentropy", "sparse_categorical_crossentropy"]
