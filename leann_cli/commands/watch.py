"""``leann watch``: keep a ``leann build`` index fresh while its folders change.

The folders and options are those of the index's last build (``sources.json``, read through
:mod:`leann_cli.settings`); each burst of file-system events runs the same incremental build as
``leann build NAME`` (only new and changed files are embedded). The model is loaded once and kept.
"""

from __future__ import annotations

import argparse
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..indexes import CliError, engine_path, index_dir, is_index
from ._common import Subparsers, daemon_embedder, index_name, warn

DEFAULT_DEBOUNCE = 2.0


def add_parsers(sub: Subparsers) -> None:
    p = sub.add_parser(
        "watch",
        help="keep a built index fresh as its files change (Ctrl-C stops)",
        description="Watch the folders of a `leann build` index and update it after each burst of "
        "changes (new and changed files re-embedded, deleted ones removed). Ctrl-C stops.",
    )
    p.add_argument("name", type=index_name, help="index name (built with `leann build NAME --docs PATH`)")
    p.add_argument(
        "--debounce",
        type=float,
        default=DEFAULT_DEBOUNCE,
        metavar="SECONDS",
        help=f"quiet time after the last change before updating (default {DEFAULT_DEBOUNCE:g})",
    )
    p.add_argument("--no-daemon", action="store_true", help="never use a running daemon's model")
    p.set_defaults(func=run)


def watched_folder(docs: list[str]) -> Path:
    """The one folder holding every docs root (a file's own folder for a file)."""
    dirs = [Path(d) if Path(d).is_dir() else Path(d).parent for d in docs]
    return Path(os.path.commonpath([str(d) for d in dirs]))


def _embedder(model: str | None, given: Any) -> Any:
    if given is not None:
        return given
    from leann_engine import DEFAULT_MODEL, SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(model or os.environ.get("LEANN_EMBEDDING_MODEL", DEFAULT_MODEL))


def watch_index(
    name: str,
    *,
    embedding: Any = None,
    debounce: float = DEFAULT_DEBOUNCE,
    stop: threading.Event | None = None,
    log: Callable[[str], None] = print,
) -> int:
    """Update index ``name`` from its stored docs after each burst of changes, until ``stop`` is
    set or Ctrl-C; returns how many updates ran. ``embedding``: an embedder object (default: the
    index's model, loaded once)."""
    from ..ingest.pipeline import build_from_docs
    from ..ingest.sources import read_sources
    from ..settings import BuildOptions
    from ..sources.watch import watch

    if not isinstance(debounce, (int, float)) or isinstance(debounce, bool) or debounce < 0:
        raise ValueError(f"debounce must be a number of seconds >= 0, got {debounce!r}")
    folder = index_dir(name)
    record = read_sources(folder) if is_index(engine_path(name)) else None
    if record is None or not record.docs:
        raise CliError(
            f"no folder index named {name!r}: build it first with `leann build {name} --docs PATH`"
        )
    options = BuildOptions.resolve(record.options)
    model = _embedder(options.embedding_model, embedding)
    base = record.base or None
    missing = [d for d in record.docs if not Path(d).exists()]
    if missing:
        raise CliError(f"{name}: docs path {missing[0]} of the last build no longer exists")

    def rebuild(paths: list[str]) -> None:
        report = build_from_docs(folder, record.docs, options, embedding=model, base=base, log=warn)
        if report.files_indexed or report.files_removed:
            log(f"{name}: {report.summary()}")

    root = watched_folder(record.docs)
    log(f"{name}: watching {root} (Ctrl-C stops)")
    return watch(name, root, rebuild, debounce=float(debounce), stop=stop, log=log)


def run(args: argparse.Namespace) -> int:
    from .._extras import quiet_libraries
    from ..ingest.sources import read_sources
    from ..settings import BuildOptions

    quiet_libraries()
    embedding = None
    record = read_sources(index_dir(args.name)) if is_index(engine_path(args.name)) else None
    if record is not None:
        embedding = daemon_embedder(args, BuildOptions.resolve(record.options).embedding_model)
    watch_index(args.name, embedding=embedding, debounce=args.debounce, log=lambda s: print(s, flush=True))
    return 0
