"""Run real Keras notebooks with glassnet: only the import lines change.

    python tests/real_code/run.py NOTEBOOK_DIR [--keras] [--only ID,ID] [--json OUT]

NOTEBOOK_DIR holds the notebooks of manifest.json under their "file" names
(get each from its repository at the commit given). Every code cell runs in a
real Jupyter kernel, in order, one folder per "group" (so 8-3 finds the model
file 8-2 saved). With --keras the notebooks run unchanged (in a side venv with
TensorFlow/Keras): that gives the reference accuracy of notebooks stored
without outputs. The table shows, per notebook, the cells that ran without
an error out of all code cells, the accuracy of its last ``evaluate`` and the
reference.

The import edits are exactly those API.md allows, line by line:
``import tensorflow as tf`` -> ``import glassnet as tf``,
``from tensorflow import keras`` -> ``from glassnet import keras``,
``from tensorflow.keras.X import Y`` -> ``from glassnet.keras.X import Y``,
``import keras`` -> ``import glassnet.keras as keras``,
``from keras(.X) import Y`` -> ``from glassnet.keras(.X) import Y``.

Data that cannot be had offline (MNIST, IMDB, Reuters, Boston Housing, the
autoencoder tutorial's ECG CSV, aclImdb's text files) gets a stand-in where a
manifest entry names one under "stand_in": a file in Keras's own layout (see
``STAND_INS``), written once into a ``stand-in-data`` folder that
``$GLASSNET_DATA`` names for that notebook's kernel only; a file the notebook
downloads itself from a URL (``STAND_IN_URLS``) comes from a loopback proxy its
kernel's ``http_proxy`` names; a file its shell lines download and unpack
(``STAND_IN_FILES``) is put in its working folder. The notebook's
code is untouched; its accuracy is then that of the stand-in, not of the real
data set, so such entries carry no saved-output reference.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import sys
import tempfile
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
MANIFEST = HERE / "manifest.json"

IMPORT_EDITS = [
    (re.compile(r"^(\s*)import tensorflow as tf\s*$", re.M), r"\1import glassnet as tf"),
    (re.compile(r"^(\s*)from tensorflow import keras\s*$", re.M), r"\1from glassnet import keras"),
    (re.compile(r"^(\s*)from tensorflow\.keras((?:\.\w+)*) import ", re.M),
     r"\1from glassnet.keras\2 import "),
    (re.compile(r"^(\s*)import keras\s*$", re.M), r"\1import glassnet.keras as keras"),
    (re.compile(r"^(\s*)from keras((?:\.\w+)*) import ", re.M), r"\1from glassnet.keras\2 import "),
]


def edit_imports(source):
    """(the source with API.md's import edits, how many lines changed)."""
    count = 0
    for pattern, replacement in IMPORT_EDITS:
        source, n = pattern.subn(replacement, source)
        count += n
    return source, count


ACCURACY_LIST = re.compile(r"\[\s*([-+\d.eE]+)\s*,\s*([-+\d.eE]+)")
ACCURACY_TEXT = re.compile(r"(?:accuracy|정확도|正解率|acc)\S*\s*[:：]?\s*([01]\.\d+)", re.I)


def cell_text(cell):
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append("".join(output.get("text", "")))
        elif output.get("output_type") in ("execute_result", "display_data"):
            parts.append("".join(output.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def last_accuracy(notebook):
    """The accuracy the last code cell calling ``.evaluate(`` shows: the second
    number of its [loss, accuracy] result, else the last "accuracy: x" it printed."""
    for cell in reversed(notebook["cells"]):
        if cell["cell_type"] != "code" or ".evaluate(" not in "".join(cell["source"]):
            continue
        text = cell_text(cell)
        results = [o for o in cell.get("outputs", []) if o.get("output_type") == "execute_result"]
        if results:
            match = ACCURACY_LIST.search("".join(results[-1]["data"].get("text/plain", "")))
            if match:
                return float(match.group(2))
        found = ACCURACY_TEXT.findall(text)
        if found:
            return float(found[-1])
        return None
    return None


# ---- stand-in data sets, in Keras's file layouts --------------------------------------

def _objects(lists):
    out = np.empty(len(lists), dtype=object)
    out[:] = lists
    return out


def _reviews(rng, labels, classes, lengths, signal=0.06):
    """Word-id lists whose words carry their label, as real reviews do: Zipf-distributed
    common words, a ``signal`` share of them replaced by words of the label's own set
    (ids 10-199, so they survive ``num_words`` as small as 200), and some noise words
    of every class, so a model learns it well but not perfectly."""
    own = {label: np.arange(10 + label, 200, classes) for label in range(classes)}
    out = []
    for label in labels:
        n = int(rng.integers(*lengths))
        words = np.minimum(rng.zipf(1.3, n) + 3, 9999)
        pick = rng.random(n) < signal
        words[pick] = rng.choice(own[int(label)], int(pick.sum()))
        noise = rng.random(n) < signal / 2
        words[noise] = rng.integers(10, 200, int(noise.sum()))
        out.append([int(w) for w in words])
    return out


def _word_index(vocabulary):
    return {f"word{rank}": rank for rank in range(1, vocabulary + 1)}


def _stand_in_mnist(folder):
    """Fashion-MNIST (installed) saved as Keras's mnist.npz: the same shapes and dtypes."""
    from glassnet.datasets import fashion_mnist

    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    np.savez(folder / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test,
             y_test=y_test)


def _stand_in_imdb(folder):
    """imdb.npz as Keras's: 25,000 + 25,000 reviews (object arrays of word-id lists),
    labels 0/1, and imdb_word_index.json (word -> rank), 88,584 words."""
    rng = np.random.default_rng(113)
    vocabulary = 88584
    data = {}
    for part in ("train", "test"):
        labels = rng.integers(0, 2, 25000)
        data["x_" + part] = _objects(_reviews(rng, labels, 2, (30, 400), signal=0.04))
        data["y_" + part] = labels
    np.savez(folder / "imdb.npz", **data)
    (folder / "imdb_word_index.json").write_text(json.dumps(_word_index(vocabulary)))


def _stand_in_reuters(folder):
    """reuters.npz as Keras's: 11,228 newswires in x (object array), 46 topics in y,
    and reuters_word_index.json, 30,979 words."""
    rng = np.random.default_rng(46)
    labels = np.minimum(rng.zipf(1.6, 11228) - 1, 45)
    x = _objects(_reviews(rng, labels, 46, (20, 300), signal=0.07))
    np.savez(folder / "reuters.npz", x=x, y=labels)
    (folder / "reuters_word_index.json").write_text(json.dumps(_word_index(30979)))


def _stand_in_boston_housing(folder):
    """boston_housing.npz as Keras's: x (506, 13) float64 attributes, y (506,) prices in
    thousands of dollars (a noisy function of x, within the real data's 5-50)."""
    rng = np.random.default_rng(506)
    x = np.abs(rng.normal(size=(506, 13)) * rng.uniform(0.5, 100, 13))
    z = (x - x.mean(0)) / x.std(0)
    y = 22.5 + z @ rng.normal(0, 2.5, 13) + 2 * np.tanh(z[:, 0] * z[:, 1]) + rng.normal(0, 2, 506)
    np.savez(folder / "boston_housing.npz", x=x, y=np.clip(y, 5, 50))


def _stand_in_ecg(folder):
    """ecg.csv as TensorFlow's autoencoder tutorial downloads it: 4,998 rows of
    140 readings and a label (1 normal, 0 anomalous; 2,919 normal), no header.
    A normal beat is a fixed pattern of peaks with jitter and noise; an
    anomalous one has its peaks moved, widened or missing."""
    rng = np.random.default_rng(4998)
    t = np.arange(140)

    def beat(centres, widths, heights):
        return sum(h * np.exp(-0.5 * ((t - c) / w) ** 2) for c, w, h in
                   zip(centres, widths, heights))

    rows = []
    for label in rng.permutation([1] * 2919 + [0] * 2079):
        shift = rng.normal(0, 1.5)
        centres, widths, heights = [20, 45, 52, 58, 95], [4, 2, 1.5, 2, 8], [0.4, -0.6, 3.0, -1.2,
                                                                             0.8]
        if not label:
            kind = rng.integers(3)
            if kind == 0:
                centres = [c + rng.normal(0, 12) for c in centres]
            elif kind == 1:
                widths = [w * rng.uniform(2, 4) for w in widths]
            else:
                heights = [h * rng.choice([0, 0.3, 2.5]) for h in heights]
        x = beat([c + shift for c in centres], widths, heights) - 1.5 + \
            rng.normal(0, 0.15, 140)
        rows.append(list(x) + [float(label)])
    np.savetxt(folder / "ecg.csv", np.array(rows), delimiter=",", fmt="%.6f")


def _stand_in_aclimdb(folder, per_class=200):
    """aclImdb_v1.tar.gz as Stanford's: aclImdb/{train,test}/{neg,pos}/<id>_<stars>.txt
    (``per_class`` reviews each) and aclImdb/train/unsup/, reviews of Zipf-drawn word ids
    written as words ("word17"), some of them the label's own, as ``_reviews`` makes."""
    import io
    import tarfile

    rng = np.random.default_rng(1337)
    with tarfile.open(folder / "aclImdb_v1.tar.gz", "w:gz") as archive:
        def add(name, text):
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))

        for part in ("train", "test"):
            for label, kind in enumerate(("neg", "pos")):
                reviews = _reviews(rng, [label] * per_class, 2, (60, 300), signal=0.05)
                for i, words in enumerate(reviews):
                    stars = int(rng.integers(1, 5)) if label == 0 else int(rng.integers(7, 11))
                    add(f"aclImdb/{part}/{kind}/{i}_{stars}.txt",
                        " ".join(f"word{w}" for w in words) + ".<br /><br />The end.")
        for i in range(10):
            add(f"aclImdb/train/unsup/{i}_0.txt", "an unlabelled review.")


STAND_INS = {"mnist": _stand_in_mnist, "imdb": _stand_in_imdb, "reuters": _stand_in_reuters,
             "boston_housing": _stand_in_boston_housing, "ecg": _stand_in_ecg,
             "aclimdb": _stand_in_aclimdb}

# stand-ins that a notebook's shell lines fetch and unpack in its working folder
# (``!curl -O https://...``, then ``!tar -xf``): the file is put there before the
# notebook runs. Offline, its curl fails (a shell line's failure is printed, not
# raised) and its tar unpacks the stand-in; with a network, curl fetches the real one
STAND_IN_FILES = {"aclimdb": "aclImdb_v1.tar.gz"}

# stand-ins that notebooks fetch from a URL themselves (pd.read_csv(url)): a loopback
# HTTP proxy (http_proxy for that notebook's kernel only) answers these URLs from the
# stand-in folder and refuses every other one
STAND_IN_URLS = {
    "http://storage.googleapis.com/download.tensorflow.org/data/ecg.csv": "ecg.csv"}


def start_stand_in_proxy(folder):
    """A loopback proxy serving STAND_IN_URLS from ``folder``; returns its URL."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            name = STAND_IN_URLS.get(self.path)
            if name is None or not (folder / name).is_file():
                self.send_error(404, "not a stand-in URL")
                return
            body = (folder / name).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def stand_in_data(names, folder):
    """Write the stand-ins ``names`` into ``folder`` (once) and return it."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        done = folder / f".{name}-done"
        if not done.exists():
            STAND_INS[name](folder)
            done.write_text("")
    return folder


def _entry_for(path):
    for entry in json.loads(MANIFEST.read_text())["notebooks"]:
        if entry["file"] == pathlib.Path(path).name:
            return entry
    return None


def run_notebook(path, workdir, keras=False, timeout=3600):
    """Execute every code cell of the notebook at ``path`` in ``workdir``
    (with the stand-in data its manifest entry names, if any)."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    saved = last_accuracy(notebook)
    edits = 0
    for cell in notebook.cells:
        if cell.cell_type == "code":
            if not keras:
                cell.source, n = edit_imports(cell.source)
                edits += n
            cell.outputs = []
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    entry = _entry_for(path)
    if entry and entry.get("stand_in"):
        data = stand_in_data(entry["stand_in"], pathlib.Path(workdir).parent / "stand-in-data")
        env["GLASSNET_DATA"] = str(data)
        for name in entry["stand_in"]:
            if name in STAND_IN_FILES:
                import shutil

                shutil.copy(data / STAND_IN_FILES[name], pathlib.Path(workdir))
        if any(STAND_IN_URLS.get(url) in {f"{n}.csv" for n in entry["stand_in"]}
               for url in STAND_IN_URLS):
            env["http_proxy"] = env["HTTP_PROXY"] = start_stand_in_proxy(data)
            env.pop("no_proxy", None)
            env.pop("NO_PROXY", None)
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            allow_errors=True, resources={"metadata": {"path": str(workdir)}})
    start = time.perf_counter()
    client.execute(env=env)  # without CI's MPLBACKEND=Agg: figures display inline
    seconds = time.perf_counter() - start
    code = [c for c in notebook.cells if c.cell_type == "code"]
    errors = [(i, o) for i, c in enumerate(code) for o in c.outputs
              if o.get("output_type") == "error"]
    first = None
    if errors:
        index, error = errors[0]
        first = {"cell": index, "error": f"{error.get('ename')}: {error.get('evalue')}"[:300],
                 "source": code[index].source[:200]}
    failed = {i for i, _ in errors}
    return {"cells": len(code), "cells_ok": len(code) - len(failed), "first_error": first,
            "accuracy": last_accuracy(notebook), "saved_output_accuracy": saved,
            "import_edits": edits, "seconds": round(seconds, 1), "notebook": notebook}


def run_all(notebook_dir, keras=False, only=None, keep=None):
    manifest = json.loads(MANIFEST.read_text())
    notebook_dir = pathlib.Path(notebook_dir)
    folders, results = {}, []
    base = pathlib.Path(keep or tempfile.mkdtemp(prefix="real-code-"))
    for entry in manifest["notebooks"]:
        if only and entry["id"] not in only:
            continue
        path = notebook_dir / entry["file"]
        if not path.exists():
            results.append({"id": entry["id"], "missing": str(path)})
            continue
        folder = folders.setdefault(entry["group"], base / entry["group"])
        folder.mkdir(parents=True, exist_ok=True)
        result = run_notebook(path, folder, keras=keras)
        executed = result.pop("notebook")
        if keep:
            import nbformat

            nbformat.write(executed, str(folder / f"executed-{entry['file']}"))
        result["id"] = entry["id"]
        result["reference_from"] = entry["reference"]["from"]
        if entry["reference"]["from"] == "saved_output":
            result["reference"] = result["saved_output_accuracy"]
        elif entry["reference"]["from"] == "keras":
            result["reference"] = entry["reference"].get("value")
        results.append(result)
        print(format_row(result), flush=True)
    return results


def format_row(r):
    if "missing" in r:
        return f"{r['id']:<26} missing: {r['missing']}"
    accuracy = "-" if r["accuracy"] is None else f"{r['accuracy']:.4f}"
    reference = "-" if r.get("reference") is None else f"{r['reference']:.4f}"
    error = "" if not r["first_error"] else f"  first error: cell {r['first_error']['cell']}: " \
                                               f"{r['first_error']['error']}"
    return (f"{r['id']:<26} {r['cells_ok']:>3}/{r['cells']:<3} cells  accuracy {accuracy}  "
            f"reference {reference} ({r['reference_from']})  {r['seconds']:>6.1f} s{error}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebook_dir")
    parser.add_argument("--keras", action="store_true",
                        help="run the notebooks unchanged (real TensorFlow/Keras)")
    parser.add_argument("--only", help="comma-separated notebook ids")
    parser.add_argument("--keep", help="run in this folder and keep the executed notebooks")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    results = run_all(args.notebook_dir, keras=args.keras,
                      only=args.only.split(",") if args.only else None, keep=args.keep)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=1))
    return 0 if all(r.get("cells_ok") == r.get("cells") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
