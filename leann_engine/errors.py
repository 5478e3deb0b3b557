"""Exceptions raised by the engine. Each message says what was wrong and what to do."""

from __future__ import annotations


class LeannError(Exception):
    """Base class of every error the engine raises on purpose."""


class IndexNotFoundError(LeannError, FileNotFoundError):
    """The index path does not exist or holds no index."""


class IndexFormatError(LeannError, ValueError):
    """A file is not a leann_engine index, is truncated or corrupt, or has an unknown version."""


class IndexLockedError(LeannError, RuntimeError):
    """Another writer holds the index's write lock."""
