"""``leann serve``: a local web page and JSON API to search and ask the indexes of the current folder.

Standard library only (``http.server``): the ``web`` extra is empty. The page is plain HTML, CSS and
JavaScript shipped in ``static/``; nothing is fetched from the internet.

LEAD: wire ``register(sub)`` into ``leann_cli``'s parser; it sets ``func`` to :func:`run`, which takes the
parsed namespace and returns an exit status like the other commands.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

__all__ = ["add_arguments", "main", "register", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; any other needs --token)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    p.add_argument("--open", action="store_true", help="open the page in the default browser")
    p.add_argument(
        "--token",
        default=os.environ.get("LEANN_SERVE_TOKEN"),
        help="secret every request must carry (required for a --host other than loopback; env LEANN_SERVE_TOKEN)",
    )
    p.add_argument("--ollama-host", default=None, help="Ollama's address for answers (default $OLLAMA_HOST or localhost:11434)")
    p.add_argument("--model", default=None, help="Ollama model for answers (default qwen3:8b)")


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``serve`` to the ``leann`` command's subparsers."""
    p = subparsers.add_parser(
        "serve",
        help="search and ask the indexes of this folder in a local web page",
        description="Serve a local web page and a JSON API (/api/...) over the indexes in .leann/indexes "
        "of the current folder. Binds 127.0.0.1 unless --host is given (which then needs --token).",
    )
    add_arguments(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; exit status 1 with one line on stderr when it cannot start."""
    from .server import make_server

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        server = make_server(
            host=args.host, port=args.port, token=args.token, ollama_host=args.ollama_host, ollama_model=args.model
        )
    except (ValueError, OSError) as e:
        print(f"leann serve: {e}", file=sys.stderr)
        return 1
    url = server.url + (f"?token={args.token}" if args.token else "")
    print(f"leann serve: {server.url} over {server.api.base} (Ctrl-C stops)", flush=True)
    if args.open:
        import webbrowser

        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        server.api.pool.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m leann_cli.serve [--host H] [--port P] [--open] [--token T]``."""
    parser = argparse.ArgumentParser(prog="leann serve", description=register.__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))
