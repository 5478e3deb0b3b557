"""Importing an adapter without its framework fails with an ImportError naming the extra to install."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import ROOT


@pytest.mark.parametrize(
    ("module", "hidden", "extra"),
    [
        ("leann_integrations.langchain", "langchain_core", "langchain"),
        ("leann_integrations.llama_index", "llama_index", "llama-index"),
    ],
)
def test_missing_framework_names_the_extra(module, hidden, extra):
    code = f"import sys; sys.modules[{hidden!r}] = None\nimport {module}"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60
    )
    assert out.returncode != 0
    assert f'pip install "leann-graph-index[{extra}]"' in out.stderr


def test_the_engine_imports_without_any_framework():
    code = (
        "import sys\nfor m in ('langchain_core', 'llama_index'): sys.modules[m] = None\n"
        "import leann_engine, leann_integrations\nprint(leann_integrations.__all__)"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
