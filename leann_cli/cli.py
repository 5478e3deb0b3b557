"""The ``leann`` command: build, search, ask, list, remove, reindex, daemon.

Exit status 0 on success, 1 on an error (one line on stderr, no traceback; ``LEANN_DEBUG=1``
shows it), 2 on a usage error. Imports are lazy: a search through the warm daemon never loads
numpy or torch in this process.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from . import __version__
from .config import (
    DEFAULT_COMPLEXITY,
    DEFAULT_MODE,
    DEFAULT_TOP_K,
    SEARCH_MODES,
    CliError,
    base_dir,
    check_index_name,
    existing_engine_path,
    index_dir,
    list_indexes,
)

_SNIPPET = 240


def _quiet_libraries() -> None:
    # Model loading prints progress bars and notices on stderr; the CLI keeps stderr for errors.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def _use_daemon(args: argparse.Namespace) -> bool:
    from . import daemon

    if getattr(args, "no_daemon", False) or os.environ.get("LEANN_NO_DAEMON") == "1":
        return False
    return daemon.supported()


def _warn(msg: str) -> None:
    print(f"leann: warning: {msg}", file=sys.stderr)


class _DaemonSearcher:
    """LeannSearcher's ``search`` for one index, answered by the warm daemon."""

    def __init__(self, index: Path, ttl: float) -> None:
        from . import daemon

        daemon.ensure_running(ttl)
        self.index = index
        self.last_reply: dict[str, Any] = {}

    def search(
        self,
        query: str,
        top_k: int = DEFAULT_TOP_K,
        complexity: int = DEFAULT_COMPLEXITY,
        metadata_filters: dict[str, Any] | None = None,
        *,
        mode: str | None = None,
        rerank: bool | str | None = None,
        use_grep: bool = False,
    ) -> list[Any]:
        from types import SimpleNamespace

        from . import daemon

        reply = daemon.request(
            {
                "op": "search",
                "index": str(self.index),
                "query": query,
                "top_k": top_k,
                "complexity": complexity,
                "filters": metadata_filters,
                "mode": mode or DEFAULT_MODE,
                "rerank": rerank or None,
                "grep": bool(use_grep),
            }
        )
        if not reply.get("ok"):
            raise CliError(reply.get("error", "the daemon could not search"))
        self.last_reply = reply
        return [SimpleNamespace(**r) for r in reply["results"]]


def _searcher(args: argparse.Namespace, path: Path) -> Any:
    if _use_daemon(args):
        from . import daemon

        try:
            return _DaemonSearcher(path, args.daemon_ttl)
        except daemon.DaemonUnavailable as e:
            _warn(f"{e}; searching in this process")
    _quiet_libraries()
    from leann_engine import LeannSearcher

    return LeannSearcher(path)


def _snippet(text: str, width: int = _SNIPPET) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _location(meta: dict[str, Any]) -> str:
    src = str(meta.get("source", "?"))
    if meta.get("start_line") is not None:
        start, end = meta["start_line"], meta.get("end_line", meta["start_line"])
        src += f":{start}" if start == end else f":{start}-{end}"
    for key in ("page", "slide"):
        if meta.get(key) is not None:
            src += f" ({key} {meta[key]})"
    return src


# ---------------------------------------------------------------------------- commands


def cmd_build(args: argparse.Namespace) -> int:
    from .ingest import BuildOptions, build_from_docs, stored_options

    folder = index_dir(args.name)
    previous = stored_options(folder) if (folder / "documents.leann" / "manifest.json").exists() else None
    docs = args.docs
    if not docs:
        if previous is None or not previous["docs"]:
            raise CliError(f"--docs is required to build the new index {args.name!r}")
        docs = previous["docs"]
    prev_opts = (previous or {}).get("options", {}) if not args.force else {}
    prev_chunking = prev_opts.get("chunking", {})

    def pick(value: Any, key: str, default: Any, stored: dict[str, Any]) -> Any:
        return value if value is not None else stored.get(key, default)

    from leann_engine.chunking import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE

    from .chunk_code import DEFAULT_CODE_CHUNK_SIZE

    try:
        options = BuildOptions(
            chunk_size=pick(args.chunk_size, "chunk_size", DEFAULT_CHUNK_SIZE, prev_chunking),
            chunk_overlap=pick(args.chunk_overlap, "chunk_overlap", DEFAULT_CHUNK_OVERLAP, prev_chunking),
            code_chunk_size=pick(
                args.code_chunk_size, "code_chunk_size", DEFAULT_CODE_CHUNK_SIZE, prev_chunking
            ),
            file_types=args.file_types if args.file_types is not None else prev_opts.get("file_types"),
            include_hidden=args.include_hidden or bool(prev_opts.get("include_hidden", False)),
            embedding_model=pick(args.embedding_model, "embedding_model", None, prev_chunking),
            graph_degree=pick(args.graph_degree, "graph_degree", 32, prev_opts),
            build_complexity=pick(args.complexity, "build_complexity", 200, prev_opts),
            is_recompute=not args.no_recompute
            if args.no_recompute
            else bool(prev_opts.get("is_recompute", True)),
        )
    except ValueError as e:
        raise CliError(str(e)) from e
    _quiet_libraries()
    embedding = _daemon_embedder(args, options.embedding_model)
    show = sys.stderr.isatty()
    report = build_from_docs(
        folder, docs, options, force=args.force, embedding=embedding, show_progress=show, log=_warn
    )
    if args.json:
        print(json.dumps(report.to_dict(), indent=1))
    else:
        print(f"{args.name}: {report.summary()}")
    return 0


def _daemon_embedder(args: argparse.Namespace, model: str | None) -> Any:
    """The warm daemon's model when one is already running (a build never starts it)."""
    if not _use_daemon(args):
        return None
    from leann_engine.embedding import DEFAULT_MODEL

    from . import daemon

    if daemon.ping() is None:
        return None
    try:
        return daemon.DaemonEmbedder(model or os.environ.get("LEANN_EMBEDDING_MODEL", DEFAULT_MODEL))
    except (daemon.DaemonUnavailable, RuntimeError, OSError):
        return None


def cmd_search(args: argparse.Namespace) -> int:
    from .query import check_options, parse_filters, result_dicts, run_search

    path = existing_engine_path(args.name)
    filters = parse_filters(args.filter)
    check_options(top_k=args.top_k, complexity=args.complexity, mode=args.mode, filters=filters)
    searcher = _searcher(args, path)
    t0 = time.perf_counter()
    results = run_search(
        searcher,
        args.query,
        top_k=args.top_k,
        complexity=args.complexity,
        mode=args.mode,
        rerank=args.rerank,
        filters=filters,
        grep=args.grep,
    )
    took = time.perf_counter() - t0
    if isinstance(searcher, _DaemonSearcher):
        took = float(searcher.last_reply.get("engine_s", took))  # the engine's own time, in the daemon
    rows = result_dicts(results)
    if args.json:
        out = {
            "index": args.name,
            "query": args.query,
            "mode": args.mode,
            "took_s": round(took, 4),
            "results": rows,
        }
        print(json.dumps(out, ensure_ascii=False))
        return 0
    if not rows:
        print("no results")
        return 0
    for i, r in enumerate(rows, start=1):
        print(f"{i:>2}. {r['score']:.3f}  {_location(r['metadata'])}")
        print(textwrap.indent(textwrap.fill(_snippet(r["text"]), 96), "    "))
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from .chat import LeannChat, LLMUnavailableError, _source_label

    path = existing_engine_path(args.name)
    if not args.question and not args.interactive:
        raise CliError("give a QUESTION, or --interactive to ask several")
    searcher = _searcher(args, path)
    chat = LeannChat(path, {"type": args.llm, "model": args.model, "host": args.host}, searcher=searcher)

    def answer(question: str) -> None:
        try:
            for piece in chat.stream(question, args.top_k, complexity=args.complexity, mode=args.mode):
                sys.stdout.write(piece)
                sys.stdout.flush()
        except LLMUnavailableError as e:
            raise CliError(str(e)) from e
        sys.stdout.write("\n")
        if chat.last_results:
            print("\nSources:")
            for i, r in enumerate(chat.last_results, start=1):
                print(f"  [{i}] {_source_label(r.metadata or {})}")

    if args.question:
        answer(args.question)
    if args.interactive:
        while True:
            try:
                question = input("\nleann> ").strip()
            except EOFError:
                break
            if question.lower() in ("quit", "exit", ":q"):
                break
            if question:
                answer(question)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    infos = list_indexes()
    if args.json:
        print(json.dumps([i.to_dict() for i in infos], indent=1))
        return 0
    if not infos:
        print(
            f"no indexes under {base_dir() / '.leann' / 'indexes'}; create one with `leann build NAME --docs PATH`"
        )
        return 0
    header = (
        f"{'NAME':<24} {'FILES':>7} {'PASSAGES':>9} {'ON DISK':>10} {'FLAT INDEX':>11} {'RATIO':>6}  MODE"
    )
    print(header)
    for i in infos:
        ratio = f"{100 * i.size_bytes / i.flat_bytes:.0f}%" if i.flat_bytes else "-"
        mode = "recompute" if i.is_recompute else "stored"
        print(
            f"{i.name:<24} {i.files:>7,} {i.passages:>9,} {_human(i.size_bytes):>10} {_human(i.flat_bytes):>11} "
            f"{ratio:>6}  {mode}"
        )
    print(
        "ON DISK: the whole index with its text; FLAT INDEX: float32 vectors alone (what a flat vector store keeps)."
    )
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    import shutil

    existing_engine_path(args.name)
    folder = index_dir(args.name)
    if not args.yes:
        if not sys.stdin.isatty():
            raise CliError(f"remove {args.name!r}: pass --yes to confirm when not at a terminal")
        reply = input(f"Remove index {args.name!r} at {folder}? [y/N] ").strip().lower()
        if reply not in ("y", "yes"):
            print("kept")
            return 1
    shutil.rmtree(folder)
    print(f"removed {args.name} ({folder})")
    return 0


def cmd_reindex(args: argparse.Namespace) -> int:
    from .config import dir_size

    path = existing_engine_path(args.name)
    _quiet_libraries()
    from leann_engine import LeannIndex

    model = json.loads((path / "manifest.json").read_text(encoding="utf-8")).get("embedding_model")
    before = dir_size(path)
    index = LeannIndex(path, _daemon_embedder(args, model), show_progress=sys.stderr.isatty())
    try:
        index.compact(is_recompute=not args.keep_embeddings)
        count = index.count()
    finally:
        index.close()
    after = dir_size(path)
    print(f"{args.name}: compacted, {count} passages, {_human(before)} -> {_human(after)}")
    return 0


def cmd_daemon(args: argparse.Namespace) -> int:
    from . import daemon

    if not daemon.supported():
        raise CliError("the daemon needs Unix domain sockets (Linux or macOS)")
    if args.action == "start":
        info = daemon.ensure_running(args.idle_timeout)
        print(f"running: pid {info['pid']}, socket {daemon.socket_path()}")
    elif args.action == "stop":
        print("stopped" if daemon.stop() else "not running")
    else:
        info = daemon.ping()
        if info is None:
            print("not running")
            return 1
        print(json.dumps(info, indent=1))
    return 0


# ---------------------------------------------------------------------------- parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _name(text: str) -> str:
    try:
        return check_index_name(text)
    except CliError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _add_search_options(p: argparse.ArgumentParser, top_k: int) -> None:
    p.add_argument("--top-k", type=_positive, default=top_k, help=f"results to return (default {top_k})")
    p.add_argument(
        "--complexity",
        type=_positive,
        default=DEFAULT_COMPLEXITY,
        help=f"search queue length; higher finds more, recomputes more (default {DEFAULT_COMPLEXITY})",
    )
    p.add_argument(
        "--mode", choices=SEARCH_MODES, default=DEFAULT_MODE, help=f"retrieval mode (default {DEFAULT_MODE})"
    )
    p.add_argument(
        "--no-daemon",
        action="store_true",
        help="search in this process instead of the warm background daemon",
    )
    p.add_argument(
        "--daemon-ttl",
        type=float,
        default=900.0,
        metavar="SECONDS",
        help="the daemon exits after this long without a request (default 900)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leann",
        description="Private search over your documents: a graph-only index that stores no embeddings.",
        epilog="Indexes live in .leann/indexes/NAME/ of the current folder. Exit status: 0 ok, 1 error, 2 usage.",
    )
    parser.add_argument("--version", action="version", version=f"leann {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser(
        "build",
        help="index documents (again: update only what changed)",
        description="Index the documents under --docs. Run again to update: new and changed "
        "files are re-indexed, deleted files removed, unchanged files left alone.",
    )
    p.add_argument("name", type=_name, help="index name")
    p.add_argument(
        "--docs",
        nargs="+",
        metavar="PATH",
        help="files and folders to index (default: those of the last build)",
    )
    p.add_argument(
        "--file-types", metavar=".md,.py", help="only these extensions (default: every supported type)"
    )
    p.add_argument("--chunk-size", type=_positive, help="prose chunk size in characters (default 256)")
    p.add_argument(
        "--chunk-overlap", type=_non_negative, help="prose chunk overlap in characters (default 25)"
    )
    p.add_argument("--code-chunk-size", type=_positive, help="largest code chunk in characters (default 768)")
    p.add_argument(
        "--embedding-model", help="sentence-transformers name or local folder (default all-MiniLM-L6-v2)"
    )
    p.add_argument("--graph-degree", type=_positive, help="most neighbours a hub node keeps (default 32)")
    p.add_argument(
        "--complexity", type=_positive, help="graph build complexity, HNSW efConstruction (default 200)"
    )
    p.add_argument(
        "--no-recompute", action="store_true", help="store embeddings: faster queries, larger index"
    )
    p.add_argument("--include-hidden", action="store_true", help="also index hidden files and folders")
    p.add_argument("--force", action="store_true", help="rebuild everything from scratch")
    p.add_argument("--no-daemon", action="store_true", help="never use a running daemon's model")
    p.add_argument("--json", action="store_true", help="print the build report as JSON")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser(
        "search", help="search an index", description="Search an index; prints score, source and snippet."
    )
    p.add_argument("name", type=_name, help="index name")
    p.add_argument("query", help="what to look for")
    _add_search_options(p, DEFAULT_TOP_K)
    p.add_argument(
        "--rerank",
        nargs="?",
        const="exact",
        default=None,
        metavar="MODEL",
        help="rerank the best candidates: exact re-scoring with the index's model, or a cross-encoder name/path",
    )
    p.add_argument(
        "--filter",
        action="append",
        metavar="KEY=VALUE",
        help="metadata condition, repeatable (all must hold); also KEY!=V, KEY>=V, KEY<=V, KEY>V, KEY<V, KEY~TEXT",
    )
    p.add_argument("--grep", action="store_true", help="exact substring search")
    p.add_argument("--json", action="store_true", help="print results as JSON")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser(
        "ask",
        help="answer a question from an index with a local LLM (Ollama)",
        description="Retrieve passages and stream an answer from Ollama that cites them.",
    )
    p.add_argument("name", type=_name, help="index name")
    p.add_argument("question", nargs="?", help="the question (or use --interactive)")
    p.add_argument("-i", "--interactive", action="store_true", help="ask questions until EOF or 'quit'")
    p.add_argument("--llm", choices=("ollama",), default="ollama", help="LLM backend (default ollama)")
    p.add_argument("--model", default=None, help="Ollama model (default qwen3:8b)")
    p.add_argument("--host", default=None, help="Ollama URL (default $OLLAMA_HOST or http://localhost:11434)")
    _add_search_options(p, DEFAULT_TOP_K)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser(
        "list", help="list the indexes of this folder", description="List indexes with passages and sizes."
    )
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("remove", help="delete an index", description="Delete an index and its files.")
    p.add_argument("name", type=_name, help="index name")
    p.add_argument(
        "-y", "--yes", "-f", "--force", dest="yes", action="store_true", help="do not ask for confirmation"
    )
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser(
        "reindex",
        help="compact an index (drops stored embeddings)",
        description="Rebuild the graph over the live passages, dropping deleted ones and any stored "
        "embeddings (converts a --no-recompute index to recompute-only).",
    )
    p.add_argument("name", type=_name, help="index name")
    p.add_argument("--keep-embeddings", action="store_true", help="keep (or start) storing embeddings")
    p.add_argument("--no-daemon", action="store_true", help="never use a running daemon's model")
    p.set_defaults(func=cmd_reindex)

    p = sub.add_parser(
        "daemon",
        help="start, stop or show the warm-model daemon",
        description="The daemon keeps the model loaded so searches skip the start-up cost. "
        "`leann search` starts it on demand; it exits after its idle timeout.",
    )
    p.add_argument("action", choices=("start", "stop", "status"))
    p.add_argument("--idle-timeout", type=float, default=900.0, metavar="SECONDS", help="default 900")
    p.set_defaults(func=cmd_daemon)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``leann`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("leann: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:
        if os.environ.get("LEANN_DEBUG") == "1":
            raise
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if not isinstance(e, (CliError, ValueError, FileNotFoundError, ImportError, RuntimeError, OSError)):
            msg = f"{type(e).__name__}: {msg} (set LEANN_DEBUG=1 for the traceback)"
        print(f"leann: error: {msg}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
