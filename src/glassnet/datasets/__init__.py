"""Data sets: real ones (``fashion_mnist``, ``mnist``, ``imdb``, ``reuters``,
``boston_housing``, ``cifar10``), as Keras returns them,
real text that installs offline (``tweets``),
and 2-D toy ones (``toy``) for seeing decision boundaries.

``load(name)`` gives ((x_train, y_train), (x_test, y_test)) for a name in
``NAMES`` (the image, text and toy sets the command line trains on).
"""

from glassnet.datasets import (boston_housing, cifar10, fashion_mnist, imdb, mnist, reuters,
                               toy, tweets)
from glassnet.datasets.files import get_file
from glassnet.datasets.source import DatasetNotFoundError

__all__ = ["fashion_mnist", "imdb", "mnist", "reuters", "boston_housing", "cifar10", "toy",
           "tweets", "load", "NAMES", "class_names", "DatasetNotFoundError", "get_file"]

IMAGE_SETS = {"fashion-mnist": fashion_mnist, "mnist": mnist}
TEXT_SETS = {"tweets": tweets}
NAMES = sorted(IMAGE_SETS) + sorted(TEXT_SETS) + sorted(toy.NAMES)


def load(name, path=None):
    """((x_train, y_train), (x_test, y_test)) for a name in ``NAMES``."""
    key = name.strip().lower().replace("_", "-")
    if key in IMAGE_SETS:
        return IMAGE_SETS[key].load_data(path)
    if key in TEXT_SETS:
        return TEXT_SETS[key].load_data(path)
    if key in toy.NAMES:
        return toy.load(key)
    raise ValueError(f"Unknown data set {name!r}. Valid names: {', '.join(NAMES)}")


def class_names(name):
    """Class names for a data set's labels."""
    key = name.strip().lower().replace("_", "-")
    if key in IMAGE_SETS:
        return list(IMAGE_SETS[key].CLASS_NAMES)
    if key in TEXT_SETS:
        return list(TEXT_SETS[key].CLASS_NAMES)
    if key in toy.NAMES:
        count = 3 if key == "spiral" else 2
        return [f"class {i}" for i in range(count)]
    raise ValueError(f"Unknown data set {name!r}. Valid names: {', '.join(NAMES)}")
