"""Two layers computed as one step, with the same results: Conv2D followed by
MaxPooling2D.

A Conv2D with relu (or no activation) followed by a 2x2 max pooling computes
relu(z + b) at every pixel and then keeps one value in four. Because adding
the bias b (the same for the whole window: it belongs to the channel) and relu
never change which value of a window is the largest,

    max over a window of relu(z + b)  =  relu(max over the window of z + b)

so the step pools the raw convolution z first and adds the bias and applies
relu on the pooled values: 4x fewer numbers to touch, in forward and backward.
Backward runs the same chain in reverse: relu's mask on the pooled output, the
bias gradient as its sum, the pooling's routing back to the winning pixel,
then the convolution's own backward.

And it works through the batch in pieces of about CACHE_CHUNK_BYTES (1 MiB):
each piece of z is pooled, and each piece of ∂L/∂z used, while it is still in
the CPU's cache, so the full-size z (11 MB for the first layer of the lessons'
CNN at batch 128) is never written to memory at all.

``Sequential`` builds its list of steps with :func:`plan`; each layer keeps
its weights, config and ``forward``/``backward`` for use on its own.
"""

from __future__ import annotations

import numpy as np

from glassnet.layers.conv import Conv2D
from glassnet.layers.pooling import MaxPooling2D

__all__ = ["Conv2DMaxPooling", "plan"]


class Conv2DMaxPooling:
    """Conv2D (relu or linear) and the MaxPooling2D after it, as one step."""

    def __init__(self, conv, pool):
        self.conv, self.pool = conv, pool
        self.relu = conv.activation.name == "relu"

    @staticmethod
    def applies(conv, pool):
        return (isinstance(conv, Conv2D) and type(pool) is MaxPooling2D
                and conv.activation.name in ("relu", "linear") and pool._tiles())

    def forward(self, x, training=False):
        conv, pool = self.conv, self.pool
        xp = conv._pad(x)
        conv.xp, conv.x_shape, conv.a, conv.cols = xp, x.shape, None, None
        pool.x_shape = (len(x),) + conv.output_shape
        kernel = conv._kernel_matrix()
        out = pool.allocate(len(x), conv.dtype)
        self.parts = conv.cache_chunks(len(x))
        self.cols = [] if training else None
        for part in self.parts:  # each piece of z is pooled while it is in the cache
            cols = conv._im2col(xp[part])
            z = (cols @ kernel).reshape((-1,) + conv.output_shape)
            pool.forward_part(z, out, part)
            if training:
                self.cols.append(cols)
        if conv.use_bias:
            out += conv.bias
        if self.relu:
            np.maximum(out, 0, out=out)
        self.out = out
        return out

    def backward(self, grad):
        conv, pool = self.conv, self.pool
        if self.relu:
            grad = grad * (self.out > 0)
        if conv.use_bias:
            np.sum(grad, axis=(0, 1, 2), out=conv.grad_bias)
        grad_kernel = conv.grad_kernel.reshape(-1, conv.filters)
        grad_kernel[...] = 0
        grad_xp = np.zeros_like(conv.xp) if conv.input_grad_needed else None
        grad_z = np.empty((self.parts[0].stop - self.parts[0].start,) + conv.output_shape,
                          dtype=grad.dtype)
        for part, cols in zip(self.parts, self.cols):
            piece = grad_z[: part.stop - part.start]
            pool.backward_part(grad[part], piece, part)  # ∂L/∂z of these samples
            piece = piece.reshape(-1, conv.filters)
            grad_kernel += cols.T @ piece
            if grad_xp is not None:
                conv._col2im(piece, grad_xp[part])
        self.cols = None
        conv.add_regularization_gradients()
        return None if grad_xp is None else conv._unpad(grad_xp)

    def __repr__(self):
        return f"<Conv2DMaxPooling {self.conv.name!r} + {self.pool.name!r}>"


def plan(layers):
    """The steps a model runs: its layers, with each Conv2D + MaxPooling2D pair
    that :class:`Conv2DMaxPooling` applies to joined into one step."""
    steps, i = [], 0
    while i < len(layers):
        if i + 1 < len(layers) and Conv2DMaxPooling.applies(layers[i], layers[i + 1]):
            steps.append(Conv2DMaxPooling(layers[i], layers[i + 1]))
            i += 2
        else:
            steps.append(layers[i])
            i += 1
    return steps
