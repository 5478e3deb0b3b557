"""Ingestion: find documents (discover), read them (readers), chunk them (chunk), record what was
read (sources) and build or update the index from the changes (pipeline)."""

from __future__ import annotations

from typing import Any

_LAZY = {
    "BuildOptions": "..settings",
    "BuildReport": ".pipeline",
    "build_from_docs": ".pipeline",
    "chunk_document": ".pipeline",
}


def __getattr__(name: str) -> Any:
    # Lazy, so importing one ingestion module does not import the whole pipeline.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
