"""``python -m leann_cli.cli``: the ``leann`` command under its older module name (tests, docs)."""

from __future__ import annotations

import sys

from .main import build_parser, main

__all__ = ["build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
