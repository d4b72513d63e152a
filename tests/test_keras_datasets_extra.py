"""keras.datasets.reuters, boston_housing and cifar10: Keras's processing of
small fake files in Keras's formats, found where imdb's are, downloaded from
a loopback server with their checksums, and CIFAR-10's pickled batches read
without unpickling."""

import hashlib
import http.server
import io
import json
import os
import pickle
import struct
import tarfile
import threading
import warnings

import numpy as np
import pytest

from glassnet.datasets import DatasetNotFoundError
from glassnet.datasets import boston_housing as boston_module
from glassnet.datasets import cifar10 as cifar_module
from glassnet.datasets import reuters as reuters_module
from glassnet.keras.datasets import boston_housing, cifar10, reuters

RNG = np.random.default_rng(5)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No real cache, no Keras home, no $GLASSNET_DATA, and no network: Keras's
    addresses point at a port where nothing listens."""
    monkeypatch.setenv("GLASSNET_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("GLASSNET_DATA", raising=False)
    monkeypatch.setattr(reuters_module, "ORIGIN", "http://127.0.0.1:9/")
    monkeypatch.setattr(boston_module, "ORIGIN", "http://127.0.0.1:9/")
    monkeypatch.setattr(cifar_module, "ORIGIN", "http://127.0.0.1:9/cifar-10-python.tar.gz")


@pytest.fixture
def server(tmp_path):
    folder = tmp_path / "served"
    folder.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(folder), **kwargs)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


def objects(lists):
    out = np.empty(len(lists), dtype=object)
    out[:] = lists
    return out


# ------------------------------------------------------------ reuters
def write_reuters(path, n=50, vocabulary=60):
    """A reuters.npz as Keras's: x an object array of word-id lists, y int64 topics."""
    xs = [list(map(int, RNG.integers(1, vocabulary, RNG.integers(1, 25)))) for _ in range(n)]
    data = {"x": objects(xs), "y": RNG.integers(0, 46, n)}
    np.savez(path, **data)
    return data


def keras_reuters(data, num_words=None, skip_top=0, maxlen=None, test_split=0.2, seed=113,
                  start_char=1, oov_char=2, index_from=3):
    """Keras 3's reuters.load_data body (keras/src/datasets/reuters.py), transcribed."""
    xs, labels = data["x"], data["y"]
    rng = np.random.RandomState(seed)
    indices = np.arange(len(xs))
    rng.shuffle(indices)
    xs, labels = xs[indices], labels[indices]
    if start_char is not None:
        xs = [[start_char] + [w + index_from for w in x] for x in xs]
    elif index_from:
        xs = [[w + index_from for w in x] for x in xs]
    if maxlen:
        kept = [(x, y) for x, y in zip(xs, labels) if len(x) < maxlen]
        xs, labels = [x for x, _ in kept], [y for _, y in kept]
    if not num_words:
        num_words = max(max(x) for x in xs)
    if oov_char is not None:
        xs = [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    else:
        xs = [[w for w in x if skip_top <= w < num_words] for x in xs]
    idx = int(len(xs) * (1 - test_split))
    return (xs[:idx], np.array(labels[:idx])), (xs[idx:], np.array(labels[idx:]))


@pytest.mark.parametrize("options", [{}, {"num_words": 20}, {"num_words": 20, "skip_top": 5},
                                     {"maxlen": 12}, {"oov_char": None, "num_words": 25},
                                     {"test_split": 0.5, "seed": 7},
                                     {"start_char": None, "index_from": 0}])
def test_reuters_same_semantics_as_keras(tmp_path, options):
    data = write_reuters(tmp_path / "reuters.npz")
    (x_train, y_train), (x_test, y_test) = reuters.load_data(
        path=str(tmp_path / "reuters.npz"), **options)
    (kx, ky), (kxt, kyt) = keras_reuters(data, **options)
    assert x_train.dtype == object and x_train.ndim == 1 and y_train.dtype == np.int64
    assert [list(x) for x in x_train] == [list(x) for x in kx]
    assert [list(x) for x in x_test] == [list(x) for x in kxt]
    np.testing.assert_array_equal(y_train, ky)
    np.testing.assert_array_equal(y_test, kyt)


def test_reuters_by_hand(tmp_path):
    np.savez(tmp_path / "reuters.npz", x=objects([[1, 2], [3], [4, 5, 6], [7]]),
             y=np.array([10, 11, 12, 13]))
    (x, y), (xt, yt) = reuters.load_data(path=str(tmp_path / "reuters.npz"), seed=0,
                                         test_split=0.25)
    order = np.arange(4)
    np.random.RandomState(0).shuffle(order)
    # start_char 1, ids + 3; num_words None is the largest id (10), itself excluded -> 2
    shifted = [[1, 4, 5], [1, 6], [1, 7, 8, 9], [1, 2]]
    assert [list(v) for v in x] + [list(v) for v in xt] == [shifted[i] for i in order]
    assert list(y) + list(yt) == [10 + i for i in order] and len(xt) == 1
    assert len(reuters.get_label_names()) == 46 and reuters.get_label_names()[3] == "earn"


def test_reuters_download_and_word_index(tmp_path, server, monkeypatch):
    folder, url = server
    data = write_reuters(folder / "reuters.npz")
    (folder / "reuters_word_index.json").write_text(json.dumps({"the": 1, "of": 2}))
    monkeypatch.setattr(reuters_module, "ORIGIN", url)
    good = {"reuters.npz": hashlib.sha256((folder / "reuters.npz").read_bytes()).hexdigest(),
            "reuters_word_index.json": hashlib.md5(
                (folder / "reuters_word_index.json").read_bytes()).hexdigest()}
    monkeypatch.setattr(reuters_module, "FILES", {k: "0" * len(v) for k, v in good.items()})
    cache = tmp_path / "cache"
    with pytest.raises(DatasetNotFoundError, match=f"SHA-256 {good['reuters.npz']} does "
                                                   f"not match the official 0000"):
        reuters.load_data()
    with pytest.raises(DatasetNotFoundError, match="MD5 .* does not match"):
        reuters.get_word_index()
    assert not any(p.is_file() for p in cache.rglob("*"))  # nothing wrong was kept
    monkeypatch.setattr(reuters_module, "FILES", good)
    (x, _), (xt, _) = reuters.load_data()
    assert (cache / "reuters" / "reuters.npz").is_file()
    assert len(x) + len(xt) == len(data["x"])
    assert reuters.get_word_index() == {"the": 1, "of": 2}
    (folder / "reuters.npz").unlink()  # now from the cache, no server needed
    assert len(reuters.load_data()[0][0]) == 40


def test_reuters_places_and_the_error(tmp_path, monkeypatch):
    with pytest.raises(DatasetNotFoundError) as error:
        reuters.load_data()
    message = str(error.value)
    assert "Looked in" in message and os.path.join("keras", "datasets", "reuters.npz") in message
    assert "Put Keras's reuters.npz" in message
    keras_datasets = tmp_path / "keras" / "datasets"
    keras_datasets.mkdir(parents=True)
    write_reuters(keras_datasets / "reuters.npz", n=10)
    assert len(reuters.load_data()[0][0]) == 8
    data = tmp_path / "data"
    (data / "reuters").mkdir(parents=True)
    write_reuters(data / "reuters" / "reuters.npz", n=20)
    monkeypatch.setenv("GLASSNET_DATA", str(data))
    assert len(reuters.load_data()[0][0]) == 16
    with pytest.raises(DatasetNotFoundError, match="no file at path"):
        reuters.load_data(path="/nonexistent/reuters.npz")
    with pytest.raises(ValueError, match="num_words must be an integer"):
        reuters.load_data(num_words="100")


# ------------------------------------------------------------ boston_housing
def test_boston_housing_as_keras(tmp_path, monkeypatch):
    x = RNG.random((25, 13)) * 100
    y = RNG.random(25) * 50
    np.savez(tmp_path / "boston_housing.npz", x=x, y=y)
    (x_train, y_train), (x_test, y_test) = boston_housing.load_data(
        path=str(tmp_path / "boston_housing.npz"), test_split=0.2, seed=3)
    indices = np.arange(25)
    np.random.RandomState(3).shuffle(indices)  # Keras's body, transcribed
    split = int(25 * (1 - 0.2))
    np.testing.assert_array_equal(x_train, x[indices][:split])
    np.testing.assert_array_equal(y_train, y[indices][:split])
    np.testing.assert_array_equal(x_test, x[indices][split:])
    np.testing.assert_array_equal(y_test, y[indices][split:])
    assert x_train.shape == (20, 13) and x_train.dtype == np.float64 and y_test.shape == (5,)
    with pytest.raises(ValueError, match="test_split"):
        boston_housing.load_data(path=str(tmp_path / "boston_housing.npz"), test_split=1.0)
    # found in $GLASSNET_DATA by its name
    monkeypatch.setenv("GLASSNET_DATA", str(tmp_path))
    assert len(boston_housing.load_data()[0][0]) == 20


def test_boston_housing_download(tmp_path, server, monkeypatch):
    folder, url = server
    np.savez(folder / "boston_housing.npz", x=RNG.random((10, 13)), y=RNG.random(10))
    sha = hashlib.sha256((folder / "boston_housing.npz").read_bytes()).hexdigest()
    monkeypatch.setattr(boston_module, "ORIGIN", url)
    monkeypatch.setattr(boston_module, "FILES", {"boston_housing.npz": "f" * 64})
    with pytest.raises(DatasetNotFoundError, match=f"{sha} does not match the official f"):
        boston_housing.load_data()
    assert not any(p.is_file() for p in (tmp_path / "cache").rglob("*"))
    monkeypatch.setattr(boston_module, "FILES", {"boston_housing.npz": sha})
    (x_train, _), (x_test, _) = boston_housing.load_data()
    assert x_train.shape == (8, 13) and x_test.shape == (2, 13)
    assert (tmp_path / "cache" / "boston_housing" / "boston_housing.npz").is_file()


# ------------------------------------------------------------ cifar10
def py2_batch(data, labels):
    """A batch pickled as the official cifar-10-python.tar.gz's are (Python 2's
    cPickle, protocol 2: str keys and the pixels as one BINSTRING)."""
    def short(text):
        raw = text.encode("latin-1")
        return b"U" + bytes([len(raw)]) + raw

    out = bytearray(b"\x80\x02}q\x01(")
    out += short("data") + b"q\x02cnumpy.core.multiarray\n_reconstruct\nq\x03cnumpy\nndarray\n"
    out += b"q\x04K\x00\x85" + short("b") + b"\x87Rq\x05(K\x01M" + struct.pack("<H", len(data))
    out += b"M\x00\x0c\x86cnumpy\ndtype\nq\x06" + short("u1") + b"K\x00K\x01\x87Rq\x07(K\x03"
    out += short("|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89"
    out += b"T" + struct.pack("<I", data.size) + data.tobytes() + b"tbq\x08"
    out += short("labels") + b"]q\t(" + b"".join(b"K" + bytes([v]) for v in labels) + b"e"
    out += short("batch_label") + short("training batch 1 of 5")
    out += short("filenames") + b"](" + b"".join(short(f"img_{i}.png")
                                                 for i in range(len(data))) + b"e"
    return bytes(out + b"u.")


def fake_batches(n=3):
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    return {name: (RNG.integers(0, 256, (n + (name == "test_batch"), 3072), dtype=np.uint8),
                   [int(v) for v in RNG.integers(0, 10, n + (name == "test_batch"))])
            for name in names}


def keras_cifar(streams):
    """Keras's cifar10.load_data on these batches, with Python's unpickler (on
    bytes this test made) as Keras's load_batch uses it."""
    def load_batch(raw):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy.core's deprecation, NumPy 2
            d = pickle.loads(raw, encoding="bytes")
        d = {k.decode("utf8"): v for k, v in d.items()}
        return d["data"].reshape(d["data"].shape[0], 3, 32, 32), d["labels"]

    train = [load_batch(streams[f"data_batch_{i}"]) for i in range(1, 6)]
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([np.asarray(y, dtype="uint8") for _, y in train])
    x_test, y_test = load_batch(streams["test_batch"])
    y_train = np.reshape(y_train, (len(y_train), 1))
    y_test = np.reshape(y_test, (len(y_test), 1)).astype(y_train.dtype)
    return (x_train.transpose(0, 2, 3, 1), y_train), (x_test.transpose(0, 2, 3, 1), y_test)


def write_tar(path, files):
    with tarfile.open(path, "w:gz") as archive:
        for name, raw in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            archive.addfile(info, io.BytesIO(raw))


def python_version(path, batches, encode=py2_batch):
    streams = {name: encode(*batch) for name, batch in batches.items()}
    write_tar(path, {f"cifar-10-batches-py/{name}": raw for name, raw in streams.items()})
    return streams


def binary_version(folder, batches):
    folder.mkdir(parents=True)
    for name, (data, labels) in batches.items():
        records = np.concatenate([np.asarray(labels, np.uint8)[:, None], data], axis=1)
        (folder / f"{name}.bin").write_bytes(records.tobytes())


def check_same(ours, theirs):
    for (x, y), (kx, ky) in zip(ours, theirs):
        assert x.dtype == kx.dtype == np.uint8 and y.dtype == ky.dtype == np.uint8
        assert x.shape == kx.shape and y.shape == ky.shape
        np.testing.assert_array_equal(x, kx)
        np.testing.assert_array_equal(y, ky)


def test_cifar10_python_version_as_keras(tmp_path):
    streams = python_version(tmp_path / "cifar-10-python.tar.gz", fake_batches())
    ours = cifar10.load_data(path=tmp_path / "cifar-10-python.tar.gz")
    check_same(ours, keras_cifar(streams))
    (x_train, y_train), (x_test, y_test) = ours
    assert x_train.shape == (15, 32, 32, 3) and y_train.shape == (15, 1)
    assert x_test.shape == (4, 32, 32, 3) and y_test.shape == (4, 1)
    assert x_test.flags.writeable


@pytest.mark.parametrize("protocol", [2, 3, 4])
def test_cifar10_batches_pickled_by_python3(tmp_path, protocol):
    def encode(data, labels):
        return pickle.dumps({b"data": data, b"labels": labels, b"batch_label": b"x"},
                            protocol=protocol)

    streams = python_version(tmp_path / "c.tar.gz", fake_batches(2), encode)
    check_same(cifar10.load_data(path=tmp_path / "c.tar.gz"), keras_cifar(streams))


def test_cifar10_binary_version_and_folders(tmp_path, monkeypatch):
    batches = fake_batches()
    streams = {name: py2_batch(*batch) for name, batch in batches.items()}
    expected = keras_cifar(streams)
    binary_version(tmp_path / "data" / "cifar-10-batches-bin", batches)
    monkeypatch.setenv("GLASSNET_DATA", str(tmp_path / "data"))
    check_same(cifar10.load_data(), expected)
    check_same(cifar10.load_data(path=tmp_path / "data" / "cifar-10-batches-bin"), expected)
    monkeypatch.delenv("GLASSNET_DATA")
    # Keras 3's cache layout: datasets/cifar-10-batches-py-target/cifar-10-batches-py/
    unpacked = tmp_path / "keras" / "datasets" / "cifar-10-batches-py-target" / \
        "cifar-10-batches-py"
    unpacked.mkdir(parents=True)
    for name, raw in streams.items():
        (unpacked / name).write_bytes(raw)
    check_same(cifar10.load_data(), expected)


def test_cifar10_never_unpickles(tmp_path, monkeypatch):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    batches = fake_batches(1)
    good = {name: py2_batch(*batch) for name, batch in batches.items()}
    evil = dict(good, data_batch_3=pickle.dumps({b"data": Evil(), b"labels": [1]},
                                                protocol=2))
    write_tar(tmp_path / "evil.tar.gz", {f"cifar-10-batches-py/{k}": v for k, v in evil.items()})
    with pytest.raises(ValueError, match=r"evil\.tar\.gz \(cifar-10-batches-py/data_batch_3\): "
                                         r"it asks for (posix|nt)\.system"):
        cifar10.load_data(path=tmp_path / "evil.tar.gz")
    assert not marker.exists()
    wrong = dict(good, test_batch=py2_batch(batches["test_batch"][0], [12]))
    write_tar(tmp_path / "wrong.tar.gz", {f"b/{k}": v for k, v in wrong.items()})
    with pytest.raises(ValueError, match="labels that are not a list of integers 0-9"):
        cifar10.load_data(path=tmp_path / "wrong.tar.gz")


def test_cifar10_download_and_the_error(tmp_path, server, monkeypatch):
    with pytest.raises(DatasetNotFoundError) as error:
        cifar10.load_data()
    message = str(error.value)
    for needed in ("Looked in", "keras", "cifar-10-python.tar.gz", "cifar-10-binary.tar.gz",
                   "cifar-10-batches-py", "path="):
        assert needed in message
    assert not (tmp_path / "cache" / "cifar10").exists()
    with pytest.raises(DatasetNotFoundError, match="nothing at path"):
        cifar10.load_data(path=tmp_path / "nowhere")

    folder, url = server
    streams = python_version(folder / "cifar-10-python.tar.gz", fake_batches())
    monkeypatch.setattr(cifar_module, "ORIGIN", url + "cifar-10-python.tar.gz")
    monkeypatch.setattr(cifar_module, "SHA256", "0" * 64)
    with pytest.raises(DatasetNotFoundError, match="does not match the official 0000"):
        cifar10.load_data()
    assert not any(p.is_file() for p in (tmp_path / "cache").rglob("*"))
    monkeypatch.setattr(cifar_module, "SHA256", hashlib.sha256(
        (folder / "cifar-10-python.tar.gz").read_bytes()).hexdigest())
    check_same(cifar10.load_data(), keras_cifar(streams))
    (folder / "cifar-10-python.tar.gz").unlink()  # from the cache now
    check_same(cifar10.load_data(), keras_cifar(streams))
    assert (tmp_path / "cache" / "cifar10" / "cifar-10-python.tar.gz").is_file()
