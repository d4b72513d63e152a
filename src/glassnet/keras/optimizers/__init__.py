"""keras.optimizers: SGD, Adam, AdamW, RMSprop, Adagrad (Keras's update rules
and defaults), ``schedules``, get/serialize/deserialize."""

from glassnet.keras.optimizers import schedules  # noqa: F401
from glassnet.optimizers import (SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop, get,
                                 serialize)


def deserialize(config):
    return get(config)


__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "schedules", "get",
           "serialize", "deserialize"]
