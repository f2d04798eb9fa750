"""examples/tour.ipynb: stored clean, and it runs top to bottom in a fresh kernel."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOUR = ROOT / "examples" / "tour.ipynb"


def test_tour_is_stored_without_outputs():
    notebook = json.loads(TOUR.read_text(encoding="utf-8"))
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert len(code) >= 5
    for cell in code:
        assert cell["outputs"] == [], cell["source"]
        assert cell["execution_count"] is None
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"


def test_tour_names_the_extra_that_brings_what_it_imports():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    notebook = json.loads(TOUR.read_text(encoding="utf-8"))
    intro = "".join(notebook["cells"][0]["source"])
    assert 'pip install -e ".[notebook]"' in intro
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    needs = extras["project"]["optional-dependencies"]["notebook"]
    assert any(need.startswith("matplotlib") for need in needs)


def python3_kernel() -> None:
    """Skip unless Jupyter can start a "python3" kernel."""
    kernelspec = pytest.importorskip("jupyter_client.kernelspec")
    pytest.importorskip("ipykernel")
    try:
        kernelspec.KernelSpecManager().get_kernel_spec("python3")
    except kernelspec.NoSuchKernel:
        pytest.skip('no "python3" Jupyter kernel is installed')


def test_tour_runs_top_to_bottom_without_errors(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("matplotlib")
    python3_kernel()
    # the kernel finds this checkout's packages even when they are not installed
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    monkeypatch.setenv("PYTHONPATH", path)
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.read(TOUR, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=60,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError, naming the cell, if one fails

    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    shown = [out.get("data", {}) for out in outputs if out.output_type == "display_data"]
    markdown = [data["text/markdown"] for data in shown if "text/markdown" in data]
    assert markdown and "chain rule" in markdown[0] and "\\partial E" in markdown[0]
    assert any("image/png" in data for data in shown)  # the training plots
    printed = "".join(out.get("text", "") for out in outputs if out.output_type == "stream")
    lines = printed.splitlines()
    assert "dc/da = -2.9293" in lines  # backward()'s own line: c = ab + tanh(a), b + 1 - tanh²(2)
    assert "dc/db = 2.0000" in lines  # dc/db = a
    assert "by hand: dc/da = -2.9293, dc/db = 2.0000" in lines
    assert "W1[0,0].grad from backward(): -0.0002471" in printed
