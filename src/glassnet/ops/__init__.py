"""The ops, under TensorFlow's names and Keras 3's.

``import glassnet as tf`` gives ``tf.reduce_sum``, ``tf.math.exp``,
``tf.nn.softmax``, ``tf.random.normal``, ``tf.linalg.matmul``;
``glassnet.keras.ops`` gives ``ops.sum``, ``ops.mean``, ``ops.concatenate``.
Every name is one function of ``math_ops``, ``array_ops``, ``nn_ops``,
``linalg_ops`` or ``random_ops``; the tables below only say which. A name that
is not there raises an AttributeError naming the nearest ones that are.
"""

from __future__ import annotations

import difflib
import importlib
import types

__all__ = ["Namespace", "TF", "MATH", "NN", "RANDOM", "LINALG", "KERAS_OPS", "KERAS_RANDOM"]

_M, _A, _N, _L, _R = ("glassnet.ops.math_ops", "glassnet.ops.array_ops", "glassnet.ops.nn_ops",
                      "glassnet.ops.linalg_ops", "glassnet.ops.random_ops")

_MATH_NAMES = [
    "add", "subtract", "multiply", "divide", "truediv", "floordiv", "floormod", "mod", "pow",
    "maximum", "minimum", "squared_difference", "negative", "abs", "sign", "square", "sqrt",
    "rsqrt", "reciprocal", "exp", "expm1", "log", "log1p", "sin", "cos", "tan", "tanh",
    "sigmoid", "softplus", "erf", "floor", "ceil", "round", "equal", "not_equal", "less",
    "less_equal", "greater", "greater_equal", "logical_and", "logical_or", "logical_xor",
    "logical_not", "is_nan", "is_inf", "is_finite", "clip_by_value", "cast", "saturate_cast",
    "reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod", "reduce_logsumexp",
    "reduce_variance", "reduce_std", "reduce_all", "reduce_any", "count_nonzero", "argmax",
    "argmin", "add_n", "cumsum", "matmul", "scalar_mul", "divide_no_nan", "multiply_no_nan"]
_ARRAY_NAMES = [
    "zeros", "ones", "fill", "zeros_like", "ones_like", "eye", "range", "linspace", "one_hot",
    "identity", "stop_gradient", "shape", "size", "rank", "reshape", "transpose", "expand_dims",
    "squeeze", "broadcast_to", "slice", "concat", "stack", "unstack", "split", "tile", "pad",
    "gather", "gather_nd", "boolean_mask", "reverse", "repeat"]

# tf.math.*: the math ops (TensorFlow keeps a few array ops there too)
MATH = {name: (_M, name) for name in _MATH_NAMES}
MATH.update({"softmax": (_N, "softmax"), "log_softmax": (_N, "log_softmax"),
             "l2_normalize": (_L, "l2_normalize"), "top_k": (_L, "top_k"),
             "confusion_matrix": (_L, "confusion_matrix"), "segment_sum": (_L, "segment_sum")})

NN = {"relu": (_N, "relu"), "softmax": (_N, "softmax"), "log_softmax": (_N, "log_softmax"),
      "sigmoid": (_M, "sigmoid"), "tanh": (_M, "tanh"), "softplus": (_M, "softplus"),
      "sigmoid_cross_entropy_with_logits": (_N, "sigmoid_cross_entropy_with_logits"),
      "softmax_cross_entropy_with_logits": (_N, "softmax_cross_entropy_with_logits"),
      "sparse_softmax_cross_entropy_with_logits":
          (_N, "sparse_softmax_cross_entropy_with_logits"),
      "dropout": (_N, "dropout"), "l2_normalize": (_L, "l2_normalize"),
      "elu": (_N, "elu"), "selu": (_N, "selu"), "gelu": (_N, "gelu"), "silu": (_N, "silu"),
      "swish": (_N, "silu"), "leaky_relu": (_N, "leaky_relu"), "relu6": (_N, "relu6"),
      "softsign": (_N, "softsign"), "conv2d": (_N, "conv2d"), "bias_add": (_N, "bias_add"),
      "moments": (_N, "moments"), "max_pool2d": (_N, "max_pool2d"),
      "avg_pool2d": (_N, "avg_pool2d"), "embedding_lookup": (_N, "embedding_lookup")}

RANDOM = {name: (_R, name) for name in (
    "normal", "uniform", "truncated_normal", "categorical", "shuffle", "set_seed")}

LINALG = {"matmul": (_M, "matmul"), "matrix_transpose": (_A, "matrix_transpose"),
          "l2_normalize": (_L, "l2_normalize"), "norm": (_L, "norm"), "einsum": (_L, "einsum"),
          "tensordot": (_L, "tensordot"), "inv": (_L, "inv"), "det": (_L, "det"),
          "trace": (_L, "trace"), "diag": (_L, "diag"), "diag_part": (_L, "diag_part"),
          "eye": (_A, "eye")}

# tf.*: the common ones at the top, as TensorFlow has them
TF = {name: (_A, name) for name in _ARRAY_NAMES}
TF.update({name: MATH[name] for name in (
    "add", "subtract", "multiply", "divide", "truediv", "pow", "maximum", "minimum", "square",
    "sqrt", "exp", "abs", "sign", "sin", "cos", "tanh", "sigmoid", "equal", "not_equal",
    "less", "less_equal", "greater", "greater_equal", "logical_and", "logical_or",
    "logical_not", "clip_by_value", "cast", "saturate_cast", "reduce_sum", "reduce_mean",
    "reduce_max", "reduce_min", "reduce_prod", "reduce_logsumexp", "reduce_all",
    "reduce_any", "argmax", "argmin", "add_n", "cumsum", "matmul", "negative", "round",
    "floor", "ceil", "log", "divide_no_nan", "math")
    if name in MATH})
TF.update({"einsum": (_L, "einsum"), "tensordot": (_L, "tensordot"), "norm": (_L, "norm"),
           "where": (_M, "where")})

KERAS_OPS = {
    # math
    "add": (_M, "add"), "subtract": (_M, "subtract"), "multiply": (_M, "multiply"),
    "divide": (_M, "divide"), "true_divide": (_M, "divide"), "power": (_M, "pow"),
    "maximum": (_M, "maximum"), "minimum": (_M, "minimum"), "negative": (_M, "negative"),
    "abs": (_M, "abs"), "absolute": (_M, "abs"), "sign": (_M, "sign"),
    "square": (_M, "square"), "sqrt": (_M, "sqrt"), "rsqrt": (_M, "rsqrt"),
    "reciprocal": (_M, "reciprocal"), "exp": (_M, "exp"), "expm1": (_M, "expm1"),
    "log": (_M, "log"), "log1p": (_M, "log1p"), "sin": (_M, "sin"), "cos": (_M, "cos"),
    "tan": (_M, "tan"), "tanh": (_M, "tanh"), "sigmoid": (_M, "sigmoid"),
    "softplus": (_M, "softplus"), "erf": (_M, "erf"), "floor": (_M, "floor"),
    "ceil": (_M, "ceil"), "round": (_M, "round"), "equal": (_M, "equal"),
    "not_equal": (_M, "not_equal"), "less": (_M, "less"), "less_equal": (_M, "less_equal"),
    "greater": (_M, "greater"), "greater_equal": (_M, "greater_equal"),
    "logical_and": (_M, "logical_and"), "logical_or": (_M, "logical_or"),
    "logical_xor": (_M, "logical_xor"), "logical_not": (_M, "logical_not"),
    "isnan": (_M, "is_nan"), "isinf": (_M, "is_inf"), "isfinite": (_M, "is_finite"),
    "clip": (_M, "clip_by_value"), "cast": (_M, "cast"), "where": (_M, "where"),
    "sum": (_K := "glassnet.ops.keras_ops", "sum"), "mean": (_K, "mean"), "max": (_K, "max"),
    "min": (_K, "min"), "prod": (_K, "prod"), "std": (_K, "std"), "var": (_K, "var"),
    "all": (_K, "all"), "any": (_K, "any"), "argmax": (_K, "argmax"),
    "argmin": (_K, "argmin"), "logsumexp": (_K, "logsumexp"), "cumsum": (_K, "cumsum"),
    "matmul": (_M, "matmul"), "dot": (_K, "dot"), "einsum": (_L, "einsum"),
    "tensordot": (_L, "tensordot"), "norm": (_L, "norm"), "trace": (_L, "trace"),
    # arrays
    "zeros": (_A, "zeros"), "ones": (_A, "ones"), "full": (_K, "full"),
    "zeros_like": (_A, "zeros_like"), "ones_like": (_A, "ones_like"),
    "full_like": (_K, "full_like"), "eye": (_A, "eye"), "identity": (_K, "identity"),
    "arange": (_K, "arange"), "linspace": (_A, "linspace"), "one_hot": (_K, "one_hot"),
    "shape": (_K, "shape"), "size": (_A, "size"), "ndim": (_K, "ndim"),
    "reshape": (_A, "reshape"), "transpose": (_K, "transpose"),
    "expand_dims": (_A, "expand_dims"), "squeeze": (_A, "squeeze"),
    "broadcast_to": (_A, "broadcast_to"), "concatenate": (_K, "concatenate"),
    "stack": (_A, "stack"), "split": (_K, "split"), "tile": (_K, "tile"), "pad": (_K, "pad"),
    "take": (_K, "take"), "take_along_axis": (_K, "take_along_axis"),
    "flip": (_A, "reverse"), "repeat": (_A, "repeat"), "flatten": (_K, "ravel"),
    "ravel": (_K, "ravel"), "stop_gradient": (_A, "stop_gradient"),
    "convert_to_tensor": ("glassnet.tensor", "convert_to_tensor"),
    "convert_to_numpy": (_A, "convert_to_numpy"), "slice": (_K, "slice"),
    # nn
    "relu": (_N, "relu"), "relu6": (_N, "relu6"), "elu": (_N, "elu"), "selu": (_N, "selu"),
    "gelu": (_N, "gelu"), "silu": (_N, "silu"), "swish": (_N, "silu"),
    "leaky_relu": (_N, "leaky_relu"), "softsign": (_N, "softsign"),
    "softmax": (_K, "softmax"), "log_softmax": (_K, "log_softmax"),
    "binary_crossentropy": (_K, "binary_crossentropy"),
    "categorical_crossentropy": (_K, "categorical_crossentropy"),
    "sparse_categorical_crossentropy": (_K, "sparse_categorical_crossentropy"),
    "conv": (_N, "conv"), "moments": (_N, "moments"),
}
# Keras's own signature or defaults where TensorFlow's differ (gelu approximates by
# default, trace over axes 0 and 1, zeros in float32, flip's axis, linspace's num=50)
KERAS_OPS.update({name: (_K, name) for name in (
    "gelu", "norm", "normalize", "trace", "zeros", "ones", "eye", "flip", "linspace")})

KERAS_RANDOM = {"normal": (_R, "normal"), "uniform": (_R, "uniform"),
                "truncated_normal": (_R, "truncated_normal"),
                "categorical": (_R, "categorical"), "shuffle": (_R, "shuffle"),
                "dropout": (_K, "random_dropout"), "SeedGenerator": (_R, "SeedGenerator"),
                "randint": (_K, "randint")}


class Namespace(types.ModuleType):
    """A module of op names (``tf.math``, ``keras.ops``): each name loads its
    function on first use; a missing one names the nearest that exist."""

    def __init__(self, name, table, extra=None, doc=None):
        super().__init__(name, doc)
        self._table = table
        self._extra = extra or {}

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        if attr in self._extra:
            value = self._extra[attr]
        elif attr in self._table:
            module, name = self._table[attr]
            value = getattr(importlib.import_module(module), name)
        else:
            raise AttributeError(missing(self.__name__, attr, self.__dir__()))
        setattr(self, attr, value)
        return value

    def __dir__(self):
        return sorted(set(self._table) | set(self._extra))


def missing(namespace, attr, names):
    """The message for a name glassnet does not have: the nearest that exist."""
    near = difflib.get_close_matches(attr, list(names), n=4, cutoff=0.6)
    if not near:
        near = sorted(n for n in names if attr.lower() in n.lower() or n.lower() in attr.lower()
                      and len(n) > 2)[:4]
    hint = f"; the nearest names that exist: {', '.join(near)}" if near else ""
    return f"module '{namespace}' has no attribute {attr!r} (glassnet does not implement " \
           f"it){hint}"


math = Namespace("glassnet.math", MATH, doc="tf.math: elementwise math and reductions.")
nn = Namespace("glassnet.nn", NN, doc="tf.nn: activations, softmax, cross-entropies, dropout.")
random = Namespace("glassnet.random", RANDOM, doc="tf.random: random tensors.")
linalg = Namespace("glassnet.linalg", LINALG, doc="tf.linalg: matrix operations.")
