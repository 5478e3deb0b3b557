"""The LlamaIndex RAG example runs as a script and as a notebook, with the real model."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

pytest.importorskip("llama_index.core")

from conftest import ROOT  # noqa: E402

from leann_engine import LeannIndex  # noqa: E402

# ---------------------------------------------------------------------- examples


@pytest.mark.model
def test_example_script_runs_both_stores_and_agrees(tmp_path, real_model):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "llama_index_rag.py"),
            "--out",
            str(tmp_path),
            "--query",
            "magic SysRq key to reboot the machine",  # one question: the notebook asks both
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    assert "same source nodes for every question: True" in out.stdout
    ratio = float(re.search(r"LEANN / in-memory: ([0-9.]+)", out.stdout).group(1))
    assert 0 < ratio < 1
    assert (tmp_path / "in-memory" / "default__vector_store.json").exists()
    assert (tmp_path / "LEANN" / "default__leann.json").exists()
    assert LeannIndex(tmp_path / "docs.leann").count() > 50


@pytest.mark.model
def test_example_notebook_executes(real_model):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(ROOT / "examples" / "llama_index_rag.ipynb", as_version=4)
    nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "examples")}}
    ).execute()
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "same source nodes for every question: True" in text
    assert float(re.search(r"LEANN / in-memory: ([0-9.]+)", text).group(1)) < 1
