"""keras.preprocessing: ``sequence.pad_sequences``, Keras 2's
``text.Tokenizer`` and ``image``'s array/Pillow conversions, and
``text_dataset_from_directory`` (Keras 2's name for keras.utils's)."""

from glassnet.datasets.directory import text_dataset_from_directory
from glassnet.keras.preprocessing import image, sequence, text

__all__ = ["image", "sequence", "text", "text_dataset_from_directory"]
