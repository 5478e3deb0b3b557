"""leann_cli: the ``leann`` command line, document ingestion, answers through Ollama, MCP server.

Layout: ``main`` (parser and dispatch) and ``commands/`` (one module per subcommand);
``settings`` (build options and how a rebuild resolves them); ``service`` (search requests, the
searcher pool, the MCP tools' logic); ``ingest/`` (discover, readers, chunk, sources, pipeline);
``chat`` (LeannChat); ``daemon`` and ``mcp_server`` (transports). The engine (``leann_engine``)
knows nothing of this package. Heavy imports (the embedding model, the readers' libraries,
``ollama``, ``mcp``) happen on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from leann_engine import __version__

if TYPE_CHECKING:
    from .chat import LeannChat
    from .ingest.pipeline import BuildReport, build_from_docs
    from .settings import BuildOptions

__all__ = ["BuildOptions", "BuildReport", "LeannChat", "__version__", "build_from_docs"]

_LAZY = {
    "LeannChat": "chat",
    "BuildOptions": "settings",
    "BuildReport": "ingest.pipeline",
    "build_from_docs": "ingest.pipeline",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
