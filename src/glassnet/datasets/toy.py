"""Small 2-D data sets for seeing a classifier's decision boundary.

Each returns (x, y): x float32 of shape (n, 2), y int labels of shape (n,).
``noise`` is the standard deviation of Gaussian noise added to the points.

    >>> x, y = spiral(300, noise=0.1, seed=0)
    >>> x.shape, x.dtype, sorted(set(y.tolist()))
    ((300, 2), dtype('float32'), [0, 1, 2])
"""

from __future__ import annotations

import numpy as np

__all__ = ["spiral", "moons", "circles", "xor", "NAMES", "load"]


def _check(n, noise, minimum=2):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < minimum:
        raise ValueError(f"n must be an integer >= {minimum}; received {n!r}")
    if not (isinstance(noise, (int, float)) and noise >= 0):
        raise ValueError(f"noise must be a number >= 0; received {noise!r}")


def _finish(x, y, noise, rng):
    x = x + rng.normal(scale=noise, size=x.shape)
    order = rng.permutation(len(y))
    return x[order].astype(np.float32), y[order].astype(np.int64)


def spiral(n=300, noise=0.2, seed=None, classes=3):
    """``classes`` interleaved spiral arms (the CS231n toy problem): a linear
    classifier fails, a small hidden layer succeeds."""
    _check(n, noise, classes)
    rng = np.random.default_rng(seed)
    per = np.full(classes, n // classes)
    per[: n % classes] += 1
    xs, ys = [], []
    for k, count in enumerate(per):
        r = np.linspace(0.05, 1, count)
        theta = np.linspace(k * 4, (k + 1) * 4, count) + rng.normal(scale=noise, size=count)
        xs.append(np.column_stack([r * np.sin(theta), r * np.cos(theta)]))
        ys.append(np.full(count, k))
    return _finish(np.concatenate(xs), np.concatenate(ys), 0.0, rng)


def moons(n=300, noise=0.1, seed=None):
    """Two interleaving half circles."""
    _check(n, noise)
    rng = np.random.default_rng(seed)
    n_out = n // 2
    n_in = n - n_out
    outer = np.linspace(0, np.pi, n_out)
    inner = np.linspace(0, np.pi, n_in)
    x = np.concatenate([np.column_stack([np.cos(outer), np.sin(outer)]),
                        np.column_stack([1 - np.cos(inner), 0.5 - np.sin(inner)])])
    y = np.concatenate([np.zeros(n_out), np.ones(n_in)])
    return _finish(x, y, noise, rng)


def circles(n=300, noise=0.05, seed=None, factor=0.5):
    """A small circle inside a large one (radius ratio ``factor``)."""
    _check(n, noise)
    if not 0 < factor < 1:
        raise ValueError(f"factor must lie in (0, 1); received {factor!r}")
    rng = np.random.default_rng(seed)
    n_out = n // 2
    n_in = n - n_out
    angles_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    angles_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    x = np.concatenate([np.column_stack([np.cos(angles_out), np.sin(angles_out)]),
                        factor * np.column_stack([np.cos(angles_in), np.sin(angles_in)])])
    y = np.concatenate([np.zeros(n_out), np.ones(n_in)])
    return _finish(x, y, noise, rng)


def xor(n=300, noise=0.1, seed=None):
    """Points in the four quadrants of [-1, 1]²; label 1 where x1 and x2 have
    opposite signs: the XOR problem a single perceptron cannot solve."""
    _check(n, noise)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(n, 2))
    y = (np.sign(x[:, 0]) != np.sign(x[:, 1])).astype(np.int64)
    return _finish(x, y, noise, rng)


NAMES = {"spiral": spiral, "moons": moons, "circles": circles, "xor": xor}


def load(name, n=1000, noise=None, seed=0, test_fraction=0.2):
    """((x_train, y_train), (x_test, y_test)) from a toy set, split at random."""
    if name not in NAMES:
        raise ValueError(f"Unknown toy data set {name!r}; valid: {', '.join(sorted(NAMES))}")
    kwargs = {} if noise is None else {"noise": noise}
    x, y = NAMES[name](n, seed=seed, **kwargs)
    split = int(len(x) * (1 - test_fraction))
    return (x[:split], y[:split]), (x[split:], y[split:])
