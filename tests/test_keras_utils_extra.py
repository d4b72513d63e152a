"""keras.backend.set_floatx / keras.config, and keras.utils.get_file (against
file:// URLs, local paths and a loopback HTTP server; archives unpacked safely)."""

import hashlib
import http.server
import io
import os
import pathlib
import tarfile
import threading
import zipfile

import numpy as np
import pytest

from glassnet import keras
from glassnet.datasets import files as files_module
from glassnet.keras.utils import get_file


# ------------------------------------------------------------ floatx
@pytest.fixture
def restore_floatx():
    yield
    keras.backend.set_floatx("float32")


def test_floatx_default_and_names(restore_floatx):
    assert keras.backend.floatx() == "float32" == keras.config.floatx()
    assert keras.backend.set_floatx is keras.config.set_floatx
    keras.config.set_floatx("float64")
    assert keras.backend.floatx() == "float64"
    assert keras.backend.image_data_format() == "channels_last"


def test_set_floatx_float64_builds_and_trains_in_float64(restore_floatx):
    keras.backend.set_floatx("float64")
    inputs = keras.Input((3,))
    assert np.dtype(inputs.dtype) == np.float64
    dense = keras.layers.Dense(4)
    dense.build((None, 3))
    assert dense.kernel.dtype == np.float64 and dense.bias.dtype == np.float64
    assert keras.initializers.GlorotUniform()((2, 2)).dtype == np.float64
    assert keras.layers.Dense(2, dtype="float32").dtype == np.float32  # explicit wins

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    x = rng.random((32, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert all(w.dtype == np.float64 for w in model.weights)
    assert model.dtype == np.float64
    assert model.predict(x, verbose=0).dtype == np.float64
    assert np.isfinite(history.history["loss"]).all()
    assert history.history["loss"][-1] < history.history["loss"][0]

    keras.backend.set_floatx("float32")  # layers made from now on are float32 again
    assert keras.layers.Dense(2).dtype == np.float32
    assert model.weights[0].dtype == np.float64  # and the model made before keeps its own


def test_set_floatx_refuses_what_glassnet_lacks(restore_floatx):
    for value in ("float16", "bfloat16"):
        with pytest.raises(NotImplementedError, match=value):
            keras.backend.set_floatx(value)
    with pytest.raises(ValueError, match="float32.*float64"):
        keras.backend.set_floatx("int32")
    assert keras.backend.floatx() == "float32"


# ------------------------------------------------------------ get_file
@pytest.fixture
def served(tmp_path, monkeypatch):
    """A folder served on 127.0.0.1 (a free port), and a list of the paths asked for."""
    folder = tmp_path / "served"
    folder.mkdir()
    hits = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(folder), **kwargs)

        def do_GET(self):
            hits.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(files_module, "TIMEOUT", 10)
    yield folder, f"http://127.0.0.1:{httpd.server_address[1]}/", hits
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


def cache_files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_file_url_and_local_path(tmp_path):
    source = tmp_path / "data.csv"
    source.write_text("a,b\n1,2\n")
    cache = tmp_path / "cache"
    path = get_file("copy.csv", origin=source.as_uri(), cache_dir=str(cache))
    assert path == str(cache / "datasets" / "copy.csv")
    assert pathlib.Path(path).read_text() == "a,b\n1,2\n"
    path = get_file(origin=str(source), cache_dir=cache, cache_subdir="mine")
    assert path == str(cache / "mine" / "data.csv")
    assert pathlib.Path(path).read_text() == "a,b\n1,2\n"
    assert cache_files(cache) == ["datasets/copy.csv", "mine/data.csv"]  # no temp files


def test_keras_home_and_the_default_cache(tmp_path, monkeypatch):
    source = tmp_path / "x.txt"
    source.write_text("x")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    assert get_file(origin=source.as_uri()) == str(tmp_path / "kh" / "datasets" / "x.txt")
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    assert get_file(origin=source.as_uri()) == str(tmp_path / "home" / ".keras" / "datasets"
                                                   / "x.txt")


def test_http_download_is_cached_and_checked(tmp_path, served):
    folder, url, hits = served
    payload = os.urandom(3000)
    (folder / "blob.bin").write_bytes(payload)
    sha256 = hashlib.sha256(payload).hexdigest()
    md5 = hashlib.md5(payload).hexdigest()
    cache = tmp_path / "cache"
    path = get_file(origin=url + "blob.bin", file_hash=sha256, cache_dir=cache)
    assert path == str(cache / "datasets" / "blob.bin")
    assert pathlib.Path(path).read_bytes() == payload and len(hits) == 1
    assert get_file(origin=url + "blob.bin", file_hash=sha256, cache_dir=cache) == path
    assert get_file(origin=url + "blob.bin", md5_hash=md5, cache_dir=cache) == path
    assert get_file("blob.bin", url + "blob.bin", cache_dir=cache) == path
    assert len(hits) == 1  # the cached copy was used each time
    get_file(origin=url + "blob.bin", cache_dir=cache, force_download=True)
    assert len(hits) == 2
    with open(path, "wb") as f:  # a damaged cached copy is downloaded again
        f.write(b"damaged")
    assert get_file(origin=url + "blob.bin", file_hash=md5, hash_algorithm="md5",
                    cache_dir=cache) == path
    assert pathlib.Path(path).read_bytes() == payload and len(hits) == 3
    assert cache_files(cache) == ["datasets/blob.bin"]


def test_a_wrong_checksum_keeps_nothing_and_names_both_hashes(tmp_path, served):
    folder, url, hits = served
    (folder / "blob.bin").write_bytes(b"the real bytes")
    received = hashlib.sha256(b"the real bytes").hexdigest()
    expected = "ab" * 32
    cache = tmp_path / "cache"
    with pytest.raises(ValueError) as error:
        get_file(origin=url + "blob.bin", file_hash=expected, cache_dir=cache)
    assert expected in str(error.value) and received in str(error.value)
    assert cache_files(cache) == []
    # a cached copy with a wrong checksum does not survive a failed re-download either
    (cache / "datasets" / "blob.bin").write_bytes(b"stale")
    with pytest.raises(ValueError, match="MD5"):
        get_file(origin=url + "blob.bin", md5_hash="0" * 32, cache_dir=cache)
    assert cache_files(cache) == []


def test_download_failures(tmp_path, served):
    folder, url, hits = served
    cache = tmp_path / "cache"
    with pytest.raises(OSError, match="URL fetch failure on .*missing.bin: 404"):
        get_file(origin=url + "missing.bin", cache_dir=cache)
    assert cache_files(cache) == []
    with pytest.raises(ValueError, match="origin"):
        get_file("x.txt")
    with pytest.raises(ValueError, match="neither a URL .* nor an existing file"):
        get_file(origin=str(tmp_path / "nowhere.txt"), cache_dir=cache)
    with pytest.raises(ValueError, match="Paths are no longer accepted"):
        get_file(os.path.join("a", "b.txt"), origin=url + "b.txt", cache_dir=cache)
    with pytest.raises(ValueError, match="hash_algorithm"):
        get_file(origin=url + "b.txt", file_hash="0" * 64, hash_algorithm="sha1",
                 cache_dir=cache)


def make_tar(path, members, mode="w:gz"):
    """members: (name, bytes) for files, (name, ("symlink" | "hardlink", target)) for links."""
    with tarfile.open(path, mode) as archive:
        for name, content in members:
            info = tarfile.TarInfo(name)
            if isinstance(content, tuple):
                info.type = tarfile.SYMTYPE if content[0] == "symlink" else tarfile.LNKTYPE
                info.linkname = content[1]
                archive.addfile(info)
            else:
                info.size = len(content)
                archive.addfile(info, io.BytesIO(content))


def make_zip(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members:
            archive.writestr(name, content)


def test_extract_tar_gz_and_zip(tmp_path, served):
    folder, url, hits = served
    make_tar(folder / "pkg.tar.gz", [("pkg/a.txt", b"A"), ("pkg/sub/b.txt", b"B"),
                                     ("pkg/link.txt", ("symlink", "a.txt"))])
    make_zip(folder / "z.zip", [("top/c.txt", b"C")])
    cache = tmp_path / "cache"
    path = get_file("pkg.tar.gz", origin=url + "pkg.tar.gz", extract=True, cache_dir=cache)
    assert path == str(cache / "datasets" / "pkg_extracted")
    assert pathlib.Path(path, "pkg", "sub", "b.txt").read_text() == "B"
    assert pathlib.Path(path, "pkg", "link.txt").read_text() == "A"  # a link inside is fine
    assert os.path.isfile(cache / "datasets" / "pkg.tar.gz")
    # fname without a dot: the folder is fname, the archive fname_archive (Keras 3)
    path = get_file("pkg", origin=url + "pkg.tar.gz", untar=True, cache_dir=cache)
    assert path == str(cache / "datasets" / "pkg")
    assert pathlib.Path(path, "pkg", "a.txt").read_text() == "A"
    assert os.path.isfile(cache / "datasets" / "pkg_archive")
    path = get_file(origin=url + "z.zip", extract=True, cache_dir=cache)
    assert path == str(cache / "datasets" / "z.zip")  # fname not given: the folder is z.zip
    assert pathlib.Path(path, "top", "c.txt").read_text() == "C"
    assert os.path.isfile(cache / "datasets" / "z.zip_archive")
    assert len(hits) == 3
    get_file(origin=url + "z.zip", extract=True, cache_dir=cache)  # cached, not unpacked again
    assert len(hits) == 3
    assert not [p for p in (cache / "datasets").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("kind, members", [
    ("tar", [("ok.txt", b"fine"), ("../escaped.txt", b"evil")]),
    ("tar", [("ok.txt", b"fine"), ("/tmp/glassnet-absolute-escape.txt", b"evil")]),
    ("tar", [("link", ("symlink", "../../..")), ("ok.txt", b"fine")]),
    ("tar", [("link", ("symlink", "/etc/passwd"))]),
    ("tar", [("hard", ("hardlink", "../outside.txt"))]),
    ("zip", [("ok.txt", b"fine"), ("../escaped.txt", b"evil")]),
])
def test_an_archive_that_escapes_its_folder_is_refused(tmp_path, kind, members):
    archive = tmp_path / ("evil.tar.gz" if kind == "tar" else "evil.zip")
    (make_tar if kind == "tar" else make_zip)(archive, members)
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match="refused to unpack"):
        get_file(archive.name, origin=archive.as_uri(), extract=True, cache_dir=cache)
    datasets = cache / "datasets"
    assert sorted(p.name for p in datasets.iterdir()) == [archive.name]  # nothing unpacked
    assert not (tmp_path / "escaped.txt").exists() and not (cache / "escaped.txt").exists()
    assert not os.path.exists("/tmp/glassnet-absolute-escape.txt")


def test_not_an_archive_warns_as_keras(tmp_path):
    source = tmp_path / "plain.txt"
    source.write_text("not an archive")
    with pytest.warns(UserWarning, match="Could not extract archive"):
        path = get_file("plain.txt", origin=source.as_uri(), extract=True,
                        cache_dir=tmp_path / "cache")
    assert path == str(tmp_path / "cache" / "datasets" / "plain_extracted")


def test_array_to_img_and_back_as_keras(tmp_path):
    from glassnet import keras

    x = np.linspace(0, 1, 4 * 5).reshape(4, 5, 1).astype("float32")
    img = keras.preprocessing.image.array_to_img(x)  # scaled to 0-255
    assert img.size == (5, 4) and img.mode == "L"
    back = keras.utils.img_to_array(img)
    assert back.shape == (4, 5, 1) and back.dtype == np.float32
    np.testing.assert_allclose(back, np.rint(x * 255), atol=0)
    unscaled = keras.utils.array_to_img(x * 255.0, scale=False)  # the guide's GAN call
    np.testing.assert_array_equal(keras.utils.img_to_array(unscaled), back)
    rgb = np.zeros((3, 2, 3), dtype="float32")
    rgb[..., 0] = 200
    keras.utils.save_img(tmp_path / "red.png", rgb, scale=False)
    loaded = keras.utils.load_img(tmp_path / "red.png", target_size=(6, 4))
    assert loaded.size == (4, 6)
    np.testing.assert_array_equal(keras.utils.img_to_array(loaded)[0, 0], [200, 0, 0])
    with pytest.raises(ValueError, match="shape \\(height, width"):
        keras.utils.array_to_img(np.zeros((4, 5)))
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(ValueError, match="bad.png"):
        keras.utils.load_img(tmp_path / "bad.png")
