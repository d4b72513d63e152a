"""keras.ops: Keras 3's op namespace (``ops.sum``, ``ops.matmul``,
``ops.softmax``...), over glassnet's ops (``glassnet.ops``), so a tape
differentiates them. A name glassnet lacks raises an AttributeError naming
the nearest ones it has."""

from glassnet.ops import KERAS_OPS, Namespace

_namespace = Namespace(__name__, KERAS_OPS, doc=__doc__)


def __getattr__(name):
    return getattr(_namespace, name)


def __dir__():
    return _namespace.__dir__()
