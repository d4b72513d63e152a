"""keras.layers: glassnet's layers under Keras's names."""

from glassnet.layers import *  # noqa: F401,F403
from glassnet.layers import __all__ as _all
from glassnet.layers import Input, InputLayer, Layer  # noqa: F401

__all__ = list(_all)
