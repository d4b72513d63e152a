"""keras.preprocessing: ``sequence.pad_sequences`` (glassnet has no image or
text pipelines here yet)."""

from glassnet.keras.preprocessing import sequence

__all__ = ["sequence"]
