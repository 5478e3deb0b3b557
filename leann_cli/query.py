"""One search call shared by the CLI, the daemon and the MCP server: validated options in, results out."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from .config import DEFAULT_COMPLEXITY, DEFAULT_MODE, DEFAULT_TOP_K, SEARCH_MODES

MAX_TOP_K = 100
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


def check_options(
    *,
    top_k: Any = DEFAULT_TOP_K,
    complexity: Any = DEFAULT_COMPLEXITY,
    mode: Any = DEFAULT_MODE,
    filters: Any = None,
) -> None:
    """Validate search options with messages that name the option (for CLI, daemon and MCP)."""
    for name, value, high in (("top_k", top_k, MAX_TOP_K), ("complexity", complexity, 4096)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
            raise ValueError(f"{name} must be an integer from 1 to {high}, got {value!r}")
    if mode not in SEARCH_MODES:
        raise ValueError(f"mode must be one of {', '.join(SEARCH_MODES)}, got {mode!r}")
    if filters is not None and not isinstance(filters, Mapping):
        raise ValueError(
            f'filters must be an object like {{"source": "a.md"}} or {{"start_line": {{">=": 10}}}}, got {filters!r}'
        )
    if filters:
        from leann_engine.filters import compile_filter

        compile_filter(filters)


def run_search(
    searcher: Any,
    query: str,
    *,
    top_k: int = DEFAULT_TOP_K,
    complexity: int = DEFAULT_COMPLEXITY,
    mode: str = DEFAULT_MODE,
    rerank: bool | str | None = None,
    filters: Mapping[str, Any] | None = None,
    grep: bool = False,
) -> Any:
    """Search with the engine; returns its ``SearchResults``."""
    if not isinstance(query, str) or not query.strip():
        raise ValueError("query must be a non-empty string")
    check_options(top_k=top_k, complexity=complexity, mode=mode, filters=filters)
    kwargs: dict[str, Any] = {"mode": mode}
    if rerank:
        kwargs["rerank"] = rerank
    if grep:
        kwargs["use_grep"] = True
    return searcher.search(query, top_k, complexity, dict(filters) if filters else None, **kwargs)


def result_dicts(results: Any) -> list[dict[str, Any]]:
    return [{"id": r.id, "score": float(r.score), "text": r.text, "metadata": r.metadata} for r in results]
