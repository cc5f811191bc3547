"""Every notebook runs top to bottom on the built-in model (as Voilà and tutorial users run it)."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"
WIDGET = "application/vnd.jupyter.widget-view+json"
# What each notebook must display, besides finishing without an error.
EXPECTED = {"giffusion.ipynb": WIDGET, "colab.ipynb": WIDGET, "tutorial.ipynb": "image/gif"}


def test_every_notebook_is_covered():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_runs_without_error(name, tmp_path, monkeypatch):
    monkeypatch.setenv("GIFFUSION_MODEL", "builtin:tiny-sd")
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), (
        f"{name} is committed with outputs"
    )
    resources = {"metadata": {"path": str(tmp_path)}}
    client = NotebookClient(notebook, timeout=600, kernel_name="python3", resources=resources)
    client.execute(env=dict(os.environ))
    outputs = [out for cell in notebook.cells for out in cell.get("outputs", [])]
    assert not [out for out in outputs if out.output_type == "error"]
    assert any(EXPECTED[name] in out.get("data", {}) for out in outputs), f"{name}: no output"
