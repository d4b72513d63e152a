"""Fashion-MNIST: 70,000 28x28 grayscale photos of clothing in 10 classes
(Zalando Research), a drop-in replacement for MNIST digits.

    >>> from glassnet.datasets import fashion_mnist
    >>> (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()  # doctest: +SKIP
    >>> x_train.shape, x_train.dtype, fashion_mnist.CLASS_NAMES[y_train[0]]  # doctest: +SKIP
    ((60000, 28, 28), dtype('uint8'), 'Ankle boot')
"""

from glassnet.datasets.source import DatasetSpec, load

__all__ = ["load_data", "CLASS_NAMES", "SPEC"]

CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]

SPEC = DatasetSpec(
    name="fashion-mnist",
    title="Fashion-MNIST",
    files={
        "x_train": ("train-images-idx3-ubyte.gz",
                    "08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc"),
        "y_train": ("train-labels-idx1-ubyte.gz",
                    "b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc"),
        "x_test": ("t10k-images-idx3-ubyte.gz",
                   "78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229"),
        "y_test": ("t10k-labels-idx1-ubyte.gz",
                   "42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf"),
    },
    mirrors=["https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
             "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
    system_dirs=["/usr/share/datasets/fashion-mnist"],
    debian_package="dataset-fashion-mnist",
)


def load_data(path=None):
    """((x_train, y_train), (x_test, y_test)): uint8 images (60000, 28, 28) and
    (10000, 28, 28), uint8 labels 0-9, as Keras returns them. See
    :mod:`glassnet.datasets.source` for where glassnet looks."""
    return load(SPEC, path)
