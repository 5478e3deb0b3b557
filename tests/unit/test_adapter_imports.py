"""The adapters use only leann_engine's public names, and keep their public names pinned."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

import leann_engine

PACKAGE = Path(__file__).resolve().parents[2] / "leann_integrations"
# An import of an engine submodule written any way: statement, lazy, or by name.
SUBMODULE_IMPORT = re.compile(r"(?:\bfrom|\bimport|import_module\(|__import__\()\s*['\"]?leann_engine\.\w")


def _engine_imports(path: Path) -> list[tuple[int, str]]:
    """``(line, what)`` for every import of leann_engine in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "leann_engine"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("leann_engine"):
            found += [(node.lineno, f"from {node.module} import {a.name}") for a in node.names]
    return found


def test_adapters_import_no_engine_submodule_and_only_public_names():
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) >= 10
    bad = []
    for path in sources:
        text = path.read_text(encoding="utf-8")
        # The text grep also catches imports by name that the AST walk does not see as imports.
        for m in SUBMODULE_IMPORT.finditer(text):
            bad.append(f"{path.relative_to(PACKAGE)}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}")
        for line, what in _engine_imports(path):
            name = what.rsplit(" ", 1)[-1]
            if not what.startswith("from leann_engine import") or name not in leann_engine.__all__:
                bad.append(f"{path.relative_to(PACKAGE)}:{line}: {what}")
    assert not bad, "adapters must import only leann_engine's public names:\n" + "\n".join(bad)


def test_the_check_catches_a_submodule_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from leann_engine.storage import read_manifest\nimport leann_engine.graph\n"
        "x = importlib.import_module('leann_engine.filters')  # see :class:`leann_engine.Embedder`\n"
    )
    assert len(SUBMODULE_IMPORT.findall(bad.read_text())) == 3
    assert [w for _, w in _engine_imports(bad)] == [
        "from leann_engine.storage import read_manifest",
        "leann_engine.graph",
    ]


@pytest.mark.parametrize(
    ("module", "names"),
    [
        (
            "leann_integrations.langchain",
            ["FILTER_LOGIC", "FILTER_OPERATORS", "LangChainEmbedder", "LeannEmbeddings", "LeannVectorStore",
             "to_engine_filter"],
        ),
        (
            "leann_integrations.llama_index",
            ["ID_KEY", "NODE_KEY", "OPERATOR_MAP", "REF_KEY", "RESERVED_KEYS", "SAME_METADATA", "SPAN_KEY",
             "SUPPORTED_MODES", "LeannEmbedding", "LeannVectorStore", "LlamaIndexEmbedder", "node_to_passage",
             "passage_to_node", "translate_filters"],
        ),
    ],
)
def test_public_names_are_pinned(module, names):
    pytest.importorskip(module.split(".")[1].replace("langchain", "langchain_core").replace("llama_index", "llama_index.core"))
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(names)
    assert all(getattr(mod, n) is not None for n in names)
