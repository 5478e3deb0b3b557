"""``leann index-email|index-browser|index-chatgpt|index-claude|index-wechat|index-imessage|index-slack``.

:func:`register` adds the subcommands to the ``leann`` parser; :func:`main` runs them on their
own (``python -m leann_cli.sources.cli index-email NAME --path inbox.mbox``). Each run reads the
whole source, then brings index ``NAME`` up to date: new or changed items are embedded and
added, items gone from the source are deleted, the rest is left alone.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from .base import Item, SourceError
from .chunk import chunk_messages
from .sync import SyncReport, sync_items


def _key(kind: str, *parts: Any) -> str:
    """What one source is, across runs: the kind and its resolved paths."""
    paths = [
        str(Path(p).expanduser().resolve()) if isinstance(p, (str, Path)) else str(p) for p in parts if p
    ]
    return kind + ":" + "|".join(paths)


def _email(args: argparse.Namespace) -> tuple[str, Iterable[Item]]:
    from .mail import default_paths, read_mail

    paths = [Path(p) for p in args.path] if args.path else default_paths()
    return _key("mail", *sorted(str(p) for p in paths)), read_mail(paths)


def _browser(args: argparse.Namespace) -> tuple[str, Iterable[Item]]:
    from .browser import history_path, read_history

    path = history_path(args.browser, args.profile)
    return _key("browser", args.browser, path), read_history(args.browser, path)


def _chat(kind: str, reader: Callable[[Any], Iterable[Any]], path: Any) -> tuple[str, Iterable[Item]]:
    return _key(kind, path), chunk_messages(kind, reader(path))


def _chatgpt(args: argparse.Namespace) -> tuple[str, Iterable[Item]]:
    from .chatgpt import read_chatgpt

    return _chat("chatgpt", read_chatgpt, args.export_path)


def _claude(args: argparse.Namespace) -> tuple[str, Iterable[Item]]:
    from .claude import read_claude

    return _chat("claude", read_claude, args.export_path)


def _wechat(args: argparse.Namespace) -> tuple[str, Iterable[Item]]:
    from .wechat import read_wechat

    return _chat("wechat", read_wechat, args.export_dir)


def _imessage(args: argparse.Namespace) -> tuple[str, Iterable[Item]]:
    from .imessage import DEFAULT_DB, read_imessage

    return _chat("imessage", read_imessage, args.db or DEFAULT_DB)


def _slack(args: argparse.Namespace) -> tuple[str, Iterable[Item]]:
    from .slack import read_slack

    return _chat("slack", read_slack, args.export_path)


COMMANDS: dict[str, tuple[str, Callable[[argparse.Namespace], tuple[str, Iterable[Item]]]]] = {
    "index-email": (
        "index mail: mbox (Thunderbird, Gmail Takeout), Maildir, .eml and Apple Mail .emlx",
        _email,
    ),
    "index-browser": ("index browser history (Chrome, Chromium, Brave, Edge, Firefox, Safari)", _browser),
    "index-chatgpt": ("index a ChatGPT export (zip, folder or conversations.json)", _chatgpt),
    "index-claude": ("index a Claude.ai export (zip, folder or conversations.json)", _claude),
    "index-wechat": ("index a WeChat export folder (per-contact JSON or MemoTrace CSV)", _wechat),
    "index-imessage": ("index iMessage history from chat.db", _imessage),
    "index-slack": ("index a Slack workspace export (zip or folder)", _slack),
}


def _add_source_args(name: str, p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "name", metavar="NAME", help="index name (kept in .leann/indexes/NAME, as for `leann build`)"
    )
    if name == "index-email":
        p.add_argument(
            "--path",
            action="append",
            metavar="P",
            help="mbox file, Maildir, or folder of .eml/.emlx (repeatable; default on macOS: ~/Library/Mail)",
        )
    elif name == "index-browser":
        from .browser import BROWSERS

        p.add_argument("browser", choices=BROWSERS)
        p.add_argument("--profile", metavar="P", help="profile folder or the history database file itself")
    elif name == "index-wechat":
        p.add_argument(
            "--export-dir", required=True, metavar="P", help="folder of the exporter's per-contact files"
        )
    elif name == "index-imessage":
        p.add_argument(
            "--db", metavar="P", help="chat.db (default ~/Library/Messages/chat.db; needs Full Disk Access)"
        )
    else:
        p.add_argument(
            "--export-path", required=True, metavar="P", help="the export zip, its folder, or the JSON file"
        )
    p.add_argument(
        "--embedding-model", default=None, help="model of a new index (default: the engine's default)"
    )


def register(subparsers: Any) -> None:
    """Add the ``index-*`` subcommands to an ``argparse`` subparsers object; each sets ``func``."""
    for name, (help_text, _) in COMMANDS.items():
        p = subparsers.add_parser(
            name, help=help_text, description=help_text + ". Re-running adds only what is new."
        )
        _add_source_args(name, p)
        p.set_defaults(func=_run, source_command=name)


def _run(args: argparse.Namespace) -> int:
    """``func`` of the ``leann`` subcommands: exit status 0 (errors are raised for ``leann`` to show)."""
    from .._extras import quiet_libraries

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    quiet_libraries()
    run_command(args)
    return 0


def run_command(args: argparse.Namespace, embedding: Any = None) -> SyncReport:
    """Read the source named by ``args.source_command`` and sync it into index ``args.name``."""
    from .sync import index_folder

    _, read = COMMANDS[args.source_command]
    index_folder(args.name)  # a bad name fails before the source is read
    key, items = read(args)
    emb = embedding if embedding is not None else args.embedding_model
    report = sync_items(args.name, key, items, embedding=emb, log=lambda s: print(s, file=sys.stderr))
    print(report.line(args.name, args.source_command.removeprefix("index-")))
    return report


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leann", description="Index personal data into a named leann index."
    )
    register(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    return parser


def main(argv: Sequence[str] | None = None, *, embedding: Any = None) -> int:
    """Run one ``index-*`` command; returns the exit status (0 ok, 1 bad input, 2 usage)."""
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        run_command(args, embedding)
    except (SourceError, ValueError, OSError) as e:
        print(f"leann: error: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # the engine's LeannError (a locked or damaged index) and the like
        from leann_engine import LeannError

        if isinstance(e, LeannError):
            print(f"leann: error: {e}", file=sys.stderr)
            return 1
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
