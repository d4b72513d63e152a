"""keras.random: Keras 3's random ops (``random.normal``, ``random.uniform``,
``random.dropout``, ``random.SeedGenerator``...), over ``glassnet.ops.random_ops``."""

from glassnet.ops import KERAS_RANDOM, Namespace

_namespace = Namespace(__name__, KERAS_RANDOM, doc=__doc__)


def __getattr__(name):
    return getattr(_namespace, name)


def __dir__():
    return _namespace.__dir__()
