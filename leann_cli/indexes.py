"""Where a project's indexes live, their names, and what ``leann list`` shows of each.

An index ``NAME`` is the folder ``.leann/indexes/NAME/`` of the project: the engine's index in
``documents.leann/`` and the build record ``sources.json`` beside it. Everything about the engine
folder (its manifest, its size) is read through ``leann_engine``'s public API.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leann_engine import IndexFormatError, IndexNotFoundError, disk_usage, index_info

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


def is_index(engine: Path) -> bool:
    """Whether ``engine`` holds a readable engine index (its manifest opens)."""
    try:
        index_info(engine)
    except (IndexNotFoundError, IndexFormatError, OSError, ValueError):
        return False
    return True


def existing_engine_path(name: str, base: str | Path | None = None) -> Path:
    """The engine folder of an index that must exist, or a :class:`CliError` naming the fix."""
    path = engine_path(name, base)
    if not is_index(path):
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
        created = index_info(engine).created_at
    except (IndexNotFoundError, IndexFormatError, OSError, ValueError):
        created = None
    return (st.st_dev, st.st_ino, created)


@dataclass
class IndexSummary:
    """One index of a project, as ``leann list`` and the MCP ``leann_list`` tool show it."""

    name: str
    path: Path
    passages: int
    dimensions: int
    size_bytes: int
    embedding_model: str
    is_recompute: bool
    files: int
    generation: int = 0
    has_codes: bool = True

    @property
    def graph_only(self) -> bool:
        """Recompute-only with no PQ codes (small indexes get none): a compaction re-embeds every
        passage, so large updates cost a full re-embedding."""
        return self.is_recompute and not self.has_codes

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
            "generation": self.generation,
            "has_codes": self.has_codes,
            "graph_only": self.graph_only,
        }


def summarize(name: str, base: str | Path | None = None) -> IndexSummary:
    """The engine's view of index ``name`` plus the number of files its last build recorded."""
    from .ingest.sources import read_sources

    folder = index_dir(name, base)
    info = index_info(folder / ENGINE_DIR)
    record = read_sources(folder)
    sources_size = (folder / SOURCES_FILE).stat().st_size if record is not None else 0
    return IndexSummary(
        name=name,
        path=folder,
        passages=int(info.passages),
        dimensions=int(info.dimensions),
        size_bytes=disk_usage(folder / ENGINE_DIR).total + sources_size,
        embedding_model=str(info.embedding_model),
        is_recompute=bool(info.is_recompute),
        files=len(record.files) if record is not None else 0,
        generation=int(info.generation),
        has_codes=bool(info.has_codes),
    )


def list_indexes(base: str | Path | None = None) -> list[IndexSummary]:
    root = base_dir(base) / INDEXES_DIR
    if not root.is_dir():
        return []
    out = []
    for folder in sorted(root.iterdir()):
        if folder.is_dir() and _NAME.match(folder.name) and is_index(folder / ENGINE_DIR):
            try:
                out.append(summarize(folder.name, base))
            except (IndexNotFoundError, IndexFormatError, OSError, ValueError):
                continue
    return out
