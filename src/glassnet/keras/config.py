"""keras.config: the default float dtype (``floatx``/``set_floatx``), and
the fixed ``epsilon``, ``image_data_format`` and ``backend`` of glassnet."""

from glassnet.keras.backend import backend, epsilon, floatx, image_data_format, set_floatx

__all__ = ["floatx", "set_floatx", "epsilon", "image_data_format", "backend"]
