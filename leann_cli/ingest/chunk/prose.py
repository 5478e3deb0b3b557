"""Split prose into overlapping chunks by character count, cutting at natural boundaries."""

from __future__ import annotations

import re

from .base import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE, Chunk

# Preferred cut points, strongest first: paragraph break, line break, sentence end (Latin and
# CJK punctuation, which is not followed by a space), then any whitespace.
_BOUNDARIES = (
    re.compile(r"\n\s*\n"),
    re.compile(r"\n"),
    re.compile(r"[.!?;:](?=\s)|[。！？；]"),
    re.compile(r"\s"),
)


def _cut_point(text: str, start: int, limit: int) -> int:
    """Return the best end of a chunk that starts at ``start`` and may not pass ``limit``."""
    window = text[start:limit]
    # Do not cut in the first half of the window: a tiny chunk wastes a graph node.
    floor = len(window) // 2
    for pattern in _BOUNDARIES:
        best = -1
        for match in pattern.finditer(window):
            if match.end() > floor:
                best = match.end()
        if best > 0:
            return start + best
    return limit


def chunk_text(
    text: str, chunk_size: int = DEFAULT_CHUNK_SIZE, chunk_overlap: int = DEFAULT_CHUNK_OVERLAP
) -> list[str]:
    """Split ``text`` into chunks of at most ``chunk_size`` characters.

    Consecutive chunks share about ``chunk_overlap`` characters so that a sentence cut at a
    boundary still appears whole in one of them. Chunks are stripped; empty ones are dropped.
    """
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    if not isinstance(chunk_overlap, int) or not 0 <= chunk_overlap < chunk_size:
        raise ValueError(
            f"chunk_overlap must be an integer in [0, chunk_size={chunk_size}), got {chunk_overlap!r}"
        )
    chunks: list[str] = []
    start, n = 0, len(text)
    while start < n:
        while start < n and text[start].isspace():
            start += 1
        if start >= n:
            break
        limit = min(start + chunk_size, n)
        end = limit if limit == n else _cut_point(text, start, limit)
        piece = text[start:end].strip()
        if piece:
            chunks.append(piece)
        if end >= n:
            break
        nxt = end - chunk_overlap
        if chunk_overlap:
            # Start the overlap at a word boundary rather than mid-word.
            space = text.find(" ", nxt, end)
            if space != -1:
                nxt = space + 1
        start = max(nxt, start + 1)
    return chunks


def chunk_prose(
    text: str, chunk_size: int = DEFAULT_CHUNK_SIZE, chunk_overlap: int = DEFAULT_CHUNK_OVERLAP
) -> list[Chunk]:
    """:func:`chunk_text`'s chunks with the lines of ``text`` each one spans."""
    chunks = []
    pos = 0
    for piece in chunk_text(text, chunk_size, chunk_overlap):
        # Each piece is a stripped slice of ``text`` starting after the previous one's start.
        at = text.find(piece, pos)
        if at < 0:
            at = text.find(piece)
        first = text.count("\n", 0, at) + 1
        chunks.append(Chunk(piece, first, first + piece.count("\n")))
        pos = at + 1
    return chunks
