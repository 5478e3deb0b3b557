"""``--after/--before/--from`` as engine ``metadata_filters`` over the importers' fields.

Every imported passage carries ``date`` (its first time) and ``date_last`` (its last; equal for a
mail or a visit) as ISO 8601 UTC strings, and ``from`` (the sender, or the people of a chat
chunk), so plain string comparisons select a time range.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from .base import UTC, iso

_PARTIAL = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")


def parse_date(value: str, name: str = "date") -> str:
    """``2024``, ``2024-05``, ``2024-05-01`` or a full ISO 8601 time → ``2024-05-01T00:00:00Z``.

    A time without an offset is taken as UTC.
    """
    text = str(value).strip()
    m = _PARTIAL.match(text)
    try:
        if m:
            dt = datetime(int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1), tzinfo=UTC)
        else:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        dt = None
    if dt is None:
        raise ValueError(
            f"{name} {value!r} is not a date: expected YYYY, YYYY-MM, YYYY-MM-DD or an ISO 8601 time"
        )
    return iso(dt)


def search_filters(
    after: str | None = None, before: str | None = None, sender: str | None = None
) -> dict[str, Any] | None:
    """The ``metadata_filters`` for a search limited to passages that overlap ``[after, before)``
    and (``sender``) whose ``from`` contains the text, case-insensitively; ``None`` if no limit."""
    parts: list[dict[str, Any]] = []
    lo = parse_date(after, "--after") if after else None
    hi = parse_date(before, "--before") if before else None
    if lo and hi and lo >= hi:
        raise ValueError(f"--after {after!r} is not before --before {before!r}")
    if lo:
        parts.append({"date_last": {">=": lo}})
    if hi:
        parts.append({"date": {"<": hi}})
    if sender is not None:
        if not str(sender).strip():
            raise ValueError("--from needs some text to look for in the sender")
        parts.append({"from": {"text_match_insensitive": str(sender).strip()}})
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"$and": parts}


def combine(filters: dict[str, Any] | None, extra: dict[str, Any] | None) -> dict[str, Any] | None:
    """Both filters must hold (for ``--filter`` given next to ``--after``/``--before``/``--from``)."""
    if not filters or not extra:
        return filters or extra
    return {"$and": [dict(filters), dict(extra)]}
