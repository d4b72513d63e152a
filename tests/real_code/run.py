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


def run_notebook(path, workdir, keras=False, timeout=3600):
    """Execute every code cell of the notebook at ``path`` in ``workdir``."""
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
