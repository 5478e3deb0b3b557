"""``leann search``: the best passages for a query, as score, source and snippet, or JSON."""

from __future__ import annotations

import argparse
import json
import textwrap
import time
from dataclasses import asdict
from typing import Any

from ..indexes import existing_engine_path
from ._common import Subparsers, add_search_options, index_name, searcher

SNIPPET = 240


def add_parsers(sub: Subparsers) -> None:
    p = sub.add_parser(
        "search",
        help="search an index",
        description="Search an index; prints score, date and source (sender, subject or title) and snippet.",
    )
    p.add_argument("name", type=index_name, help="index name")
    p.add_argument("query", help="what to look for")
    add_search_options(p)
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
    p.add_argument(
        "--after", metavar="DATE", help="passages dated on or after DATE (YYYY, YYYY-MM, YYYY-MM-DD or ISO 8601)"
    )
    p.add_argument("--before", metavar="DATE", help="passages dated before DATE")
    p.add_argument(
        "--from", dest="sender", metavar="TEXT", help="sender or chat people containing TEXT (any case)"
    )
    p.add_argument("--grep", action="store_true", help="exact substring search")
    p.add_argument("--json", action="store_true", help="print results as JSON")
    p.set_defaults(func=run)


def snippet(text: str, width: int = SNIPPET) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def print_results(results: Any) -> None:
    from ..service import source_label

    if not results:
        print("no results")
        return
    for i, r in enumerate(results, start=1):
        print(f"{i:>2}. {r.score:.3f}  {source_label(r.metadata or {})}")
        print(textwrap.indent(textwrap.fill(snippet(r.text), 96), "    "))


def run(args: argparse.Namespace) -> int:
    from ..service import SearchRequest, parse_filters, run_search
    from ..sources.filters import combine, search_filters

    path = existing_engine_path(args.name)
    request = SearchRequest(
        args.query,
        top_k=args.top_k,
        complexity=args.complexity,
        mode=args.mode,
        filters=combine(parse_filters(args.filter), search_filters(args.after, args.before, args.sender)),
        rerank=args.rerank,
        grep=args.grep,
    )
    engine = searcher(args, path)
    t0 = time.perf_counter()
    results = run_search(engine, request)
    # Through the daemon, the engine's own time there (not the socket round trip).
    took = getattr(engine, "last_engine_s", None) or time.perf_counter() - t0
    if args.json:
        out = {
            "index": args.name,
            "query": args.query,
            "mode": args.mode,
            "took_s": round(took, 4),
            # What the query cost: passages re-embedded, provider requests and bytes sent.
            "stats": asdict(results.stats),
            "results": results.to_list(),
        }
        print(json.dumps(out, ensure_ascii=False))
    else:
        print_results(results)
    return 0
