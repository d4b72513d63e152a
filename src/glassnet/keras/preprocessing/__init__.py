"""keras.preprocessing: ``sequence.pad_sequences`` and Keras 2's
``text.Tokenizer`` (glassnet has no image pipelines here yet)."""

from glassnet.keras.preprocessing import sequence, text

__all__ = ["sequence", "text"]
