"""leann_cli: the ``leann`` command line, document ingestion, answers through Ollama, MCP server.

The engine (``leann_engine``) knows nothing of this package. Heavy imports (the embedding model,
the readers' libraries, ``ollama``, ``mcp``) happen on first use, so ``leann --help`` and a search
through the warm daemon start in a fraction of a second.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from leann_engine import __version__

if TYPE_CHECKING:
    from .chat import LeannChat
    from .ingest import BuildOptions, BuildReport, build_from_docs

__all__ = ["BuildOptions", "BuildReport", "LeannChat", "__version__", "build_from_docs"]

_LAZY = {
    "LeannChat": "chat",
    "BuildOptions": "ingest",
    "BuildReport": "ingest",
    "build_from_docs": "ingest",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
