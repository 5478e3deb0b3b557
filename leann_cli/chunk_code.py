"""Chunk source code along its syntax tree (tree-sitter), and text of any kind with line numbers.

A code chunk is a whole function, class or statement whenever it fits in ``max_chars``; small
neighbours (imports, short functions) are packed together up to that size. A node too large is
opened and its children are chunked the same way, so a big class becomes chunks of whole methods
(the first one carrying the class header). Only a single leaf larger than the limit (a huge string
literal) is cut by lines.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from leann_engine.chunking import chunk_text

from .readers import EXTRA_HINT, MissingExtraError

DEFAULT_CODE_CHUNK_SIZE = 768  # characters: about the 256 tokens all-MiniLM-L6-v2 reads of code


@dataclass
class Chunk:
    """A chunk's text and the 1-based lines it spans in its section."""

    text: str
    start_line: int
    end_line: int


_PARSERS: dict[str, Any] = {}
_PARSER_LOCK = threading.Lock()


def _language(name: str) -> Any:
    try:
        from tree_sitter import Language

        if name == "python":
            import tree_sitter_python as mod

            return Language(mod.language())
        if name == "java":
            import tree_sitter_java as mod

            return Language(mod.language())
        if name == "csharp":
            import tree_sitter_c_sharp as mod

            return Language(mod.language())
        if name in ("typescript", "tsx"):
            import tree_sitter_typescript as mod

            return Language(mod.language_tsx() if name == "tsx" else mod.language_typescript())
        if name == "javascript":
            import tree_sitter_javascript as mod

            return Language(mod.language())
    except ImportError as e:
        raise MissingExtraError(
            f"AST chunking of {name} needs tree-sitter and its grammar: {EXTRA_HINT}"
        ) from e
    raise ValueError(f"no tree-sitter grammar for language {name!r}")


def _parser(language: str) -> Any:
    with _PARSER_LOCK:
        parser = _PARSERS.get(language)
        if parser is None:
            from tree_sitter import Parser

            parser = _PARSERS[language] = Parser(_language(language))
        return parser


def _line_spans(data: bytes, start: int, end: int, max_bytes: int) -> list[tuple[int, int]]:
    """Cut ``data[start:end]`` at line ends into pieces of at most ``max_bytes``."""
    spans = []
    pos = start
    while pos < end:
        stop = min(pos + max_bytes, end)
        if stop < end:
            nl = data.rfind(b"\n", pos, stop)
            if nl > pos:
                stop = nl + 1
        spans.append((pos, stop))
        pos = stop
    return spans


def _units(node: Any, max_bytes: int, data: bytes) -> list[tuple[int, int]]:
    """Byte spans, in order, of whole nodes no larger than ``max_bytes`` covering ``node``."""
    out: list[tuple[int, int]] = []
    for child in node.children:
        size = child.end_byte - child.start_byte
        if size <= max_bytes:
            if size:
                out.append((child.start_byte, child.end_byte))
        elif child.children:
            out.extend(_units(child, max_bytes, data))
        else:
            out.extend(_line_spans(data, child.start_byte, child.end_byte, max_bytes))
    return out


def chunk_code(source: str, language: str, max_chars: int = DEFAULT_CODE_CHUNK_SIZE) -> list[Chunk]:
    """Chunk ``source`` (``python``, ``java``, ``csharp``, ``typescript``, ``tsx``, ``javascript``)."""
    if not isinstance(max_chars, int) or max_chars < 16:
        raise ValueError(f"code chunk size must be an integer >= 16, got {max_chars!r}")
    data = source.encode("utf-8")
    tree = _parser(language).parse(data)
    units = _units(tree.root_node, max_chars, data)
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
        line_start = data.rfind(b"\n", 0, start) + 1
        if data[line_start:start].strip() == b"":
            start = line_start
        text = data[start:end].decode("utf-8", errors="replace")
        if not text.strip():
            continue
        first = data.count(b"\n", 0, start) + 1
        last = first + data.count(b"\n", start, end) - (1 if data[start:end].endswith(b"\n") else 0)
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


def chunk_prose(text: str, chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    """The engine's sentence-aware :func:`~leann_engine.chunking.chunk_text`, with line numbers."""
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
