import gzip
import os
import pathlib

import numpy as np
import pytest

FASHION_DIR = pathlib.Path("/usr/share/datasets/fashion-mnist")
FILES = {"x_train": "train-images-idx3-ubyte.gz", "y_train": "train-labels-idx1-ubyte.gz",
         "x_test": "t10k-images-idx3-ubyte.gz", "y_test": "t10k-labels-idx1-ubyte.gz"}


def _read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


@pytest.fixture(scope="session")
def fashion_mnist():
    """The real Fashion-MNIST from the Debian package dataset-fashion-mnist.

    Skips when it is not installed, unless GLASSNET_REQUIRE_DATA=1 (CI sets it),
    where a missing package is a failure."""
    folder = pathlib.Path(os.environ.get("GLASSNET_FASHION_DIR", FASHION_DIR))
    if not all((folder / name).exists() for name in FILES.values()):
        message = (f"Fashion-MNIST not found in {folder}: apt-get install "
                   f"dataset-fashion-mnist")
        if os.environ.get("GLASSNET_REQUIRE_DATA") == "1":
            pytest.fail(message)
        pytest.skip(message)
    d = {key: _read_idx(folder / name) for key, name in FILES.items()}
    return (d["x_train"], d["y_train"]), (d["x_test"], d["y_test"])


# the scripts that made the Keras fixtures need real Keras: not tests
collect_ignore_glob = ["data/*"]
