"""``leann list``, ``leann remove`` and ``leann reindex``: the indexes of the project folder."""

from __future__ import annotations

import argparse
import json
import sys

from .._extras import quiet_libraries
from ..indexes import INDEXES_DIR, CliError, base_dir, existing_engine_path, index_dir, list_indexes
from ._common import Subparsers, daemon_embedder, human, index_name, provider_of


def add_parsers(sub: Subparsers) -> None:
    p = sub.add_parser(
        "list", help="list the indexes of this folder", description="List indexes with passages and sizes."
    )
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=run_list)

    p = sub.add_parser("remove", help="delete an index", description="Delete an index and its files.")
    p.add_argument("name", type=index_name, help="index name")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    # Older spelling; `--force` means "rebuild" on build, so it is no longer shown here.
    p.add_argument("-f", "--force", dest="yes", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=run_remove)

    p = sub.add_parser(
        "reindex",
        help="compact an index (drops stored embeddings)",
        description="Rebuild the graph over the live passages, dropping deleted ones and any stored "
        "embeddings (converts a --no-recompute index to recompute-only).",
    )
    p.add_argument("name", type=index_name, help="index name")
    p.add_argument("--keep-embeddings", action="store_true", help="keep (or start) storing embeddings")
    p.add_argument("--no-daemon", action="store_true", help="never use a running daemon's model")
    p.set_defaults(func=run_reindex)


def run_list(args: argparse.Namespace) -> int:
    infos = list_indexes()
    if args.json:
        print(json.dumps([i.to_dict() for i in infos], indent=1))
        return 0
    if not infos:
        print(f"no indexes under {base_dir() / INDEXES_DIR}; create one with `leann build NAME --docs PATH`")
        return 0
    print(f"{'NAME':<24} {'FILES':>7} {'PASSAGES':>9} {'ON DISK':>10} {'FLAT INDEX':>11} {'RATIO':>6}  MODE")
    for i in infos:
        ratio = f"{100 * i.size_bytes / i.flat_bytes:.0f}%" if i.flat_bytes else "-"
        mode = "stored" if not i.is_recompute else "graph only*" if i.graph_only else "recompute"
        print(
            f"{i.name:<24} {i.files:>7,} {i.passages:>9,} {human(i.size_bytes):>10} {human(i.flat_bytes):>11} "
            f"{ratio:>6}  {mode}"
        )
    print(
        "ON DISK: the whole index with its text; FLAT INDEX: float32 vectors alone (what a flat vector store keeps)."
    )
    if any(i.graph_only for i in infos):
        print(
            "* graph only: no stored embeddings or PQ codes, so a compaction (`leann reindex`, or many "
            "updates) re-embeds every passage."
        )
    return 0


def run_remove(args: argparse.Namespace) -> int:
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


def run_reindex(args: argparse.Namespace) -> int:
    path = existing_engine_path(args.name)
    quiet_libraries()
    from leann_engine import LeannIndex, disk_usage, index_info

    before = disk_usage(path).total
    local = provider_of(path) is None
    embedding = daemon_embedder(args, index_info(path).embedding_model) if local else None
    index = LeannIndex(path, embedding, show_progress=sys.stderr.isatty())
    try:
        index.compact(is_recompute=not args.keep_embeddings)
        count = index.count()
    finally:
        index.close()
    after = disk_usage(path).total
    print(f"{args.name}: compacted, {count} passages, {human(before)} -> {human(after)}")
    return 0
