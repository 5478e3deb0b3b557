"""Slack workspace export (zip or folder): ``channels.json``, ``users.json``, ``<channel>/YYYY-MM-DD.json``.

User ids are resolved to names (``users.json``, else the message's ``user_profile``); mentions
``<@U…>``, channel links ``<#C…|name>`` and links ``<url|label>`` become readable. A thread
(``thread_ts``) is one conversation, wherever its replies were filed (replies can sit in a later
day's file than their parent); a deleted parent (``tombstone``) keeps its replies. Bot messages
with empty ``text`` are read from ``attachments`` and ``blocks``; joins/leaves are skipped.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .base import Message, SourceError, from_epoch

KIND = "slack"
EXPECT = "a Slack workspace export (channels.json, users.json and <channel>/YYYY-MM-DD.json)"
SKIP_SUBTYPES = {
    "channel_join",
    "channel_leave",
    "group_join",
    "group_leave",
    "bot_add",
    "bot_remove",
    "tombstone",
}
_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")


class _Files:
    """The export's files, from a folder or a zip, by relative path."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.zip: zipfile.ZipFile | None = None
        if root.is_file():
            try:
                self.zip = zipfile.ZipFile(root)
                self.names = [n for n in self.zip.namelist() if not n.endswith("/")]
            except (zipfile.BadZipFile, OSError, EOFError) as e:
                raise SourceError(f"{root}: damaged or truncated zip ({e}); expected {EXPECT}") from e
        elif root.is_dir():
            self.names = [p.relative_to(root).as_posix() for p in sorted(root.rglob("*.json"))]
        else:
            raise SourceError(f"{root}: not found; expected {EXPECT}")
        # A zip may wrap everything in one top folder; find where channels.json sits.
        tops = [n[: -len("channels.json")] for n in self.names if n.split("/")[-1] == "channels.json"]
        if not tops:
            raise SourceError(f"{root}: no channels.json; expected {EXPECT}")
        self.prefix = min(tops, key=len)

    def json(self, name: str, default: Any = None) -> Any:
        full = self.prefix + name
        if full not in self.names:
            return default
        try:
            raw = self.zip.read(full) if self.zip else (self.root / full).read_bytes()
            return json.loads(raw.decode("utf-8-sig"))
        except (OSError, zipfile.BadZipFile, EOFError, UnicodeDecodeError, ValueError) as e:
            raise SourceError(f"{self.root}/{full}: unreadable ({e}); expected {EXPECT}") from e

    def days(self, folder: str) -> list[str]:
        start = self.prefix + folder + "/"
        return sorted(
            n[len(self.prefix) :] for n in self.names if n.startswith(start) and _DAY.match(n[len(start) :])
        )


def _user_names(users: Any) -> dict[str, str]:
    names: dict[str, str] = {}
    for u in users if isinstance(users, list) else []:
        if isinstance(u, dict) and u.get("id"):
            prof = u.get("profile") or {}
            names[u["id"]] = (
                prof.get("display_name")
                or u.get("real_name")
                or prof.get("real_name")
                or u.get("name")
                or u["id"]
            )
    return names


def readable(text: str, names: dict[str, str]) -> str:
    """Slack markup as plain text: ``<@U1>`` → ``@name``, ``<#C1|x>`` → ``#x``, ``<url|label>`` → ``label``."""

    def sub(m: re.Match[str]) -> str:
        target, label = m.group(1), m.group(2)
        if target.startswith("@"):
            return "@" + (label or names.get(target[1:], target[1:]))
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            return "@" + (label or target[1:].split("^")[0])
        return label or target

    return _LINK.sub(sub, text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _block_text(blocks: Any) -> list[str]:
    out: list[str] = []
    for b in blocks if isinstance(blocks, list) else []:
        if not isinstance(b, dict):
            continue
        for key in ("text",):
            t = b.get(key)
            if isinstance(t, dict) and t.get("text"):
                out.append(str(t["text"]))
        out.extend(str(f.get("text")) for f in b.get("fields") or [] if isinstance(f, dict) and f.get("text"))
        for el in b.get("elements") or []:
            if isinstance(el, dict) and el.get("type") in (
                "rich_text_section",
                "rich_text_quote",
                "rich_text_preformatted",
            ):
                out.append(
                    "".join(str(x.get("text") or "") for x in el.get("elements") or [] if isinstance(x, dict))
                )
    return [t for t in out if t.strip()]


def message_text(m: dict[str, Any], names: dict[str, str]) -> str:
    text = str(m.get("text") or "")
    if m.get("subtype") == "bot_message" or not text.strip():
        extra = _block_text(m.get("blocks"))
        for a in m.get("attachments") or []:
            if isinstance(a, dict):
                extra += [str(a[k]) for k in ("pretext", "title", "text", "fallback") if a.get(k)][:3]
        if extra and (not text.strip() or m.get("blocks")):
            text = "\n".join(dict.fromkeys(([text] if text.strip() else []) + extra))
    for f in ([m["file"]] if isinstance(m.get("file"), dict) else []) + list(m.get("files") or []):
        if isinstance(f, dict) and (f.get("title") or f.get("name")):
            text += f"\n[file: {f.get('title') or f.get('name')}]"
    return readable(text, names).strip()


def _sender(m: dict[str, Any], names: dict[str, str]) -> str:
    uid = m.get("user")
    if uid in names:
        return names[uid]
    prof = m.get("user_profile") or {}
    bot = m.get("bot_profile") or {}
    return (
        prof.get("display_name")
        or prof.get("real_name")
        or m.get("username")
        or bot.get("name")
        or uid
        or "bot"
    )


def _channels(files: _Files) -> list[tuple[str, str]]:
    """``(folder, label)`` of each conversation: channels and private groups by name, DMs by id."""
    out: list[tuple[str, str]] = []
    for listing, key in (
        ("channels.json", "name"),
        ("groups.json", "name"),
        ("mpims.json", "name"),
        ("dms.json", "id"),
    ):
        data = files.json(listing, [])
        if not isinstance(data, list):
            raise SourceError(f"{files.root}/{files.prefix}{listing}: expected a list of conversations")
        out.extend(
            (str(c[key]), str(c.get("name") or c[key])) for c in data if isinstance(c, dict) and c.get(key)
        )
    return out


def read_slack(path: str | Path) -> Iterator[Message]:
    """Every message of every exported channel, threads kept together."""
    files = _Files(Path(path).expanduser())
    names = _user_names(files.json("users.json", []))
    out: list[Message] = []
    for folder, label in _channels(files):
        for day in files.days(folder):
            msgs = files.json(day, [])
            if not isinstance(msgs, list):
                raise SourceError(f"{files.root}/{files.prefix}{day}: expected a list of messages")
            for m in msgs:
                if not isinstance(m, dict) or m.get("type", "message") != "message" or not m.get("ts"):
                    continue
                if m.get("subtype") in SKIP_SUBTYPES:
                    continue
                text = message_text(m, names)
                if not text:
                    continue
                thread = m.get("thread_ts")
                conv = f"{folder}/{thread}" if thread else folder
                ctx = {"channel": label, "conversation_id": conv, "title": f"#{label}"}
                if thread:
                    ctx["thread_ts"] = str(thread)
                out.append(
                    Message(f"{folder}:{m['ts']}", conv, from_epoch(m["ts"]), _sender(m, names), text, ctx)
                )
    return iter(out)
