"""``leann build``: index documents, or update an index from what changed since its last build."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .._extras import quiet_libraries
from ..indexes import CliError, engine_path, index_dir, is_index
from ._common import Subparsers, daemon_embedder, index_name, non_negative, positive, warn


def add_parsers(sub: Subparsers) -> None:
    from leann_engine import DEFAULT_MODEL

    from ..ingest.chunk import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE, DEFAULT_CODE_CHUNK_SIZE
    from ..settings import BuildOptions

    engine = BuildOptions()
    p = sub.add_parser(
        "build",
        help="index documents (again: update only what changed)",
        description="Index the documents under --docs. Run again to update: new and changed "
        "files are re-indexed, deleted files removed, unchanged files left alone. Options not "
        "given keep the values of the index's last build.",
    )
    p.add_argument("name", type=index_name, help="index name")
    p.add_argument(
        "--docs", nargs="+", metavar="PATH", help="files and folders to index (default: those of the last build)"
    )
    p.add_argument("--file-types", metavar=".md,.py", help="only these extensions (default: every supported type)")
    p.add_argument(
        "--chunk-size", type=positive, help=f"prose chunk size in characters (default {DEFAULT_CHUNK_SIZE})"
    )
    p.add_argument(
        "--chunk-overlap",
        type=non_negative,
        help=f"prose chunk overlap in characters (default {DEFAULT_CHUNK_OVERLAP})",
    )
    p.add_argument(
        "--code-chunk-size",
        type=positive,
        help=f"largest code chunk in characters (default {DEFAULT_CODE_CHUNK_SIZE})",
    )
    p.add_argument(
        "--embedding-model",
        help=f"sentence-transformers name or local folder (default {DEFAULT_MODEL}; for documents mostly "
        "in non-Latin scripts intfloat/multilingual-e5-small when the multilingual extra is installed), or the provider's "
        "model name with --embedding-mode (default text-embedding-3-small / nomic-embed-text)",
    )
    add_provider_options(p)
    p.add_argument(
        "--graph-degree", type=positive, help=f"most neighbours a hub node keeps (default {engine.graph_degree})"
    )
    # `--complexity` is the search queue length on search and ask; here it was the build's.
    p.add_argument(
        "--build-complexity",
        "--complexity",
        dest="build_complexity",
        type=positive,
        help=f"graph build complexity, HNSW efConstruction (default {engine.build_complexity}); "
        "--complexity is an older name for it",
    )
    p.add_argument("--no-recompute", action="store_true", help="store embeddings: faster queries, larger index")
    p.add_argument(
        "--backend-name",
        choices=("hnsw", "diskann"),
        default="hnsw",
        help="graph backend (default hnsw); diskann, LEANN's large-corpus backend, is accepted as an "
        "alias: every index is built in bounded memory and searched from its files",
    )
    p.add_argument("--include-hidden", action="store_true", help="also index hidden files and folders")
    p.add_argument(
        "--force", action="store_true", help="rebuild everything from scratch, with default options for those not given"
    )
    p.add_argument("--no-daemon", action="store_true", help="never use a running daemon's model")
    add_shard_options(p)
    p.add_argument("--json", action="store_true", help="print the build report as JSON")
    p.set_defaults(func=run)


def add_shard_options(p: argparse.ArgumentParser) -> None:
    """A sharded build: --shards S (local worker processes) and --ray [ADDRESS]."""
    p.add_argument(
        "--shards", type=positive, metavar="S",
        help="split the index into S shards, built in parallel and searched together (default 1)",
    )
    p.add_argument(
        "--ray", nargs="?", const="", metavar="ADDRESS",
        help="build the shards on Ray: the cluster at ADDRESS (e.g. auto, ray://host:10001), or a new "
        "local one when no address is given; needs the ray extra",
    )


def sharding(args: argparse.Namespace) -> dict[str, Any] | None:
    """The sharded build asked for on the command line, or ``None`` for a single index."""
    if args.shards is None and args.ray is None:
        return None
    return {
        "num_shards": args.shards or 1,
        "executor": "ray" if args.ray is not None else "local",
        "ray_address": args.ray or None,
    }


def add_provider_options(p: argparse.ArgumentParser) -> None:
    """Where embeddings come from: an OpenAI-compatible or Ollama server, and prompt templates."""
    from leann_engine import EMBEDDING_MODES

    p.add_argument(
        "--embedding-mode",
        choices=EMBEDDING_MODES,
        help="where embeddings come from: in-process sentence-transformers (default), an "
        "OpenAI-compatible server (openai) or Ollama (ollama); searches reconnect to it",
    )
    p.add_argument(
        "--embedding-api-base",
        metavar="URL",
        help="OpenAI-compatible base URL, e.g. http://localhost:1234/v1 (default $OPENAI_BASE_URL or OpenAI's)",
    )
    p.add_argument(
        "--embedding-api-key",
        metavar="KEY",
        help="API key for --embedding-mode openai (default $OPENAI_API_KEY); used for this run only, "
        "never stored: searches read $OPENAI_API_KEY",
    )
    p.add_argument(
        "--embedding-host", metavar="URL", help="Ollama host (default $OLLAMA_HOST or http://localhost:11434)"
    )
    p.add_argument(
        "--embedding-prompt-template",
        metavar="TEXT",
        help='text put before every passage, e.g. "passage: " for e5 models (recorded in the index)',
    )
    p.add_argument(
        "--query-prompt-template",
        metavar="TEXT",
        help='text put before every query, e.g. "query: " for e5 models (recorded in the index)',
    )


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The build options given on the command line; None for those not given."""
    return {
        "chunk_size": args.chunk_size,
        "chunk_overlap": args.chunk_overlap,
        "code_chunk_size": args.code_chunk_size,
        "file_types": args.file_types,
        "include_hidden": True if args.include_hidden else None,
        "embedding_model": args.embedding_model,
        "graph_degree": args.graph_degree,
        "build_complexity": args.build_complexity,
        "is_recompute": False if args.no_recompute else None,
        "embedding_mode": args.embedding_mode,
        "embedding_api_base": args.embedding_api_base,
        "embedding_host": args.embedding_host,
        "embedding_prompt_template": args.embedding_prompt_template,
        "query_prompt_template": args.query_prompt_template,
    }


def run(args: argparse.Namespace) -> int:
    from ..ingest.pipeline import build_from_docs
    from ..ingest.sources import read_sources
    from ..settings import BuildOptions

    folder = index_dir(args.name)
    previous = read_sources(folder) if is_index(engine_path(args.name)) else None
    docs = args.docs
    if not docs:
        if previous is None or not previous.docs:
            raise CliError(f"--docs is required to build the new index {args.name!r}")
        docs = previous.docs
    stored = previous.options if previous is not None and not args.force else None
    try:
        options = BuildOptions.resolve(stored, overrides(args))
    except ValueError as e:
        raise CliError(str(e)) from e
    quiet_libraries()
    # The daemon keeps a local model warm; a provider's model lives on its server.
    local = options.embedding_mode == "sentence-transformers"
    shards = sharding(args)
    # Shard workers load the model themselves (a daemon's model is one process's).
    local = local and shards is None
    report = build_from_docs(
        folder,
        docs,
        options,
        force=args.force,
        embedding=daemon_embedder(args, options.embedding_model) if local else None,
        show_progress=sys.stderr.isatty(),
        log=warn,
        api_key=args.embedding_api_key,
        sharding=shards,
    )
    if args.json:
        print(json.dumps(report.to_dict(), indent=1))
    else:
        print(f"{args.name}: {report.summary()}")
    return 0
