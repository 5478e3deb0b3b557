"""Everything ``leann serve`` takes from the rest of the package, in one place.

LEAD: two seams to swap at merge, each one line or one function:
- ``SearcherPool``: replace with the one pool of ``leann_cli/service.py`` (issue 11) once it exists;
  serve only calls ``pool.get(name) -> LeannSearcher``, ``pool.forget(name)`` and ``pool.close()``.
- ``disk_sizes``: replace its body with ``leann_engine.disk_usage(path).to_dict()`` once the engine
  offers it (issue 11's public API); the keys the page reads are listed in its docstring.
The other names re-exported here are today's ``leann_cli`` helpers; if the CLI restructure moves
them, only these imports change.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..chat import DEFAULT_OLLAMA_HOST, DEFAULT_OLLAMA_MODEL, LLMUnavailableError, build_messages
from ..config import (
    DEFAULT_MODE,
    ENGINE_DIR,
    SEARCH_MODES,
    CliError,
    base_dir,
    check_index_name,
    existing_engine_path,
    index_dir,
    index_identity,
    list_indexes,
)
from ..query import MAX_TOP_K, check_options, parse_filters, result_dicts, run_search

__all__ = [
    "DEFAULT_MODE",
    "DEFAULT_OLLAMA_HOST",
    "DEFAULT_OLLAMA_MODEL",
    "ENGINE_DIR",
    "MAX_TOP_K",
    "SEARCH_MODES",
    "CliError",
    "LLMUnavailableError",
    "SearcherPool",
    "base_dir",
    "build_messages",
    "check_index_name",
    "check_options",
    "disk_sizes",
    "existing_engine_path",
    "index_dir",
    "list_indexes",
    "parse_filters",
    "result_dicts",
    "run_search",
]

Opener = Callable[[Path], Any]


def _open_searcher(path: Path) -> Any:
    from leann_engine import LeannSearcher

    return LeannSearcher(path)


class SearcherPool:
    """Open searchers by index name, kept warm; reopened when the index was removed and rebuilt.

    LEAD: stand-in for ``leann_cli/service.py``'s pool (issue 11); keep ``get``/``forget``/``close``.
    """

    def __init__(self, base: str | Path | None = None, opener: Opener | None = None) -> None:
        self.base = base_dir(base)
        self._open = opener or _open_searcher
        self._items: dict[str, tuple[Any, Any]] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> Any:
        """The searcher of index ``name``; :class:`CliError` when there is no such index."""
        path = existing_engine_path(name, self.base)
        ident = index_identity(path)
        with self._lock:
            cached = self._items.get(name)
            if cached is not None and cached[0] != ident:
                cached[1].close()
                cached = None
            if cached is None:
                cached = self._items[name] = (ident, self._open(path))
            return cached[1]

    def forget(self, name: str) -> None:
        with self._lock:
            cached = self._items.pop(name, None)
        if cached is not None:
            cached[1].close()

    def close(self) -> None:
        with self._lock:
            items, self._items = list(self._items.values()), {}
        for _ident, searcher in items:
            searcher.close()


# Files that hold the passages themselves (text, metadata, offsets, ids), not the index over them.
_PASSAGE_SUFFIXES = (".jsonl", ".ids.json", ".lens")


def disk_sizes(engine: Path) -> dict[str, Any]:
    """Bytes on disk of one engine index: ``total``, ``passages``, ``index_bytes``, ``flat_bytes``, ``ratio``.

    LEAD: replace with ``leann_engine.disk_usage(engine).to_dict()`` once the engine has it
    (same keys); until then this reads the manifest and the file sizes itself.
    """
    manifest = json.loads((engine / "manifest.json").read_text(encoding="utf-8"))
    total = passages = 0
    for entry in engine.iterdir():
        if not entry.is_file():
            continue
        size = entry.stat().st_size
        total += size
        if entry.name.endswith(_PASSAGE_SUFFIXES):
            passages += size
    rows = int(manifest.get("counts", {}).get("passages", 0))
    flat = rows * int(manifest.get("dimensions", 0)) * 4
    index_bytes = total - passages
    return {
        "total": total,
        "passages": passages,
        "index_bytes": index_bytes,
        "flat_bytes": flat,
        "ratio": (index_bytes / flat) if flat else None,
    }
