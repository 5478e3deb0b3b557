"""Chunkers: sentence-aware prose chunks and syntax-tree code chunks, each with line numbers."""

from .base import (
    DEFAULT_CHUNK_OVERLAP,
    DEFAULT_CHUNK_SIZE,
    DEFAULT_CODE_CHUNK_SIZE,
    MIN_CHUNK_SIZE,
    Chunk,
)
from .code import chunk_code, chunk_lines
from .prose import chunk_prose, chunk_text

__all__ = [
    "DEFAULT_CHUNK_OVERLAP",
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_CODE_CHUNK_SIZE",
    "MIN_CHUNK_SIZE",
    "Chunk",
    "chunk_code",
    "chunk_lines",
    "chunk_prose",
    "chunk_text",
]
