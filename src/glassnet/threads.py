"""glassnet's own threads: the pieces of a batch worked on side by side.

NumPy lets go of Python's lock (the GIL) inside its kernels and inside BLAS,
so plain Python threads run NumPy work on every core at once. A layer that
works through its batch in pieces anyway (a convolution's cache-sized chunks)
hands them to :func:`run`, which splits them into one group per thread and
runs the groups side by side on this module's pool; each piece writes its own
slice of the output, so no two threads touch the same numbers.

Two pools would fight for the cores: n of ours, each calling a BLAS that starts
n threads of its own, is n² threads on n cores. So while :func:`run` works,
BLAS is held at one thread per call, and between runs it has all n again, for
the single large products (a Dense layer's) that it splits well by itself.

``glassnet.set_num_threads(n)``, like ``torch.set_num_threads``, sizes both;
by default both use every core this process may run on.
"""

from __future__ import annotations

import os
import threading
import time

import numpy as np

_size = None            # set_num_threads's n; None: every core
_pool = None            # a ThreadPoolExecutor of size() - 1 workers (the caller is one more)
_lock = threading.Lock()
_active = 0             # runs under way (playground tabs may run at once)
_blas = None            # threadpoolctl's BLAS controllers, found at first use
_held = []              # [(controller, its threads before the first run began)]
_local = threading.local()


def cores():
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def size():
    """How many threads glassnet's work runs on."""
    return _size or cores()


def set_size(n):
    """glassnet's threads: ``n`` (a positive int), or None for every core."""
    global _size, _pool
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ValueError(f"set_num_threads takes a positive integer or None; received {n!r}")
    with _lock:
        _size = n
        old, _pool = _pool, None
    if old is not None:
        old.shutdown(wait=True)


def _executor():
    global _pool
    with _lock:
        if _pool is None:  # set_size drops the old one
            import concurrent.futures

            _pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=size() - 1, thread_name_prefix="glassnet")
        return _pool


def _blas_controllers():
    global _blas
    if _blas is None:
        try:
            from threadpoolctl import ThreadpoolController

            _blas = [c for c in ThreadpoolController().select(user_api="blas").lib_controllers]
        except Exception:  # noqa: BLE001 (no threadpoolctl, or a BLAS it cannot drive)
            _blas = []
    return _blas


def _hold_blas():
    """The first run to begin holds BLAS at one thread per call."""
    global _active
    with _lock:
        _active += 1
        if _active == 1:
            _held[:] = [(c, c.num_threads) for c in _blas_controllers()]
            for controller, _ in _held:
                controller.set_num_threads(1)


def _release_blas():
    """The last run to end gives BLAS its threads back."""
    global _active
    with _lock:
        _active -= 1
        if _active == 0:
            for controller, threads in _held:
                controller.set_num_threads(threads)
            _held.clear()


def _group(task, pieces):
    _local.inside = True
    try:
        return [task(piece) for piece in pieces]
    finally:
        _local.inside = False


def run(task, pieces):
    """[task(piece) for piece in pieces], with the pieces split into up to
    size() contiguous groups that run side by side (the calling thread takes
    the first). A run inside a run, one thread, or one piece runs in place."""
    pieces = list(pieces)
    k = min(size(), len(pieces))
    if k <= 1 or getattr(_local, "inside", False):
        return [task(piece) for piece in pieces]
    bounds = [len(pieces) * i // k for i in range(k + 1)]
    groups = [pieces[bounds[i]:bounds[i + 1]] for i in range(k)]
    pool = _executor()
    _hold_blas()
    futures = []
    try:
        futures = [pool.submit(_group, task, group) for group in groups[1:]]
        results = _group(task, groups[0])
        for future in futures:
            results += future.result()
    finally:
        for future in futures:      # on an error too: nothing still runs when run returns
            future.cancel() or future.exception()
        _release_blas()
    global _last_run
    _last_run = time.monotonic()
    return results


def split(n, pieces=1):
    """range(n) as contiguous slices: at least ``pieces`` of them, rounded up to
    a multiple of glassnet's threads so that each thread gets as many, and
    never more than n (nor fewer than one)."""
    k = size()
    want = max(1, min(n, -(-max(pieces, 1) // k) * k))
    bounds = [n * i // want for i in range(want + 1)]
    return [slice(bounds[i], bounds[i + 1]) for i in range(want)]


# OpenBLAS starts its own threads only for products larger than this (M·N·K;
# interface/gemm.c: 65536 · GEMM_MULTITHREAD_THRESHOLD): smaller ones run on
# one thread wherever they are called, so they are left to it
BLAS_ALONE = 65536 * 4
RECENT_SECONDS = 1.0
_last_run = -1e9         # when run() last ended (time.monotonic())


def busy():
    """Whether glassnet's own threads are at work: they ran within the last
    RECENT_SECONDS (a network with convolutions or attention)."""
    return time.monotonic() - _last_run <= RECENT_SECONDS


def matmul(a, b, out=None):
    """a @ b for 2-D a, b (``out``: where to write it). Where glassnet's own
    threads are at work (they ran within the last RECENT_SECONDS: a network
    with convolutions), a large product is split over them too, by rows (or,
    for a short a, by columns), and OpenBLAS's own threads stay asleep: once
    woken they spin for a while after every product, on the very cores
    glassnet's threads need. Elsewhere (a network of Dense layers) BLAS splits
    it with its own threads, which start faster than a hand-over to ours."""
    m, k = a.shape
    n = b.shape[1]
    threads = size()
    if threads == 1 or m * n * k <= BLAS_ALONE or getattr(_local, "inside", False) or \
            not busy():
        return np.matmul(a, b, out=out)
    if out is None:
        out = np.empty((m, n), dtype=np.result_type(a, b))
    if m >= 8 * threads:             # rows: each thread its own rows of a and of out
        run(lambda rows: np.matmul(a[rows], b, out=out[rows]), split(m))
    else:                            # a few rows: each thread its own columns of b and out
        run(lambda cols: np.matmul(a, b[:, cols], out=out[:, cols]), split(n))
    return out


def scratch(name, shape, dtype):
    """An array of ``shape`` for work that ends before the caller's piece
    does, this thread's own (one per ``name``) and reused from piece to piece:
    no fresh pages, which the kernel would zero and map one by one, for
    every piece of every batch."""
    buffers = _local.__dict__.setdefault("scratch", {})
    count = 1
    for length in shape:
        count *= length
    dtype = np.dtype(dtype)
    held = buffers.get((name, dtype))
    if held is None or held.size < count:
        held = buffers[(name, dtype)] = np.empty(count, dtype=dtype)
    return held[:count].reshape(shape)
