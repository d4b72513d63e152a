"""Two layers computed as one step, with the same results: Conv2D followed by
MaxPooling2D.

A Conv2D with relu (or no activation) followed by a 2x2 max pooling computes
relu(z + b) at every pixel and then keeps the largest of each 2x2 window.
Adding the bias b (the same for the whole window: it belongs to the channel)
and relu never change which value of a window is the largest, so

    max over a window of relu(z + b)  =  relu(max over the window of z + b)

and the step pools the raw convolution z first, then adds the bias and
applies relu to the pooled values: 4x fewer numbers.

It goes one step further in how it lays out the convolution. im2col writes
the windows grouped by their place in the pooling window: first every
convolution window that lands at the top-left of a pooling window, then every
one at the top-right, and so on. The matrix product then gives z as four
(for 2x2) stacked matrices z₀, z₁, z₂, z₃ of the pooled output's shape, and

    pooled = max(z₀, z₁, z₂, z₃)   (elementwise; winner = the first t with the max)

is a plain elementwise maximum of whole matrices: no strided windows at all.
Backward is as direct: ∂L/∂z_t = ∂L/∂pooled where the winner is t, else 0;
grad_kernel = colsᵀ @ ∂L/∂z, one product; the input gradient goes back through
col2im. Convolution outputs that no pooling window covers (the last row or
column of an odd size) are never computed.

The batch is worked through in pieces of about CACHE_CHUNK_BYTES, so each
piece of z is pooled (and each piece of ∂L/∂z used) while it is in the
CPU's cache; cols are kept for backward only up to IM2COL_BUDGET_BYTES
(64 MiB: batch 128 of the lessons' CNN needs 15 MB), else rebuilt there. The engine
(glassnet/engine/plan.py) uses this step where a Conv2D's output is read by one
MaxPooling2D and nothing else; each layer keeps its weights, config and its own
``forward``/``backward``.
"""

from __future__ import annotations

import numpy as np

from glassnet import threads
from glassnet.layers import conv as conv_module
from glassnet.layers.conv import Conv2D, col2im, im2col
from glassnet.layers.pooling import MaxPooling2D, first_max

__all__ = ["Conv2DMaxPooling"]


class Conv2DMaxPooling:
    """Conv2D (relu or linear) and the MaxPooling2D after it, as one step."""

    def __init__(self, conv, pool):
        self.conv, self.pool = conv, pool
        self.relu = conv.activation.name == "relu"
        (ph, pw), (sh, sw) = pool.pool_size, conv.strides
        self.offsets = [divmod(t, pw) for t in range(ph * pw)]  # (row, column) in the window
        self.steps = (ph * sh, pw * sw)  # input rows/columns between two pooled outputs
        self.corners = [(a0 * sh, b0 * sw) for a0, b0 in self.offsets]  # of the first window

    @staticmethod
    def applies(conv, pool):
        return (type(conv) is Conv2D and type(pool) is MaxPooling2D
                and conv.activation.name in ("relu", "linear") and pool._tiles()
                and None not in tuple(pool.output_shape)[1:])  # sizes known when planned

    def _grouped_cols(self, xp, keep=False):
        """(ph·pw, n·out_h·out_w, kh·kw·C): for each place t in the pooling
        window, the rows of im2col of the convolution windows at that place
        (in the thread's scratch memory unless kept)."""
        conv, count = self.conv, self.pool.output_shape[1:3]
        shape = (len(self.offsets), len(xp)) + count + conv.kernel.shape[:3]
        cols = np.empty(shape, dtype=xp.dtype) if keep else threads.scratch("cols", shape,
                                                                              xp.dtype)
        for t, corner in enumerate(self.corners):
            im2col(xp, conv.kernel_size, self.steps, count, corner, out=cols[t])
        return cols.reshape(len(self.offsets), -1, cols[0, 0, 0, 0].size)

    def forward(self, x, training=False):
        conv, pool = self.conv, self.pool
        f = conv.filters
        xp = conv._pad(x)
        conv.xp, conv.x_shape, conv.a, conv.cols = xp, x.shape, None, None
        kernel = conv._kernel_matrix()
        out = np.empty((len(x),) + pool.output_shape[1:], dtype=conv.dtype)
        self.winner = np.empty(out.shape, dtype=np.uint8) if training else None
        self.parts = conv.cache_chunks(len(x))
        # backward needs cols again: keep them if they fit IM2COL_BUDGET_BYTES, else redo
        (kh, kw), c = conv.kernel_size, x.shape[3]
        size = len(x) * out[0].size // f * len(self.offsets) * kh * kw * c * xp.itemsize
        keep = training and size <= conv_module.IM2COL_BUDGET_BYTES
        bias = conv.bias.value if conv.use_bias else None

        def piece(part):  # each piece of z is pooled while it is in the cache
            cols = self._grouped_cols(xp[part], keep)
            z = threads.scratch("z", (len(cols), cols[0].shape[0], f), conv.dtype)
            np.matmul(cols.reshape(-1, cols.shape[-1]), kernel, out=z.reshape(-1, f))
            pooled = out[part].reshape(-1, f)
            if training:
                first_max(list(z), out=pooled, index=self.winner[part].reshape(-1, f))
            else:  # predict: the largest of each window, no record of which one won
                np.maximum(z[0], z[1], out=pooled)
                for t in range(2, len(z)):
                    np.maximum(pooled, z[t], out=pooled)
            if bias is not None:
                pooled += bias
            if self.relu:
                np.maximum(pooled, 0, out=pooled)
            return cols if keep else None

        kept = threads.run(piece, self.parts)
        self.cols = kept if keep else None
        self.out = out
        return out

    def backward(self, grad, input_grad=True):
        conv, f = self.conv, self.conv.filters
        if self.relu:
            grad = grad * (self.out > 0)
        if conv.use_bias:
            np.sum(grad, axis=(0, 1, 2), out=conv.grad_bias)
        kernel = conv._kernel_matrix()
        grad_xp = np.zeros_like(conv.xp) if input_grad else None

        def piece(k):
            part = self.parts[k]
            cols = self.cols[k] if self.cols is not None else self._grouped_cols(conv.xp[part])
            g, winner = grad[part].reshape(-1, f), self.winner[part].reshape(-1, f)
            grad_z = threads.scratch("grad_z", (len(cols), len(g), f), grad.dtype)
            for t in range(len(cols)):  # ∂L/∂z_t: the gradient where t won
                np.multiply(g, winner == t, out=grad_z[t])
            grad_z = grad_z.reshape(-1, f)
            grad_kernel = (grad_z.T @ cols.reshape(len(grad_z), -1)).T  # see Conv2D
            if grad_xp is not None:  # col2im: each window's gradient back onto its pixels
                grad_cols = threads.scratch("grad_cols", (len(grad_z), kernel.shape[0]),
                                            grad.dtype)
                np.matmul(grad_z, kernel.T, out=grad_cols)
                grad_cols = grad_cols.reshape(
                    (len(cols), -1) + self.pool.output_shape[1:3] + conv._window_shape())
                for t, corner in enumerate(self.corners):
                    col2im(grad_cols[t], grad_xp[part], conv.kernel_size, self.steps, corner)
            return grad_kernel

        grad_kernel = conv.grad_kernel.reshape(-1, f)
        grad_kernel[...] = 0
        for partial in threads.run(piece, range(len(self.parts))):  # in order: same sums
            grad_kernel += partial
        self.cols = None
        conv.add_regularization_gradients()
        return None if grad_xp is None else conv._unpad(grad_xp)

    @property
    def layers(self):
        return [self.conv, self.pool]

    def __repr__(self):
        return f"<Conv2DMaxPooling {self.conv.name!r} + {self.pool.name!r}>"
