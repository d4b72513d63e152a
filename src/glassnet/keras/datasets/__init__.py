"""keras.datasets: ``fashion_mnist`` and ``mnist`` (``load_data()``, as Keras)."""

from glassnet.keras.datasets import fashion_mnist, mnist

__all__ = ["fashion_mnist", "mnist"]
