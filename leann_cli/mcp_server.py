"""``leann-mcp``: an MCP server over stdio so a desktop assistant can search your indexes.

Tools: ``leann_search(index_name, query, top_k, mode, filters, complexity)``, ``leann_list()``,
``leann_build(index_name, docs, ...)`` and ``leann_status(index_name)``. The server is a long-lived
process that keeps the model and the open indexes in memory, so every query after the first runs
at the engine's warm speed. It speaks only on stdin/stdout and opens no network port. Indexes are
those of ``--base-dir`` (default: ``$LEANN_BASE_DIR`` or the folder it is started in).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path
from typing import Any

from . import __version__
from .config import (
    DEFAULT_COMPLEXITY,
    DEFAULT_MODE,
    DEFAULT_TOP_K,
    CliError,
    base_dir,
    check_index_name,
    existing_engine_path,
    index_dir,
    index_info,
    list_indexes,
)

INSTRUCTIONS = (
    "Private semantic search over the user's local documents indexed with leann. "
    "Call leann_list to see the indexes, then leann_search with an index_name and a query. "
    "Results carry the source file and line numbers; cite them."
)


def _import_mcp() -> tuple[Any, Any]:
    try:
        from mcp.server.mcpserver import MCPServer
        from mcp.server.mcpserver.exceptions import ToolError
    except ImportError:
        try:  # mcp 1.x
            from mcp.server.fastmcp import FastMCP as MCPServer
            from mcp.server.fastmcp.exceptions import ToolError
        except ImportError as e:
            raise ImportError(
                'the MCP server needs the mcp package: pip install "leann-graph-index[mcp]"'
            ) from e
    return MCPServer, ToolError


class LeannTools:
    """The tools' logic, independent of the MCP library: validated inputs, plain dict outputs."""

    def __init__(self, base: str | Path | None = None) -> None:
        self.base = base_dir(base)
        self._searchers: dict[Path, Any] = {}
        self._lock = threading.Lock()

    def _searcher(self, name: str) -> Any:
        from .config import index_identity

        path = existing_engine_path(name, self.base)
        ident = index_identity(path)
        cached = self._searchers.get(path)
        if cached is not None and cached[0] != ident:  # removed and built again: reopen
            cached[1].close()
            cached = None
        if cached is None:
            from leann_engine import LeannSearcher

            cached = self._searchers[path] = (ident, LeannSearcher(path))
        return cached[1]

    def warm_up(self) -> None:
        """Load the model of the first index (in a background thread at start-up)."""
        with self._lock:
            infos = list_indexes(self.base)
            if infos:
                self._searcher(infos[0].name).embed_query("warm up")

    def search(
        self,
        index_name: str,
        query: str,
        top_k: int = DEFAULT_TOP_K,
        mode: str = DEFAULT_MODE,
        filters: dict[str, Any] | None = None,
        complexity: int = DEFAULT_COMPLEXITY,
    ) -> dict[str, Any]:
        from .query import check_options, result_dicts, run_search

        check_index_name(index_name)
        if not isinstance(query, str) or not query.strip():
            raise ValueError("query must be a non-empty string")
        check_options(top_k=top_k, complexity=complexity, mode=mode, filters=filters)
        with self._lock:
            results = run_search(
                self._searcher(index_name),
                query,
                top_k=top_k,
                complexity=complexity,
                mode=mode,
                filters=filters,
            )
        return {"index_name": index_name, "query": query, "mode": mode, "results": result_dicts(results)}

    def list(self) -> dict[str, Any]:
        return {"base_dir": str(self.base), "indexes": [i.to_dict() for i in list_indexes(self.base)]}

    def status(self, index_name: str) -> dict[str, Any]:
        import json

        existing_engine_path(index_name, self.base)
        info = index_info(index_name, self.base).to_dict()
        manifest = json.loads(
            (index_dir(index_name, self.base) / "documents.leann" / "manifest.json").read_text()
        )
        info["counts"] = manifest.get("counts", {})
        info["generation"] = manifest.get("generation")
        from .ingest import stored_options

        stored = stored_options(index_dir(index_name, self.base)) or {}
        info["docs"] = stored.get("docs", [])
        return info

    def build(
        self,
        index_name: str,
        docs: list[str],
        force: bool = False,
        file_types: list[str] | None = None,
    ) -> dict[str, Any]:
        from .ingest import BuildOptions, build_from_docs, stored_options

        check_index_name(index_name)
        if not isinstance(docs, list) or not docs or not all(isinstance(d, str) and d for d in docs):
            raise ValueError("docs must be a non-empty list of file or folder paths")
        paths = [Path(d).expanduser() for d in docs]
        paths = [p if p.is_absolute() else self.base / p for p in paths]
        for p in paths:
            if not p.exists():
                raise ValueError(f"docs path {p} does not exist")
        folder = index_dir(index_name, self.base)
        stored = (stored_options(folder) or {}).get("options", {}) if not force else {}
        chunking = stored.get("chunking", {})
        options = BuildOptions(
            chunk_size=chunking.get("chunk_size", 256),
            chunk_overlap=chunking.get("chunk_overlap", 25),
            code_chunk_size=chunking.get("code_chunk_size", 768),
            embedding_model=chunking.get("embedding_model"),
            file_types=file_types if file_types is not None else stored.get("file_types"),
        )
        with self._lock:
            report = build_from_docs(folder, paths, options, force=force, base=self.base)
        return report.to_dict() | {"summary": report.summary()}


def create_server(base: str | Path | None = None, *, warm_up: bool = True) -> Any:
    """The MCP server object with leann's tools registered."""
    MCPServer, ToolError = _import_mcp()
    tools = LeannTools(base)
    server = MCPServer("leann", instructions=INSTRUCTIONS)

    def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (CliError, ValueError, FileNotFoundError, ImportError, OSError) as e:
            raise ToolError(str(e)) from e

    @server.tool()
    async def leann_search(
        index_name: str,
        query: str,
        top_k: int = DEFAULT_TOP_K,
        mode: str = DEFAULT_MODE,
        filters: dict[str, Any] | None = None,
        complexity: int = DEFAULT_COMPLEXITY,
    ) -> dict[str, Any]:
        """Search a leann index of the user's documents.

        Args:
            index_name: the index to search (see leann_list).
            query: what to look for, in natural language or keywords.
            top_k: number of results, 1 to 100 (default 5).
            mode: "dense" (semantic), "bm25" (keywords) or "hybrid" (both).
            filters: metadata conditions, all must hold, e.g. {"file_type": ".md"} or
                {"start_line": {">=": 100}}; operators == != < <= > >= in not_in contains
                starts_with ends_with. Metadata keys: source, file_type, start_line, end_line,
                language, page, slide.
            complexity: search effort, 1 to 4096 (default 64).
        """
        import anyio

        # In a worker thread, so the server keeps answering (pings, cancellations) meanwhile.
        return await anyio.to_thread.run_sync(
            lambda: call(tools.search, index_name, query, top_k, mode, filters, complexity)
        )

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

    if warm_up:
        threading.Thread(target=_quiet(tools.warm_up), daemon=True).start()
    return server


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
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        server = create_server(args.base_dir, warm_up=not args.no_warmup)
    except ImportError as e:
        print(f"leann-mcp: error: {e}", file=sys.stderr)
        return 1
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
