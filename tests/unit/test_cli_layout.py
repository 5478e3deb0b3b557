"""The CLI package's shape: small modules and functions, the engine reached only through its public
names, no storage-format knowledge; examples and benchmarks use the installed package."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import leann_cli
import leann_engine
from leann_cli.ingest import chunk

ROOT = Path(__file__).resolve().parents[2]
CLI_FILES = sorted((ROOT / "leann_cli").rglob("*.py"))
SCRIPTS = sorted((ROOT / "examples").glob("*.py")) + sorted((ROOT / "benchmarks").glob("*.py"))
NOTEBOOKS = sorted((ROOT / "examples").glob("*.ipynb"))
# Benchmarks of engine internals that no public call exposes (benchmarks/README.md says which).
# These measure internals no public call exposes (graph encodings, postings, lock hold times).
# bench_sources.py drives the personal-data importers, which have no public Python API.
# bench_incremental.py calls the CLI's entry point in-process, to time the update without a model load.
INTERNAL_BENCHMARKS = {
    "bench_pruning.py", "bench_hybrid.py", "bench_updates.py", "bench_sources.py", "bench_size.py",
    "bench_incremental.py", "bench_serve.py", "bench_vs_leann.py",
}
PUBLIC = {
    "leann_engine": set(leann_engine.__all__),
    "leann_cli": set(leann_cli.__all__),
    "leann_cli.ingest.chunk": set(chunk.__all__),
}


def imports(tree: ast.AST) -> list[tuple[str, list[str]]]:
    """``(module, names)`` for every import of this project's packages."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out.extend((a.name, []) for a in node.names)
    return [(m, n) for m, n in out if m.split(".")[0] in ("leann_engine", "leann_cli", "leann_integrations")]


def test_public_names_of_the_cli_package():
    assert sorted(leann_cli.__all__) == ["BuildOptions", "BuildReport", "LeannChat", "__version__", "build_from_docs"]
    for name in leann_cli.__all__:
        assert getattr(leann_cli, name) is not None


@pytest.mark.parametrize("path", CLI_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_cli_modules_are_small_and_use_only_public_engine_names(path):
    src = path.read_text()
    tree = ast.parse(src)
    assert len(src.splitlines()) <= 400
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            assert node.end_lineno - node.lineno + 1 <= 80, node.name
    for module, names in imports(tree):
        if module.startswith("leann_engine"):
            assert module == "leann_engine" and set(names) <= PUBLIC["leann_engine"], (module, names)


def test_no_manifest_parsing_in_the_cli():
    # Without the file's name or the engine's private reader, the CLI cannot parse a manifest itself.
    for path in CLI_FILES:
        src = path.read_text()
        assert "manifest.json" not in src and "read_manifest" not in src and "MANIFEST" not in src, path
    assert sum(p.read_text().count('"documents.leann"') for p in CLI_FILES) == 1  # indexes.ENGINE_DIR


def test_prose_chunking_left_the_engine():
    assert not (ROOT / "leann_engine" / "chunking.py").exists()


def script_sources() -> list[tuple[str, str]]:
    out = [(p.name, p.read_text()) for p in SCRIPTS]
    for nb in NOTEBOOKS:
        cells = json.loads(nb.read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        out.append((nb.name, code))
    return out


@pytest.mark.parametrize(("name", "src"), script_sources(), ids=lambda v: v if v.endswith(("py", "ipynb")) else "")
def test_examples_and_benchmarks_import_the_installed_package_by_public_names(name, src):
    assert "sys.path" not in src
    if name in INTERNAL_BENCHMARKS:
        return
    for module, names in imports(ast.parse(src)):
        if module in PUBLIC:
            assert set(names) <= PUBLIC[module], (module, names)
        elif module.startswith("leann_integrations."):
            assert module.count(".") == 1, module  # the adapter modules themselves
        else:
            pytest.fail(f"{name} imports {module}, not a public module")
