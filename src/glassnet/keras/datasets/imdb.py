"""keras.datasets.imdb: ``load_data`` and ``get_word_index``, as Keras
(see :mod:`glassnet.datasets.imdb`)."""

from glassnet.datasets.imdb import get_word_index, load_data

__all__ = ["load_data", "get_word_index"]
