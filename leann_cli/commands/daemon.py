"""``leann daemon start|stop|status``: the background process that keeps the model warm."""

from __future__ import annotations

import argparse
import json

from ..indexes import CliError
from ._common import Subparsers


def add_parsers(sub: Subparsers) -> None:
    from ..daemon import DEFAULT_IDLE_TIMEOUT

    p = sub.add_parser(
        "daemon",
        help="start, stop or show the warm-model daemon",
        description="The daemon keeps the model loaded so searches skip the start-up cost. "
        "`leann search` starts it on demand; it exits after its idle timeout.",
    )
    p.add_argument("action", choices=("start", "stop", "status"))
    p.add_argument(
        "--idle-timeout",
        type=float,
        default=DEFAULT_IDLE_TIMEOUT,
        metavar="SECONDS",
        help=f"default {DEFAULT_IDLE_TIMEOUT:.0f}",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import daemon

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
