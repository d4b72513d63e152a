"""MNIST: 70,000 28x28 grayscale handwritten digits 0-9 (LeCun et al.).

Reads the four standard IDX files, or Keras's single ``mnist.npz``.
"""

from glassnet.datasets.source import DatasetSpec, load

__all__ = ["load_data", "CLASS_NAMES", "SPEC"]

CLASS_NAMES = [str(digit) for digit in range(10)]

SPEC = DatasetSpec(
    name="mnist",
    title="MNIST",
    files={
        "x_train": ("train-images-idx3-ubyte.gz",
                    "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
        "y_train": ("train-labels-idx1-ubyte.gz",
                    "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
        "x_test": ("t10k-images-idx3-ubyte.gz",
                   "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
        "y_test": ("t10k-labels-idx1-ubyte.gz",
                   "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
    },
    mirrors=["https://storage.googleapis.com/cvdf-datasets/mnist/",
             "https://ossci-datasets.s3.amazonaws.com/mnist/"],
    system_dirs=["/usr/share/datasets/mnist"],
    npz_name="mnist.npz",
)


def load_data(path=None):
    """((x_train, y_train), (x_test, y_test)) as Keras returns them; ``path``
    may be a folder of the IDX files or Keras's ``mnist.npz``."""
    return load(SPEC, path)
