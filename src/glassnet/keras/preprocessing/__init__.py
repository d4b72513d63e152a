"""keras.preprocessing: ``sequence.pad_sequences``, Keras 2's
``text.Tokenizer`` and ``image``'s array/Pillow conversions."""

from glassnet.keras.preprocessing import image, sequence, text

__all__ = ["image", "sequence", "text"]
