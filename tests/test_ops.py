"""The ops (tf.*, tf.math, tf.nn, tf.linalg, keras.ops): gradients checked
against central differences in float64, second derivatives through nested
tapes, values and gradients against PyTorch, and Keras's semantics.

A new differentiable op is one line in CASES; ``test_every_op_is_checked``
fails until it has one (or is listed as not differentiable)."""

from __future__ import annotations

import importlib
import math
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import glassnet as tf
from glassnet import ops as op_tables
from glassnet.keras import ops as kops
from glassnet.keras import random as krandom

# ---------------------------------------------------------------- the gradient check

DOMAINS = {
    "normal": lambda rng, s: rng.normal(size=s),
    "pos": lambda rng, s: rng.uniform(0.5, 2.0, size=s),
    # away from the kinks of abs, relu, elu, leaky_relu at 0
    "away": lambda rng, s: rng.uniform(0.2, 2.0, size=s) * rng.choice([-1.0, 1.0], size=s),
    "unit": lambda rng, s: rng.uniform(-1.0, 1.0, size=s),
    "prob": lambda rng, s: rng.uniform(0.05, 0.95, size=s),
    "relu6": lambda rng, s: rng.uniform(-2.0, 8.0, size=s),
    # well-conditioned square matrices (inv, det)
    "matrix": lambda rng, s: rng.normal(size=s) + 3 * np.eye(s[-1]),
}


def _seed(text):
    return zlib.crc32(text.encode())


def _inputs(shapes, doms, seed):
    rng = np.random.default_rng(seed)
    return [np.asarray(DOMAINS[d](rng, s), dtype=np.float64) for s, d in zip(shapes, doms)]


def _flat(out):
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in _flat(o)]
    return [out]


def _float_outputs(out):
    return [o for o in _flat(out) if np.dtype(o.dtype).kind == "f"]


def _resolve(path):
    """'tf.add', 'math.exp', 'nn.relu', 'linalg.inv', 'keras.sum', 'krandom.dropout'."""
    space, name = path.split(".", 1)
    root = {"tf": tf, "math": tf.math, "nn": tf.nn, "linalg": tf.linalg, "keras": kops,
            "krandom": krandom}[space]
    return getattr(root, name)


def numeric_gradient(value, arrays, i, h=1e-6):
    """∂value/∂arrays[i] by central differences."""
    xs = [a.copy() for a in arrays]
    grad = np.zeros_like(xs[i])
    for index in np.ndindex(xs[i].shape):
        old = xs[i][index]
        xs[i][index] = old + h
        up = value(*xs)
        xs[i][index] = old - h
        down = value(*xs)
        xs[i][index] = old
        grad[index] = (up - down) / (2 * h)
    return grad


def relative_error(got, want):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    return float(np.max(np.abs(got - want), initial=0) / max(np.max(np.abs(want), initial=0),
                                                             1e-8))


def check_gradient(fn, arrays, seed=0, tol=1e-6):
    """The tape's gradient of Σ w · fn(x) (random fixed w) against central
    differences, for every input."""
    rng = np.random.default_rng(seed)
    outs = _float_outputs(fn(*[tf.constant(a) for a in arrays]))
    assert outs, "the op has no float output"
    weights = [rng.normal(size=tuple(o.shape)) for o in outs]

    def value(*xs):
        ys = _float_outputs(fn(*[tf.constant(a) for a in xs]))
        return sum(float(np.sum(y.numpy() * w)) for y, w in zip(ys, weights))

    xs = [tf.constant(a) for a in arrays]
    with tf.GradientTape() as tape:
        for x in xs:
            tape.watch(x)
        ys = _float_outputs(fn(*xs))
        loss = tf.add_n([tf.reduce_sum(y * w) for y, w in zip(ys, weights)])
    grads = tape.gradient(loss, xs)
    for i, (a, g) in enumerate(zip(arrays, grads)):
        assert g is not None, f"input {i}: no gradient"
        assert tuple(g.shape) == a.shape, f"input {i}: gradient shape {g.shape} != {a.shape}"
        assert g.dtype == np.float64
        err = relative_error(g.numpy(), numeric_gradient(value, arrays, i))
        assert err < tol, f"input {i}: relative error {err:.2e}"


def case(path, *shapes, dom="normal", call=None, id=None, **kwargs):
    """One gradient check: the function at ``path`` on inputs of ``shapes``
    (each drawn from ``dom``, or one domain per input); ``call(f, *xs)``
    when the inputs do not go straight in; ``kwargs`` passed along."""
    doms = (dom,) * len(shapes) if isinstance(dom, str) else tuple(dom)
    return pytest.param(path, call, kwargs, shapes, doms, id=id or path)


def _take(f, x, *args, **kwargs):
    return f(x, *args, **kwargs)


CONST_MASK = np.array([[True, False, True], [False, False, True]])
SEGMENTS = np.array([0, 0, 1, 3])
CLASS_IDS = np.array([2, 0, 3])
KERAS_IDS = np.array([[1], [0], [3]])
LABEL_PROBS = np.array([[0.2, 0.3, 0.5, 0.0], [0.1, 0.1, 0.4, 0.4], [1.0, 0.0, 0.0, 0.0]])
BCE_TARGETS = np.array([[0.0, 1.0, 0.3], [1.0, 0.0, 0.8]])

CASES = [
    # ---- binary math, with broadcasting
    case("math.add", (2, 3), (3,), id="add (2,3)+(3,)"),
    case("tf.add", (4, 1), (1, 5), id="add (4,1)+(1,5)"),
    case("math.subtract", (2, 3), (2, 1)),
    case("math.multiply", (4, 1), (1, 5), id="multiply (4,1)*(1,5)"),
    case("tf.multiply", (2, 3), (3,), id="multiply (2,3)*(3,)"),
    case("math.divide", (2, 3), (3,), dom=("normal", "pos")),
    case("math.pow", (2, 3), (3,), dom=("pos", "normal")),
    case("math.maximum", (2, 3), (3,)),
    case("math.minimum", (2, 3), (2, 1)),
    case("math.squared_difference", (2, 3), (3,)),
    case("math.scalar_mul", (2, 3), call=lambda f, x: f(2.5, x)),
    case("math.divide_no_nan", (2, 3), (3,), dom=("normal", "pos")),
    case("math.multiply_no_nan", (2, 3), (3,)),
    case("math.add_n", (2, 3), (2, 3), (2, 3), call=lambda f, *xs: f(list(xs))),
    case("tf.where", (2, 3), (2, 3), call=lambda f, a, b: f(CONST_MASK, a, b)),
    case("math.clip_by_value", (3, 4), call=lambda f, x: f(x, -0.5, 0.5)),
    # ---- unary math
    case("math.negative", (2, 3)),
    case("math.abs", (2, 3), dom="away"),
    case("math.square", (2, 3)),
    case("math.sqrt", (2, 3), dom="pos"),
    case("math.rsqrt", (2, 3), dom="pos"),
    case("math.reciprocal", (2, 3), dom="pos"),
    case("math.exp", (2, 3)),
    case("math.expm1", (2, 3)),
    case("math.log", (2, 3), dom="pos"),
    case("math.log1p", (2, 3), dom="pos"),
    case("math.sin", (2, 3)),
    case("math.cos", (2, 3)),
    case("math.tan", (2, 3), dom="unit"),
    case("math.tanh", (2, 3)),
    case("math.sigmoid", (2, 3)),
    case("math.softplus", (2, 3)),
    case("math.erf", (2, 3)),
    # ---- reductions
    case("math.reduce_sum", (2, 3, 4), axis=1),
    case("math.reduce_mean", (2, 3, 4), axis=(0, 2), keepdims=True),
    case("math.reduce_max", (3, 4), axis=-1),
    case("math.reduce_min", (3, 4)),
    case("math.reduce_prod", (3, 4), dom="away", axis=0),
    case("math.reduce_logsumexp", (3, 4), axis=1),
    case("math.reduce_variance", (3, 4), axis=0),
    case("math.reduce_std", (3, 4), axis=1, keepdims=True),
    case("math.cumsum", (3, 4), axis=1),
    case("math.cumsum", (3, 4), axis=0, reverse=True, id="cumsum reverse"),
    case("math.matmul", (2, 3), (3, 4)),
    case("linalg.matmul", (2, 2, 3), (3, 4), id="matmul batched, broadcast"),
    case("tf.matmul", (3,), (3, 4), id="matmul vector @ matrix"),
    case("tf.matmul", (4, 3), (5, 3), transpose_b=True, id="matmul transpose_b"),
    # ---- moving elements
    case("tf.identity", (2, 3)),
    case("tf.reshape", (2, 6), call=lambda f, x: f(x, (3, 4))),
    case("tf.transpose", (2, 3, 4), perm=(2, 0, 1)),
    case("linalg.matrix_transpose", (2, 3, 4)),
    case("tf.expand_dims", (2, 3), axis=1),
    case("tf.squeeze", (2, 1, 3), axis=1),
    case("tf.broadcast_to", (3,), call=lambda f, x: f(x, (2, 3))),
    case("tf.slice", (4, 5), call=lambda f, x: f(x, [1, 0], [2, -1])),
    case("tf.concat", (2, 3), (2, 2), call=lambda f, a, b: f([a, b], axis=1)),
    case("tf.stack", (2, 3), (2, 3), call=lambda f, a, b: f([a, b], axis=1)),
    case("tf.unstack", (3, 2), axis=1),
    case("tf.split", (6, 2), call=lambda f, x: f(x, [1, 3, 2])),
    case("tf.tile", (2, 3), call=lambda f, x: f(x, [2, 3])),
    case("tf.pad", (2, 3), call=lambda f, x: f(x, [[1, 0], [2, 1]])),
    case("tf.gather", (4, 3), call=lambda f, x: f(x, np.array([3, 0, 3]))),
    case("tf.gather", (3, 4), call=lambda f, x: f(x, np.array([1, 1]), axis=1),
         id="gather axis=1"),
    case("tf.gather_nd", (3, 4), call=lambda f, x: f(x, np.array([[0, 1], [2, 3], [0, 1]]))),
    case("tf.boolean_mask", (2, 3), call=lambda f, x: f(x, CONST_MASK)),
    case("tf.reverse", (2, 3), axis=[1]),
    case("tf.repeat", (2, 3), call=lambda f, x: f(x, 2, axis=0)),
    case("tf.identity", (3, 4), call=lambda f, x: x[1:, ::2] * 2.0, id="tensor[1:, ::2]"),
    # ---- nn
    case("nn.relu", (3, 4), dom="away"),
    case("nn.softmax", (3, 4)),
    case("math.softmax", (3, 4), axis=0, id="softmax axis=0"),
    case("nn.log_softmax", (3, 4)),
    case("math.log_softmax", (3, 4), axis=0, id="log_softmax axis=0"),
    case("nn.sigmoid_cross_entropy_with_logits", (2, 3), (2, 3), dom=("prob", "normal"),
         call=lambda f, y, z: f(labels=y, logits=z)),
    case("nn.softmax_cross_entropy_with_logits", (3, 4), (3, 4), dom=("prob", "normal"),
         call=lambda f, y, z: f(labels=y, logits=z)),
    case("nn.sparse_softmax_cross_entropy_with_logits", (3, 4),
         call=lambda f, z: f(labels=CLASS_IDS, logits=z)),
    case("nn.dropout", (4, 5), call=lambda f, x: f(x, 0.4, seed=3)),
    case("nn.l2_normalize", (3, 4), axis=1),
    case("math.l2_normalize", (3, 4), id="l2_normalize all axes"),
    case("nn.elu", (3, 4), dom="away"),
    case("nn.selu", (3, 4), dom="away"),
    case("nn.gelu", (3, 4)),
    case("nn.gelu", (3, 4), approximate=True, id="gelu approximate"),
    case("nn.silu", (3, 4)),
    case("nn.swish", (3, 4), beta=1.7, id="swish beta"),
    case("nn.leaky_relu", (3, 4), dom="away"),
    case("nn.relu6", (3, 4), dom="relu6"),
    case("nn.softsign", (3, 4)),
    case("nn.bias_add", (2, 3, 4), (4,)),
    case("nn.bias_add", (2, 4, 3), (4,), data_format="NCW", id="bias_add channels first"),
    case("nn.moments", (3, 4, 2), axes=[0, 2]),
    case("nn.embedding_lookup", (5, 3), call=lambda f, p: f(p, np.array([[4, 0], [4, 2]]))),
    case("nn.conv2d", (2, 5, 5, 3), (3, 3, 3, 4), strides=1, padding="SAME",
         id="conv2d SAME"),
    case("nn.conv2d", (2, 6, 7, 2), (2, 3, 2, 3), strides=2, padding="SAME",
         id="conv2d SAME stride 2, even kernel"),
    case("nn.conv2d", (1, 7, 6, 2), (3, 2, 2, 3), strides=[1, 2, 1, 1], padding="VALID",
         id="conv2d VALID strides (2,1)"),
    case("nn.conv2d", (1, 7, 7, 2), (3, 3, 2, 2), strides=1, padding="VALID", dilations=2,
         id="conv2d dilated"),
    case("nn.conv2d", (1, 2, 5, 5), (3, 3, 2, 2), strides=1, padding="SAME",
         data_format="NCHW", id="conv2d NCHW"),
    case("nn.max_pool2d", (2, 5, 5, 2), ksize=2, strides=2, padding="SAME",
         id="max_pool2d SAME"),
    case("nn.max_pool2d", (1, 6, 5, 2), ksize=3, strides=1, padding="VALID",
         id="max_pool2d VALID overlapping"),
    case("nn.avg_pool2d", (2, 5, 5, 2), ksize=2, strides=2, padding="SAME",
         id="avg_pool2d SAME"),
    case("nn.avg_pool2d", (1, 5, 6, 2), ksize=[2, 3], strides=1, padding="VALID",
         id="avg_pool2d VALID"),
    # ---- linalg
    case("linalg.norm", (3, 4), dom="away", id="norm euclidean"),
    case("tf.norm", (3, 4), dom="away", ord=1, axis=1, id="norm ord=1 axis=1"),
    case("tf.norm", (3, 4), dom="away", ord=np.inf, axis=0, keepdims=True, id="norm inf"),
    case("tf.norm", (3, 4), dom="away", ord=3, axis=1, id="norm ord=3"),
    case("tf.norm", (2, 3, 4), ord="fro", axis=(1, 2), id="norm fro"),
    case("tf.norm", (3, 4), dom="away", ord=1, axis=(0, 1), id="norm matrix 1"),
    case("tf.norm", (3, 4), dom="away", ord=np.inf, axis=(0, 1), id="norm matrix inf"),
    case("tf.norm", (2, 3, 4), ord=2, axis=(2, 1), id="norm spectral"),
    case("linalg.einsum", (2, 3), (3, 4), call=lambda f, a, b: f("ij,jk->ik", a, b)),
    case("tf.einsum", (2, 2, 3), (2, 3, 4), call=lambda f, a, b: f("bij,bjk->bik", a, b),
         id="einsum batched"),
    case("tf.einsum", (2, 3), call=lambda f, a: f("ij->ji", a), id="einsum transpose"),
    case("tf.einsum", (2, 3), call=lambda f, a: f("ij->", a), id="einsum sum"),
    case("tf.einsum", (3,), (4,), call=lambda f, a, b: f("i,j->ij", a, b), id="einsum outer"),
    case("tf.einsum", (2, 3, 4), (4,), call=lambda f, a, b: f("ijk,k->i", a, b),
         id="einsum index only in one operand"),
    case("tf.einsum", (2, 3), (2, 3), call=lambda f, a, b: f("ij,ij", a, b),
         id="einsum implicit output"),
    case("tf.einsum", (5, 2, 3), (3, 4), call=lambda f, a, b: f("...ij,jk->...ik", a, b),
         id="einsum ellipsis"),
    case("tf.einsum", (1, 3), (2, 3), call=lambda f, a, b: f("ij,ij->ij", a, b),
         id="einsum size-1 broadcast"),
    case("tf.tensordot", (2, 3, 4), (4, 5), axes=1),
    case("linalg.tensordot", (2, 3, 4), (3, 2, 5), axes=([1, 0], [0, 1]),
         id="tensordot axes lists"),
    case("linalg.inv", (2, 3, 3), dom="matrix"),
    case("linalg.det", (2, 3, 3), dom="matrix"),
    case("linalg.trace", (2, 3, 3)),
    case("linalg.diag", (2, 3)),
    case("linalg.diag_part", (2, 3, 4)),
    case("math.top_k", (3, 5), call=lambda f, x: f(x, k=2).values),
    case("math.segment_sum", (4, 2), call=lambda f, x: f(x, SEGMENTS)),
    # ---- keras.ops
    case("keras.sum", (2, 3, 4), axis=(0, 2)),
    case("keras.mean", (2, 3), axis=-1, keepdims=True),
    case("keras.max", (2, 3)),
    case("keras.min", (2, 3), axis=0),
    case("keras.prod", (2, 3), dom="away", axis=1),
    case("keras.std", (2, 3), axis=1),
    case("keras.var", (2, 3)),
    case("keras.logsumexp", (2, 3), axis=0),
    case("keras.cumsum", (2, 3)),
    case("keras.dot", (2, 3), (3, 4), id="dot matrix"),
    case("keras.dot", (2, 3, 4), (4,), id="dot N-D and vector"),
    case("keras.dot", (2, 3), (4, 3, 5), id="dot N-D and M-D"),
    case("keras.dot", (), (2, 3), id="dot scalar"),
    case("keras.transpose", (2, 3, 4), axes=[1, 2, 0]),
    case("keras.concatenate", (2, 3), (1, 3), call=lambda f, a, b: f([a, b])),
    case("keras.split", (5, 2), call=lambda f, x: f(x, [1, 3])),
    case("keras.split", (5, 2), call=lambda f, x: f(x, [3, 1]), id="split overlapping"),
    case("keras.tile", (2, 3), call=lambda f, x: f(x, 2)),
    case("keras.pad", (2, 3), call=lambda f, x: f(x, ((1, 0), (0, 2)))),
    case("keras.take", (3, 4), call=lambda f, x: f(x, np.array([[0, -1], [5, 5]]))),
    case("keras.take_along_axis", (3, 4),
         call=lambda f, x: f(x, np.array([[0, 3], [1, 1], [2, 0]]), axis=1)),
    case("keras.ravel", (2, 3)),
    case("keras.flatten", (2, 3)),
    case("keras.slice", (3, 4), call=lambda f, x: f(x, (1, 1), (2, 2))),
    case("keras.softmax", (2, 3, 4), axis=(0, 2), id="keras.softmax two axes"),
    case("keras.log_softmax", (2, 3)),
    case("keras.binary_crossentropy", (2, 3), call=lambda f, z: f(BCE_TARGETS, z,
                                                                    from_logits=True)),
    case("keras.binary_crossentropy", (2, 3), (2, 3), dom=("prob", "prob"),
         id="binary_crossentropy probabilities"),
    case("keras.categorical_crossentropy", (3, 4), (3, 4), dom=("prob", "normal"),
         from_logits=True),
    case("keras.categorical_crossentropy", (3, 4), (3, 4), dom=("prob", "prob"),
         id="categorical_crossentropy probabilities"),
    case("keras.sparse_categorical_crossentropy", (3, 4),
         call=lambda f, z: f(KERAS_IDS, z, from_logits=True)),
    case("keras.sparse_categorical_crossentropy", (3, 4), dom="prob",
         call=lambda f, z: f(CLASS_IDS, z), id="sparse_categorical_crossentropy probabilities"),
    case("krandom.dropout", (4, 5), call=lambda f, x: f(x, 0.5, noise_shape=(None, 1), seed=7)),
    case("keras.conv", (2, 7, 3), (3, 3, 2), padding="same", id="keras.conv 1-D same"),
    case("keras.conv", (1, 2, 6, 5), (3, 2, 2, 3), strides=2, data_format="channels_first",
         id="keras.conv 2-D channels_first"),
    case("keras.moments", (3, 4), call=lambda f, x: f(x, [0], True)),
    case("keras.norm", (3, 4), dom="away", ord=1, id="keras.norm of a matrix, ord=1"),
    case("keras.normalize", (3, 4)),
    case("keras.normalize", (3, 4), dom="away", order=1, axis=0, id="normalize order 1"),
    case("keras.trace", (3, 3, 2), offset=1, axis1=0, axis2=1),
    case("keras.gelu", (3, 4)),
    case("keras.flip", (2, 3)),
    case("keras.eye", (), call=lambda f, x: f(3) * x, id="keras.eye times x"),
]


def _fn(path, call, kwargs):
    f = _resolve(path)
    if call is None:
        return lambda *xs: f(*xs, **kwargs)
    return lambda *xs: call(f, *xs)


@pytest.mark.parametrize("path, call, kwargs, shapes, doms", CASES)
def test_gradient_matches_central_differences(path, call, kwargs, shapes, doms, request):
    name = request.node.callspec.id
    check_gradient(_fn(path, call, kwargs), _inputs(shapes, doms, _seed(name)), _seed(name) + 1)


# names that carry no gradient (integers, booleans, piecewise constants, new tensors),
# or whose gradient is checked by its own test below
NOT_DIFFERENTIABLE = {
    "math_ops": {"floordiv", "floormod", "sign", "floor", "ceil", "round", "equal", "not_equal",
                 "less", "less_equal", "greater", "greater_equal", "logical_and", "logical_or",
                 "logical_xor", "logical_not", "is_nan", "is_inf", "is_finite", "reduce_all",
                 "reduce_any", "count_nonzero", "argmax", "argmin", "cast", "saturate_cast"},
    "array_ops": {"zeros", "ones", "fill", "zeros_like", "ones_like", "eye", "range",
                  "linspace", "one_hot", "shape", "size", "rank", "stop_gradient",
                  "convert_to_numpy"},
    "linalg_ops": {"confusion_matrix"},
    "keras_ops": {"all", "any", "argmax", "argmin", "full", "full_like", "identity", "arange",
                  "one_hot", "shape", "ndim", "randint", "zeros", "ones", "linspace"},
    "tensor": {"convert_to_tensor"},
}


def _table_functions():
    for table in ("TF", "MATH", "NN", "LINALG", "KERAS_OPS"):
        for name, (module, attr) in getattr(op_tables, table).items():
            yield table, name, module, attr
    for name in dir(kops):
        yield "keras.ops", name, None, None


def test_every_op_is_checked():
    """Every differentiable function reachable from the tables has a case above."""
    covered = {id(_resolve(param.values[0])) for param in CASES}
    missing = []
    for table, name, module, attr in _table_functions():
        if table == "TF" and name == "math":
            continue
        f = getattr(kops, name) if module is None else \
            getattr(importlib.import_module(module), attr)
        short = getattr(f, "__module__", "").rsplit(".", 1)[-1]
        if id(f) in covered or f.__name__ in NOT_DIFFERENTIABLE.get(short, ()):
            continue
        missing.append(f"{table}.{name} ({short}.{f.__name__})")
    assert not missing, f"no gradient check for: {', '.join(sorted(set(missing)))}"


def test_cast_and_stop_gradient_gradients():
    x = tf.constant(np.array([1.5, -2.0]))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = tf.cast(tf.cast(x, "float32") * 3.0, "float64")
        z = tf.stop_gradient(x) * x
        n = tf.cast(x, "int32")
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [3.0, 3.0])
    np.testing.assert_array_equal(tape.gradient(z, x).numpy(), [1.5, -2.0])
    with pytest.warns(UserWarning, match="target tensor must be floating"):
        assert tape.gradient(n, x) is None


# ---------------------------------------------------------------- second derivatives


def _second(f, x_value):
    """(f'(x), f''(x)) elementwise for an elementwise f, with nested tapes."""
    x = tf.constant(np.asarray(x_value, dtype=np.float64))
    with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            y = f(x)
        dy = inner.gradient(y, x)
    return dy.numpy(), outer.gradient(dy, x).numpy()


@pytest.mark.parametrize("f, d1, d2", [
    (tf.tanh, lambda x: 1 - np.tanh(x) ** 2, lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2)),
    (tf.sin, np.cos, lambda x: -np.sin(x)),
    (lambda x: x * x * x, lambda x: 3 * x ** 2, lambda x: 6 * x),
    (lambda x: tf.pow(x, 3.0), lambda x: 3 * x ** 2, lambda x: 6 * x),
    (tf.sigmoid, lambda x: 1 / (4 * np.cosh(x / 2) ** 2),
     lambda x: -np.tanh(x / 2) / (4 * np.cosh(x / 2) ** 2)),
    (lambda x: tf.math.log1p(x + 1.5), lambda x: 1 / (2.5 + x), lambda x: -1 / (2.5 + x) ** 2),
    (tf.nn.elu, lambda x: np.where(x > 0, 1, np.exp(x)), lambda x: np.where(x > 0, 0,
                                                                            np.exp(x))),
], ids=["tanh", "sin", "x³", "pow 3", "sigmoid", "log1p", "elu"])
def test_second_derivative_analytic(f, d1, d2):
    x = np.array([-1.3, -0.4, 0.3, 0.9, 2.0])
    first, second = _second(f, x)
    np.testing.assert_allclose(first, d1(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(second, d2(x), rtol=1e-10, atol=1e-12)


def test_second_derivative_gelu_exact():
    # gelu(x) = x Φ(x): gelu'' = 2φ(x) - x² φ(x), φ the normal density
    x = np.array([-2.0, -0.5, 0.1, 1.7])
    phi = np.exp(-x * x / 2) / np.sqrt(2 * np.pi)
    _, second = _second(tf.nn.gelu, x)
    np.testing.assert_allclose(second, 2 * phi - x * x * phi, rtol=1e-10)


def test_softmax_cross_entropy_hessian():
    """∂²CE/∂z² = diag(p) - p pᵀ for each example: the Hessian times v."""
    rng = np.random.default_rng(5)
    z_value, v = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    labels = np.eye(4)[[1, 3, 0]]
    for ce in (lambda z: tf.nn.softmax_cross_entropy_with_logits(labels, z),
               lambda z: tf.nn.sparse_softmax_cross_entropy_with_logits(np.array([1, 3, 0]), z),
               lambda z: kops.categorical_crossentropy(labels, z, from_logits=True)):
        z = tf.constant(z_value)
        with tf.GradientTape() as outer:
            outer.watch(z)
            with tf.GradientTape() as inner:
                inner.watch(z)
                loss = tf.reduce_sum(ce(z))
            g = inner.gradient(loss, z)
            gv = tf.reduce_sum(g * v)
        hv = outer.gradient(gv, z).numpy()
        p = np.exp(z_value) / np.exp(z_value).sum(axis=1, keepdims=True)
        np.testing.assert_allclose(g.numpy(), p - labels, rtol=1e-12, atol=1e-14)
        want = p * v - p * np.sum(p * v, axis=1, keepdims=True)
        np.testing.assert_allclose(hv, want, rtol=1e-10, atol=1e-14)


def _hessian_vector_check(fn, arrays, seed=0, tol=1e-6):
    """For L = Σ w·fn(x): the nested tapes' ∂/∂xⱼ (Σᵢ vᵢ · ∂L/∂xᵢ) against
    central differences of the first derivative."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=tuple(fn(*[tf.constant(a) for a in arrays]).shape))
    vs = [rng.normal(size=a.shape) for a in arrays]

    def first(*values):
        xs = [tf.constant(a) for a in values]
        with tf.GradientTape() as tape:
            for x in xs:
                tape.watch(x)
            loss = tf.reduce_sum(fn(*xs) * w)
        return tape.gradient(loss, xs)

    def directional(*values):
        return sum(float(np.sum(g.numpy() * v)) for g, v in zip(first(*values), vs))

    xs = [tf.constant(a) for a in arrays]
    with tf.GradientTape() as outer:
        for x in xs:
            outer.watch(x)
        with tf.GradientTape() as inner:
            for x in xs:
                inner.watch(x)
            loss = tf.reduce_sum(fn(*xs) * w)
        gs = inner.gradient(loss, xs)
        s = tf.add_n([tf.reduce_sum(g * v) for g, v in zip(gs, vs)])
    hvs = outer.gradient(s, xs, unconnected_gradients="zero")
    for i, (a, hv) in enumerate(zip(arrays, hvs)):
        err = relative_error(hv.numpy(), numeric_gradient(directional, arrays, i, h=1e-5))
        assert err < tol, f"input {i}: relative error {err:.2e}"


@pytest.mark.parametrize("fn, shapes, dom", [
    (lambda x, w: tf.square(tf.nn.conv2d(x, w, 2, "SAME")), [(1, 5, 5, 2), (3, 3, 2, 2)],
     "normal"),
    (lambda x, w: tf.nn.conv2d(x, w, 1, "VALID", dilations=2) ** 3.0,
     [(1, 6, 6, 1), (2, 2, 1, 2)], "normal"),
    (lambda x: tf.square(tf.nn.max_pool2d(x, 2, 2, "SAME")), [(1, 5, 5, 2)], "normal"),
    (lambda x: tf.square(tf.nn.avg_pool2d(x, 3, 2, "SAME")), [(1, 5, 5, 2)], "normal"),
    (lambda a, b: tf.sin(tf.einsum("ij,jk->ik", a, b)), [(2, 3), (3, 2)], "normal"),
    (lambda a: tf.linalg.inv(a), [(3, 3)], "matrix"),
    (lambda a: tf.linalg.det(a), [(3, 3)], "matrix"),
    (lambda x: tf.norm(x, axis=1), [(3, 4)], "away"),
    (lambda x: tf.nn.gelu(x, approximate=True), [(2, 3)], "normal"),
    (lambda x: tf.nn.l2_normalize(x, axis=0), [(3, 2)], "normal"),
    (lambda x: tf.nn.log_softmax(x), [(2, 4)], "normal"),
    (lambda x: tf.square(tf.linalg.diag_part(x)), [(3, 3)], "normal"),
    (lambda x: tf.square(kops.take_along_axis(x, np.array([[1, 0], [2, 2]]), axis=1)),
     [(2, 3)], "normal"),
], ids=["conv2d SAME", "conv2d dilated", "max_pool2d", "avg_pool2d", "einsum", "inv", "det",
        "norm", "gelu tanh", "l2_normalize", "log_softmax", "diag_part", "take_along_axis"])
def test_second_derivative_matches_differences_of_the_first(fn, shapes, dom):
    arrays = _inputs(shapes, (dom,) * len(shapes), 11)
    _hessian_vector_check(fn, arrays, seed=12)


def test_spectral_norm_second_derivative_raises():
    x = tf.constant(np.random.default_rng(0).normal(size=(3, 3)))
    with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            y = tf.norm(x, ord=2, axis=(0, 1))
        g = inner.gradient(y, x)
    with pytest.raises(NotImplementedError, match="norm"):
        outer.gradient(g, x)


# ---------------------------------------------------------------- PyTorch parity



def _torch():
    return pytest.importorskip("torch")


def _both(fn_tf, fn_torch, arrays, seed=0, rtol=1e-10, atol=1e-12):
    """Forward values and gradients (of Σ w · f) of glassnet and PyTorch, in float64."""
    torch = _torch()
    xs = [tf.constant(a) for a in arrays]
    with tf.GradientTape() as tape:
        for x in xs:
            tape.watch(x)
        y = fn_tf(*xs)
        w = np.random.default_rng(seed).normal(size=tuple(y.shape))
        loss = tf.reduce_sum(y * w)
    grads = tape.gradient(loss, xs)
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    ty = fn_torch(*ts)
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=rtol, atol=atol)
    for g, t in zip(grads, ts):
        np.testing.assert_allclose(g.numpy(), t.grad.numpy(), rtol=rtol, atol=atol)


def _arrays(*shapes, seed=0, dom="normal"):
    return _inputs(shapes, (dom,) * len(shapes), seed)


def test_torch_matmul_and_einsum():
    torch = _torch()
    _both(tf.matmul, torch.matmul, _arrays((2, 3, 4), (4, 5)))
    _both(lambda a, b: tf.einsum("bij,bkj->bik", a, b),
          lambda a, b: torch.einsum("bij,bkj->bik", a, b), _arrays((2, 3, 4), (2, 5, 4)))
    _both(lambda a, b: kops.einsum("...i,...i->...", a, b),
          lambda a, b: torch.einsum("...i,...i->...", a, b), _arrays((3, 2, 4), (2, 4)))


@pytest.mark.parametrize("axis", [-1, 0])
def test_torch_softmax_log_softmax(axis):
    torch = _torch()
    _both(lambda x: tf.nn.softmax(x, axis=axis), lambda x: torch.softmax(x, dim=axis),
          _arrays((3, 5)))
    _both(lambda x: tf.nn.log_softmax(x, axis=axis), lambda x: torch.log_softmax(x, dim=axis),
          _arrays((3, 5)))
    _both(lambda x: kops.log_softmax(x, axis=axis), lambda x: torch.log_softmax(x, dim=axis),
          _arrays((3, 5)))


def test_torch_cross_entropies():
    torch = _torch()
    functional = torch.nn.functional
    labels = np.array([2, 0, 4])
    probs = _arrays((3, 5), seed=1, dom="prob")[0]
    probs /= probs.sum(axis=1, keepdims=True)
    _both(lambda z: tf.nn.softmax_cross_entropy_with_logits(probs, z),
          lambda z: functional.cross_entropy(z, torch.tensor(probs), reduction="none"),
          _arrays((3, 5)))
    _both(lambda z: tf.nn.sparse_softmax_cross_entropy_with_logits(labels, z),
          lambda z: functional.cross_entropy(z, torch.tensor(labels), reduction="none"),
          _arrays((3, 5)))
    _both(lambda z: kops.sparse_categorical_crossentropy(labels, z, from_logits=True),
          lambda z: functional.cross_entropy(z, torch.tensor(labels), reduction="none"),
          _arrays((3, 5)))
    targets = _arrays((3, 5), seed=2, dom="prob")[0]
    _both(lambda z: tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=z * 4),
          lambda z: functional.binary_cross_entropy_with_logits(z * 4, torch.tensor(targets),
                                                                reduction="none"),
          _arrays((3, 5)))
    _both(lambda p: kops.binary_crossentropy(targets, p),
          lambda p: functional.binary_cross_entropy(p, torch.tensor(targets), reduction="none"),
          _arrays((3, 5), dom="prob"))
    _both(lambda p: kops.categorical_crossentropy(probs, p),
          lambda p: -(torch.tensor(probs) * torch.log(p / p.sum(1, keepdim=True))).sum(1),
          _arrays((3, 5), dom="prob"))


def _tf_same_pads(size, k, s, d=1):
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


@pytest.mark.parametrize("padding, stride, dilation, kernel", [
    ("SAME", 1, 1, (3, 3)), ("SAME", 2, 1, (2, 3)), ("SAME", 1, 2, (3, 2)),
    ("VALID", 1, 1, (3, 3)), ("VALID", 2, 1, (3, 2)), ("VALID", 1, 2, (2, 2))])
def test_torch_conv2d(padding, stride, dilation, kernel):
    torch = _torch()
    functional = torch.nn.functional
    x, w = _arrays((2, 7, 6, 3), kernel + (3, 4), seed=3)

    def reference(x, w):
        xt = x.permute(0, 3, 1, 2)
        if padding == "SAME":
            top, bottom = _tf_same_pads(7, kernel[0], stride, dilation)
            left, right = _tf_same_pads(6, kernel[1], stride, dilation)
            xt = functional.pad(xt, (left, right, top, bottom))
        y = functional.conv2d(xt, w.permute(3, 2, 0, 1), stride=stride, dilation=dilation)
        return y.permute(0, 2, 3, 1)

    _both(lambda x, w: tf.nn.conv2d(x, w, stride, padding, dilations=dilation), reference,
          [x, w])


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
def test_torch_pools(padding):
    torch = _torch()
    functional = torch.nn.functional
    (x,) = _arrays((2, 7, 6, 3), seed=4)
    top, bottom = _tf_same_pads(7, 3, 2) if padding == "SAME" else (0, 0)
    left, right = _tf_same_pads(6, 3, 2) if padding == "SAME" else (0, 0)

    def max_ref(x):
        xt = functional.pad(x.permute(0, 3, 1, 2), (left, right, top, bottom),
                            value=-math.inf)
        return functional.max_pool2d(xt, 3, 2).permute(0, 2, 3, 1)

    def avg_ref(x):
        pads = (left, right, top, bottom)
        xt = functional.pad(x.permute(0, 3, 1, 2), pads)
        ones = functional.pad(torch.ones_like(x.permute(0, 3, 1, 2)), pads)
        return (functional.avg_pool2d(xt, 3, 2) /
                functional.avg_pool2d(ones, 3, 2)).permute(0, 2, 3, 1)

    _both(lambda x: tf.nn.max_pool2d(x, 3, 2, padding), max_ref, [x])
    _both(lambda x: tf.nn.avg_pool2d(x, 3, 2, padding), avg_ref, [x])


def test_torch_norms_and_l2_normalize():
    torch = _torch()
    la = torch.linalg
    (x,) = _arrays((3, 4), seed=6, dom="away")
    _both(lambda x: tf.norm(x), lambda x: la.vector_norm(x), [x])
    _both(lambda x: tf.norm(x, ord=1, axis=1), lambda x: la.vector_norm(x, ord=1, dim=1), [x])
    _both(lambda x: tf.norm(x, ord=np.inf, axis=0, keepdims=True),
          lambda x: la.vector_norm(x, ord=math.inf, dim=0, keepdim=True), [x])
    _both(lambda x: tf.norm(x, ord=3, axis=-1), lambda x: la.vector_norm(x, ord=3, dim=-1),
          [x])
    for ord_ in ("fro", 1, np.inf, 2):
        _both(lambda x: tf.norm(x, ord=ord_, axis=(0, 1)),
              lambda x: la.matrix_norm(x, ord=math.inf if ord_ is np.inf else ord_), [x])
    _both(lambda x: kops.norm(x, axis=1), lambda x: la.vector_norm(x, dim=1), [x])
    _both(lambda x: kops.norm(x, ord=np.inf), lambda x: la.matrix_norm(x, ord=math.inf), [x])
    _both(lambda x: tf.nn.l2_normalize(x, axis=1),
          lambda x: torch.nn.functional.normalize(x, dim=1), [x])
    _both(lambda x: kops.normalize(x, axis=0),
          lambda x: torch.nn.functional.normalize(x, dim=0), [x])


def test_torch_activations():
    torch = _torch()
    functional = torch.nn.functional
    (x,) = _arrays((4, 5), seed=7, dom="away")
    x = x * 2
    _both(tf.nn.gelu, lambda x: functional.gelu(x), [x])
    _both(lambda x: tf.nn.gelu(x, approximate=True),
          lambda x: functional.gelu(x, approximate="tanh"), [x])
    _both(kops.gelu, lambda x: functional.gelu(x, approximate="tanh"), [x])
    _both(tf.nn.elu, functional.elu, [x])
    _both(lambda x: kops.elu(x, 0.5), lambda x: functional.elu(x, 0.5), [x])
    _both(tf.nn.selu, functional.selu, [x])
    _both(tf.nn.leaky_relu, lambda x: functional.leaky_relu(x, 0.2), [x])
    _both(lambda x: kops.leaky_relu(x, negative_slope=0.1),
          lambda x: functional.leaky_relu(x, 0.1), [x])
    _both(tf.nn.silu, functional.silu, [x])
    _both(tf.nn.relu6, functional.relu6, [x * 4])
    _both(tf.nn.softsign, functional.softsign, [x])


@pytest.mark.parametrize("axis, keepdims", [(None, False), (1, False), ((0, 2), True),
                                            (-1, True)])
def test_torch_reductions(axis, keepdims):
    torch = _torch()
    (x,) = _arrays((2, 3, 4), seed=8)
    dim = tuple(range(3)) if axis is None else axis
    pairs = [(tf.reduce_sum, torch.sum), (tf.reduce_mean, torch.mean),
             (tf.math.reduce_logsumexp, torch.logsumexp),
             (tf.math.reduce_variance, lambda x, dim, keepdim: torch.var(
                 x, dim=dim, keepdim=keepdim, correction=0)),
             (tf.math.reduce_std, lambda x, dim, keepdim: torch.std(
                 x, dim=dim, keepdim=keepdim, correction=0)),
             (kops.sum, torch.sum), (kops.mean, torch.mean), (kops.var, lambda x, dim, keepdim:
                                                             torch.var(x, dim=dim, keepdim=keepdim,
                                                                       correction=0))]
    for ours, theirs in pairs:
        _both(lambda x: ours(x, axis=axis, keepdims=keepdims),
              lambda x: theirs(x, dim=dim, keepdim=keepdims), [x])
    if not isinstance(axis, tuple):
        def amax(x):
            return torch.amax(x, dim=dim, keepdim=keepdims)
        _both(lambda x: tf.reduce_max(x, axis=axis, keepdims=keepdims), amax, [x])
        _both(lambda x: kops.max(x, axis=axis, keepdims=keepdims), amax, [x])


def test_torch_tensordot_dot_and_linalg():
    torch = _torch()
    a, b = _arrays((2, 3, 4), (3, 4, 5), seed=9)
    _both(lambda a, b: tf.tensordot(a, b, 2), lambda a, b: torch.tensordot(a, b, 2), [a, b])
    m = _arrays((2, 3, 3), seed=10, dom="matrix")
    _both(tf.linalg.inv, torch.linalg.inv, m)
    _both(tf.linalg.det, torch.linalg.det, m)
    _both(tf.linalg.trace, lambda x: torch.diagonal(x, dim1=-2, dim2=-1).sum(-1), m)


# ---------------------------------------------------------------- broadcasting, by property


def _sum_to_reference(g, shape):
    """g (of the broadcast shape) summed onto ``shape``, element by element."""
    out = np.zeros(shape)
    lead = g.ndim - len(shape)
    for index in np.ndindex(g.shape):
        target = tuple(0 if d == 1 else i for i, d in zip(index[lead:], shape))
        out[target] += g[index]
    return out


@settings(max_examples=60, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4,
                                                 max_side=3),
       seed=st.integers(0, 2**16))
def test_broadcast_gradients_have_the_input_shapes(shapes, seed):
    (sa, sb), result = shapes.input_shapes, shapes.result_shape
    rng = np.random.default_rng(seed)
    a_value, b_value = rng.normal(size=sa), rng.normal(size=sb)
    a, b = tf.constant(np.asarray(a_value)), tf.constant(np.asarray(b_value))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([a, b])
        total = tf.reduce_sum(a + b)
        product = tf.reduce_sum(a * b)
    ga, gb = tape.gradient(total, [a, b])
    pa, pb = tape.gradient(product, [a, b])
    for g, s in ((ga, sa), (gb, sb), (pa, sa), (pb, sb)):
        assert tuple(g.shape) == tuple(s)
    ones = np.ones(result)
    np.testing.assert_allclose(ga.numpy(), _sum_to_reference(ones, sa))
    np.testing.assert_allclose(gb.numpy(), _sum_to_reference(ones, sb))
    np.testing.assert_allclose(pa.numpy(), _sum_to_reference(
        np.broadcast_to(b_value, result), sa), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(pb.numpy(), _sum_to_reference(
        np.broadcast_to(a_value, result), sb), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- names and errors


@pytest.mark.parametrize("get, missing, right", [
    (lambda: tf.reduce_summ, "reduce_summ", "reduce_sum"),
    (lambda: tf.math.expp, "expp", "exp"),
    (lambda: kops.summ, "summ", "sum"),
    (lambda: krandom.normall, "normall", "normal"),
])
def test_missing_names_suggest_the_right_one(get, missing, right):
    with pytest.raises(AttributeError) as info:
        get()
    message = str(info.value)
    assert repr(missing) in message
    assert right in message.split("nearest names that exist:")[1].replace(",", " ").split()


def test_keras_namespaces_list_their_names():
    from glassnet import keras
    assert keras.ops is kops and keras.random is krandom
    assert {"sum", "conv", "einsum", "softmax", "sparse_categorical_crossentropy"} <= \
        set(dir(kops))
    assert {"normal", "dropout", "randint", "SeedGenerator"} <= set(dir(krandom))


def test_incompatible_shapes_name_the_op_and_both_shapes():
    with pytest.raises(ValueError) as info:
        tf.add(tf.zeros((2, 3)), tf.zeros((4,)))
    assert "add" in str(info.value) and "(2, 3)" in str(info.value) and \
        "(4,)" in str(info.value)
    with pytest.raises(ValueError) as info:
        tf.matmul(tf.zeros((2, 3)), tf.zeros((4, 5)))
    assert "matmul" in str(info.value) and "(2, 3)" in str(info.value) and \
        "(4, 5)" in str(info.value)
    with pytest.raises(ValueError, match=r"conv2d.*\(1, 4, 4, 3\).*\(3, 3, 2, 1\)"):
        tf.nn.conv2d(tf.zeros((1, 4, 4, 3)), tf.zeros((3, 3, 2, 1)), 1, "SAME")
    with pytest.raises(ValueError, match=r"einsum.*'j'.*3 and 4"):
        tf.einsum("ij,jk->ik", tf.zeros((2, 3)), tf.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"tensordot.*\(2, 3\).*\(4, 5\)"):
        tf.tensordot(tf.zeros((2, 3)), tf.zeros((4, 5)), 1)
    with pytest.raises(ValueError, match="padding must be 'SAME' or 'VALID'"):
        tf.nn.max_pool2d(tf.zeros((1, 4, 4, 1)), 2, 2, "FULL")
    with pytest.raises(ValueError, match=r"binary_crossentropy.*\(2, 3\).*\(3, 2\)"):
        kops.binary_crossentropy(np.zeros((2, 3)), np.zeros((3, 2)))


def test_einsum_repeated_index_is_not_implemented():
    with pytest.raises(NotImplementedError, match="'ii->i'"):
        tf.einsum("ii->i", tf.zeros((3, 3)))


# ---------------------------------------------------------------- values and Keras semantics


def test_einsum_and_tensordot_values_match_numpy():
    rng = np.random.default_rng(0)
    a, b, c = rng.normal(size=(2, 3, 4)), rng.normal(size=(4, 5)), rng.normal(size=(3,))
    for eq, xs in [("ijk,kl->ijl", (a, b)), ("ijk,j->ik", (a, c)), ("ijk", (a,)),
                   ("ijk->kji", (a,)), ("...k,kl->...l", (a, b)), ("ijk,kl", (a, b))]:
        np.testing.assert_allclose(tf.einsum(eq, *xs).numpy(), np.einsum(eq, *xs))
    np.testing.assert_allclose(tf.tensordot(a, b, 1).numpy(), np.tensordot(a, b, 1))
    np.testing.assert_allclose(tf.tensordot(a, a, [[0, 2], [0, 2]]).numpy(),
                               np.tensordot(a, a, [[0, 2], [0, 2]]))
    np.testing.assert_allclose(kops.dot(a, b).numpy(), np.dot(a, b))
    np.testing.assert_allclose(kops.dot(b.T, a.transpose(0, 2, 1)).numpy(),
                               np.dot(b.T, a.transpose(0, 2, 1)))


def test_linalg_values():
    m = np.array([[2.0, 1.0], [1.0, 3.0]])
    np.testing.assert_allclose(tf.linalg.inv(m).numpy(), np.linalg.inv(m))
    assert float(tf.linalg.det(m)) == pytest.approx(5.0)
    assert float(tf.linalg.trace(m)) == 5.0
    np.testing.assert_array_equal(tf.linalg.diag(np.array([1.0, 2.0])).numpy(),
                                  [[1, 0], [0, 2]])
    np.testing.assert_array_equal(tf.linalg.diag_part(np.arange(6.0).reshape(2, 3)).numpy(),
                                  [0, 4])
    assert float(tf.norm(np.array([3.0, 4.0]))) == 5.0
    assert float(tf.norm(m, ord=1, axis=[0, 1])) == 4.0
    assert float(tf.norm(np.array([[1.0, -2.0], [3.0, 4.0]]), ord=np.inf, axis=[0, 1])) == 7.0
    np.testing.assert_allclose(float(tf.norm(m, ord=2, axis=(0, 1))),
                               np.linalg.norm(m, 2))
    assert tf.norm(np.ones((2, 3)), keepdims=True).shape == (1, 1)
    with pytest.raises(ValueError, match="ord"):
        tf.norm(m, ord=-1)


def test_top_k_confusion_matrix_segment_sum():
    values, indices = tf.math.top_k(np.array([[1.0, 3.0, 3.0, 2.0], [0.0, -1.0, 5.0, 4.0]]),
                                    k=2)
    np.testing.assert_array_equal(values.numpy(), [[3, 3], [5, 4]])
    np.testing.assert_array_equal(indices.numpy(), [[1, 2], [2, 3]])
    assert indices.dtype == np.int32
    cm = tf.math.confusion_matrix([0, 1, 2, 2, 1], [0, 2, 2, 1, 1])
    np.testing.assert_array_equal(cm.numpy(), [[1, 0, 0], [0, 1, 1], [0, 1, 1]])
    assert cm.dtype == np.int32
    assert tf.math.confusion_matrix([0], [1], num_classes=4).shape == (4, 4)
    seg = tf.math.segment_sum(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), [0, 0, 2])
    np.testing.assert_array_equal(seg.numpy(), [[4, 6], [0, 0], [5, 6]])


def test_nn_values():
    x = np.array([-2.0, -0.5, 0.0, 1.0, 7.0])
    np.testing.assert_allclose(tf.nn.relu6(x).numpy(), [0, 0, 0, 1, 6])
    np.testing.assert_allclose(tf.nn.leaky_relu(x).numpy(), [-0.4, -0.1, 0, 1, 7])
    np.testing.assert_allclose(tf.nn.softsign(x).numpy(), x / (1 + np.abs(x)))
    np.testing.assert_allclose(tf.nn.elu(x).numpy(), np.where(x > 0, x, np.expm1(x)))
    assert tf.nn.gelu(tf.constant([1.0])).dtype == np.float32
    np.testing.assert_allclose(tf.nn.gelu(np.array([1.0])).numpy(), [0.8413447460685429])
    np.testing.assert_allclose(kops.gelu(np.array([1.0])).numpy(), [0.8411919906082768])
    mean, variance = tf.nn.moments(np.array([[1.0, 2.0], [3.0, 6.0]]), axes=[0])
    np.testing.assert_allclose(mean.numpy(), [2, 4])
    np.testing.assert_allclose(variance.numpy(), [1, 4])
    y = tf.nn.bias_add(np.zeros((2, 3)), np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(y.numpy(), [[1, 2, 3], [1, 2, 3]])
    emb = tf.nn.embedding_lookup(np.arange(6.0).reshape(3, 2), np.array([2, 0]))
    np.testing.assert_array_equal(emb.numpy(), [[4, 5], [0, 1]])
    assert tf.nn.conv2d(np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 2)), 2, "SAME").shape == \
        (1, 3, 3, 2)
    assert tf.nn.max_pool2d(np.ones((1, 5, 5, 1)), 2, 2, "VALID").shape == (1, 2, 2, 1)
    same = tf.nn.avg_pool2d(np.ones((1, 3, 3, 1)), 2, 2, "SAME")
    np.testing.assert_array_equal(same.numpy(), np.ones((1, 2, 2, 1)))  # padding not counted


def test_keras_dtypes_and_shapes():
    ints = np.array([[1, 2], [3, 5]], dtype=np.int32)
    assert kops.mean(ints).dtype == np.float32 and float(kops.mean(ints)) == 2.75
    assert kops.var(ints).dtype == np.float32 and kops.std(ints).dtype == np.float32
    assert kops.sum(ints).dtype == np.int32 and int(kops.sum(ints)) == 11
    assert kops.sum(np.array([True, True, False])).dtype == np.int32
    assert kops.sum(np.array([1, 2], dtype=np.uint8)).dtype == np.uint32
    assert kops.prod(ints).dtype == np.int32 and int(kops.prod(ints)) == 30
    assert kops.cumsum(ints).numpy().tolist() == [1, 3, 6, 11]
    assert kops.cumsum(ints).dtype == np.int32
    x = np.array([[1.0, 9.0, 3.0], [7.0, 2.0, 8.0]])
    assert int(kops.argmax(x)) == 1 and kops.argmax(x).dtype == np.int32
    assert kops.argmax(x, axis=1).numpy().tolist() == [1, 2]
    assert kops.argmin(x, axis=0, keepdims=True).shape == (1, 3)
    assert float(kops.max(x, initial=20.0)) == 20.0
    assert kops.shape(x) == (2, 3) and isinstance(kops.shape(x)[0], int)
    assert kops.ndim(x) == 2
    assert kops.full((2, 2), 3).dtype == np.float32
    assert kops.full_like(ints, 7).dtype == np.int32
    assert kops.identity(3).dtype == np.float32
    assert kops.zeros((2,)).dtype == np.float32
    assert kops.eye(2, 3, 1).numpy().tolist() == [[0, 1, 0], [0, 0, 1]]
    assert kops.arange(5).dtype == np.int32 and kops.arange(0.0, 1.0, 0.25).dtype == np.float32
    assert kops.arange(2, 8, 3).numpy().tolist() == [2, 5]
    hot = kops.one_hot(np.array([0, 2, -1]), 3)
    assert hot.dtype == np.float32
    np.testing.assert_array_equal(hot.numpy(), [[1, 0, 0], [0, 0, 1], [0, 0, 0]])
    assert kops.one_hot(np.array([1]), 3, axis=0).shape == (3, 1)
    assert kops.concatenate([ints, x[:, :2]]).dtype == np.float64
    assert kops.concatenate([ints, x[:, :2].astype(np.float32)], axis=1).shape == (2, 4)
    assert kops.concatenate([ints, ints], axis=None).shape == (8,)
    assert kops.transpose(np.zeros((2, 3, 4))).shape == (4, 3, 2)


def test_keras_array_semantics_match_numpy():
    x = np.arange(24.0).reshape(2, 3, 4)
    for sections, axis in [(2, 0), ([1, 3], 2), ([2], 1), ([3, 1], 2), ([-1], 2), ([0, 5], 1)]:
        ours, theirs = kops.split(x, sections, axis=axis), np.split(x, sections, axis=axis)
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            np.testing.assert_array_equal(o.numpy(), t)
    with pytest.raises(ValueError, match="equal sections"):
        kops.split(x, 5, axis=2)
    for reps in (2, (2, 1), (2, 1, 1, 3)):
        np.testing.assert_array_equal(kops.tile(x, reps).numpy(), np.tile(x, reps))
    for width in (1, (1, 2), ((0, 1), (2, 0), (1, 1))):
        np.testing.assert_array_equal(kops.pad(x, width).numpy(), np.pad(x, width))
    np.testing.assert_array_equal(kops.pad(x, 1, constant_values=5).numpy(),
                                  np.pad(x, 1, constant_values=5))
    np.testing.assert_array_equal(kops.pad(x, 1, mode="reflect").numpy(),
                                  np.pad(x, 1, mode="reflect"))
    idx = np.array([[0, -1], [3, 2]])
    np.testing.assert_array_equal(kops.take(x, idx).numpy(), np.take(x, idx))
    np.testing.assert_array_equal(kops.take(x, idx, axis=2).numpy(), np.take(x, idx, axis=2))
    along = np.array([[[0, 2, 1, 1]], [[2, 2, 0, -1]]])
    np.testing.assert_array_equal(kops.take_along_axis(x, along, axis=1).numpy(),
                                  np.take_along_axis(x, along, axis=1))
    np.testing.assert_array_equal(kops.take_along_axis(x, np.array([5, 0]), axis=None).numpy(),
                                  np.take_along_axis(x, np.array([5, 0]), axis=None))
    np.testing.assert_array_equal(kops.ravel(x).numpy(), x.ravel())
    np.testing.assert_array_equal(kops.slice(x, (1, 0, 2), (1, 2, 2)).numpy(), x[1:2, 0:2, 2:4])
    np.testing.assert_array_equal(kops.flip(x).numpy(), np.flip(x))
    np.testing.assert_array_equal(kops.trace(x, offset=1, axis1=1, axis2=2).numpy(),
                                  np.trace(x, offset=1, axis1=1, axis2=2))
    sm = kops.softmax(x, axis=(1, 2)).numpy()
    np.testing.assert_allclose(sm.sum(axis=(1, 2)), [1, 1])


def test_keras_crossentropies_values():
    p = np.array([[0.1, 0.6, 0.3], [0.8, 0.1, 0.1]])
    target = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    want = -np.log([0.6, 0.8])
    np.testing.assert_allclose(kops.categorical_crossentropy(target, p).numpy(), want)
    np.testing.assert_allclose(kops.sparse_categorical_crossentropy([1, 0], p).numpy(), want)
    np.testing.assert_allclose(kops.sparse_categorical_crossentropy([[1], [0]], p).numpy(), want)
    np.testing.assert_allclose(
        kops.categorical_crossentropy(target.T, p.T, axis=0).numpy(), want)
    logits = np.log(p)
    np.testing.assert_allclose(
        kops.categorical_crossentropy(target, logits, from_logits=True).numpy(), want)
    bce = kops.binary_crossentropy(np.array([1.0, 0.0]), np.array([0.9, 0.0]))
    np.testing.assert_allclose(bce.numpy(), [-np.log(0.9), -np.log(1 - 1e-7)], rtol=1e-6)
    assert bce.shape == (2,)  # elementwise: no reduction


def test_keras_random():
    a = krandom.randint((100,), 2, 5, seed=1)
    assert a.dtype == np.int32 and a.numpy().min() >= 2 and a.numpy().max() <= 4
    np.testing.assert_array_equal(a.numpy(), krandom.randint((100,), 2, 5, seed=1).numpy())
    x = np.ones((50, 4), dtype=np.float32)
    y = krandom.dropout(x, 0.5, noise_shape=(None, 1), seed=3).numpy()
    assert y.dtype == np.float32 and set(np.unique(y)) <= {0.0, 2.0}
    assert all(len(set(row)) == 1 for row in y)  # one draw per row
    assert 5 < (y[:, 0] == 0).sum() < 45
    np.testing.assert_array_equal(krandom.dropout(x, 0.0).numpy(), x)
    np.testing.assert_array_equal(krandom.dropout(x, 1.0).numpy(), np.zeros_like(x))
    assert krandom.normal((2, 3)).shape == (2, 3)


def test_keras_conv_matches_tf_conv2d():
    rng = np.random.default_rng(2)
    x, w = rng.normal(size=(2, 6, 5, 3)), rng.normal(size=(3, 2, 3, 4))
    np.testing.assert_allclose(kops.conv(x, w, strides=2, padding="same").numpy(),
                               tf.nn.conv2d(x, w, 2, "SAME").numpy())
    x1, w1 = rng.normal(size=(2, 7, 3)), rng.normal(size=(3, 3, 2))
    want = tf.nn.conv2d(x1[:, None], w1[None], 1, "VALID").numpy()[:, 0]
    np.testing.assert_allclose(kops.conv(x1, w1).numpy(), want)
    with pytest.raises(NotImplementedError, match="1-D and 2-D"):
        kops.conv(np.zeros((1, 3, 3, 3, 1)), np.zeros((1, 1, 1, 1, 1)))


def test_ops_work_under_a_tape_in_float32():
    x = tf.Variable(np.array([[0.5, -1.0], [2.0, 0.1]], dtype=np.float32))
    w = tf.Variable(np.ones((2, 2, 2, 3), dtype=np.float32))
    with tf.GradientTape() as tape:
        y = tf.nn.conv2d(tf.reshape(x, (1, 2, 2, 1)) * tf.ones((1, 2, 2, 2)), w, 1, "SAME")
        loss = kops.mean(tf.nn.gelu(y)) + tf.norm(x)
    gx, gw = tape.gradient(loss, [x, w])
    assert gx.dtype == np.float32 and gw.dtype == np.float32
    assert gx.shape == (2, 2) and gw.shape == (2, 2, 2, 3)
