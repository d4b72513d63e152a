"""keras.datasets: ``fashion_mnist``, ``mnist``, ``imdb``, ``reuters``,
``boston_housing`` and ``cifar10`` (``load_data()``, as Keras)."""

from glassnet.keras.datasets import boston_housing, cifar10, fashion_mnist, imdb, mnist, reuters

__all__ = ["boston_housing", "cifar10", "fashion_mnist", "imdb", "mnist", "reuters"]
