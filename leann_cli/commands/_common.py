"""What several subcommands share: argument types, search options, the daemon or in-process searcher."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._extras import quiet_libraries
from ..indexes import CliError, check_index_name

Subparsers = Any  # argparse's private _SubParsersAction


def warn(msg: str) -> None:
    print(f"leann: warning: {msg}", file=sys.stderr)


def human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def int_at_least(low: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``low``."""
    what = "a positive integer" if low == 1 else f"an integer >= {low}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return parse


positive = int_at_least(1)
non_negative = int_at_least(0)


def index_name(text: str) -> str:
    try:
        return check_index_name(text)
    except CliError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_daemon_options(p: argparse.ArgumentParser) -> None:
    from ..daemon import DEFAULT_IDLE_TIMEOUT

    p.add_argument(
        "--no-daemon",
        action="store_true",
        help="search in this process instead of the warm background daemon",
    )
    p.add_argument(
        "--daemon-ttl",
        type=float,
        default=DEFAULT_IDLE_TIMEOUT,
        metavar="SECONDS",
        help=f"the daemon exits after this long without a request (default {DEFAULT_IDLE_TIMEOUT:.0f})",
    )


def add_search_options(p: argparse.ArgumentParser) -> None:
    from ..service import DEFAULT_COMPLEXITY, DEFAULT_MODE, DEFAULT_TOP_K, SEARCH_MODES

    p.add_argument(
        "--top-k", type=positive, default=DEFAULT_TOP_K, help=f"results to return (default {DEFAULT_TOP_K})"
    )
    p.add_argument(
        "--complexity",
        type=positive,
        default=DEFAULT_COMPLEXITY,
        help=f"search queue length; higher finds more, recomputes more (default {DEFAULT_COMPLEXITY})",
    )
    p.add_argument(
        "--mode", choices=SEARCH_MODES, default=DEFAULT_MODE, help=f"retrieval mode (default {DEFAULT_MODE})"
    )
    add_daemon_options(p)


def use_daemon(args: argparse.Namespace) -> bool:
    from .. import daemon

    if getattr(args, "no_daemon", False) or os.environ.get("LEANN_NO_DAEMON") == "1":
        return False
    return daemon.supported()


def provider_of(path: Path) -> str | None:
    """The embedding provider an index reconnects to (``"openai"``/``"ollama"``), else None."""
    from leann_engine import LeannError, index_info

    try:
        mode = index_info(path).embedding_mode
    except (OSError, ValueError, LeannError):
        return None
    return mode if mode in ("openai", "ollama") else None


def searcher(args: argparse.Namespace, path: Path) -> Any:
    """The warm daemon's searcher for ``path`` (started on demand), else one in this process.

    An index built through a provider is searched in this process: there is no local model to
    keep warm, and the key is read from this process's environment, not the daemon's.
    """
    if use_daemon(args) and provider_of(path) is None:
        from .. import daemon

        try:
            return daemon.DaemonSearcher(path, args.daemon_ttl)
        except daemon.DaemonUnavailable as e:
            warn(f"{e}; searching in this process")
    quiet_libraries()
    from leann_engine import LeannSearcher

    return LeannSearcher(path)


def daemon_embedder(args: argparse.Namespace, model: str | None) -> Any:
    """The warm daemon's model when one is already running (a build never starts it)."""
    if not use_daemon(args):
        return None
    from leann_engine import DEFAULT_MODEL

    from .. import daemon

    if daemon.ping() is None:
        return None
    try:
        from ..daemon_embed import DaemonEmbedder

        return DaemonEmbedder(model or os.environ.get("LEANN_EMBEDDING_MODEL", DEFAULT_MODEL))
    except (daemon.DaemonUnavailable, RuntimeError, OSError):
        return None
