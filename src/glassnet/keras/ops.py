"""keras.ops is TensorFlow/JAX-level tensor math, which glassnet does not
offer (its layers compute in NumPy; write NumPy instead)."""


def __getattr__(name):
    raise AttributeError(f"keras.ops.{name}: glassnet does not implement keras.ops; its "
                         f"layers compute in NumPy (use numpy.{name} on arrays)")
