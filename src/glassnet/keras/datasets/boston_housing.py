"""keras.datasets.boston_housing: ``load_data``, as Keras (see
:mod:`glassnet.datasets.boston_housing`)."""

from glassnet.datasets.boston_housing import load_data

__all__ = ["load_data"]
