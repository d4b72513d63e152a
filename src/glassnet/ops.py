"""The one numeric kernel layers share: matrix multiplication.

``matmul(a, b)`` is ``a @ b``. When ``a`` has few rows (a training batch:
at most ``SMALL_ROWS``) and the shared axis is long (more than ``K_BLOCK``),
it is computed as a sum of products over 128-wide blocks of that axis:

    a @ b = Σⱼ a[:, j:j+128] @ b[j:j+128, :]

The same math. Why: on the AMD EPYC machines glassnet is benchmarked on,
NumPy's OpenBLAS (Haswell kernels) ran a (128 x 784) @ (784 x 256) product at
~10 GFLOP/s in one piece and ~30 GFLOP/s in 128-wide blocks, while larger
batches (>= 512 rows) ran best in one piece; ``benchmarks/gemm_blocks.py``
measures it on your machine. Set ``GLASSNET_GEMM_BLOCK=0`` to turn it off.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["matmul", "K_BLOCK", "SMALL_ROWS"]

K_BLOCK = int(os.environ.get("GLASSNET_GEMM_BLOCK", "128"))
SMALL_ROWS = 256


def matmul(a, b, out=None):
    """a @ b for 2-D arrays (into ``out`` if given)."""
    rows, shared = a.shape
    if K_BLOCK <= 0 or rows > SMALL_ROWS or shared <= K_BLOCK:
        return np.matmul(a, b, out=out)
    out = np.matmul(a[:, :K_BLOCK], b[:K_BLOCK], out=out)
    part = np.empty_like(out)
    for start in range(K_BLOCK, shared, K_BLOCK):
        np.matmul(a[:, start:start + K_BLOCK], b[start:start + K_BLOCK], out=part)
        out += part
    return out
