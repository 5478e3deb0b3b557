"""The ``leann`` command: build, watch, search, ask, list, remove, reindex, daemon, serve, and the
personal-data importers (``index-email``, ``index-browser``, ``index-chatgpt``, ...).

Exit status 0 on success, 1 on an error (one line on stderr, no traceback; ``LEANN_DEBUG=1``
shows it), 2 on a usage error. Each subcommand lives in :mod:`leann_cli.commands`; this module
assembles the parser and runs the chosen one.
"""

from __future__ import annotations

import argparse
import os
import sys

from . import __version__
from .indexes import CliError

# Errors whose message is meant for the user as it is; others also show their type.
_USER_ERRORS = (CliError, ValueError, FileNotFoundError, ImportError, RuntimeError, OSError)


def build_parser() -> argparse.ArgumentParser:
    from .commands import MODULES

    parser = argparse.ArgumentParser(
        prog="leann",
        description="Private search over your documents: a graph-only index that stores no embeddings.",
        epilog="Indexes live in .leann/indexes/NAME/ of the current folder. Exit status: 0 ok, 1 error, 2 usage.",
    )
    parser.add_argument("--version", action="version", version=f"leann {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in MODULES:
        module.add_parsers(sub)
    # Their own packages register themselves; each subcommand imports its heavy parts when run.
    from . import serve
    from .sources import cli as sources_cli

    sources_cli.register(sub)
    serve.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``leann`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
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
        if not isinstance(e, _USER_ERRORS):
            msg = f"{type(e).__name__}: {msg} (set LEANN_DEBUG=1 for the traceback)"
        print(f"leann: error: {msg}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
