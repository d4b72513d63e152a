"""Linear algebra: ``tf.linalg`` (norm, einsum, tensordot, inv, det, trace,
diagonals) and the few ``tf.math`` ops that index (top_k, confusion_matrix,
segment_sum). Each is its formula, its gradient written with ops beside it."""

from __future__ import annotations

import collections
import string

import numpy as np

from glassnet.ops import array_ops, math_ops
from glassnet.ops.array_ops import ScatterAdd
from glassnet.ops.function import Op, value_of
from glassnet.tensor import Tensor, as_dtype


def _shape(x):
    return tuple(np.shape(value_of(x)))


# ---------------------------------------------------------------- norms


def norm(tensor, ord="euclidean", axis=None, keepdims=False, name=None):
    """TensorFlow's ``tf.norm``. ``axis`` None or an int: a vector norm,
    (Σ |x|ᵖ)^(1/p) (``'euclidean'`` and 2: √Σx², 1: Σ|x|, ``np.inf``:
    max |x|); a 2-tuple: a matrix norm over those axes (``'euclidean'`` and
    ``'fro'``: √Σx², 1: the largest column sum of |x|, ``np.inf``: the
    largest row sum, 2: the largest singular value). Every case is built of
    differentiable ops, so its gradient comes from theirs."""
    if ord is None:  # keras.ops.norm's default
        ord = "euclidean"
    rank = len(_shape(tensor))
    if axis is None:
        return _keep_all(_vector_norm(array_ops.reshape(tensor, [-1]), ord, 0), rank, keepdims)
    axes = [int(a) for a in np.atleast_1d(value_of(axis))]
    if isinstance(axis, (list, tuple)) and len(axes) == 1:
        axes = axes[:1]
    for a in axes:
        if not -rank <= a < rank:
            raise ValueError(f"norm: axis {a} is out of range for a tensor of rank {rank}")
    axes = [a % rank for a in axes]
    if len(axes) == 1:
        y = _vector_norm(tensor, ord, axes[0])
        return array_ops.expand_dims(y, axes[0]) if keepdims else y
    if len(axes) != 2 or axes[0] == axes[1]:
        raise ValueError(f"norm: axis must be None, an integer, or a tuple of 2 unique "
                         f"integers; received {axis!r}")
    return _matrix_norm(tensor, ord, axes, keepdims)


def _keep_all(y, rank, keepdims):
    return array_ops.reshape(y, [1] * rank) if keepdims else y


def _vector_norm(x, ord, axis):
    if ord in ("euclidean", 2, 2.0):
        return math_ops.sqrt(math_ops.reduce_sum(math_ops.square(x), axis=axis))
    if ord in (1, 1.0):
        return math_ops.reduce_sum(math_ops.abs(x), axis=axis)
    if ord == np.inf:
        return math_ops.reduce_max(math_ops.abs(x), axis=axis)
    if ord == "fro":
        raise ValueError("norm: ord='fro' is a matrix norm; give axis as a 2-tuple (or use "
                         "ord='euclidean' for vectors)")
    if isinstance(ord, str) or not np.isreal(ord) or ord <= 0:
        raise ValueError(f"norm: ord must be 'euclidean', 'fro', 1, 2, np.inf or a positive "
                         f"number; received {ord!r}")
    p = float(ord)
    return math_ops.pow(math_ops.reduce_sum(math_ops.pow(math_ops.abs(x), p), axis=axis),
                        1.0 / p)


def _matrix_norm(x, ord, axes, keepdims):
    rows, cols = axes
    if ord in ("euclidean", "fro"):
        y = math_ops.sqrt(math_ops.reduce_sum(math_ops.square(x), axis=axes, keepdims=True))
    elif ord in (1, 1.0):
        y = math_ops.reduce_max(math_ops.reduce_sum(math_ops.abs(x), axis=rows, keepdims=True),
                                axis=cols, keepdims=True)
    elif ord == np.inf:
        y = math_ops.reduce_max(math_ops.reduce_sum(math_ops.abs(x), axis=cols, keepdims=True),
                                axis=rows, keepdims=True)
    elif ord in (2, 2.0):
        rank = len(_shape(x))
        rest = [a for a in range(rank) if a not in axes]
        perm = rest + [rows, cols]
        y = SpectralNorm()(array_ops.transpose(x, perm))
        y = array_ops.transpose(array_ops.reshape(y, _shape(y) + (1, 1)),
                                list(np.argsort(perm)))
    else:
        raise ValueError(f"norm: a matrix norm's ord must be 'euclidean', 'fro', 1, 2 or "
                         f"np.inf; received {ord!r}")
    return y if keepdims else array_ops.squeeze(y, axis=axes)


class SpectralNorm(Op):
    """y = σ₁(X), the largest singular value of each matrix (last two axes);
    ∂L/∂X = gy · u₁v₁ᵀ (its singular vectors)"""
    name = "spectral_norm"

    def forward(self, x):
        return np.linalg.svd(x, compute_uv=False)[..., 0]

    def backward(self, gy):
        uv = TopSingularVectors()(self.inputs[0])
        return math_ops.multiply(array_ops.reshape(gy, _shape(gy) + (1, 1)), uv)


class TopSingularVectors(Op):
    """y = u₁v₁ᵀ, the outer product of the top singular vectors (σ₁'s gradient)"""
    name = "top_singular_vectors"

    def forward(self, x):
        u, _, vt = np.linalg.svd(x)
        return u[..., :, :1] * vt[..., :1, :]

    def backward(self, gy):
        raise NotImplementedError("norm(ord=2) of a matrix: the second derivative of the "
                                  "largest singular value is not implemented in glassnet")


def l2_normalize(x, axis=None, epsilon=1e-12, name=None, dim=None):
    """y = x / √max(Σ x², ε) along axis (all axes when None), TensorFlow's
    ``tf.math.l2_normalize``."""
    axis = dim if axis is None else axis
    square_sum = math_ops.reduce_sum(math_ops.square(x), axis=axis, keepdims=True)
    return math_ops.multiply(x, math_ops.rsqrt(math_ops.maximum(square_sum, epsilon)))


# ---------------------------------------------------------------- einsum

_LETTERS = string.ascii_letters


class Einsum(Op):
    """y = einsum(equation, x₁, …, xₙ) (explicit form, no repeated index in one
    operand, no '...');  ∂L/∂xᵢ = einsum('out,others->subsᵢ', gy, the other
    operands), broadcast along the indices only xᵢ has (summed in forward)"""
    name = "einsum"

    def __init__(self, inputs, output):
        self.subs, self.out = inputs, output

    def forward(self, *xs):
        return np.asarray(np.einsum(",".join(self.subs) + "->" + self.out, *xs))

    def backward(self, gy):
        grads = []
        for i, subs in enumerate(self.subs):
            others = [(s, x) for j, (s, x) in enumerate(zip(self.subs, self.inputs)) if j != i]
            known = set(self.out).union(*(set(s) for s, _ in others))
            kept = "".join(c for c in subs if c in known)
            g = _einsum([self.out] + [s for s, _ in others], kept, [gy] + [x for _, x in others])
            if kept != subs:
                # indices only xᵢ had were summed in forward: its gradient is constant along them
                x_shape = _shape(self.inputs[i])
                g = array_ops.reshape(g, [x_shape[k] if c in kept else 1
                                          for k, c in enumerate(subs)])
                g = array_ops.broadcast_to(g, x_shape)
            grads.append(g)
        return tuple(grads)


def _einsum(subs, out, operands):
    return Einsum(list(subs), out)(*operands)


def einsum(equation, *inputs, **kwargs):
    """``tf.einsum``: Einstein summation, e.g. ``'ij,jk->ik'`` (matmul),
    ``'bij->bji'``, ``'i,i->'``; '...' stands for the leading axes. Size-1
    axes broadcast against the other operands."""
    if len(inputs) == 1 and isinstance(inputs[0], (list, tuple)):
        inputs = tuple(inputs[0])
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    subs = lhs.split(",")
    if len(subs) != len(inputs):
        raise ValueError(f"einsum: equation {equation!r} names {len(subs)} operands; "
                         f"received {len(inputs)}")
    shapes = [_shape(x) for x in inputs]
    if "." in eq:
        subs, out = _expand_ellipsis(equation, subs, out if arrow else None, shapes)
    elif not arrow:
        counts = collections.Counter("".join(subs))
        out = "".join(sorted(c for c, n in counts.items() if n == 1))
    for s, shape in zip(subs, shapes):
        if not all(c in _LETTERS for c in s):
            raise ValueError(f"einsum: invalid subscripts {s!r} in {equation!r}")
        if len(s) != len(shape):
            raise ValueError(f"einsum: subscripts {s!r} name {len(s)} axes but the operand "
                             f"has shape {shape} (equation {equation!r})")
        if len(set(s)) != len(s):
            raise NotImplementedError(f"einsum: equation {equation!r} repeats an index within "
                                      f"one operand ({s!r}, a diagonal or trace); glassnet's "
                                      f"einsum does not implement that (use tf.linalg.diag_part "
                                      f"or tf.linalg.trace)")
    if len(set(out)) != len(out) or set(out) - set("".join(subs)):
        raise ValueError(f"einsum: output subscripts {out!r} must be distinct and appear in "
                         f"the inputs (equation {equation!r})")
    sizes = {}
    for s, shape in zip(subs, shapes):
        for c, d in zip(s, shape):
            if sizes.get(c, 1) not in (1, d) and d != 1:
                raise ValueError(f"einsum: index {c!r} has sizes {sizes[c]} and {d} in "
                                 f"{equation!r} (operand shapes {shapes})")
            sizes[c] = max(sizes.get(c, 1), d)
    operands = []
    for x, s, shape in zip(inputs, subs, shapes):
        full = tuple(sizes[c] for c in s)
        operands.append(array_ops.broadcast_to(x, full) if full != shape else x)
    return _einsum(subs, out, operands)


def _expand_ellipsis(equation, subs, out, shapes):
    """'...' replaced by letters the equation does not use, right-aligned as
    NumPy broadcasts them."""
    used = set(equation)
    free = [c for c in _LETTERS if c not in used]
    lengths = []
    for s, shape in zip(subs, shapes):
        if s.count("...") > 1 or s.replace("...", "").count("."):
            raise ValueError(f"einsum: invalid subscripts {s!r} in {equation!r}")
        lengths.append(len(shape) - len(s.replace("...", "")) if "..." in s else 0)
    n = max(lengths, default=0)
    if n > len(free):
        raise ValueError(f"einsum: too many axes under '...' in {equation!r}")
    ell = "".join(free[:n])
    subs = [s.replace("...", ell[n - k:] if k else "") for s, k in zip(subs, lengths)]
    if out is None:
        counts = collections.Counter("".join(s.replace("...", "") for s in subs))
        rest = "".join(sorted(c for c, m in counts.items() if m == 1 and c not in ell))
        out = ell + rest
    else:
        out = out.replace("...", ell)
    return subs, out


def tensordot(a, b, axes=2, name=None):
    """``tf.tensordot``: Σ over the paired axes of a and b (``axes`` an int N:
    a's last N with b's first N; or two lists), as an einsum."""
    ra, rb = len(_shape(a)), len(_shape(b))
    axes = value_of(axes) if isinstance(axes, Tensor) else axes
    if np.ndim(axes) == 0:
        n = int(axes)
        if n < 0 or n > min(ra, rb):
            raise ValueError(f"tensordot: axes={n} does not fit shapes {_shape(a)} and "
                             f"{_shape(b)}")
        pa, pb = list(range(ra - n, ra)), list(range(n))
    else:
        pa, pb = ([int(v) for v in np.atleast_1d(value_of(p))] for p in axes)
        if len(pa) != len(pb):
            raise ValueError(f"tensordot: axes {axes!r} pair {len(pa)} axes of a with "
                             f"{len(pb)} of b")
        pa, pb = [p % ra for p in pa], [p % rb for p in pb]
    for i, j in zip(pa, pb):
        if _shape(a)[i] != _shape(b)[j]:
            raise ValueError(f"tensordot: axis {i} of a (shape {_shape(a)}) and axis {j} of b "
                             f"(shape {_shape(b)}) differ in size")
    sa = list(_LETTERS[:ra])
    sb = list(_LETTERS[ra:ra + rb])
    for i, j in zip(pa, pb):
        sb[j] = sa[i]
    out = [c for k, c in enumerate(sa) if k not in pa] + \
        [c for k, c in enumerate(sb) if k not in pb]
    return _einsum(["".join(sa), "".join(sb)], "".join(out), [a, b])


# ---------------------------------------------------------------- matrices


class Inv(Op):
    """Y = A⁻¹;  ∂L/∂A = -Yᵀ · gY · Yᵀ"""
    name = "inv"

    def forward(self, a):
        a = np.asarray(a)
        if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
            raise ValueError(f"inv: expects square matrices (..., n, n); received shape "
                             f"{a.shape}")
        return np.linalg.inv(a)

    def backward(self, gy):
        y = self.outputs[0]
        return math_ops.negative(math_ops.matmul(math_ops.matmul(y, gy, transpose_a=True), y,
                                                 transpose_b=True))


def inv(input, adjoint=False, name=None):
    y = Inv()(input)
    return array_ops.matrix_transpose(y) if adjoint else y


class Det(Op):
    """y = det A;  ∂L/∂A = gy · det A · A⁻ᵀ"""
    name = "det"

    def forward(self, a):
        a = np.asarray(a)
        if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
            raise ValueError(f"det: expects square matrices (..., n, n); received shape "
                             f"{a.shape}")
        return np.asarray(np.linalg.det(a))

    def backward(self, gy):
        a, y = self.inputs[0], self.outputs[0]
        scale = array_ops.reshape(math_ops.multiply(gy, y), _shape(y) + (1, 1))
        return math_ops.multiply(scale, array_ops.matrix_transpose(inv(a)))


def det(input, name=None):
    return Det()(input)


def _diagonal_index(shape, k):
    """The (rows, cols) of diagonal k of matrices of ``shape`` (last two axes)."""
    m, n = shape[-2], shape[-1]
    length = max(0, min(m + min(k, 0), n - max(k, 0)))
    i = np.arange(length)
    return i + max(-k, 0), i + max(k, 0)


class DiagPart(Op):
    """y[..., i] = X[..., i, i + k];  ∂L/∂X = gy placed on that diagonal of zeros"""
    name = "diag_part"

    def __init__(self, k=0):
        self.k = k

    def forward(self, x):
        x = np.asarray(x)
        if x.ndim < 2:
            raise ValueError(f"diag_part: expects matrices (..., m, n); received shape "
                             f"{x.shape}")
        rows, cols = _diagonal_index(x.shape, self.k)
        return x[..., rows, cols]

    def backward(self, gy):
        return SetDiag(_shape(self.inputs[0]), self.k)(gy)


class SetDiag(Op):
    """Y = zeros(shape) with diagonal k set to x;  ∂L/∂x = diag_part(gY, k)"""
    name = "matrix_diag"

    def __init__(self, shape, k=0):
        self.shape, self.k = tuple(shape), k

    def forward(self, x):
        out = np.zeros(self.shape, dtype=np.result_type(x))
        rows, cols = _diagonal_index(self.shape, self.k)
        out[..., rows, cols] = x
        return out

    def backward(self, gy):
        return DiagPart(self.k)(gy)


def diag_part(input, name="diag_part", k=0, padding_value=0, align="RIGHT_LEFT"):
    """``tf.linalg.diag_part``: the diagonal of each matrix (last two axes)."""
    return DiagPart(int(k))(input)


def diag(diagonal, name="diag", k=0, num_rows=-1, num_cols=-1, padding_value=0,
         align="RIGHT_LEFT"):
    """``tf.linalg.diag``: a matrix with ``diagonal`` (last axis) on its
    diagonal, zeros elsewhere (batched over the leading axes)."""
    shape = _shape(diagonal)
    if not shape:
        raise ValueError("diag: expects a vector (or a batch of them); received a scalar")
    k = int(k)
    n = shape[-1] + abs(k)
    rows = n if num_rows in (-1, None) else int(num_rows)
    cols = n if num_cols in (-1, None) else int(num_cols)
    return SetDiag(shape[:-1] + (rows, cols), k)(diagonal)



def trace(x, name=None):
    """``tf.linalg.trace``: Σᵢ X[..., i, i] over the last two axes."""
    return math_ops.reduce_sum(diag_part(x), axis=-1)


# ---------------------------------------------------------------- indexing

TopKV2 = collections.namedtuple("TopKV2", ["values", "indices"])


def top_k(input, k=1, sorted=True, index_type="int32", name=None):
    """The k largest values along the last axis and their indices (ties: the
    lower index first, as TensorFlow). Values carry the gradient (to where
    they came from)."""
    x = np.asarray(value_of(input))
    k = int(value_of(k))
    if x.ndim == 0:
        raise ValueError("top_k: expects a tensor with at least one axis; received a scalar")
    if not 0 <= k <= x.shape[-1]:
        raise ValueError(f"top_k: k={k} must be between 0 and the last axis's size "
                         f"{x.shape[-1]} (shape {x.shape})")
    order = np.argsort(-x if x.dtype.kind != "b" else ~x, axis=-1, kind="stable")[..., :k]
    grids = np.indices(order.shape, sparse=True)[:-1]
    values = array_ops.getitem(input, tuple(grids) + (order,))
    return TopKV2(values, Tensor(order.astype(as_dtype(index_type))))


def confusion_matrix(labels, predictions, num_classes=None, weights=None, dtype="int32",
                     name=None):
    """M[i, j] = how many examples of label i were predicted j (or the sum of
    their ``weights``)."""
    y = np.asarray(value_of(labels)).reshape(-1)
    p = np.asarray(value_of(predictions)).reshape(-1)
    if y.shape != p.shape:
        raise ValueError(f"confusion_matrix: labels and predictions need the same number of "
                         f"elements; received {y.size} and {p.size}")
    if y.size and (y.min() < 0 or p.min() < 0):
        raise ValueError("confusion_matrix: labels and predictions must be non-negative")
    n = int(max(y.max(initial=-1), p.max(initial=-1)) + 1) if num_classes is None else \
        int(num_classes)
    if y.size and (y.max() >= n or p.max() >= n):
        raise ValueError(f"confusion_matrix: labels and predictions must be below "
                         f"num_classes={n}; received up to {max(y.max(), p.max())}")
    w = np.ones(y.shape) if weights is None else np.asarray(value_of(weights)).reshape(-1)
    out = np.zeros((n, n), dtype=as_dtype(dtype))
    np.add.at(out, (y.astype(np.int64), p.astype(np.int64)), w.astype(out.dtype))
    return Tensor(out)


class SegmentSum(ScatterAdd):
    """y[s] = Σ data[i] over the rows i with segment_ids[i] = s;
    ∂L/∂data = gy[segment_ids] (ScatterAdd's backward)"""
    name = "segment_sum"


def segment_sum(data, segment_ids, name=None):
    """``tf.math.segment_sum``: the rows of ``data`` summed by segment id
    (ids sorted, from 0; an id with no rows gives zeros)."""
    ids = np.asarray(value_of(segment_ids))
    shape = _shape(data)
    if ids.dtype.kind not in "iu" or ids.ndim != 1 or not shape or len(ids) != shape[0]:
        raise ValueError(f"segment_sum: segment_ids must be integers, one per row of data; "
                         f"received {ids.dtype} of shape {ids.shape} for data of shape {shape}")
    if ids.size and (ids.min() < 0 or np.any(np.diff(ids) < 0)):
        raise ValueError("segment_sum: segment_ids must be non-negative and sorted")
    n = int(ids.max()) + 1 if ids.size else 0
    return SegmentSum((ids,), (n,) + shape[1:])(data)
