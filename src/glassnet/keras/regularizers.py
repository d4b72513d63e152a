"""keras.regularizers: L1, L2, L1L2 (and Keras's l1, l2, l1_l2)."""

from glassnet.regularizers import L1, L2, L1L2, Regularizer, get, serialize

l1, l2 = L1, L2


def l1_l2(l1=0.01, l2=0.01):
    return L1L2(l1=l1, l2=l2)


def deserialize(config):
    return get(config)


__all__ = ["Regularizer", "L1", "L2", "L1L2", "l1", "l2", "l1_l2", "get", "serialize",
           "deserialize"]
