"""Everything ``leann serve`` takes from the rest of the package, in one place.

Searchers come from ``leann_cli.service.SearcherPool`` (the one pool the daemon and the MCP server
use), addressed here by index name; sizes from the engine's ``disk_usage``; search options are
validated by ``service.SearchRequest``; builds resolve their stored options with
``settings.BuildOptions.resolve``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from leann_engine import SEARCH_MODES, FunctionEmbedder, disk_usage

from ..chat import DEFAULT_OLLAMA_HOST, DEFAULT_OLLAMA_MODEL, LLMUnavailableError, build_messages
from ..indexes import (
    ENGINE_DIR,
    CliError,
    base_dir,
    check_index_name,
    existing_engine_path,
    index_dir,
    is_index,
    list_indexes,
)
from ..service import DEFAULT_MODE, MAX_TOP_K, SearchRequest, parse_filters
from ..service import SearcherPool as _Pool
from ..service import run_search as _run

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
    "is_index",
    "list_indexes",
    "parse_filters",
    "result_dicts",
    "run_search",
]

Opener = Callable[[Path], Any]


def check_options(*, top_k: Any, mode: Any, filters: Mapping[str, Any] | None) -> None:
    """ValueError naming the bad option (the service's one validation)."""
    SearchRequest("-", top_k=top_k, mode=mode, filters=filters)


def run_search(searcher: Any, query: str, *, top_k: int, mode: str, filters: Mapping[str, Any] | None) -> Any:
    return _run(searcher, SearchRequest(query, top_k=top_k, mode=mode, filters=filters))


def result_dicts(results: Any) -> list[dict[str, Any]]:
    return [{"id": r.id, "score": float(r.score), "text": r.text, "metadata": r.metadata} for r in results]


class SearcherPool:
    """The service's searcher pool, addressed by index name within one project folder."""

    def __init__(self, base: str | Path | None = None, opener: Opener | None = None) -> None:
        self.base = base_dir(base)
        self._pool = _Pool(opener)
        self._lock = threading.Lock()

    def get(self, name: str) -> Any:
        """The searcher of index ``name``; :class:`CliError` when there is no such index."""
        path = existing_engine_path(name, self.base)
        try:
            return self._pool.get(path)
        except FileNotFoundError as e:  # removed between the check and the open
            raise CliError(str(e)) from e

    def forget(self, name: str) -> None:
        """Close the searcher of ``name`` (before its folder is removed)."""
        self._pool.forget(index_dir(name, self.base) / ENGINE_DIR)

    def warm_embedder(self, model: str, lock: threading.Lock) -> Any:
        """The warm model of an open index of ``model`` for a build, or None. Its calls take
        ``lock`` (the searches' lock), as one model is not shared between threads at once."""
        emb = self._pool.embedder_for(model)
        if emb is None:
            return None

        def embed(texts: list[str]) -> Any:
            with lock:
                return emb.embed(texts)

        return FunctionEmbedder(embed, int(emb.dimension), str(emb.name))

    def close(self) -> None:
        self._pool.close()


def disk_sizes(engine: Path) -> dict[str, Any]:
    """Bytes on disk of one engine index: ``total``, ``passages``, ``index_bytes``, ``flat_bytes``, ``ratio``."""
    return disk_usage(engine).to_dict()
