"""The cold-BLAS effect behind glassnet.utils.warm_up_blas, on this machine.

    python benchmarks/blas_warmup.py

In a fresh process with single-threaded BLAS: the time of a small product
typical of a training step ((128 x 128) @ (128 x 256)), before and after one
512 x 512 x 512 product. On the AMD EPYC machines glassnet is benchmarked on:
0.68 ms before, 0.24 ms after.
"""

import time

import numpy as np
from threadpoolctl import threadpool_limits


def per_call_ms(function, n=300):
    function()
    start = time.perf_counter()
    for _ in range(n):
        function()
    return (time.perf_counter() - start) / n * 1e3


def main():
    rng = np.random.default_rng(0)
    with threadpool_limits(1):
        a = rng.random((128, 128), dtype=np.float32)
        b = rng.random((128, 256), dtype=np.float32)
        before = per_call_ms(lambda: a @ b)
        square = np.ones((512, 512), dtype=np.float32)
        square @ square
        after = per_call_ms(lambda: a @ b)
    print(f"1 BLAS thread, (128 x 128) @ (128 x 256): {before:.3f} ms before one 512^3 "
          f"product, {after:.3f} ms after ({before / after:.1f}x)")


if __name__ == "__main__":
    main()
