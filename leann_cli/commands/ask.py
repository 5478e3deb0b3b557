"""``leann ask``: answer a question from an index with a local LLM (Ollama), citing the sources."""

from __future__ import annotations

import argparse
import sys

from ..indexes import CliError, existing_engine_path
from ._common import Subparsers, add_search_options, index_name, searcher


def add_parsers(sub: Subparsers) -> None:
    from ..chat import DEFAULT_OLLAMA_HOST, DEFAULT_OLLAMA_MODEL, LLM_TYPES

    p = sub.add_parser(
        "ask",
        help="answer a question from an index with a local LLM (Ollama)",
        description="Retrieve passages and stream an answer from Ollama that cites them.",
    )
    p.add_argument("name", type=index_name, help="index name")
    p.add_argument("question", nargs="?", help="the question (or use --interactive)")
    p.add_argument("-i", "--interactive", action="store_true", help="ask questions until EOF or 'quit'")
    p.add_argument("--llm", choices=LLM_TYPES, default=LLM_TYPES[0], help=f"LLM backend (default {LLM_TYPES[0]})")
    p.add_argument("--model", default=None, help=f"Ollama model (default {DEFAULT_OLLAMA_MODEL})")
    p.add_argument("--host", default=None, help=f"Ollama URL (default $OLLAMA_HOST or {DEFAULT_OLLAMA_HOST})")
    add_search_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..chat import LeannChat, LLMUnavailableError
    from ..service import source_label

    path = existing_engine_path(args.name)
    if not args.question and not args.interactive:
        raise CliError("give a QUESTION, or --interactive to ask several")
    chat = LeannChat(
        path, {"type": args.llm, "model": args.model, "host": args.host}, searcher=searcher(args, path)
    )

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
                print(f"  [{i}] {source_label(r.metadata or {})}")

    if args.question:
        answer(args.question)
    while args.interactive:
        try:
            question = input("\nleann> ").strip()
        except EOFError:
            break
        if question.lower() in ("quit", "exit", ":q"):
            break
        if question:
            answer(question)
    return 0
