"""keras.utils: to_categorical, normalize, set_random_seed, pad_sequences,
plot_model, get_file, text_dataset_from_directory."""

import numpy as np

from glassnet.datasets.directory import text_dataset_from_directory
from glassnet.datasets.files import get_file
from glassnet.engine.batches import PyDataset
from glassnet.keras.preprocessing.image import array_to_img, img_to_array, load_img, save_img
from glassnet.sequences import pad_sequences
from glassnet.utils import set_random_seed


def to_categorical(x, num_classes=None):
    """One-hot rows for integer class labels, as Keras returns them: float64,
    shape x.shape + (num_classes,) (a trailing axis of 1 is dropped first).

        >>> to_categorical([0, 2], 3)
        array([[1., 0., 0.],
               [0., 0., 1.]])
    """
    x = np.array(x)
    if x.dtype.kind == "f" and np.any(x != np.round(x)):
        raise ValueError("to_categorical takes integer class labels; received non-integer "
                         "values")
    x = x.astype(np.int64)
    shape = x.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    x = x.reshape(-1)
    if x.size and x.min() < 0:
        raise ValueError(f"to_categorical: labels must be >= 0; received {x.min()}")
    if not num_classes:
        num_classes = int(np.max(x)) + 1 if x.size else 0
    if x.size and x.max() >= num_classes:
        raise ValueError(f"to_categorical: label {x.max()} does not fit num_classes="
                         f"{num_classes}")
    categorical = np.zeros((x.shape[0], num_classes))
    categorical[np.arange(x.shape[0]), x] = 1
    return categorical.reshape(shape + (num_classes,))


def normalize(x, axis=-1, order=2):
    """x divided by its L-``order`` norm along ``axis`` (0 norms left alone)."""
    x = np.asarray(x, dtype=np.float64 if np.asarray(x).dtype.kind != "f" else None)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False,
               show_layer_names=False, rankdir="TB", expand_nested=False, dpi=200,
               show_layer_activations=False, show_trainable=False, **kwargs):
    """Draw the model's graph to ``to_file`` (Keras's signature): a box per
    layer, an arrow per connection, branches side by side. glassnet draws it
    with matplotlib (``glassnet.plot.model_graph``), so no Graphviz is needed.
    Returns an image a notebook displays (IPython's Image of the file)."""
    import os

    from glassnet import plot
    from glassnet.saving.files import atomic_write

    for argument in ("layer_range", "show_layer_activations_in_nested"):
        if kwargs.pop(argument, None) is not None:
            raise NotImplementedError(f"plot_model: {argument} is not implemented in glassnet")
    if kwargs:
        raise TypeError(f"plot_model: unrecognized arguments {sorted(kwargs)}")
    figure = plot.model_graph(model, show_shapes=show_shapes, show_dtype=show_dtype,
                              show_layer_names=show_layer_names, rankdir=rankdir,
                              show_layer_activations=show_layer_activations,
                              show_trainable=show_trainable, expand_nested=expand_nested)
    to_file = os.fspath(to_file)
    extension = os.path.splitext(to_file)[1].lstrip(".").lower() or "png"
    atomic_write(to_file, lambda temp: figure.savefig(temp, dpi=dpi, format=extension,
                                                      facecolor="white"))
    try:
        from IPython.display import Image
    except ImportError:
        return figure
    return Image(filename=to_file) if extension in ("png", "jpg", "jpeg") else figure


Sequence = PyDataset  # Keras 2's name

__all__ = ["PyDataset", "Sequence", "to_categorical", "normalize", "set_random_seed", "plot_model", "pad_sequences",
           "get_file", "text_dataset_from_directory", "array_to_img", "img_to_array", "load_img",
           "save_img"]
