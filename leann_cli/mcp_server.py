"""``leann-mcp``: an MCP server over stdio so a desktop assistant can search your indexes.

Tools: ``leann_search(index_name, query, top_k, mode, filters, complexity, after, before, from_)``, ``leann_list()``,
``leann_build(index_name, docs, ...)`` and ``leann_status(index_name)``. The server is a long-lived
process that keeps the model and the open indexes in memory, so every query after the first runs
at the engine's warm speed. It speaks only on stdin/stdout and opens no network port. Indexes are
those of ``--base-dir`` (default: ``$LEANN_BASE_DIR`` or the folder it is started in).
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path
from typing import Any

from . import __version__
from ._extras import MissingExtraError, _require, quiet_libraries
from .indexes import CliError
from .service import (
    DEFAULT_COMPLEXITY,
    DEFAULT_MODE,
    DEFAULT_TOP_K,
    MAX_COMPLEXITY,
    MAX_TOP_K,
    IndexService,
)

INSTRUCTIONS = (
    "Private semantic search over the user's local documents indexed with leann. "
    "Call leann_list to see the indexes, then leann_search with an index_name and a query. "
    "Results carry the source file and line numbers; cite them."
)


def _import_mcp() -> tuple[Any, Any]:
    try:
        server = _require("mcp.server.mcpserver", "mcp", "the MCP server")
        errors = _require("mcp.server.mcpserver.exceptions", "mcp", "the MCP server")
        return server.MCPServer, errors.ToolError
    except MissingExtraError:  # mcp 1.x
        server = _require("mcp.server.fastmcp", "mcp", "the MCP server")
        errors = _require("mcp.server.fastmcp.exceptions", "mcp", "the MCP server")
        return server.FastMCP, errors.ToolError


def create_server(
    base: str | Path | None = None, *, warm_up: bool = True, service: IndexService | None = None
) -> Any:
    """The MCP server object with leann's tools registered.

    Args:
        base: the project folder whose indexes are served.
        warm_up: load the first index's model in a background thread at once.
        service: the tools' logic (default ``IndexService(base)``; tests pass one with their embedder).
    """
    MCPServer, ToolError = _import_mcp()
    tools = service if service is not None else IndexService(base)
    server = MCPServer("leann", instructions=INSTRUCTIONS)

    def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (CliError, ValueError, FileNotFoundError, ImportError, OSError) as e:
            raise ToolError(str(e)) from e

    _register_search(server, tools, call)
    _register_manage(server, tools, call)
    if warm_up:
        threading.Thread(target=_quiet(tools.warm_up), daemon=True).start()
    return server


def _register_search(server: Any, tools: IndexService, call: Any) -> None:
    async def leann_search(
        index_name: str,
        query: str,
        top_k: int = DEFAULT_TOP_K,
        mode: str = DEFAULT_MODE,
        filters: dict[str, Any] | None = None,
        complexity: int = DEFAULT_COMPLEXITY,
        after: str | None = None,
        before: str | None = None,
        from_: str | None = None,
    ) -> dict[str, Any]:
        """Search a leann index of the user's documents, mail, chats or browser history.

        Args:
            index_name: the index to search (see leann_list).
            query: what to look for, in natural language or keywords.
            top_k: number of results, 1 to %(max_top_k)d (default %(top_k)d).
            mode: "dense" (semantic), "bm25" (keywords) or "hybrid" (both).
            filters: metadata conditions, all must hold, e.g. {"file_type": ".md"} or
                {"start_line": {">=": 100}}; operators == != < <= > >= in not_in contains
                starts_with ends_with. Metadata keys: source, file_type, start_line, end_line,
                language, page, slide; for mail, chats and browser history also date,
                date_last, from, subject, title, url.
            complexity: search effort, 1 to %(max_complexity)d (default %(complexity)d).
            after: only passages dated on or after this date (YYYY, YYYY-MM, YYYY-MM-DD or ISO 8601;
                mail, chats and browser history carry dates).
            before: only passages dated before this date.
            from_: only passages whose sender (or chat people) contains this text, any case.
        """
        import anyio

        # In a worker thread, so the server keeps answering (pings, cancellations) meanwhile.
        return await anyio.to_thread.run_sync(
            lambda: call(
                tools.search,
                index_name,
                query,
                top_k=top_k,
                mode=mode,
                filters=filters,
                complexity=complexity,
                after=after,
                before=before,
                sender=from_,
            )
        )

    # The limits and defaults in the tool's description are the ones SearchRequest applies.
    leann_search.__doc__ = (leann_search.__doc__ or "") % {
        "max_top_k": MAX_TOP_K,
        "top_k": DEFAULT_TOP_K,
        "max_complexity": MAX_COMPLEXITY,
        "complexity": DEFAULT_COMPLEXITY,
    }
    server.tool()(leann_search)


def _register_manage(server: Any, tools: IndexService, call: Any) -> None:
    @server.tool()
    def leann_list() -> dict[str, Any]:
        """List the indexes available, with their passages and sizes."""
        return call(tools.list)

    @server.tool()
    def leann_status(index_name: str) -> dict[str, Any]:
        """Details of one index: passages, files, size, model, the folders it was built from."""
        return call(tools.status, index_name)

    @server.tool()
    async def leann_build(
        index_name: str, docs: list[str], force: bool = False, file_types: list[str] | None = None
    ) -> dict[str, Any]:
        """Build an index from files and folders, or update it (only new or changed files are
        re-embedded, deleted files removed).

        Args:
            index_name: name of the index to create or update.
            docs: file or folder paths (relative paths are taken from the server's base folder).
            force: rebuild from scratch.
            file_types: only these extensions, e.g. [".md", ".py"].
        """
        import anyio

        return await anyio.to_thread.run_sync(lambda: call(tools.build, index_name, docs, force, file_types))


def _quiet(fn: Any) -> Any:
    def run() -> None:
        try:
            fn()
        except Exception as e:  # a failed warm-up only means the first query loads the model
            print(f"leann-mcp: warm-up skipped: {e}", file=sys.stderr)

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="leann-mcp", description="leann's MCP server (stdio).")
    parser.add_argument(
        "--base-dir", default=None, help="folder whose .leann/indexes are served (default: current)"
    )
    parser.add_argument(
        "--no-warmup", action="store_true", help="do not load the model before the first query"
    )
    parser.add_argument("--version", action="version", version=f"leann-mcp {__version__}")
    args = parser.parse_args(argv)
    quiet_libraries()
    try:
        server = create_server(args.base_dir, warm_up=not args.no_warmup)
    except ImportError as e:
        print(f"leann-mcp: error: {e}", file=sys.stderr)
        return 1
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
