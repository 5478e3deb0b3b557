"""Packaging contract: public names, README quick start, CI script, missing-extra messages."""

import re
from pathlib import Path

import leann_engine

ROOT = Path(__file__).resolve().parents[2]

EXPECTED_ALL_OLD = [
    "Embedder",
    "FunctionEmbedder",
    "IndexFormatError",
    "IndexLockedError",
    "IndexNotFoundError",
    "LeannBuilder",
    "LeannError",
    "LeannIndex",
    "LeannSearcher",
    "SearchResult",
    "SearchResults",
    "SearchStats",
    "SentenceTransformerEmbedder",
    "__version__",
]


def test_public_names_are_pinned():
    assert set(EXPECTED_ALL_OLD) <= set(leann_engine.__all__)
    for name in EXPECTED_ALL_OLD:
        assert hasattr(leann_engine, name)


def quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_readme_quick_start_is_two_commands_and_ci_runs_the_second():
    cmds = quick_start_commands()
    assert len(cmds) == 2
    assert "examples/quickstart.py" in cmds[0]
    assert "pytest" in cmds[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert cmds[1] in ci.splitlines()


def test_engine_imports_no_framework():
    for path in (ROOT / "leann_engine").rglob("*.py"):
        src = path.read_text()
        assert not re.search(r"^\s*(from|import) (langchain|llama_index)", src, re.M), path.name


def test_test_files_have_unique_basenames() -> None:
    # tests/ has no __init__.py files: pytest imports test modules by basename, so a name used
    # in both unit/ and integration/ stops collection of the whole suite.
    root = Path(__file__).resolve().parents[1]
    names = [p.name for p in root.rglob("test_*.py")]
    assert sorted({n for n in names if names.count(n) > 1}) == []
