"""keras.losses: the Loss classes (``from_logits`` honoured), the per-sample
functions, and get/serialize/deserialize."""

from glassnet.losses import *  # noqa: F401,F403
from glassnet.losses import __all__ as _all
from glassnet.losses import (binary_crossentropy, categorical_crossentropy, get, hinge, huber,
                             kl_divergence, kld, log_cosh, mae, mape, mean_absolute_error,
                             mean_absolute_percentage_error, mean_squared_error,
                             mean_squared_logarithmic_error, mse, msle, poisson, serialize,
                             sparse_categorical_crossentropy, squared_hinge)


def deserialize(config):
    return get(config)


__all__ = list(_all) + ["deserialize", "binary_crossentropy", "categorical_crossentropy",
                        "sparse_categorical_crossentropy", "mean_squared_error",
                        "mean_absolute_error", "mean_absolute_percentage_error",
                        "mean_squared_logarithmic_error", "huber", "log_cosh",
                        "kl_divergence", "poisson", "hinge", "squared_hinge", "mse", "mae",
                        "mape", "msle", "kld"]
