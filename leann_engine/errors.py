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


class ProviderError(LeannError, RuntimeError):
    """An embedding server refused, failed or could not be reached; the message names the URL,
    the HTTP status and the server's own message, and says what to set when a key or server is
    missing."""
