"""How one search result is shown: its source line, link, date and a snippet with the query's words marked."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ..service import source_label as _source_label

SNIPPET_CHARS = 480
# Words too common to be worth marking in a snippet.
_COMMON = frozenset(
    "a an and are as at be by do does for from how i in is it of on or the to was what when where "
    "which who why with".split()
)
_WORD = re.compile(r"\w+", re.UNICODE)
DATE_KEYS = ("date", "timestamp", "sent_at", "created_at", "modified", "mtime")


def query_terms(query: str) -> list[str]:
    """The query's words worth marking, longest first (so a longer word wins over its prefix)."""
    words = {w for w in (m.lower() for m in _WORD.findall(query)) if len(w) > 1 and w not in _COMMON}
    return sorted(words, key=lambda w: (-len(w), w))


def marked_parts(text: str, terms: list[str]) -> list[dict[str, Any]]:
    """``text`` cut into ``{"t": str, "m": bool}`` parts; ``m`` marks a word starting with a query term.

    Parts, not character offsets: the page builds text nodes from them, so no text is ever parsed as
    HTML, and Python's and JavaScript's string indexing (code points vs UTF-16) never have to agree.
    """
    if not terms:
        return [{"t": text, "m": False}] if text else []
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(t) for t in terms) + r")\w*", re.I)
    parts: list[dict[str, Any]] = []
    pos = 0
    for m in pattern.finditer(text):
        if m.start() > pos:
            parts.append({"t": text[pos : m.start()], "m": False})
        parts.append({"t": m.group(0), "m": True})
        pos = m.end()
    if pos < len(text):
        parts.append({"t": text[pos:], "m": False})
    return parts


def snippet(text: str, terms: list[str], width: int = SNIPPET_CHARS) -> str:
    """At most ``width`` characters of ``text`` (whitespace folded), starting a little before the first match."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    start = 0
    if terms:
        m = re.search(r"(?<!\w)(?:" + "|".join(re.escape(t) for t in terms) + ")", flat, re.I)
        if m and m.start() > width // 3:
            start = flat.rfind(" ", 0, m.start() - width // 6) + 1
    out = flat[start : start + width]
    return ("…" if start else "") + out + ("…" if start + width < len(flat) else "")


def source_label(meta: Mapping[str, Any]) -> str:
    """Where a passage comes from (the CLI's one formatter); the page shows the date apart."""
    return _source_label(meta, date=False)


def safe_link(meta: Mapping[str, Any]) -> str | None:
    """An http(s) URL from the metadata, or None: other schemes (javascript:, file:) never become links."""
    url = meta.get("url") or meta.get("link")
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def result_date(meta: Mapping[str, Any]) -> str | None:
    for key in DATE_KEYS:
        if meta.get(key) not in (None, ""):
            return str(meta[key])
    return None


def shown(rows: list[dict[str, Any]], query: str) -> list[dict[str, Any]]:
    """The engine's result dicts with what the page shows added (rank, source, link, date, parts)."""
    terms = query_terms(query)
    out = []
    for rank, row in enumerate(rows, start=1):
        meta = row.get("metadata") or {}
        out.append(
            row
            | {
                "rank": rank,
                "source": source_label(meta),
                "link": safe_link(meta),
                "date": result_date(meta),
                "parts": marked_parts(snippet(row.get("text", ""), terms), terms),
            }
        )
    return out
