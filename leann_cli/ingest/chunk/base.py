"""What a chunk is, and the chunk sizes a build uses unless told otherwise."""

from __future__ import annotations

from dataclasses import dataclass

# Prose (documents): characters per chunk and characters shared by neighbouring chunks.
DEFAULT_CHUNK_SIZE = 256
DEFAULT_CHUNK_OVERLAP = 25
# Code: the largest chunk in characters, about the 256 tokens all-MiniLM-L6-v2 reads of code.
DEFAULT_CODE_CHUNK_SIZE = 768
# Smallest chunk size a build accepts: below it a chunk holds a few words and wastes a graph node.
MIN_CHUNK_SIZE = 16


@dataclass
class Chunk:
    """A chunk's text and the 1-based lines it spans in its section."""

    text: str
    start_line: int
    end_line: int


def check_chunk_size(name: str, value: object, low: int = MIN_CHUNK_SIZE) -> int:
    """``value`` as a chunk size, or a ValueError naming ``name`` and the smallest allowed."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return value
