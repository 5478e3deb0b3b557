"""Searching indexes for the CLI, the daemon and the MCP server: one request type validated in one
place, one pool of open searchers, one search call, one way to name a result's source.

The daemon and the MCP server are transports over this module: the daemon answers
``leann search`` over a Unix socket with :class:`SearcherPool` and :func:`run_search`; the MCP
server exposes :class:`IndexService`'s methods as tools.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from leann_engine import SEARCH_MODES, SearchParams, SearchResult, SearchResults, SearchStats, check_filters

from .indexes import (
    ENGINE_DIR,
    base_dir,
    check_index_name,
    existing_engine_path,
    index_dir,
    index_identity,
    is_index,
    list_indexes,
    summarize,
)

_ENGINE = SearchParams()
# The retrieval mode of `leann search`, `leann ask`, LeannChat and the MCP server when none is
# given: hybrid, set from the retrieval quality figures (benchmarks/), unlike the engine's dense.
DEFAULT_MODE = "hybrid"
DEFAULT_TOP_K = _ENGINE.top_k
DEFAULT_COMPLEXITY = _ENGINE.complexity
MAX_TOP_K = 100
MAX_COMPLEXITY = 4096
_FILTER = re.compile(r"^\s*([^=!<>~\s]+)\s*(==|!=|>=|<=|=|>|<|~)\s*(.*?)\s*$", re.S)
_OPS = {"=": "==", "==": "==", "!=": "!=", ">=": ">=", "<=": "<=", ">": ">", "<": "<", "~": "contains"}


def parse_value(text: str) -> Any:
    """``10`` -> 10, ``true`` -> True, ``"a b"`` -> 'a b', anything else stays a string."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, (int, float, bool, str)) or value is None else text


def parse_filters(items: list[str] | None) -> dict[str, Any] | None:
    """``["source=a.md", "start_line>=10"]`` -> engine metadata filters (all must hold)."""
    if not items:
        return None
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        m = _FILTER.match(item)
        if not m:
            raise ValueError(
                f"--filter {item!r} is not KEY=VALUE (also KEY!=V, KEY>=V, KEY<=V, KEY>V, KEY<V, KEY~TEXT)"
            )
        key, op, raw = m.groups()
        out.setdefault(key, {})[_OPS[op]] = raw if op == "~" else parse_value(raw)
    return out


def _int_in(name: str, value: Any, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise ValueError(f"{name} must be an integer from 1 to {high}, got {value!r}")


@dataclass(frozen=True)
class SearchRequest:
    """One search, validated when created: the only place the CLI, daemon and MCP check options."""

    query: str
    top_k: int = DEFAULT_TOP_K
    complexity: int = DEFAULT_COMPLEXITY
    mode: str = DEFAULT_MODE
    filters: Mapping[str, Any] | None = None
    rerank: str | None = None
    grep: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.query, str) or not self.query.strip():
            raise ValueError("query must be a non-empty string")
        _int_in("top_k", self.top_k, MAX_TOP_K)
        _int_in("complexity", self.complexity, MAX_COMPLEXITY)
        if self.mode not in SEARCH_MODES:
            raise ValueError(f"mode must be one of {', '.join(SEARCH_MODES)}, got {self.mode!r}")
        if self.filters is not None and not isinstance(self.filters, Mapping):
            raise ValueError(
                'filters must be an object like {"source": "a.md"} or {"start_line": {">=": 10}}, '
                f"got {self.filters!r}"
            )
        if self.filters:
            check_filters(dict(self.filters))
        if self.rerank is not None and not isinstance(self.rerank, str):
            raise ValueError(f"rerank must be 'exact' or a cross-encoder name, got {self.rerank!r}")

    def to_message(self) -> dict[str, Any]:
        """The request as JSON-able fields (the daemon's wire format)."""
        out = asdict(self)
        out["filters"] = dict(self.filters) if self.filters else None
        return out

    @classmethod
    def from_message(cls, msg: Mapping[str, Any]) -> SearchRequest:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in msg.items() if k in names and v is not None})


def run_search(searcher: Any, request: SearchRequest) -> SearchResults:
    """Search with the engine (or anything with ``LeannSearcher.search``); its ``SearchResults``."""
    extra: dict[str, Any] = {"mode": request.mode}
    if request.rerank:
        extra["rerank"] = request.rerank
    if request.grep:
        extra["use_grep"] = True
    filters = dict(request.filters) if request.filters else None
    return searcher.search(request.query, request.top_k, request.complexity, filters, **extra)


def results_to_message(results: SearchResults) -> dict[str, Any]:
    return {"results": results.to_list(), "stats": asdict(results.stats)}


def results_from_message(reply: Mapping[str, Any]) -> SearchResults:
    """The inverse of :func:`results_to_message`: the same ``SearchResults``, stats included."""
    known = {f.name for f in fields(SearchStats)}
    stats = SearchStats(**{k: v for k, v in (reply.get("stats") or {}).items() if k in known})
    return SearchResults([SearchResult(**r) for r in reply.get("results", [])], stats)


def _when(meta: Mapping[str, Any]) -> str:
    date = meta.get("date")
    return str(date)[:16].replace("T", " ") if isinstance(date, str) and date else ""


def source_label(meta: Mapping[str, Any], *, date: bool = True) -> str:
    """Where a passage comes from, as search output, chat citations and ``leann serve`` show it:
    ``docs/a.md:3-5``, ``slides.pptx:12 (slide 3)``, ``2024-01-05 10:00 · Budget — Ann <a@x.org> ·
    mail``, ``Chat with Bo · chatgpt``, ``Python docs · https://docs.python.org/``.

    The date leads when ``date`` is true and the passage has one (``leann serve`` shows it apart).
    """
    parts = [_when(meta)] if date else []
    subject, sender = meta.get("subject"), meta.get("sender") or meta.get("from")
    if subject or sender:
        parts.append(" — ".join(str(x) for x in (subject, sender) if x))
    title = meta.get("title") or meta.get("conversation")
    if title and not subject:
        parts.append(str(title))
    where = meta.get("url") or meta.get("source") or meta.get("path")
    if where:
        where = str(where)
        start = meta.get("start_line")
        if start is not None:
            end = meta.get("end_line", start)
            where += f":{start}" if end in (None, start) else f":{start}-{end}"
        for key in ("page", "slide"):
            if meta.get(key) is not None:
                where += f" ({key} {meta[key]})"
        parts.append(where)
    return " · ".join(p for p in parts if p) or "unknown source"


class SearcherPool:
    """Open searchers by engine folder; an index removed and built again at a path is reopened.

    Args:
        opener: makes a searcher for an engine folder (default ``LeannSearcher``).
    """

    def __init__(self, opener: Callable[[Path], Any] | None = None) -> None:
        self._opener = opener
        self._open: dict[Path, tuple[tuple[Any, ...], Any]] = {}
        self._lock = threading.Lock()

    def get(self, engine: str | Path) -> Any:
        path = Path(engine)
        with self._lock:
            if not is_index(path):
                self._drop(path)
                raise FileNotFoundError(f"no index at {path}")
            ident = index_identity(path)
            cached = self._open.get(path)
            if cached is not None and cached[0] != ident:
                self._drop(path)
                cached = None
            if cached is None:
                cached = self._open[path] = (ident, self._make(path))
            return cached[1]

    def search(self, engine: str | Path, request: SearchRequest) -> SearchResults:
        return run_search(self.get(engine), request)

    def forget(self, engine: str | Path) -> None:
        """Close and drop the searcher of ``engine`` (before its folder is removed); no-op if none."""
        with self._lock:
            self._drop(Path(engine))

    def embedder_for(self, model: str) -> Any:
        """The embedder of an open searcher over an index of ``model`` (kept loaded for its
        searches, so a build can reuse the warm model), or None when no open index uses it."""
        from leann_engine import index_info

        with self._lock:
            for path, (_, searcher) in self._open.items():
                try:
                    if index_info(path).embedding_model == model:
                        return searcher.embedder
                except (OSError, ValueError):  # removed or rebuilt meanwhile: not this one
                    continue
        return None

    def paths(self) -> list[str]:
        with self._lock:
            return sorted(str(p) for p in self._open)

    def close(self) -> None:
        with self._lock:
            for path in list(self._open):
                self._drop(path)

    def _make(self, path: Path) -> Any:
        if self._opener is not None:
            return self._opener(path)
        from leann_engine import LeannSearcher

        return LeannSearcher(path)

    def _drop(self, path: Path) -> None:
        old = self._open.pop(path, None)
        if old is not None:
            try:
                old[1].close()
            except Exception:  # a searcher that fails to close is dropped all the same
                pass


class IndexService:
    """The indexes of one project folder, for a long-lived server (the MCP tools' logic).

    Inputs are validated with messages that name the argument; outputs are plain dicts. Calls are
    serialised: one search or build at a time, as the engine's open searchers are not shared
    between threads.

    Args:
        base: the project folder (default: ``$LEANN_BASE_DIR`` or the current folder).
        embedding: an embedder object for builds and searches instead of each index's model (tests).
    """

    def __init__(self, base: str | Path | None = None, *, embedding: Any = None) -> None:
        self.base = base_dir(base)
        self.embedding = embedding
        opener = None
        if embedding is not None:
            from leann_engine import LeannSearcher

            def opener(path: Path) -> Any:
                return LeannSearcher(path, embedding)

        self.pool = SearcherPool(opener)
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the model of the first index (in a background thread at start-up)."""
        with self._lock:
            infos = list_indexes(self.base)
            if infos:
                self.pool.get(infos[0].path / ENGINE_DIR).embed_query("warm up")

    def search(
        self,
        index_name: str,
        query: str,
        *,
        after: str | None = None,
        before: str | None = None,
        sender: str | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """``options``: :class:`SearchRequest`'s fields (top_k, complexity, mode, filters, ...);
        ``after``/``before``/``sender`` add the date and sender conditions of ``leann search``."""
        from .sources.filters import combine, search_filters

        path = existing_engine_path(index_name, self.base)
        given = {k: v for k, v in options.items() if v is not None}
        extra = search_filters(after, before, sender)
        if extra:
            given["filters"] = combine(given.get("filters"), extra)
        request = SearchRequest(query, **given)
        with self._lock:
            results = self.pool.search(path, request)
        return {"index_name": index_name, "query": query, "mode": request.mode, "results": results.to_list()}

    def list(self) -> dict[str, Any]:
        return {"base_dir": str(self.base), "indexes": [i.to_dict() for i in list_indexes(self.base)]}

    def status(self, index_name: str) -> dict[str, Any]:
        from .ingest.sources import read_sources

        existing_engine_path(index_name, self.base)
        info = summarize(index_name, self.base).to_dict()
        record = read_sources(index_dir(index_name, self.base))
        info["docs"] = record.docs if record is not None else []
        return info

    def build(
        self, index_name: str, docs: list[str], force: bool = False, file_types: list[str] | None = None
    ) -> dict[str, Any]:
        """Build or update ``index_name``, keeping the options of its last build except those given."""
        from .ingest.pipeline import build_from_docs
        from .ingest.sources import read_sources
        from .settings import BuildOptions

        check_index_name(index_name)
        if not isinstance(docs, list) or not docs or not all(isinstance(d, str) and d for d in docs):
            raise ValueError("docs must be a non-empty list of file or folder paths")
        paths = [Path(d).expanduser() for d in docs]
        paths = [p if p.is_absolute() else self.base / p for p in paths]
        for p in paths:
            if not p.exists():
                raise ValueError(f"docs path {p} does not exist")
        folder = index_dir(index_name, self.base)
        record = None if force else read_sources(folder)
        options = BuildOptions.resolve(record.options if record else None, {"file_types": file_types})
        with self._lock:
            report = build_from_docs(
                folder, paths, options, force=force, base=self.base, embedding=self.embedding
            )
        return report.to_dict() | {"summary": report.summary()}
