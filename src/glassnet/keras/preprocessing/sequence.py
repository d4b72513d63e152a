"""keras.preprocessing.sequence: pad_sequences (also keras.utils.pad_sequences)."""

from glassnet.sequences import pad_sequences

__all__ = ["pad_sequences"]
