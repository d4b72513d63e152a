"""keras.datasets.imdb: Keras's semantics on Keras's file format, a pickle
reader that runs nothing, and the download (against a loopback server)."""

import hashlib
import http.server
import io
import json
import os
import pickle
import threading
import zipfile

import numpy as np
import pytest

from glassnet.datasets import DatasetNotFoundError
from glassnet.datasets import imdb as imdb_module
from glassnet.datasets.npz import load_npz
from glassnet.keras.datasets import imdb

RNG = np.random.default_rng(3)


def objects(lists):
    out = np.empty(len(lists), dtype=object)
    out[:] = lists
    return out


def write_imdb(path, n_train=40, n_test=30, vocabulary=50):
    """An imdb.npz as Keras's is made: object arrays of lists of word ids."""
    def reviews(n):
        return [list(map(int, RNG.integers(1, vocabulary, RNG.integers(1, 30))))
                for _ in range(n)]

    data = {"x_train": objects(reviews(n_train)), "y_train": RNG.integers(0, 2, n_train),
            "x_test": objects(reviews(n_test)), "y_test": RNG.integers(0, 2, n_test)}
    np.savez(path, **data)
    return data


def keras_reference(data, num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1,
                    oov_char=2, index_from=3):
    """Keras 3's load_data body (keras/src/datasets/imdb.py), transcribed.
    (Real Keras cannot be the oracle here: its get_file re-downloads any
    imdb.npz whose checksum is not the official file's.)"""
    x_train, labels_train, x_test, labels_test = (data[k] for k in
                                                  ("x_train", "y_train", "x_test", "y_test"))
    rng = np.random.RandomState(seed)
    indices = np.arange(len(x_train))
    rng.shuffle(indices)
    x_train, labels_train = x_train[indices], labels_train[indices]
    indices = np.arange(len(x_test))
    rng.shuffle(indices)
    x_test, labels_test = x_test[indices], labels_test[indices]
    if start_char is not None:
        x_train = [[start_char] + [w + index_from for w in x] for x in x_train]
        x_test = [[start_char] + [w + index_from for w in x] for x in x_test]
    elif index_from:
        x_train = [[w + index_from for w in x] for x in x_train]
        x_test = [[w + index_from for w in x] for x in x_test]
    else:
        x_train = [[w for w in x] for x in x_train]
        x_test = [[w for w in x] for x in x_test]
    if maxlen:
        keep = [i for i, x in enumerate(x_train) if len(x) < maxlen]
        x_train, labels_train = [x_train[i] for i in keep], labels_train[keep]
        keep = [i for i, x in enumerate(x_test) if len(x) < maxlen]
        x_test, labels_test = [x_test[i] for i in keep], labels_test[keep]
    xs = x_train + x_test
    labels = np.concatenate([labels_train, labels_test])
    if not num_words:
        num_words = max(max(x) for x in xs)
    if oov_char is not None:
        xs = [[w if (skip_top <= w < num_words) else oov_char for w in x] for x in xs]
    else:
        xs = [[w for w in x if skip_top <= w < num_words] for x in xs]
    idx = len(x_train)
    return (xs[:idx], labels[:idx]), (xs[idx:], labels[idx:])


@pytest.mark.parametrize("options", [{}, {"num_words": 20}, {"num_words": 20, "skip_top": 5},
                                     {"maxlen": 15}, {"oov_char": None, "num_words": 25},
                                     {"start_char": None, "index_from": 0, "seed": 7}])
def test_same_semantics_as_keras(tmp_path, options):
    data = write_imdb(tmp_path / "imdb.npz")
    (x_train, y_train), (x_test, y_test) = imdb.load_data(path=str(tmp_path / "imdb.npz"),
                                                          **options)
    (kx, ky), (kxt, kyt) = keras_reference(data, **options)
    assert x_train.dtype == object and x_train.ndim == 1 and y_train.dtype == np.int64
    assert [list(x) for x in x_train] == kx and [list(x) for x in x_test] == kxt
    np.testing.assert_array_equal(y_train, ky)
    np.testing.assert_array_equal(y_test, kyt)
    if "num_words" in options:
        assert max(max(x) for x in x_train) < options["num_words"]


def test_the_reviews_start_and_shift_as_in_keras(tmp_path):
    np.savez(tmp_path / "imdb.npz", x_train=objects([[1, 2, 3], [4, 5]]),
             y_train=np.array([1, 0]), x_test=objects([[6]]), y_test=np.array([1]))
    (x, y), (xt, yt) = imdb.load_data(path=str(tmp_path / "imdb.npz"), seed=0)
    order = np.arange(2)
    np.random.RandomState(0).shuffle(order)
    expected = [[1, 4, 5, 6], [1, 7, 8]]
    assert [list(v) for v in x] == [expected[i] for i in order]
    assert list(xt[0]) == [1, 2]  # Keras's num_words=None is the largest id, itself excluded


# ------------------------------------------------------------ no unpickling
class Evil:
    def __reduce__(self):
        return (os.system, ("touch " + os.environ["GLASSNET_EVIL_MARKER"],))


def npy_with_pickle(payload):
    """A .npy member of dtype object whose data is ``payload`` (pickle bytes)."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|O", "fortran_order": False,
                                                  "shape": (1,)})
    return header.getvalue() + payload


@pytest.mark.parametrize("payload", [
    lambda: pickle.dumps(Evil(), protocol=2),
    lambda: pickle.dumps(objects([[1, 2], Evil()]), protocol=3),
    lambda: pickle.dumps(objects([[1, 2], "text"]), protocol=3),
    lambda: pickle.dumps(objects([[1, 2.5]]), protocol=4),
    lambda: pickle.dumps(objects([[1, 2]]), protocol=3)[:-20],
    lambda: b"\xff\xff",
])
def test_a_malicious_or_broken_file_runs_nothing_and_names_the_file(tmp_path, monkeypatch,
                                                                     payload):
    marker = tmp_path / "ran"
    monkeypatch.setenv("GLASSNET_EVIL_MARKER", str(marker))
    path = tmp_path / "imdb.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x_train.npy", npy_with_pickle(payload()))
    with pytest.raises(ValueError, match=str(path)):
        load_npz(path)
    with pytest.raises(ValueError, match="imdb.npz"):
        imdb.load_data(path=str(path))
    assert not marker.exists()


def test_the_reader_reads_numpy_object_arrays_of_every_protocol(tmp_path):
    lists = [[1, 2, 3], [], [70000, 2 ** 40, -5], list(range(2000))]
    for protocol in (2, 3, 4, 5):
        raw = npy_with_pickle(pickle.dumps(objects(lists), protocol=protocol))
        raw = raw.replace(b"'shape': (1,)", b"'shape': (4,)")
        path = tmp_path / f"p{protocol}.npz"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("x.npy", raw)
            archive.writestr("y.npy", _npy(np.arange(4)))
        arrays = load_npz(path)
        assert [list(v) for v in arrays["x"]] == lists
        np.testing.assert_array_equal(arrays["y"], np.arange(4))


def _npy(array):
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


# ------------------------------------------------------------ finding and downloading
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


def test_download_checks_the_checksum(tmp_path, server, monkeypatch):
    folder, url = server
    data = write_imdb(folder / "imdb.npz")
    (folder / "imdb_word_index.json").write_text(json.dumps({"the": 1, "and": 2}))
    cache = tmp_path / "cache"
    monkeypatch.setenv("GLASSNET_CACHE_DIR", str(cache))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "no-keras"))
    monkeypatch.delenv("GLASSNET_DATA", raising=False)
    monkeypatch.setattr(imdb_module, "ORIGIN", url)
    good = {"imdb.npz": hashlib.sha256((folder / "imdb.npz").read_bytes()).hexdigest(),
            "imdb_word_index.json": hashlib.md5(
                (folder / "imdb_word_index.json").read_bytes()).hexdigest()}
    monkeypatch.setattr(imdb_module, "FILES", {k: "0" * len(v) for k, v in good.items()})
    with pytest.raises(DatasetNotFoundError, match="does not match the official"):
        imdb.load_data()
    with pytest.raises(DatasetNotFoundError, match="MD5 .* does not match"):
        imdb.get_word_index()
    assert not any(p.is_file() for p in cache.rglob("*"))  # nothing wrong was kept
    monkeypatch.setattr(imdb_module, "FILES", good)
    (x, _), _ = imdb.load_data()
    assert (cache / "imdb" / "imdb.npz").is_file()
    assert sorted(map(len, x)) == sorted(len(v) + 1 for v in data["x_train"])
    assert imdb.get_word_index() == {"the": 1, "and": 2}
    (folder / "imdb.npz").unlink()  # now from the cache, no server needed
    assert len(imdb.load_data()[0][0]) == 40


def test_found_in_glassnet_data_and_keras_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GLASSNET_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(imdb_module, "ORIGIN", "http://127.0.0.1:9/")  # nothing listens
    keras_home = tmp_path / "keras"
    (keras_home / "datasets").mkdir(parents=True)
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.delenv("GLASSNET_DATA", raising=False)
    with pytest.raises(DatasetNotFoundError, match=r"(?s)Looked in.*keras.*failed"):
        imdb.load_data()
    write_imdb(keras_home / "datasets" / "imdb.npz", n_train=5)
    assert len(imdb.load_data()[0][0]) == 5
    data = tmp_path / "data"
    (data / "imdb").mkdir(parents=True)
    write_imdb(data / "imdb" / "imdb.npz", n_train=7)
    monkeypatch.setenv("GLASSNET_DATA", str(data))
    assert len(imdb.load_data()[0][0]) == 7
    (data / "imdb" / "imdb_word_index.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="maps words to integer ranks"):
        imdb.get_word_index()


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_words must be an integer"):
        imdb.load_data(num_words="10000")
    with pytest.raises(TypeError, match="unexpected arguments"):
        imdb.load_data(test_split=0.2)
    with pytest.raises(DatasetNotFoundError, match="no file at path"):
        imdb.load_data(path="/nonexistent/imdb.npz")
