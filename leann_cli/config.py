"""Where indexes live, their names, and the defaults the CLI and the MCP server share."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The retrieval mode of `leann search`, `leann ask` and the MCP server when none is given.
# One constant on purpose: it is set from the retrieval quality figures (benchmarks/).
DEFAULT_MODE = "hybrid"
SEARCH_MODES: tuple[str, ...] = ("dense", "bm25", "hybrid")
DEFAULT_TOP_K = 5
DEFAULT_COMPLEXITY = 64

INDEXES_DIR = Path(".leann") / "indexes"
ENGINE_DIR = "documents.leann"  # the engine's index folder inside .leann/indexes/NAME/
SOURCES_FILE = "sources.json"  # files, hashes and chunk counts, for incremental builds
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class CliError(Exception):
    """An error the user can fix; shown as one line, exit status 1."""


def check_index_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise CliError(
            f"index name {name!r} is not valid: use letters, digits, '.', '_' or '-' "
            "(at most 128, not starting with '.' or '-')"
        )
    return name


def base_dir(base: str | Path | None = None) -> Path:
    """The project folder whose ``.leann/indexes`` holds the indexes (default: the current one)."""
    if base is None:
        base = os.environ.get("LEANN_BASE_DIR") or Path.cwd()
    return Path(base).expanduser().resolve()


def index_dir(name: str, base: str | Path | None = None) -> Path:
    return base_dir(base) / INDEXES_DIR / check_index_name(name)


def engine_path(name: str, base: str | Path | None = None) -> Path:
    return index_dir(name, base) / ENGINE_DIR


def existing_engine_path(name: str, base: str | Path | None = None) -> Path:
    """The engine folder of an index that must exist, or a :class:`CliError` naming the fix."""
    path = engine_path(name, base)
    if not (path / "manifest.json").exists():
        known = [i.name for i in list_indexes(base)]
        hint = (
            f"; indexes here: {', '.join(known)}"
            if known
            else "; build one with `leann build NAME --docs PATH`"
        )
        raise CliError(f"no index named {name!r} under {base_dir(base) / INDEXES_DIR}{hint}")
    return path


def index_identity(engine: Path) -> tuple[Any, ...]:
    """What tells one index apart from another built later at the same path (after a remove)."""
    st = engine.stat()
    try:
        created = json.loads((engine / "manifest.json").read_text(encoding="utf-8")).get("created_at")
    except (OSError, ValueError):
        created = None
    return (st.st_dev, st.st_ino, created)


def dir_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += (Path(root) / f).stat().st_size
            except OSError:
                pass
    return total


@dataclass
class IndexInfo:
    """One index of a project, as ``leann list`` shows it."""

    name: str
    path: Path
    passages: int
    dimensions: int
    size_bytes: int
    embedding_model: str
    is_recompute: bool
    files: int

    @property
    def flat_bytes(self) -> int:
        """What a flat float32 index of the same vectors would take."""
        return self.passages * self.dimensions * 4

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": str(self.path),
            "passages": self.passages,
            "files": self.files,
            "size_bytes": self.size_bytes,
            "flat_index_bytes": self.flat_bytes,
            "dimensions": self.dimensions,
            "embedding_model": self.embedding_model,
            "is_recompute": self.is_recompute,
        }


def index_info(name: str, base: str | Path | None = None) -> IndexInfo:
    folder = index_dir(name, base)
    manifest = json.loads((folder / ENGINE_DIR / "manifest.json").read_text(encoding="utf-8"))
    files = 0
    sources = folder / SOURCES_FILE
    if sources.exists():
        try:
            files = len(json.loads(sources.read_text(encoding="utf-8")).get("files", {}))
        except (OSError, ValueError):
            files = 0
    return IndexInfo(
        name=name,
        path=folder,
        passages=int(manifest.get("counts", {}).get("passages", 0)),
        dimensions=int(manifest.get("dimensions", 0)),
        size_bytes=dir_size(folder),
        embedding_model=str(manifest.get("embedding_model", "")),
        is_recompute=bool(manifest.get("is_recompute", True)),
        files=files,
    )


def list_indexes(base: str | Path | None = None) -> list[IndexInfo]:
    root = base_dir(base) / INDEXES_DIR
    if not root.is_dir():
        return []
    out = []
    for folder in sorted(root.iterdir()):
        if folder.is_dir() and _NAME.match(folder.name) and (folder / ENGINE_DIR / "manifest.json").exists():
            try:
                out.append(index_info(folder.name, base))
            except (OSError, ValueError):
                continue
    return out
