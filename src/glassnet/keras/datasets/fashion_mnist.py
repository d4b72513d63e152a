"""keras.datasets.fashion_mnist.load_data(): ((x_train, y_train), (x_test, y_test))."""

from glassnet.datasets.fashion_mnist import CLASS_NAMES, load_data  # noqa: F401

__all__ = ["load_data"]
