"""Attention: MultiHeadAttention, with Keras 3's arguments, defaults and weights.

For a query sequence q (B, T, Dq), a value sequence v (B, S, Dv) and a key
sequence k (B, S, Dk; the value itself when not given), each of H heads
projects, compares and mixes:

    Q = q · Wq + bq            (B, T, H, K)      Wq: (Dq, H, K)   bq: (H, K)
    K = k · Wk + bk            (B, S, H, K)      Wk: (Dk, H, K)
    V = v · Wv + bv            (B, S, H, Dv')    Wv: (Dv, H, Dv')
    A = softmax_s(Q·Kᵀ / √K)   (B, H, T, S)      where the mask allows; else 0
    O = A · V                  (B, T, H, Dv')
    out = Σ_{h,j} O · Wo + bo  (B, T, D)         Wo: (H, Dv', D)  (D = Dq unless output_shape)

Each query position t of each head takes a weighted average of the values,
weighted by how well its query matches each key. The mask (Keras's rule) is
the AND of attention_mask (B, T, S), the query's padding mask as rows, the
value's (and key's) as columns, and with use_causal_mask the lower triangle
(position t sees s ≤ t). A masked score becomes -1e9 before the softmax, and
its weight is set to 0 after it (so a row with nothing to see is all zeros,
as Keras's Softmax with a mask gives).

Backward, from g = ∂L/∂out (and ∂L/∂A when the scores are an output too):

    ∂L/∂Wo = Σ_{b,t} Oᵀ g       ∂L/∂bo = Σ_{b,t} g       ∂L/∂O = g · Woᵀ
    ∂L/∂A = ∂L/∂O · Vᵀ          ∂L/∂V = Aᵀ · ∂L/∂O       (A after dropout, where used)
    ∂L/∂S = A ⊙ (∂L/∂A - Σ_s ∂L/∂A ⊙ A)                  (the softmax's backward; S = Q·Kᵀ/√K)
    ∂L/∂Q = ∂L/∂S · K / √K      ∂L/∂K = ∂L/∂Sᵀ · Q / √K
    ∂L/∂W· = Σ x·ᵀ ∂L/∂·        ∂L/∂b· = Σ ∂L/∂·         ∂L/∂x· = ∂L/∂· · W·ᵀ

The weights are Keras's: ``query/kernel`` (Dq, H, K), ``query/bias`` (H, K), the
same for ``key`` and ``value``, and ``attention_output/kernel`` (H, Dv', D) with
``attention_output/bias`` (D), in that order.

How it is computed (the numbers are the formulas'): the projections that read the
same array are one product, x · [Wq/√K | Wk | Wv]; the batch is worked through in
pieces of whole sequences, small enough to stay in a core's cache and spread over
glassnet's threads, and each ∂L/∂W is the sum of the pieces' shares.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from glassnet import graph, initializers, regularizers, threads, utils
from glassnet import rows as rows_
from glassnet.ops import function
from glassnet.layers.base import Layer, not_implemented

__all__ = ["MultiHeadAttention", "Attention", "AdditiveAttention"]

LARGE_NEGATIVE = -1e9      # Keras's masked score (Softmax's _large_negative_number)
PARTS = ("query", "value", "key", "attention_mask")
CACHE_CHUNK = 1 << 18      # scores per piece of sequences: its arrays stay in a core's cache
EXP_SAFE = 80.0            # e^80 ≈ 5.5e34 fits a float32 (to 3.4e38); e^-80 is still normal
TINY = math.exp(-EXP_SAFE)


def _softmax_unshifted(scores, empty=None):
    """The softmax over the last axis in place, as e^s / Σ e^s without the usual
    shift by the row's max (that max is a slow per-row reduction), where that is
    exact: no score above EXP_SAFE (e^s cannot overflow) and every row that has
    something to see sums to at least TINY (e^s did not all underflow). A row in
    ``empty`` (everything masked, its scores LARGE_NEGATIVE) becomes zeros, as
    Keras's. Returns False, with ``scores`` spoilt, where it cannot be used."""
    if scores.size == 0 or not scores.max() <= EXP_SAFE:
        return False
    np.exp(scores, out=scores)
    sums = rows_.row_sums(scores)
    lost = sums < TINY
    if empty is not None:
        lost &= ~empty
    if lost.any():
        return False
    np.maximum(sums, TINY, out=sums)                   # an empty row: 0 / TINY = 0
    np.reciprocal(sums, out=sums)
    scores *= sums
    return True


def _positive(owner, name, value, allow_none=False):
    if allow_none and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{owner}: {name} must be a positive integer"
                         f"{' or None' if allow_none else ''}; received {name}={value!r}")
    return int(value)


class _QueryMasked:
    """The attention layers' mask rule (Keras's): the output's mask is the query's;
    the attention scores, when returned too, carry none."""

    def _output_masked(self, masked):
        query = bool(masked[0] if isinstance(masked, list) else masked)
        return [query, False] if self.return_attention_scores else query

    def compute_mask(self, inputs, mask=None):
        query_mask = mask[0] if isinstance(mask, (list, tuple)) and mask else None
        return [query_mask, None] if self.return_attention_scores else query_mask


class MultiHeadAttention(_QueryMasked, Layer):
    __doc__ = __doc__

    supports_masking = True

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 seed=None, flash_attention=None, sliding_window=None, use_gate=False,
                 **kwargs):
        owner = f"MultiHeadAttention {kwargs.get('name')!r}" if kwargs.get("name") else \
            "MultiHeadAttention"
        self.num_heads = _positive(owner, "num_heads", num_heads)
        self.key_dim = _positive(owner, "key_dim", key_dim)
        self.value_dim = _positive(owner, "value_dim", value_dim, allow_none=True) or \
            self.key_dim
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or \
                not 0 <= dropout < 1:
            raise ValueError(f"{owner}: dropout must be a rate in [0, 1); received "
                             f"dropout={dropout!r}")
        if attention_axes is not None and tuple(np.atleast_1d(attention_axes)) not in \
                ((1,), (-2,)):  # Keras writes [1] for sequences: the steps axis, as here
            raise NotImplementedError(f"{owner}: the Keras argument attention_axes="
                                      f"{attention_axes!r} is not implemented in glassnet "
                                      f"(only the steps axis, attention_axes=None or [1])")
        for name, value in (("kernel_constraint", kernel_constraint),
                            ("bias_constraint", bias_constraint),
                            ("activity_regularizer", activity_regularizer),
                            ("sliding_window", sliding_window)):
            not_implemented(owner, name, value)
        if use_gate:
            not_implemented(owner, "use_gate", use_gate)
        super().__init__(**kwargs)
        self.dropout = float(dropout)
        self.use_bias = bool(use_bias)
        if output_shape is not None and not isinstance(output_shape, (list, tuple)):
            output_shape = (output_shape,)
        if output_shape is not None and (len(output_shape) != 1 or
                                         _positive(owner, "output_shape", output_shape[0]) is None):
            raise NotImplementedError(f"{owner}: output_shape of more than one axis is not "
                                      f"implemented in glassnet; received {output_shape!r}")
        self.output_shape_arg = None if output_shape is None else (int(output_shape[0]),)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.seed = seed
        self._generator = None if seed is None else np.random.default_rng(seed)
        self.flash_attention = flash_attention
        self._parts = ("query", "value")       # which tensors this layer's calls pass
        self.return_attention_scores = False
        self.use_causal_mask = False
        self.last_attention_scores = None

    # ------------------------------------------------------------------ calls
    def __call__(self, query=None, value=None, key=None, attention_mask=None,
                 return_attention_scores=False, training=None, use_causal_mask=False,
                 query_mask=None, value_mask=None, key_mask=None, **kwargs):
        """``mha(query, value, key=None, attention_mask=None,
        return_attention_scores=False, training=None, use_causal_mask=False)``,
        as Keras's (a list [query, value(, key)] is taken too)."""
        if isinstance(query, (list, tuple)) and value is None:
            query, value, *rest = list(query) + [None]
            key = rest[0] if rest[0] is not None else key
        if query is None or value is None:
            raise TypeError(f"MultiHeadAttention {self.name!r} is called as mha(query, value, "
                            f"key=None, attention_mask=None, ...); received "
                            f"query={'None' if query is None else 'a tensor'}, value="
                            f"{'None' if value is None else 'a tensor'}")
        for name, given in (("query_mask", query_mask), ("value_mask", value_mask),
                            ("key_mask", key_mask)):
            if given is not None:
                raise NotImplementedError(
                    f"MultiHeadAttention {self.name!r}: {name}= is not implemented in "
                    f"glassnet; masks come from Embedding(mask_zero=True), or pass "
                    f"attention_mask=")
        parts = {"query": query, "value": value, "key": key, "attention_mask": attention_mask}
        layout = tuple(p for p in PARTS if parts[p] is not None)
        flags = (layout, bool(return_attention_scores), bool(use_causal_mask))
        if graph.is_symbolic(query) and self._inbound_nodes and flags != self._flags():
            raise NotImplementedError(
                f"MultiHeadAttention {self.name!r}: calling one layer in a model with "
                f"different tensors or flags (key=, attention_mask=, "
                f"return_attention_scores=, use_causal_mask=) is not implemented in glassnet")
        self._parts, self.return_attention_scores, self.use_causal_mask = flags
        inputs = [parts[p] for p in layout]
        if training is not None:
            kwargs["training"] = training
        return super().__call__(inputs, **kwargs)

    def _keras_call_arguments(self, arguments, spec):
        """How Keras writes this layer's call in a model's config: query and value
        as arguments, the rest by name."""
        parts = dict(zip(self._parts, arguments))
        kwargs = {name: spec(parts[name]) for name in ("key", "attention_mask") if name in parts}
        if self.use_causal_mask:
            kwargs["use_causal_mask"] = True
        if self.return_attention_scores:
            kwargs["return_attention_scores"] = True
        return [spec(parts["query"]), spec(parts["value"])], kwargs

    def _flags(self):
        return (self._parts, self.return_attention_scores, self.use_causal_mask)

    def _split(self, inputs):
        """{part: array} from the list this layer's call passed."""
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"MultiHeadAttention {self.name!r} takes [query, value(, key)"
                             f"(, attention_mask)]; received one input")
        if len(inputs) != len(self._parts):  # forward called directly, the book's way
            self._parts = PARTS[:len(inputs)]
        return dict(zip(self._parts, inputs))

    # ------------------------------------------------------------------ build
    def build(self, input_shape):
        shapes = self._split(input_shape)
        owner = f"MultiHeadAttention {self.name!r}"
        q, v = tuple(shapes["query"]), tuple(shapes["value"])
        k = tuple(shapes.get("key") or v)
        for name, shape in (("query", q), ("value", v), ("key", k)):
            if len(shape) != 3 or shape[-1] is None:
                raise ValueError(f"{owner} takes {name} of shape (batch, steps, features) with "
                                 f"known features; received {name} of shape {shape}")
        if v[1] is not None and k[1] is not None and v[1] != k[1]:
            raise ValueError(f"{owner}: value and key must have the same number of steps; "
                             f"received value of shape {v} and key of shape {k}")
        h, kd, vd = self.num_heads, self.key_dim, self.value_dim
        out = self.output_shape_arg[0] if self.output_shape_arg else q[-1]

        def weight(name, shape, kernel=True):
            return self.add_weight(
                shape=shape, name=name,
                initializer=self.kernel_initializer if kernel else self.bias_initializer,
                regularizer=self.kernel_regularizer if kernel else self.bias_regularizer)

        self._built_shapes = {"query": q, "value": v, "key": k}
        self.query_kernel = weight("query/kernel", (q[-1], h, kd))
        self.query_bias = weight("query/bias", (h, kd), False) if self.use_bias else None
        self.key_kernel = weight("key/kernel", (k[-1], h, kd))
        self.key_bias = weight("key/bias", (h, kd), False) if self.use_bias else None
        self.value_kernel = weight("value/kernel", (v[-1], h, vd))
        self.value_bias = weight("value/bias", (h, vd), False) if self.use_bias else None
        self.output_kernel = weight("attention_output/kernel", (h, vd, out))
        self.output_bias = weight("attention_output/bias", (out,), False) if self.use_bias \
            else None
        self._record_build(input_shape)

    def _check_shape(self, input_shape):
        """Each of query, value and key must have the features this layer was built for
        (the steps may differ from call to call)."""
        shapes = self._split(input_shape)
        for part, kernel in (("query", self.query_kernel), ("value", self.value_kernel),
                             ("key", self.key_kernel)):
            shape = shapes.get(part) or (shapes["value"] if part == "key" else None)
            built = self._built_shapes[part]
            if len(shape) != 3 or shape[-1] != kernel.shape[0]:
                raise ValueError(f"MultiHeadAttention {self.name!r} was built for {part} of "
                                 f"shape {built}; received {part} of shape {tuple(shape)}: "
                                 f"its projection takes {kernel.shape[0]} features")

    def compute_output_shape(self, input_shape):
        shapes = self._split(input_shape)
        q, v = tuple(shapes["query"]), tuple(shapes["value"])
        out = q[:-1] + (self.output_shape_arg[0] if self.output_shape_arg else q[-1],)
        if self.return_attention_scores:
            return [out, (q[0], self.num_heads, q[1], v[1])]
        return out

    # ------------------------------------------------------------------ the math
    def _mask(self, parts, masks, t, s):
        """The (B or 1, T, S) boolean mask of what each query position may see, or None."""
        allowed = None

        def both(a, b):
            return b if a is None else a & b

        got = dict(zip(self._parts, masks)) if masks is not None else {}
        if got.get("query") is not None:
            allowed = both(allowed, np.asarray(got["query"], dtype=bool)[:, :, None])
        if got.get("value") is not None:
            allowed = both(allowed, np.asarray(got["value"], dtype=bool)[:, None, :])
        if got.get("key") is not None and "key" in parts:
            allowed = both(allowed, np.asarray(got["key"], dtype=bool)[:, None, :])
        if self.use_causal_mask:
            allowed = both(allowed, np.tril(np.ones((t, s), dtype=bool))[None])
        if "attention_mask" in parts:
            given = np.asarray(parts["attention_mask"])
            given = given > 0.5 if given.dtype != bool else given
            if given.ndim == 2:
                given = given[None]
            if given.ndim != 3 or given.shape[-2] not in (1, t) or given.shape[-1] != s:
                raise ValueError(f"MultiHeadAttention {self.name!r}: attention_mask must have "
                                 f"shape (batch, {t}, {s}) (or (batch, 1, {s}), the same for "
                                 f"every query step) for a query of {t} steps and a value of "
                                 f"{s}; received {tuple(given.shape)}")
            allowed = both(allowed, given)
        return allowed

    _ROLES = ("query", "key", "value")         # the three projections

    @staticmethod
    def _input_of(role, parts):
        """Which input a projection reads: the key's is the value's when no key is given."""
        return "value" if role == "key" and "key" not in parts else role

    def _projections(self):
        """{role: (kernel (D, H·E) as used, bias (H·E) or None, E)}; the query's scaled by 1/√K."""
        scale = np.asarray(1.0 / math.sqrt(self.key_dim), dtype=self.dtype)
        out = {}
        for role in self._ROLES:
            kernel, bias = getattr(self, role + "_kernel"), getattr(self, role + "_bias")
            w = kernel.value.reshape(kernel.shape[0], -1)
            b = None if bias is None else bias.value.reshape(-1)
            if role == "query":               # Q/√K = q·(Wq/√K) + bq/√K: the scale costs nothing
                w, b = w * scale, None if b is None else b * scale
            out[role] = (w, b, kernel.shape[-1])
        return out

    def _groups(self, source):
        """The inputs as groups [(x, roles, W, b)]: the projections that read one array
        (all three in self-attention) are one product x · [Wq/√K | Wk | Wv]."""
        projections, groups = self._projections(), []
        for role in self._ROLES:
            for x, roles in groups:
                if x is source[role]:
                    roles.append(role)
                    break
            else:
                groups.append((source[role], [role]))
        out = []
        for x, roles in groups:
            w = np.concatenate([projections[r][0] for r in roles], axis=1) \
                if len(roles) > 1 else projections[roles[0]][0]
            b = np.concatenate([projections[r][1] for r in roles]) if self.use_bias else None
            out.append((x, roles, w, b))
        return out, projections

    def _heads(self, flat, roles, projections, sequences, length):
        """{role: (sequences, H, length, E) view} of a piece's projection product (its
        column blocks, read in place)."""
        h, start, heads = self.num_heads, 0, {}
        for r in roles:
            width = h * projections[r][2]
            heads[r] = flat[:, start:start + width].reshape(
                sequences, length, h, projections[r][2]).transpose(0, 2, 1, 3)
            start += width
        return heads

    def forward(self, inputs, training=False, mask=None):
        parts = self._split(inputs)
        source = {"query": np.asarray(parts["query"], dtype=self.dtype),
                  "value": np.asarray(parts["value"], dtype=self.dtype)}
        source["key"] = np.asarray(parts["key"], dtype=self.dtype) if "key" in parts \
            else source["value"]
        b, t, _ = source["query"].shape
        s = source["value"].shape[1]
        h, vd = self.num_heads, self.value_dim
        groups, projections = self._groups(source)
        allowed = self._mask(parts, mask, t, s)
        blocked = empty = None
        if allowed is not None:
            allowed = allowed[:, None]                             # every head alike
            blocked = ~allowed
            empty = ~allowed.any(axis=-1, keepdims=True)           # rows with nothing to see
        self.keep = None
        if training and self.dropout > 0:                          # drawn here: the same
            generator = self._generator or utils.rng()             # mask on any threads
            self.keep = (generator.random((b, h, t, s), dtype=self.dtype) >= self.dropout) \
                / np.asarray(1 - self.dropout, dtype=self.dtype)
        P = [np.empty((b, x.shape[1], w.shape[1]), dtype=self.dtype) for x, _, w, _ in groups]
        A = np.empty((b, h, t, s), dtype=self.dtype)
        A_used = A if self.keep is None else np.empty_like(A)
        O = np.empty((b, t, h, vd), dtype=self.dtype)              # (B, T, H·Dv') for Wo
        Wo = self.output_kernel.value.reshape(h * vd, -1)
        out = np.empty((b, t, Wo.shape[1]), dtype=self.dtype)
        negative = np.asarray(LARGE_NEGATIVE, dtype=self.dtype)

        def piece(rows):  # a few whole sequences, from the inputs to the output
            n = rows.stop - rows.start
            heads = {}
            for (x, roles, w, bias), p in zip(groups, P):
                flat = p[rows].reshape(-1, w.shape[1])
                np.matmul(x[rows].reshape(-1, x.shape[-1]), w, out=flat)
                if bias is not None:
                    flat += bias
                heads.update(self._heads(flat, roles, projections, n, x.shape[1]))
            scores = np.matmul(heads["query"], heads["key"].transpose(0, 1, 3, 2),
                               out=A[rows])
            mask_rows = blocked_rows = empty_rows = None
            if allowed is not None:
                one = len(allowed) == 1
                mask_rows, blocked_rows, empty_rows = (m if one else m[rows]
                                                       for m in (allowed, blocked, empty))
                np.copyto(scores, negative, where=blocked_rows)
            if not _softmax_unshifted(scores, empty_rows):
                np.matmul(heads["query"], heads["key"].transpose(0, 1, 3, 2), out=scores)
                if blocked_rows is not None:
                    np.copyto(scores, negative, where=blocked_rows)
                scores -= scores.max(axis=-1, keepdims=True)
                np.exp(scores, out=scores)
                scores /= scores.sum(axis=-1, keepdims=True)
                if mask_rows is not None:
                    scores *= mask_rows
            used = scores if self.keep is None else \
                np.multiply(scores, self.keep[rows], out=A_used[rows])
            np.matmul(used, heads["value"], out=O[rows].transpose(0, 2, 1, 3))
            np.matmul(O[rows].reshape(-1, h * vd), Wo, out=out[rows].reshape(-1, Wo.shape[1]))

        threads.run(piece, self._pieces(b, h * t * s))
        if self.output_bias is not None:
            out += self.output_bias.value
        self._cache = (parts, groups, projections, P, A, A_used, O)
        self.last_attention_scores = A
        return [out, A] if self.return_attention_scores else out

    @staticmethod
    def _pieces(batch, per_sequence):
        """Pieces of whole sequences small enough that a piece's arrays stay in a
        core's cache (about CACHE_CHUNK scores each), split over glassnet's threads."""
        return threads.split(batch, -(-batch * per_sequence // CACHE_CHUNK))

    def backward(self, grad):
        parts, groups, projections, P, A, A_used, O = self._cache
        g_scores = None
        if self.return_attention_scores:
            grad, g_scores = grad
        b, t, out_dim = grad.shape
        h, vd = self.num_heads, self.value_dim
        Wo = self.output_kernel.value.reshape(h * vd, out_dim)
        dx = {}                                                     # ∂L/∂input, per input
        for x, roles, _, _ in groups:
            for part in {self._input_of(r, parts) for r in roles}:
                dx[part] = np.empty(x.shape, dtype=self.dtype)

        def piece(rows):  # back through a few whole sequences; their share of ∂L/∂weights
            n = rows.stop - rows.start
            g2 = grad[rows].reshape(-1, out_dim)
            O2 = O[rows].reshape(-1, h * vd)
            shares = [O2.T @ g2, rows_.column_sums(g2)]             # Wo's, bo's
            gO = (g2 @ Wo.T).reshape(n, t, h, vd).transpose(0, 2, 1, 3)
            heads, g_heads, g_flat = {}, {}, []
            for (x, roles, w, _), p in zip(groups, P):
                heads.update(self._heads(p[rows].reshape(-1, w.shape[1]), roles,
                                         projections, n, x.shape[1]))
                g = np.empty((n * x.shape[1], w.shape[1]), dtype=self.dtype)
                g_heads.update(self._heads(g, roles, projections, n, x.shape[1]))
                g_flat.append(g)
            a = A[rows]
            ga = np.matmul(gO, heads["value"].transpose(0, 1, 3, 2))  # ∂L/∂A (n, H, T, S)
            np.matmul(A_used[rows].transpose(0, 1, 3, 2), gO, out=g_heads["value"])
            if self.keep is not None:
                ga *= self.keep[rows]
            if g_scores is not None:
                ga += g_scores[rows]
            dot = rows_.row_sums(np.multiply(ga, a, out=threads.scratch("mha", a.shape,
                                                                          a.dtype)))
            ga -= dot
            ga *= a                                                # softmax's backward
            np.matmul(ga, heads["key"], out=g_heads["query"])      # ∂L/∂(Q/√K)
            np.matmul(ga.transpose(0, 1, 3, 2), heads["query"], out=g_heads["key"])
            for (x, roles, w, _), g in zip(groups, g_flat):
                x2 = x[rows].reshape(-1, x.shape[-1])
                shares += [x2.T @ g, rows_.column_sums(g)]         # every role's W, b
                start = 0
                # ∂L/∂x for each input this array was given as (one product each; the
                # scaled Wq/√K turns ∂L/∂(Q/√K) into the query's share)
                for part, members in itertools.groupby(roles,
                                                       lambda r: self._input_of(r, parts)):
                    width = sum(h * projections[r][2] for r in members)
                    np.matmul(g[:, start:start + width], w[:, start:start + width].T,
                              out=dx[part][rows].reshape(len(g), x.shape[-1]))
                    start += width
            return shares

        shares = threads.run(piece, self._pieces(b, h * t * A.shape[-1]))
        total = [sum(share[i] for share in shares) for i in range(len(shares[0]))]
        self.output_kernel.grad[...] = total[0].reshape(h, vd, out_dim)
        if self.output_bias is not None:
            self.output_bias.grad[...] = total[1]
        scale = 1.0 / math.sqrt(self.key_dim)
        for (x, roles, _, _), kernel_grads, bias_grads in zip(groups, total[2::2],
                                                              total[3::2]):
            start = 0
            for r in roles:
                width = h * projections[r][2]
                factor = scale if r == "query" else 1.0             # Wq/√K was used
                kernel = getattr(self, r + "_kernel")
                np.multiply(kernel_grads[:, start:start + width], factor,
                            out=kernel.grad.reshape(kernel.shape[0], -1))
                if self.use_bias:
                    np.multiply(bias_grads[start:start + width], factor,
                                out=getattr(self, r + "_bias").grad.reshape(-1))
                start += width
        self.add_regularization_gradients()
        grads = {"attention_mask": None, **dx}
        return [grads.get(p) for p in self._parts]

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "value_dim": self.value_dim, "dropout": self.dropout, "use_bias": self.use_bias,
                "output_shape": None if self.output_shape_arg is None else
                list(self.output_shape_arg),
                "attention_axes": [1],
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "activity_regularizer": None, "kernel_constraint": None,
                "bias_constraint": None, "seed": self.seed}


class Attention(_QueryMasked, Layer):
    """Dot-product attention (Luong), Keras's ``Attention``: called on
    ``[query, value]`` or ``[query, value, key]`` (the key is the value when not
    given), each (B, T, D):

        S = scale · Q·Kᵀ                                   score_mode="dot"
        S = c · Σ_d tanh(scale · (Q_t + K_s))_d             score_mode="concat"
        A = softmax_s(S - 1e9 where the value's mask (and the causal triangle) forbids)
        out = A · V, and 0 at the query's masked steps

    ``scale`` (a learned scalar, from 1) only with ``use_scale=True``; ``c`` is the
    learned ``concat_score_weight``. Backward, from g = ∂L/∂out:

        ∂L/∂A = g·Vᵀ   ∂L/∂V = Aᵀ·g   ∂L/∂S = A ⊙ (∂L/∂A - Σ_s ∂L/∂A ⊙ A)
        dot:    ∂L/∂Q = scale · ∂L/∂S·K   ∂L/∂K = scale · ∂L/∂Sᵀ·Q   ∂L/∂scale = Σ ∂L/∂S ⊙ Q·Kᵀ
        concat: with T = tanh(U), U = scale·(Q_t + K_s): ∂L/∂U = c · ∂L/∂S ⊙ (1 - T²),
                ∂L/∂Q = scale · Σ_s ∂L/∂U, ∂L/∂K = scale · Σ_t ∂L/∂U,
                ∂L/∂scale = Σ ∂L/∂U ⊙ (Q_t + K_s), ∂L/∂c = Σ ∂L/∂S ⊙ Σ_d T
    """

    supports_masking = True
    SCORE_MODES = ("dot", "concat")

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        owner = f"{type(self).__name__}"
        if score_mode not in self.SCORE_MODES:
            raise ValueError(f"{owner}: score_mode must be one of {', '.join(self.SCORE_MODES)};"
                             f" received score_mode={score_mode!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or \
                not 0 <= dropout < 1:
            raise ValueError(f"{owner}: dropout must be a rate in [0, 1); received "
                             f"dropout={dropout!r}")
        super().__init__(**kwargs)
        self.use_scale = bool(use_scale)
        self.score_mode = score_mode
        self.dropout = float(dropout)
        self.seed = seed
        self._generator = None if seed is None else np.random.default_rng(seed)
        self.return_attention_scores = False
        self.use_causal_mask = False
        self.scale = self.concat_score_weight = None
        self.last_attention_scores = None

    def __call__(self, inputs, mask=None, training=None, return_attention_scores=False,
                 use_causal_mask=False, **kwargs):
        """``attention([query, value(, key)], mask=None, training=None,
        return_attention_scores=False, use_causal_mask=False)``, as Keras's."""
        name = f"{type(self).__name__} {self.name!r}"
        if not isinstance(inputs, (list, tuple)) or not 2 <= len(inputs) <= 3:
            raise ValueError(f"{name} is called on a list [query, value] or [query, value, "
                             f"key]; received {type(inputs).__name__}"
                             f"{f' of {len(inputs)}' if isinstance(inputs, (list, tuple)) else ''}")
        flags = (bool(return_attention_scores), bool(use_causal_mask))
        if graph.is_symbolic(inputs[0]) and self._inbound_nodes and flags != (
                self.return_attention_scores, self.use_causal_mask):
            raise NotImplementedError(f"{name}: calling one layer in a model with different "
                                      f"return_attention_scores= or use_causal_mask= is not "
                                      f"implemented in glassnet")
        self.return_attention_scores, self.use_causal_mask = flags
        if training is not None:
            kwargs["training"] = training
        if mask is not None:   # an eager call with its masks: [query_mask, value_mask]
            if not isinstance(mask, (list, tuple)) or not 2 <= len(mask) <= 3:
                raise ValueError(f"{name}: mask is a list [query_mask, value_mask]; received "
                                 f"{type(mask).__name__}")
            arrays = [np.asarray(function.value_of(v)) for v in inputs]
            self._maybe_build([(None,) + a.shape[1:] for a in arrays])
            masks = [None if m is None else np.asarray(function.value_of(m), dtype=bool)
                     for m in mask]
            return function.wrap(self.forward(arrays, training=bool(training), mask=masks))
        return super().__call__(list(inputs), **kwargs)

    def _keras_call_arguments(self, arguments, spec):
        """How Keras writes this layer's call in a model's config: the list, and its flags."""
        kwargs = {}
        if self.use_causal_mask:
            kwargs["use_causal_mask"] = True
        if self.return_attention_scores:
            kwargs["return_attention_scores"] = True
        return [[spec(t) for t in arguments]], kwargs

    def build(self, input_shape):
        self._check_inputs(input_shape)
        if self.use_scale:
            self.scale = self.add_weight(shape=(), initializer="ones", name="scale")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(shape=(), initializer="ones",
                                                       name="concat_score_weight")
        self._record_build(input_shape)

    def _check_inputs(self, input_shape):
        name = f"{type(self).__name__} {self.name!r}"
        shapes = [tuple(s) for s in input_shape]
        q, v = shapes[0], shapes[1]
        k = shapes[2] if len(shapes) > 2 else v
        if any(len(s) != 3 for s in shapes):
            raise ValueError(f"{name} takes (batch, steps, features) tensors; received shapes "
                             f"{shapes}")
        if q[-1] is not None and k[-1] is not None and q[-1] != k[-1]:
            raise ValueError(f"{name}: the query and the key must have the same features to "
                             f"be compared; received query of shape {q} and key of shape {k}")
        if v[1] is not None and k[1] is not None and v[1] != k[1]:
            raise ValueError(f"{name}: the value and the key must have the same steps; "
                             f"received value of shape {v} and key of shape {k}")

    def _check_shape(self, input_shape):
        self._check_inputs(input_shape)

    def compute_output_shape(self, input_shape):
        q, v = tuple(input_shape[0]), tuple(input_shape[1])
        k = tuple(input_shape[2]) if len(input_shape) > 2 else v
        out = q[:-1] + (v[-1],)
        return [out, q[:-1] + (k[1],)] if self.return_attention_scores else out

    # ------------------------------------------------------------------ scores
    def _scores(self, q, k):
        scale = self.scale.value if self.scale is not None else None
        if self.score_mode == "dot":
            product = q @ k.transpose(0, 2, 1)
            self._score_cache = product
            return product * scale if scale is not None else product
        summed = q[:, :, None, :] + k[:, None, :, :]                # (B, T, S, D)
        t = np.tanh(summed * scale if scale is not None else summed)
        self._score_cache = (summed, t)
        return self.concat_score_weight.value * t.sum(axis=-1)

    def _scores_backward(self, gs, q, k):
        """(∂L/∂q, ∂L/∂k) from ∂L/∂S, filling the score weights' gradients."""
        scale = self.scale.value if self.scale is not None else None
        if self.score_mode == "dot":
            if self.scale is not None:
                self.scale.grad[...] = np.sum(gs * self._score_cache)
                gs = gs * scale
            return gs @ k, gs.transpose(0, 2, 1) @ q
        summed, t = self._score_cache
        c = self.concat_score_weight
        c.grad[...] = np.sum(gs * t.sum(axis=-1))
        gu = (c.value * gs)[..., None] * (1 - t * t)               # ∂L/∂U
        if self.scale is not None:
            self.scale.grad[...] = np.sum(gu * summed)
            gu = gu * scale
        return gu.sum(axis=2), gu.sum(axis=1)

    # ------------------------------------------------------------------ the layer
    def forward(self, inputs, training=False, mask=None):
        q = np.asarray(inputs[0], dtype=self.dtype)
        v = np.asarray(inputs[1], dtype=self.dtype)
        own_key = len(inputs) > 2
        k = np.asarray(inputs[2], dtype=self.dtype) if own_key else v
        masks = list(mask) if isinstance(mask, (list, tuple)) else [None, None]
        q_mask, v_mask = (masks + [None, None])[:2]
        scores = self._scores(q, k)                                  # (B, T, S)
        allowed = None if v_mask is None else np.asarray(v_mask, dtype=bool)[:, None, :]
        if self.use_causal_mask:
            causal = np.tril(np.ones(scores.shape[-2:], dtype=bool))[None]
            allowed = causal if allowed is None else allowed & causal
        if allowed is not None:  # Keras's rule: S - 1e9 where forbidden
            scores = np.where(allowed, scores, scores - np.asarray(1e9, dtype=self.dtype))
        scores = scores - scores.max(axis=-1, keepdims=True)
        a = np.exp(scores)
        a /= a.sum(axis=-1, keepdims=True)
        self.keep = None
        used = a
        if training and self.dropout > 0:
            generator = self._generator or utils.rng()
            self.keep = (generator.random(a.shape, dtype=self.dtype) >= self.dropout) / \
                np.asarray(1 - self.dropout, dtype=self.dtype)
            used = a * self.keep
        out = used @ v
        self.q_keep = None if q_mask is None else np.asarray(q_mask, dtype=self.dtype)[..., None]
        if self.q_keep is not None:
            out = out * self.q_keep
        self._cache = (q, k, v, a, used, own_key)
        self.last_attention_scores = a
        return [out, a] if self.return_attention_scores else out

    def backward(self, grad):
        q, k, v, a, used, own_key = self._cache
        g_scores = None
        if self.return_attention_scores:
            grad, g_scores = grad
        if self.q_keep is not None:
            grad = grad * self.q_keep
        ga = grad @ v.transpose(0, 2, 1)
        gv = used.transpose(0, 2, 1) @ grad
        if self.keep is not None:
            ga = ga * self.keep
        if g_scores is not None:
            ga = ga + g_scores
        gs = a * (ga - (ga * a).sum(axis=-1, keepdims=True))
        gq, gk = self._scores_backward(gs, q, k)
        return [gq, gv, gk] if own_key else [gq, gv + gk]

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale,
                "score_mode": self.score_mode, "dropout": self.dropout, "seed": self.seed}


class AdditiveAttention(Attention):
    """Additive attention (Bahdanau), Keras's ``AdditiveAttention``: as
    :class:`Attention`, with the scores

        S = Σ_d scale_d · tanh(Q_t + K_s)_d        (scale: a learned vector, glorot_uniform)

    (or Σ_d tanh(...) with ``use_scale=False``). Backward: with T = tanh(Q_t + K_s),
    ∂L/∂U = ∂L/∂S ⊙ scale ⊙ (1 - T²), ∂L/∂Q = Σ_s ∂L/∂U, ∂L/∂K = Σ_t ∂L/∂U,
    ∂L/∂scale = Σ ∂L/∂S ⊙ T.
    """

    def __init__(self, use_scale=True, dropout=0.0, seed=None, **kwargs):
        kwargs.pop("score_mode", None)
        super().__init__(use_scale=use_scale, dropout=dropout, seed=seed, **kwargs)

    def build(self, input_shape):
        self._check_inputs(input_shape)
        if self.use_scale:
            self.scale = self.add_weight(shape=(input_shape[0][-1],),
                                         initializer="glorot_uniform", name="scale")
        self._record_build(input_shape)

    def _scores(self, q, k):
        t = np.tanh(q[:, :, None, :] + k[:, None, :, :])            # (B, T, S, D)
        self._score_cache = t
        return (t * self.scale.value).sum(axis=-1) if self.scale is not None else t.sum(-1)

    def _scores_backward(self, gs, q, k):
        t = self._score_cache
        if self.scale is not None:
            self.scale.grad[...] = np.einsum("bts,btsd->d", gs, t)
            gu = gs[..., None] * self.scale.value * (1 - t * t)
        else:
            gu = gs[..., None] * (1 - t * t)
        return gu.sum(axis=2), gu.sum(axis=1)

    def get_config(self):
        config = super().get_config()
        del config["score_mode"]
        return config
