"""Random numbers and small helpers shared by layers, initializers and models.

glassnet draws every random number (initial weights, dropout masks, shuffling)
from one NumPy Generator, so one seed makes a whole run reproducible:

    >>> import glassnet as gn
    >>> gn.utils.set_random_seed(0)
    >>> a = gn.utils.rng().random()
    >>> gn.utils.set_random_seed(0)
    >>> a == gn.utils.rng().random()
    True
"""

from __future__ import annotations

import contextlib
import re

import numpy as np

__all__ = ["set_random_seed", "rng", "seeded", "unique_name", "to_snake_case", "resolve",
           "warm_up_blas", "prepare_threads", "workers", "parallel", "floatx", "set_floatx"]

_generator = np.random.default_rng()


def set_random_seed(seed):
    """Seed glassnet's random numbers (like ``keras.utils.set_random_seed``)."""
    global _generator
    _generator = np.random.default_rng(_check_seed(seed))


def rng():
    """The Generator glassnet draws from."""
    return _generator


@contextlib.contextmanager
def seeded(seed):
    """Within the block, draw from a Generator seeded with ``seed`` (no-op
    for ``None``); afterwards the previous Generator is back."""
    global _generator
    if seed is None:
        yield
        return
    saved = _generator
    _generator = np.random.default_rng(_check_seed(seed))
    try:
        yield
    finally:
        _generator = saved


def _check_seed(seed):
    if seed is None:
        return None
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer or None; received {seed!r}")
    return int(seed)


_floatx = "float32"


def floatx():
    """The default float dtype of new layers, weights and ``Input``s
    (Keras's ``keras.backend.floatx()``): "float32" unless changed."""
    return _floatx


def set_floatx(value):
    """Make ``value`` ("float32" or "float64") the dtype of layers, weights
    and ``Input``s made from now on, as ``keras.backend.set_floatx`` does.
    Layers and models already made keep theirs."""
    global _floatx
    if value in ("float16", "bfloat16"):
        raise NotImplementedError(f"set_floatx({value!r}): glassnet computes in float32 or "
                                  f"float64 only (NumPy has no fast {value})")
    if value not in ("float32", "float64"):
        raise ValueError(f"Unknown `floatx` value: {value!r}. Expected one of 'float32', "
                         f"'float64' (Keras also knows 'float16' and 'bfloat16', which "
                         f"glassnet does not implement)")
    _floatx = str(value)


_name_counts: dict[str, int] = {}
trainable_version = [0]  # bumped when a layer's trainable flag changes (models replan)


def to_snake_case(name):
    """'BatchNormalization' -> 'batch_normalization', 'Conv2D' -> 'conv2d'."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(base):
    """Keras's automatic names: dense, dense_1, dense_2, ..."""
    count = _name_counts.get(base, 0)
    _name_counts[base] = count + 1
    return base if count == 0 else f"{base}_{count}"


def resolve(identifier, kind, base, by_name, by_class):
    """The object an identifier names, for the registries of initializers,
    losses, optimizers and regularizers: an instance of ``base`` is returned
    as is; a name (case-insensitive) calls ``by_name[name]()``; a config dict
    ``{"class_name": ..., "config": {...}}`` calls ``by_class[class_name](**config)``.
    Anything else is a ValueError listing the valid names."""
    if isinstance(identifier, base):
        return identifier
    valid = ", ".join(sorted(by_name))
    if isinstance(identifier, str):
        key = identifier.strip().lower()
        if key not in by_name:
            raise ValueError(f"Unknown {kind} {identifier!r}. Valid names: {valid}")
        return by_name[key]()
    if isinstance(identifier, dict) and identifier.get("class_name") in by_class:
        return by_class[identifier["class_name"]](**identifier.get("config", {}))
    raise ValueError(f"A{'n' if kind[0] in 'aeiou' else ''} {kind} is a name ({valid}), a config "
                     f"dict or a{'n' if kind[0] in 'aeiou' else ''} {kind} object; received "
                     f"{type(identifier).__name__} {identifier!r:.60}")


_blas_warm = False


def warm_up_blas():
    """Run one 512 x 512 x 512 float32 product, once per process, if the BLAS
    under NumPy is single-threaded. Models call this before fit, evaluate and
    predict.

    Why, measured on the AMD EPYC machines glassnet is benchmarked on: in a
    fresh process with single-threaded OpenBLAS, the products of a training
    step ran 2-3x slower ((128 x 128) @ (128 x 256): 0.68 ms against 0.24 ms)
    until the first large product had run; after one, they stayed fast for
    the life of the process (an epoch of the 784-256-128-10 MLP: 6.1 s cold,
    2.9 s warm). glibc's mmap threshold changed nothing and it persists across
    seconds of full load, so not clock speed; the cause is unknown to us.
    ``benchmarks/blas_warmup.py`` shows the effect on your machine.
    """
    global _blas_warm
    if _blas_warm:
        return
    from threadpoolctl import threadpool_info

    threads = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    if threads and min(threads) == 1:
        square = np.ones((512, 512), dtype=np.float32)
        square @ square
        _blas_warm = True


# ------------------------------------------------------------------ threads
_controller = None
_workers = 1
_pool = None
PARALLEL_MIN_SIZE = 1 << 20  # below this many numbers, one thread is as fast (measured)


def prepare_threads():
    """Called by fit, evaluate and predict: glassnet's own worker threads (for
    the memory-bound steps: im2col, col2im, pooling) follow the BLAS's thread
    count (``glassnet.set_num_threads``, threadpoolctl, OPENBLAS_NUM_THREADS),
    and a single-threaded BLAS is warmed up (:func:`warm_up_blas`)."""
    global _controller, _workers
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    threads = [lib.get_num_threads() for lib in _controller.lib_controllers
               if lib.user_api == "blas"]
    _workers = max(1, min(threads)) if threads else 1
    if _workers == 1:
        warm_up_blas()
    return _workers


def workers():
    """How many threads :func:`parallel` uses (set by :func:`prepare_threads`)."""
    return _workers


def parallel(n, work, size=None):
    """Run ``work(part)`` for contiguous slices ``part`` that cover range(n),
    one per worker thread, and wait for all of them.

    The matrix products already use every BLAS thread; this is for the array
    work between them (copies, comparisons, adds), which NumPy runs with the
    GIL released, so threads working on disjoint slices of a batch use all
    cores. ``work`` must only write its own slice. ``size`` (how many numbers
    the whole job touches) below PARALLEL_MIN_SIZE runs it in one piece.

        >>> out = np.zeros(10)
        >>> def work(part):
        ...     out[part] = np.arange(10)[part] ** 2
        >>> parallel(10, work); print(out[-1])
        81.0
    """
    global _pool
    count = min(_workers, n)
    if count <= 1 or (size is not None and size < PARALLEL_MIN_SIZE):
        work(slice(0, n))
        return
    if _pool is None or _pool._max_workers < count - 1:
        from concurrent.futures import ThreadPoolExecutor

        _pool = ThreadPoolExecutor(max_workers=count - 1, thread_name_prefix="glassnet")
    bounds = [n * k // count for k in range(count + 1)]
    futures = [_pool.submit(work, slice(bounds[k], bounds[k + 1])) for k in range(1, count)]
    try:
        work(slice(bounds[0], bounds[1]))
    finally:
        for future in futures:
            future.result()
