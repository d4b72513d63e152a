"""keras.datasets.mnist.load_data(): ((x_train, y_train), (x_test, y_test))."""

from glassnet.datasets.mnist import load_data

__all__ = ["load_data"]
