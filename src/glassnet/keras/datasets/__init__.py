"""keras.datasets: ``fashion_mnist``, ``mnist`` and ``imdb`` (``load_data()``, as Keras)."""

from glassnet.keras.datasets import fashion_mnist, imdb, mnist

__all__ = ["fashion_mnist", "imdb", "mnist"]
