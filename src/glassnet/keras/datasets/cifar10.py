"""keras.datasets.cifar10: ``load_data``, as Keras (see :mod:`glassnet.datasets.cifar10`)."""

from glassnet.datasets.cifar10 import CLASS_NAMES, load_data  # noqa: F401

__all__ = ["load_data"]
