"""Chats into passages: per conversation, per time window, ~192 characters with 25 of overlap.

A window closes when the next message is more than ``gap`` after the previous one, so new
messages only ever change the last window of a conversation; chunk ids hash the window's first
message id and the chunk text, so older windows keep their ids and are not embedded again.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from .base import Item, Message

CHUNK_CHARS = 192
CHUNK_OVERLAP = 25
WINDOW_GAP = timedelta(minutes=30)


def split_spans(text: str, size: int = CHUNK_CHARS, overlap: int = CHUNK_OVERLAP) -> list[tuple[int, int]]:
    """``(start, end)`` of pieces of at most ``size`` characters, each starting ``overlap``
    characters before the previous one ended; cuts fall on whitespace in the second half."""
    if size <= overlap or overlap < 0:
        raise ValueError(f"size must exceed overlap >= 0, got size={size}, overlap={overlap}")
    out: list[tuple[int, int]] = []
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            cut = max(text.rfind(" ", start + size // 2, end), text.rfind("\n", start + size // 2, end))
            if cut > start:
                end = cut
        if text[start:end].strip():
            out.append((start, end))
        if end >= len(text):
            break
        nxt = max(end - overlap, start + 1)
        # Begin the overlap at a word boundary rather than mid-word.
        space = text.find(" ", nxt, end)
        start = space + 1 if 0 <= space < end - 1 and not text[nxt - 1].isspace() else nxt
    return out


def split_text(text: str, size: int = CHUNK_CHARS, overlap: int = CHUNK_OVERLAP) -> list[str]:
    """The pieces of :func:`split_spans`, stripped."""
    text = text.strip()
    return [text[a:b].strip() for a, b in split_spans(text, size, overlap)]


def _parse(t: str) -> datetime | None:
    try:
        return datetime.fromisoformat(t.replace("Z", "+00:00")) if t else None
    except ValueError:
        return None


def windows(messages: list[Message], gap: timedelta = WINDOW_GAP) -> Iterator[list[Message]]:
    """Consecutive runs of one conversation's messages (sorted by time) with no pause over ``gap``."""
    run: list[Message] = []
    last: datetime | None = None
    for m in messages:
        now = _parse(m.time)
        if run and now is not None and last is not None and now - last > gap:
            yield run
            run = []
        run.append(m)
        last = now or last
    if run:
        yield run


def _line(m: Message) -> str:
    stamp = m.time[:16].replace("T", " ") if m.time else ""
    head = f"({stamp}) " if stamp else ""
    return f"{head}{m.sender or 'unknown'}: {m.text.strip()}"


def _chunk_meta(kind: str, run: list[Message]) -> dict[str, Any]:
    times = sorted(t for t in (m.time for m in run) if t)
    people = sorted({m.sender for m in run if m.sender})
    meta: dict[str, Any] = {k: v for k, v in run[0].context.items() if v not in (None, "")}
    meta.update(
        source=kind,
        conversation=run[0].conversation,
        date=times[0] if times else "",
        date_last=times[-1] if times else "",
        people=people,
        **{"from": ", ".join(people)},
        messages=len(run),
    )
    return meta


def chunk_messages(
    kind: str,
    messages: Iterable[Message],
    size: int = CHUNK_CHARS,
    overlap: int = CHUNK_OVERLAP,
    gap: timedelta = WINDOW_GAP,
) -> Iterator[Item]:
    """Passages of chat ``messages``: each carries its first/last time and the people in it."""
    by_conv: dict[str, list[Message]] = defaultdict(list)
    for m in messages:
        if m.text.strip():
            by_conv[m.conversation].append(m)
    for conv, msgs in by_conv.items():
        # A stable sort: messages without time keep their export order at the front.
        msgs.sort(key=lambda m: m.time)
        # A thread (Slack thread_ts) stays one window however long its replies took.
        runs = [msgs] if msgs[0].context.get("thread_ts") else windows(msgs, gap)
        for run in runs:
            lines = [_line(m) for m in run]
            starts, pos = [], 0
            for line in lines:
                starts.append(pos)
                pos += len(line) + 1
            text = "\n".join(lines)
            title = run[0].context.get("title")
            prefix = f"{title}\n" if isinstance(title, str) and title else ""
            for n, (a, b) in enumerate(split_spans(text, size, overlap)):
                inside = [m for m, s0, line in zip(run, starts, lines) if s0 < b and s0 + len(line) > a]
                piece = text[a:b].strip()
                digest = hashlib.sha1(f"{conv}\0{run[0].id}\0{n}\0{piece}".encode()).hexdigest()[:16]
                yield Item(f"{kind}:{conv}:{digest}", prefix + piece, _chunk_meta(kind, inside or run))
