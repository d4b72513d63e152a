"""Real Keras notebooks, run with only API.md's import edits (tests/real_code/).

The notebooks are third-party code and are not in this repository;
``GLASSNET_REAL_CODE`` names a folder that holds them under the names
tests/real_code/manifest.json gives (each from its repository at the commit
given). Without it only the import edits are tested."""

import json
import os
import pathlib
import sys

import pytest

HERE = pathlib.Path(__file__).parent / "real_code"
sys.path.insert(0, str(HERE))
import run  # noqa: E402

MANIFEST = json.loads((HERE / "manifest.json").read_text())


def test_the_import_edits_are_exactly_those_of_api_md():
    source = "\n".join([
        "import tensorflow as tf", "from tensorflow import keras",
        "from tensorflow.keras.layers import Dense, Flatten", "from tensorflow.keras import layers",
        "import keras", "from keras import layers", "from keras.callbacks import EarlyStopping",
        "    import tensorflow as tf", "import numpy as np",
        "x = tf.keras.layers.Dense(3)  # from tensorflow import keras"])
    edited, count = run.edit_imports(source)
    assert edited.splitlines() == [
        "import glassnet as tf", "from glassnet import keras",
        "from glassnet.keras.layers import Dense, Flatten", "from glassnet.keras import layers",
        "import glassnet.keras as keras", "from glassnet.keras import layers",
        "from glassnet.keras.callbacks import EarlyStopping", "    import glassnet as tf",
        "import numpy as np", "x = tf.keras.layers.Dense(3)  # from tensorflow import keras"]
    assert count == 8
    for untouched in ("import tensorflow.compat.v1 as tf", "import tensorflow_datasets as tfds",
                      "from tensorflow.python import keras", "tf.config.list_devices()"):
        assert run.edit_imports(untouched) == (untouched, 0)


def test_the_manifest_names_where_each_notebook_comes_from():
    notebooks = MANIFEST["notebooks"]
    assert len(notebooks) >= 8
    for entry in notebooks:
        assert entry["repository"].count("/") == 1 and entry["commit"] and entry["license"]
        assert entry["reference"]["from"] in ("keras", "saved_output", "none")
        if entry["reference"]["from"] == "keras":
            assert 0.5 < entry["reference"]["value"] < 1


FOLDER = os.environ.get("GLASSNET_REAL_CODE")


@pytest.mark.slow
@pytest.mark.skipif(not FOLDER, reason="GLASSNET_REAL_CODE names no folder of the notebooks")
@pytest.mark.parametrize("entry", MANIFEST["notebooks"], ids=lambda e: e["id"])
def test_real_notebook_runs_and_reaches_its_accuracy(entry, tmp_path_factory):
    path = pathlib.Path(FOLDER) / entry["file"]
    if not path.exists():
        pytest.skip(f"{path} is not there")
    folder = tmp_path_factory.getbasetemp() / entry["group"]  # 8-3 reads what 8-2 saved
    folder.mkdir(exist_ok=True)
    result = run.run_notebook(path, folder)
    assert result["first_error"] is None, result["first_error"]
    reference = result["saved_output_accuracy"] if entry["reference"]["from"] == \
        "saved_output" else entry["reference"].get("value")
    if reference is not None:
        assert abs(result["accuracy"] - reference) <= 0.01, (result["accuracy"], reference)


def test_a_url_stand_in_is_served_by_a_loopback_proxy_and_nothing_else(tmp_path):
    """The autoencoder tutorial reads its ECG CSV with pd.read_csv(URL); the
    notebook stays untouched and its kernel's http_proxy answers that URL."""
    import urllib.error
    import urllib.request

    import numpy as np

    folder = run.stand_in_data(["ecg"], tmp_path)
    proxy = run.start_stand_in_proxy(folder)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy}))
    (url,) = run.STAND_IN_URLS
    with opener.open(url, timeout=30) as response:
        rows = np.loadtxt(response, delimiter=",")
    assert rows.shape == (4998, 141)
    assert set(np.unique(rows[:, -1])) == {0.0, 1.0} and rows[:, -1].sum() == 2919
    with pytest.raises(urllib.error.HTTPError):
        opener.open("http://example.com/other.csv", timeout=30)


def test_a_file_stand_in_is_unpacked_by_the_notebooks_own_shell_lines(tmp_path):
    """Deep Learning with Python's chapter 11 fetches aclImdb with !curl and unpacks it
    with !tar: the stand-in tarball, put in the working folder, unpacks to Stanford's
    layout, which text_dataset_from_directory reads as two classes."""
    import subprocess

    from glassnet.keras.utils import text_dataset_from_directory

    folder = run.stand_in_data(["aclimdb"], tmp_path / "data")
    work = tmp_path / "work"
    work.mkdir()
    (work / run.STAND_IN_FILES["aclimdb"]).write_bytes(
        (folder / run.STAND_IN_FILES["aclimdb"]).read_bytes())
    subprocess.run(["tar", "-xf", "aclImdb_v1.tar.gz"], cwd=work, check=True)
    assert sorted(p.name for p in (work / "aclImdb" / "train").iterdir()) == \
        ["neg", "pos", "unsup"]
    subprocess.run(["rm", "-r", "aclImdb/train/unsup"], cwd=work, check=True)
    names = sorted(p.name for p in (work / "aclImdb" / "train" / "pos").iterdir())
    assert len(names) == 200 and all(int(n.split("_")[1][:-4]) >= 7 for n in names)
    ds = text_dataset_from_directory(work / "aclImdb" / "test", batch_size=None, shuffle=False,
                                     verbose=False)
    assert ds.class_names == ["neg", "pos"]
    texts = [x for x, _ in ds.as_numpy_iterator()]
    assert len(texts) == 400 and texts[0].startswith(b"word") and texts[0].endswith(b"The end.")
