"""Chunk source code along its syntax tree (tree-sitter), and code of any language by lines.

A code chunk is a whole function, class or statement whenever it fits in ``max_chars``; small
neighbours (imports, short functions) are packed together up to that size. A node too large is
opened and its children are chunked the same way, so a big class becomes chunks of whole methods
(the first one carrying the class header). Only a single leaf larger than the limit (a huge string
literal) is cut by lines. Sizes are characters, as the option's name says: tree-sitter reports
UTF-8 byte offsets, which are mapped back to character offsets before anything is measured.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from typing import Any

from ..._extras import _require
from .base import DEFAULT_CODE_CHUNK_SIZE, Chunk, check_chunk_size

# language -> (grammar module, function returning its language pointer)
GRAMMARS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "java": ("tree_sitter_java", "language"),
    "csharp": ("tree_sitter_c_sharp", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "javascript": ("tree_sitter_javascript", "language"),
}

_PARSERS: dict[str, Any] = {}
_PARSER_LOCK = threading.Lock()


def _parser(language: str) -> Any:
    if language not in GRAMMARS:
        raise ValueError(f"no tree-sitter grammar for language {language!r}; known: {', '.join(GRAMMARS)}")
    with _PARSER_LOCK:
        parser = _PARSERS.get(language)
        if parser is None:
            purpose = f"AST chunking of {language}"
            tree_sitter = _require("tree_sitter", "ingest", purpose)
            module, attr = GRAMMARS[language]
            grammar = getattr(_require(module, "ingest", purpose), attr)()
            parser = _PARSERS[language] = tree_sitter.Parser(tree_sitter.Language(grammar))
        return parser


class _Offsets:
    """Maps tree-sitter's UTF-8 byte offsets to offsets in the ``str``."""

    def __init__(self, source: str, data: bytes) -> None:
        self.ascii = len(source) == len(data)
        self.starts: list[int] = []
        if not self.ascii:
            pos = 0
            for ch in source:
                self.starts.append(pos)
                pos += len(ch.encode("utf-8"))
            self.starts.append(pos)

    def char(self, byte: int) -> int:
        # Node boundaries fall on character boundaries, so the bisection is exact.
        return byte if self.ascii else bisect_left(self.starts, byte)


def _line_spans(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Cut ``text[start:end]`` at line ends into pieces of at most ``max_chars``."""
    spans = []
    pos = start
    while pos < end:
        stop = min(pos + max_chars, end)
        if stop < end:
            nl = text.rfind("\n", pos, stop)
            if nl > pos:
                stop = nl + 1
        spans.append((pos, stop))
        pos = stop
    return spans


def _units(node: Any, max_chars: int, text: str, offsets: _Offsets) -> list[tuple[int, int]]:
    """Character spans, in order, of whole nodes no larger than ``max_chars`` covering ``node``."""
    out: list[tuple[int, int]] = []
    for child in node.children:
        start, end = offsets.char(child.start_byte), offsets.char(child.end_byte)
        if end - start <= max_chars:
            if end > start:
                out.append((start, end))
        elif child.children:
            out.extend(_units(child, max_chars, text, offsets))
        else:
            out.extend(_line_spans(text, start, end, max_chars))
    return out


def chunk_code(source: str, language: str, max_chars: int = DEFAULT_CODE_CHUNK_SIZE) -> list[Chunk]:
    """Chunk ``source`` (``python``, ``java``, ``csharp``, ``typescript``, ``tsx``, ``javascript``)
    into chunks of at most ``max_chars`` characters."""
    check_chunk_size("code chunk size", max_chars)
    data = source.encode("utf-8")
    tree = _parser(language).parse(data)
    units = _units(tree.root_node, max_chars, source, _Offsets(source, data))
    # Pack neighbouring units; a chunk spans from its first unit's start to its last one's end,
    # so comments and blank lines between them stay in place.
    groups: list[tuple[int, int]] = []
    for start, end in units:
        if groups and end - groups[-1][0] <= max_chars:
            groups[-1] = (groups[-1][0], end)
        else:
            groups.append((start, end))
    chunks = []
    for start, end in groups:
        # Start at the beginning of the line, so indentation and a dangling header stay with it.
        line_start = source.rfind("\n", 0, start) + 1
        if source[line_start:start].strip() == "":
            start = line_start
        text = source[start:end]
        if not text.strip():
            continue
        first = source.count("\n", 0, start) + 1
        last = first + source.count("\n", start, end) - (1 if text.endswith("\n") else 0)
        chunks.append(Chunk(text.rstrip(), first, last))
    return chunks


def chunk_lines(source: str, max_chars: int = DEFAULT_CODE_CHUNK_SIZE) -> list[Chunk]:
    """Chunk code without a grammar: whole lines packed up to ``max_chars``, cut at blank lines
    when one falls in the second half of a chunk."""
    lines = source.splitlines(keepends=True)
    chunks: list[Chunk] = []
    i = 0
    while i < len(lines):
        size, j, cut = 0, i, -1
        while j < len(lines) and (size + len(lines[j]) <= max_chars or j == i):
            size += len(lines[j])
            j += 1
            if not lines[j - 1].strip() and size > max_chars // 2:
                cut = j
        if j < len(lines) and cut > i:
            j = cut
        text = "".join(lines[i:j])
        if text.strip():
            chunks.append(Chunk(text.rstrip(), i + 1, j))
        i = j
    return chunks
