"""keras.callbacks: glassnet's callbacks under Keras's names."""

from glassnet.callbacks import *  # noqa: F401,F403
from glassnet.callbacks import __all__ as _all

__all__ = [name for name in _all if name != "CallbackList"] + ["CallbackList"]
