"""The LangChain RAG example runs, as a script and as a notebook, and the two hold the same code."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("langchain_core", reason='needs the langchain extra: pip install -e ".[langchain]"')

from conftest import ROOT  # noqa: E402

SCRIPT = ROOT / "examples" / "langchain_rag.py"
NOTEBOOK = ROOT / "examples" / "langchain_rag.ipynb"
# One document keeps the model time to seconds; the example defaults to all of them.
ENV = {"LEANN_RAG_FILES": "sysrq.rst", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}


def script_cells() -> list[tuple[str, str]]:
    """``(cell_type, source)`` from the script's ``# %%`` markers (markdown lines lose ``# ``)."""
    cells = []
    for block in SCRIPT.read_text().split("# %%")[1:]:
        head, _, body = block.partition("\n")
        if head.strip() == "[markdown]":
            lines = [
                line[2:] if line.startswith("# ") else line.lstrip("#") for line in body.strip().splitlines()
            ]
            cells.append(("markdown", "\n".join(lines)))
        else:
            cells.append(("code", body.strip()))
    return cells


def write_notebook() -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    make = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell}
    nb.cells = [make[kind](src) for kind, src in script_cells()]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"
    nbformat.write(nb, NOTEBOOK)


def check_output(text: str) -> None:
    assert "same retrieved chunks as InMemoryVectorStore: True" in text
    assert "LeannVectorStore folder" in text and "InMemoryVectorStore.dump (JSON)" in text
    assert "retrieved: sysrq.rst#" in text and "(offline fake LLM)" in text


def test_notebook_holds_the_script_code():
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    got = [(c.cell_type, c.source.strip()) for c in nb.cells]
    assert got == script_cells(), "regenerate with: python tests/integration/test_langchain_example.py --write"


@pytest.mark.model
def test_script_runs(tmp_path):
    env = dict(os.environ, **ENV)
    out = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600
    )
    assert out.returncode == 0, out.stderr
    check_output(out.stdout)


@pytest.mark.model
def test_notebook_executes(monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "examples")}}
    )
    client.execute()
    text = "".join(
        out.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )
    check_output(text)


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    write_notebook()
