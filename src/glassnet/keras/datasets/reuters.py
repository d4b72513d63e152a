"""keras.datasets.reuters: ``load_data``, ``get_word_index`` and
``get_label_names``, as Keras (see :mod:`glassnet.datasets.reuters`)."""

from glassnet.datasets.reuters import get_label_names, get_word_index, load_data

__all__ = ["load_data", "get_word_index", "get_label_names"]
