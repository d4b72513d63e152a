"""The one numeric kernel layers share: matrix multiplication.

``matmul(a, b)`` is ``a @ b``. When the BLAS runs on one thread and the
shared axis is longer than ``K_BLOCK`` (128), it is computed as a sum of
products over 128-wide blocks of that axis:

    a @ b = Σⱼ a[:, j:j+128] @ b[j:j+128, :]

The same math. Why: on the AMD EPYC machines glassnet is benchmarked on,
NumPy's OpenBLAS (Haswell kernels) ran single-threaded products with a long
shared axis at 10-16 GFLOP/s, and the same products in 128-wide blocks at
20-32 GFLOP/s, for 128 to 4,000 rows; with 2 threads it ran 30-60 GFLOP/s in
one piece and blocks only cost time. ``benchmarks/gemm_blocks.py`` measures it
on your machine. ``configure()`` reads the BLAS thread count (threadpoolctl)
and decides; models call it at the start of ``fit``, ``evaluate`` and
``predict``. ``GLASSNET_GEMM_BLOCK=0`` turns blocking off.

A second, stranger measurement from the same machines: in a fresh process
with single-threaded OpenBLAS, even small products ((128 x 128) @ (128 x 256))
ran 2.8x slower (0.68 ms against 0.24 ms) until the first large product had
run; after one 512 x 512 x 512 product they stayed fast for the life of the
process. Not malloc (glibc's mmap threshold changed nothing), not clock
speed; the cause is unknown to us. So ``configure`` runs that one product
(about 10 ms) the first time it finds the BLAS single-threaded;
``benchmarks/gemm_blocks.py --cold`` shows the effect.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["matmul", "configure", "blas_threads", "K_BLOCK"]

K_BLOCK = int(os.environ.get("GLASSNET_GEMM_BLOCK", "128"))
_blocking = None  # decided by configure(); None until the first call
_warmed_up = False


def blas_threads():
    """The number of threads the BLAS under NumPy uses now."""
    from threadpoolctl import threadpool_info

    counts = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    return min(counts) if counts else 1


def configure(blocking=None):
    """Decide whether ``matmul`` blocks: as given, else block exactly when the
    BLAS is single-threaded. Returns the decision."""
    global _blocking, _warmed_up
    single_thread = blas_threads() == 1
    if single_thread and not _warmed_up:
        side = np.ones((512, 512), dtype=np.float32)
        side @ side  # see the module docstring
        _warmed_up = True
    if blocking is None:
        blocking = K_BLOCK > 0 and single_thread
    _blocking = bool(blocking)
    return _blocking


def matmul(a, b, out=None):
    """a @ b for 2-D arrays (into ``out`` if given)."""
    if _blocking is None:
        configure()
    shared = a.shape[1]
    if not _blocking or shared <= K_BLOCK:
        return np.matmul(a, b, out=out)
    out = np.matmul(a[:, :K_BLOCK], b[:K_BLOCK], out=out)
    part = np.empty_like(out)
    for start in range(K_BLOCK, shared, K_BLOCK):
        np.matmul(a[:, start:start + K_BLOCK], b[start:start + K_BLOCK], out=part)
        out += part
    return out
