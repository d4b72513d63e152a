"""Every lesson notebook runs top to bottom in a real Jupyter kernel."""

import pathlib

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

CELL_BUDGET_SECONDS = 900
LESSONS = sorted((pathlib.Path(__file__).parent.parent / "examples" / "lessons").glob("*.ipynb"))


def test_there_are_lessons():
    assert len(LESSONS) >= 2


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_runs_without_errors(path, tmp_path, monkeypatch):
    # a learner's Jupyter draws inline; CI's MPLBACKEND=Agg would stop the kernel from doing so
    monkeypatch.delenv("MPLBACKEND", raising=False)
    notebook = nbformat.read(path, as_version=4)
    # a budget per cell that only a real hang exceeds: on a loaded 2-core machine (load 6-9)
    # the longest cells took over 120 s; a test must not depend on the machine's speed
    client = nbclient.NotebookClient(notebook, timeout=CELL_BUDGET_SECONDS, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any(o.output_type in ("display_data", "execute_result") and "image/png" in o.get(
        "data", {}) for o in outputs), f"{path.name} shows no picture"
