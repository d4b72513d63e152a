"""Does blocking the shared axis help NumPy's BLAS on this machine?

    python benchmarks/gemm_blocks.py          # blocked or not, 1 and 2 threads
    python benchmarks/gemm_blocks.py --cold   # small products before/after one large one

Times a @ b for the products an MLP step makes, in one piece and in 128- and
256-wide blocks of the shared axis, at 1 and 2 BLAS threads, interleaved, 5
repeats, medians. glassnet.ops blocks by 128 when the BLAS is single-threaded
because this measured it faster here (see ops.py).
"""

import time

import numpy as np
from threadpoolctl import threadpool_limits


def blocked(a, b, width):
    if width == 0 or a.shape[1] <= width:
        return a @ b
    out = a[:, :width] @ b[:width]
    part = np.empty_like(out)
    for j in range(width, a.shape[1], width):
        np.matmul(a[:, j:j + width], b[j:j + width], out=part)
        out += part
    return out


def per_call_ms(function, n):
    function()
    start = time.perf_counter()
    for _ in range(n):
        function()
    return (time.perf_counter() - start) / n * 1e3


def cold_start():
    """Run in a fresh process: a small single-threaded product, timed before
    and after one large product."""
    rng = np.random.default_rng(0)
    with threadpool_limits(1):
        a = rng.random((128, 128), dtype=np.float32)
        b = rng.random((128, 256), dtype=np.float32)
        before = per_call_ms(lambda: a @ b, 300)
        big = np.ones((512, 512), dtype=np.float32)
        big @ big
        after = per_call_ms(lambda: a @ b, 300)
    print(f"1 thread, (128x128) @ (128x256): {before:.3f} ms before one 512^3 product, "
          f"{after:.3f} ms after")


def main():
    import sys

    if "--cold" in sys.argv:
        cold_start()
        return
    rng = np.random.default_rng(0)
    shapes = [(128, 784, 256), (128, 256, 128), (1000, 784, 256), (1000, 256, 128),
              (4000, 784, 256)]
    for threads in (1, 2):
        with threadpool_limits(threads):
            for m, k, n in shapes:
                a = rng.random((m, k), dtype=np.float32)
                b = rng.random((k, n), dtype=np.float32)
                reps = max(3, 2000 // m)
                times = {w: [] for w in (0, 128, 256)}
                for _ in range(5):
                    for w in times:
                        times[w].append(per_call_ms(lambda: blocked(a, b, w), reps))
                gflop = 2 * m * k * n / 1e6
                cells = "  ".join(f"{'whole' if w == 0 else f'block {w}'} "
                                  f"{np.median(v):7.2f} ms ({gflop / np.median(v):3.0f} GFLOP/s)"
                                  for w, v in times.items())
                print(f"threads {threads}  {m:>5}x{k}x{n}:  {cells}", flush=True)


if __name__ == "__main__":
    main()
