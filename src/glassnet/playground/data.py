"""The playground's 2-D data sets, generated as TensorFlow Playground does
(src/dataset.ts, Apache-2.0): the same shapes, sizes, label rules and noise,
drawn from NumPy's seeded generator instead of seedrandom.

Classification labels are -1 / 1 (TensorFlow Playground's, for its tanh
output and square loss); the multi-class sets label 0 .. k-1. Every point
lies in [-6, 6]².
"""

from __future__ import annotations

import numpy as np

from glassnet.playground.words import refuse

CLASSIFY, REGRESS = 500, 1200          # points, as TensorFlow Playground
DOMAIN = 6.0
FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1x2", "sin(x1)", "sin(x2)")
TWO_CLASS = ("circle", "xor", "gauss", "spiral", "moons")
REGRESSION = ("reg-plane", "reg-gauss")
MULTI_CLASS = ("blobs-3", "blobs-4", "blobs-5", "spiral-3")
DATASETS = TWO_CLASS + REGRESSION + MULTI_CLASS


def classes(name):
    """1 for regression, 2 for the two-class sets, k for the multi-class ones."""
    if name in REGRESSION:
        return 1
    if name in MULTI_CLASS:
        return int(name.rsplit("-", 1)[1])
    return 2


def generate(name, noise=0.0, seed=0):
    """(points (n, 2) float32, labels (n,) float32) for data set ``name``;
    ``noise`` is TensorFlow Playground's slider / 100 (0 - 0.5)."""
    if name not in DATASETS:
        raise refuse(f"unknown dataset {name!r}; valid: {', '.join(DATASETS)}",
                     f"모르는 데이터 세트 {name!r}: {', '.join(DATASETS)} 중 하나여야 합니다")
    if not 0 <= noise <= 0.5:
        raise refuse(f"noise must be in [0, 0.5] (the slider's 0-50 / 100); received {noise!r}",
                     f"노이즈: [0, 0.5] 안이어야 합니다(슬라이더의 0-50 / 100). 받은 값: {noise!r}")
    rng = np.random.default_rng(seed)
    uniform = rng.uniform
    if name == "circle":
        radius, half = 5.0, CLASSIFY // 2
        r = np.concatenate([uniform(0, radius * 0.5, half), uniform(radius * 0.7, radius, half)])
        angle = uniform(0, 2 * np.pi, 2 * half)
        x, y = r * np.sin(angle), r * np.cos(angle)
        nx, ny = uniform(-radius, radius, (2, 2 * half)) * noise
        label = np.where(np.hypot(x + nx, y + ny) < radius * 0.5, 1, -1)
    elif name == "xor":
        x, y = uniform(-5, 5, (2, CLASSIFY))
        x, y = x + np.where(x > 0, 0.3, -0.3), y + np.where(y > 0, 0.3, -0.3)
        nx, ny = uniform(-5, 5, (2, CLASSIFY)) * noise
        label = np.where((x + nx) * (y + ny) >= 0, 1, -1)
    elif name == "gauss":
        variance = 0.5 + noise / 0.5 * 3.5          # d3 scale [0, .5] → [0.5, 4]
        half = CLASSIFY // 2
        x = np.concatenate([rng.normal(2, np.sqrt(variance), half),
                            rng.normal(-2, np.sqrt(variance), half)])
        y = np.concatenate([rng.normal(2, np.sqrt(variance), half),
                            rng.normal(-2, np.sqrt(variance), half)])
        label = np.repeat([1, -1], half)
    elif name in ("spiral", "spiral-3"):
        k = 2 if name == "spiral" else 3
        n = CLASSIFY // k
        i = np.arange(n)
        xs, ys, labels = [], [], []
        for c in range(k):
            r = i / n * 5
            t = 1.75 * i / n * 2 * np.pi + c * 2 * np.pi / k
            xs.append(r * np.sin(t) + uniform(-1, 1, n) * noise)
            ys.append(r * np.cos(t) + uniform(-1, 1, n) * noise)
            labels.append(np.full(n, (1 if c == 0 else -1) if k == 2 else c))
        x, y, label = np.concatenate(xs), np.concatenate(ys), np.concatenate(labels)
    elif name == "moons":
        half = CLASSIFY // 2
        t = uniform(0, np.pi, (2, half))
        x = np.concatenate([4 * np.cos(t[0]) - 2, 2 - 4 * np.cos(t[1])])
        y = np.concatenate([4 * np.sin(t[0]) - 1, 1 - 4 * np.sin(t[1])])
        x, y = x + rng.normal(0, 0.2 + 4 * noise, 2 * half), y + rng.normal(0, 0.2 + 4 * noise,
                                                                                2 * half)
        label = np.repeat([1, -1], half)
    elif name.startswith("blobs"):
        k = classes(name)
        angles = 2 * np.pi * np.arange(k) / k
        centers = np.stack([3.5 * np.cos(angles), 3.5 * np.sin(angles)], axis=1)
        label = np.arange(CLASSIFY) % k
        spread = 0.8 + 4 * noise
        x = centers[label, 0] + rng.normal(0, spread, CLASSIFY)
        y = centers[label, 1] + rng.normal(0, spread, CLASSIFY)
    elif name == "reg-plane":
        x, y = uniform(-DOMAIN, DOMAIN, (2, REGRESS))
        nx, ny = uniform(-DOMAIN, DOMAIN, (2, REGRESS)) * noise
        label = (x + nx + y + ny) / 10             # d3 [-10, 10] → [-1, 1], not clamped
    else:  # reg-gauss
        x, y = uniform(-DOMAIN, DOMAIN, (2, REGRESS))
        nx, ny = uniform(-DOMAIN, DOMAIN, (2, REGRESS)) * noise
        label = _gauss_label(x + nx, y + ny)
    points = np.clip(np.stack([x, y], axis=1), -DOMAIN, DOMAIN).astype(np.float32)
    order = rng.permutation(len(points))         # TensorFlow Playground shuffles once
    return points[order], np.asarray(label, dtype=np.float32)[order]


_GAUSSIANS = ((-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1),
              (4, -2.5, -1))


def _gauss_label(x, y):
    """The strongest of six signed bumps, each 1 at its centre and 0 from
    distance 2 on (d3 scale [0, 2] → [1, 0], clamped)."""
    best = np.zeros_like(x)
    for cx, cy, sign in _GAUSSIANS:
        value = sign * np.clip(1 - np.hypot(x - cx, y - cy) / 2, 0, 1)
        best = np.where(np.abs(value) > np.abs(best), value, best)
    return best


def features(points, names):
    """The input columns the network sees, by TensorFlow Playground's names."""
    x1, x2 = points[:, 0], points[:, 1]
    table = {"x1": x1, "x2": x2, "x1^2": x1 * x1, "x2^2": x2 * x2, "x1x2": x1 * x2,
             "sin(x1)": np.sin(x1), "sin(x2)": np.sin(x2)}
    unknown = [n for n in names if n not in table]
    if unknown or not names:
        raise ValueError(f"features must be a non-empty list of {', '.join(FEATURES)}; "
                         f"received {list(names)!r}")
    return np.stack([table[n] for n in names], axis=1).astype(np.float32)


def grid(density):
    """The (density², 2) points of the heat maps, row 0 at the top (x2 = 6)."""
    axis = np.linspace(-DOMAIN, DOMAIN, density, dtype=np.float32)
    x1, x2 = np.meshgrid(axis, axis[::-1])
    return np.stack([x1.ravel(), x2.ravel()], axis=1)
