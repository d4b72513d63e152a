"""keras.preprocessing (glassnet has none of its image or text pipelines yet)."""

__all__ = []
