"""Data sets: the IDX parser, the search order, downloads from a loopback
HTTP server (with a mirror that serves a corrupt file), the toy sets."""

import functools
import gzip
import hashlib
import http.server
import os
import threading

import numpy as np
import pytest

from glassnet import datasets
from glassnet.datasets import toy
from glassnet.datasets.idx import parse_idx, read_idx, write_idx
from glassnet.datasets.source import DatasetNotFoundError, DatasetSpec, load

NAMES = {"x_train": "train-images-idx3-ubyte.gz", "y_train": "train-labels-idx1-ubyte.gz",
         "x_test": "t10k-images-idx3-ubyte.gz", "y_test": "t10k-labels-idx1-ubyte.gz"}
SHAPES = {"x_train": (12, 28, 28), "y_train": (12,), "x_test": (4, 28, 28), "y_test": (4,)}


def make_arrays(seed=0):
    rng = np.random.default_rng(seed)
    return {key: rng.integers(0, 256 if key[0] == "x" else 10, shape, dtype=np.uint8)
            for key, shape in SHAPES.items()}


def write_set(folder, arrays, gz=True):
    os.makedirs(folder, exist_ok=True)
    for key, name in NAMES.items():
        write_idx(os.path.join(folder, name if gz else name[:-3]), arrays[key])


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def spec_for(tmp_path, mirrors=(), hashes=None, system_dirs=()):
    hashes = hashes or {key: "0" * 64 for key in NAMES}
    return DatasetSpec(name="tiny", title="Tiny", files={k: (NAMES[k], hashes[k]) for k in NAMES},
                       mirrors=list(mirrors), system_dirs=list(system_dirs),
                       debian_package="dataset-tiny", shapes=SHAPES)


@pytest.fixture(autouse=True)
def isolated_places(tmp_path, monkeypatch):
    monkeypatch.setenv("GLASSNET_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("GLASSNET_DATA", raising=False)


def assert_same(loaded, arrays):
    (x_train, y_train), (x_test, y_test) = loaded
    for key, value in zip(SHAPES, (x_train, y_train, x_test, y_test)):
        np.testing.assert_array_equal(value, arrays[key])
        assert value.dtype == np.uint8


# ---------------------------------------------------------------- IDX
def test_idx_round_trip_and_checks(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a.gz", array)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz"), array)
    data = gzip.decompress((tmp_path / "a.gz").read_bytes())
    assert data[:4] == b"\x00\x00\x08\x03"
    with pytest.raises(ValueError, match=r"<b>: IDX file truncated: dimensions \(2, 3, 4\) of "
                                         r"uint8 need 40 bytes; found 39"):
        parse_idx(data[:-1], "<b>")
    with pytest.raises(ValueError, match="trailing bytes"):
        parse_idx(data + b"\x00", "<b>")
    with pytest.raises(ValueError, match="magic number 00000703"):
        parse_idx(b"\x00\x00\x07\x03" + data[4:], "<b>")
    (tmp_path / "cut.gz").write_bytes((tmp_path / "a.gz").read_bytes()[:-8])
    with pytest.raises(ValueError, match="cut.gz: cannot be read as a gzip file"):
        read_idx(tmp_path / "cut.gz")
    big = np.array([1.5, -2.0], dtype=np.float32)
    write_idx(tmp_path / "f.idx", big)
    np.testing.assert_array_equal(read_idx(tmp_path / "f.idx"), big)


def test_real_fashion_mnist_through_the_public_loader(fashion_mnist):
    (x_train, y_train), (x_test, y_test) = datasets.fashion_mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(y_train), [6000] * 10)
    assert datasets.fashion_mnist.CLASS_NAMES[y_train[0]] == "Ankle boot"
    np.testing.assert_array_equal(x_test, fashion_mnist[1][0])


# ---------------------------------------------------------------- search order
def test_explicit_path_then_env_then_cache_then_system(tmp_path, monkeypatch):
    sets = {name: make_arrays(i) for i, name in enumerate(["path", "env", "cache", "system"])}
    write_set(tmp_path / "p", sets["path"])
    write_set(tmp_path / "env" / "tiny", sets["env"], gz=False)  # ungzipped works too
    write_set(tmp_path / "cache" / "tiny", sets["cache"])
    write_set(tmp_path / "sys", sets["system"])
    spec = spec_for(tmp_path, system_dirs=[tmp_path / "sys"])
    monkeypatch.setenv("GLASSNET_DATA", str(tmp_path / "env"))
    assert_same(load(spec, tmp_path / "p"), sets["path"])
    assert_same(load(spec), sets["env"])
    monkeypatch.delenv("GLASSNET_DATA")
    assert_same(load(spec), sets["cache"])
    for name in NAMES.values():
        os.remove(tmp_path / "cache" / "tiny" / name)
    assert_same(load(spec), sets["system"])


def test_keras_npz(tmp_path):
    arrays = make_arrays(3)
    np.savez(tmp_path / "tiny.npz", **arrays)
    spec = spec_for(tmp_path)
    spec.npz_name = "tiny.npz"
    assert_same(load(spec, tmp_path / "tiny.npz"), arrays)
    assert_same(load(spec, tmp_path), arrays)


def test_wrong_shapes_and_bad_explicit_path(tmp_path):
    arrays = make_arrays()
    arrays["y_train"] = arrays["y_train"][:5]
    write_set(tmp_path / "p", arrays)
    with pytest.raises(ValueError, match=r"y_train has shape \(5,\).*Tiny has \(12,\) uint8"):
        load(spec_for(tmp_path), tmp_path / "p")
    with pytest.raises(DatasetNotFoundError, match="Tiny not found at path="):
        load(spec_for(tmp_path), tmp_path / "nowhere")


def test_corrupt_cached_file_is_named_and_removed(tmp_path):
    write_set(tmp_path / "cache" / "tiny", make_arrays())
    bad = tmp_path / "cache" / "tiny" / NAMES["x_test"]
    bad.write_bytes(bad.read_bytes()[:-20])
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.gz.*removed the cached copy"):
        load(spec_for(tmp_path), download=False)
    assert not (tmp_path / "cache" / "tiny" / NAMES["x_train"]).exists()


# ---------------------------------------------------------------- downloads
class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """A loopback HTTP server over tmp_path/www; stops after the test."""
    root = tmp_path / "www"
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_download_falls_back_from_a_corrupt_mirror(tmp_path, server):
    root, base = server
    arrays = make_arrays(5)
    write_set(root / "good", arrays)
    hashes = {key: sha(root / "good" / NAMES[key]) for key in NAMES}
    write_set(root / "bad", arrays)
    corrupt = root / "bad" / NAMES["x_train"]
    corrupt.write_bytes(corrupt.read_bytes()[:-3] + b"xyz")  # same size, wrong bytes
    spec = spec_for(tmp_path, mirrors=[f"{base}/missing/", f"{base}/bad/", f"{base}/good/"],
                    hashes=hashes)
    assert_same(load(spec), arrays)
    cached = sorted(os.listdir(tmp_path / "cache" / "tiny"))
    assert cached == sorted(NAMES.values())  # no .partial left behind
    assert all(sha(tmp_path / "cache" / "tiny" / NAMES[k]) == hashes[k] for k in NAMES)
    assert_same(load(spec_for(tmp_path)), arrays)  # now from the cache, no network


def test_every_mirror_failing_lists_every_place_and_both_remedies(tmp_path, server):
    root, base = server
    write_set(root / "bad", make_arrays())
    spec = spec_for(tmp_path, mirrors=[f"{base}/bad/", "http://127.0.0.1:9/"],
                    system_dirs=[tmp_path / "sys"])
    with pytest.raises(DatasetNotFoundError) as info:
        load(spec)
    message = str(info.value)
    for expected in ["Tiny was not found", str(tmp_path / "cache" / "tiny"),
                     str(tmp_path / "sys"), f"{base}/bad/", "does not match the official",
                     "http://127.0.0.1:9/", "apt-get install dataset-tiny", "pass path="]:
        assert expected in message
    assert not (tmp_path / "cache" / "tiny").exists()  # the cache is left clean


# ---------------------------------------------------------------- toy sets
@pytest.mark.parametrize("name", sorted(toy.NAMES))
def test_toy_sets(name):
    x, y = toy.NAMES[name](301, noise=0.05, seed=1)
    assert x.shape == (301, 2) and x.dtype == np.float32 and y.shape == (301,)
    counts = np.bincount(y)
    if name == "xor":  # labels follow uniformly drawn points: balanced on average only
        assert counts.min() >= 0.4 * 301
    else:
        assert counts.min() >= 301 // len(counts) - 1
    x2, y2 = toy.NAMES[name](301, noise=0.05, seed=1)
    np.testing.assert_array_equal(x, x2)
    assert not np.array_equal(x, toy.NAMES[name](301, noise=0.05, seed=2)[0])


def test_toy_geometry():
    x, y = toy.circles(400, noise=0.0, seed=0)
    radius = np.hypot(x[:, 0], x[:, 1])
    np.testing.assert_allclose(radius[y == 0], 1.0, rtol=1e-6)
    np.testing.assert_allclose(radius[y == 1], 0.5, rtol=1e-6)
    x, y = toy.xor(500, noise=0.0, seed=0)
    np.testing.assert_array_equal(y, (x[:, 0] * x[:, 1] < 0).astype(int))
    with pytest.raises(ValueError, match="n must be an integer"):
        toy.moons(1)
    with pytest.raises(ValueError, match="Unknown data set 'cifar'. Valid names"):
        datasets.load("cifar")
