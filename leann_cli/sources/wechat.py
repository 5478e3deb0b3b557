"""WeChat exports: LEANN's per-contact JSON (``<title>-<wxid>.json``) and MemoTrace/WeChatMsg CSV.

JSON items: ``content`` (a string, or ``{title, quoted}`` parsed from XML), ``createTime`` (unix
seconds), ``isSentFromSelf``, ``fromUser``/``toUser``. In group chats (``…@chatroom``) the real
sender prefixes the text as ``wxid_xxx:\\n``. CSV: UTF-8 with BOM, ``Type`` 1 is text (3 image,
34 voice, 43 video, 47 emoji, 49 app/quote, 10000 system), ``IsSender``, ``CreateTime`` seconds.
Media placeholders, XML payloads and recalled-message notices are skipped.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .base import Message, SourceError, from_epoch

KIND = "wechat"
EXPECT = "a WeChat export folder (per-contact <name>-<wxid>.json lists, or MemoTrace .csv files)"
_MEDIA = ("<img", "<emoji", "<voice", "<video", "<appmsg", "<msg", "<?xml", "<sysmsg")
_RECALL = ("recalled a message", "撤回了一条消息")
_PREFIX = re.compile(r"^(wxid_[A-Za-z0-9_-]+|[A-Za-z][A-Za-z0-9_-]{5,19}):\n")
CSV_COLUMNS = {"localId", "Type", "IsSender", "CreateTime", "StrContent"}


def _skip(text: str) -> bool:
    t = text.strip()
    return not t or t.startswith(_MEDIA) or any(r in t for r in _RECALL)


def _text(content: Any) -> str:
    if isinstance(content, dict):  # an app message or quote the exporter parsed from XML
        parts = [str(content.get("title") or ""), str(content.get("quoted") or "")]
        return "\n".join(p for p in parts if p).strip()
    return str(content or "")


def _contact(path: Path) -> tuple[str, str]:
    """``(name, wxid)`` from ``<title>-<wxid>.json``; the title may be empty or contain '-'."""
    stem = path.stem
    name, sep, wxid = stem.rpartition("-")
    return (name or wxid, wxid) if sep else (stem, stem)


def _json_messages(path: Path) -> Iterator[Message]:
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise SourceError(f"{path}: not valid JSON ({e}); expected {EXPECT}") from e
    if isinstance(data, dict) and isinstance(data.get("chatLogs"), list):
        data = data["chatLogs"]
    if not isinstance(data, list) or any(not isinstance(m, dict) or "createTime" not in m for m in data):
        raise SourceError(f"{path}: expected a list of chat logs with content/createTime ({EXPECT})")
    name, wxid = _contact(path)
    for m in data:
        text = _text(m.get("content") if "content" in m else m.get("message"))
        sender = "Me" if m.get("isSentFromSelf") else name
        hit = _PREFIX.match(text)
        if hit:  # group chat: "wxid_abc:\nhello"
            sender, text = ("Me" if m.get("isSentFromSelf") else hit.group(1)), text[hit.end() :]
        if _skip(text):
            continue
        key = (
            m.get("svrId")
            or m.get("localId")
            or hashlib.sha1(f"{m.get('createTime')}{text}".encode()).hexdigest()[:16]
        )
        context = {"contact": name, "conversation_id": wxid, "title": name}
        yield Message(f"{wxid}:{key}", wxid, from_epoch(m.get("createTime")), sender, text.strip(), context)


def _csv_messages(path: Path) -> Iterator[Message]:
    try:
        raw = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise SourceError(f"{path}: unreadable as UTF-8 CSV ({e}); expected {EXPECT}") from e
    rows = csv.DictReader(io.StringIO(raw))
    if not CSV_COLUMNS <= set(rows.fieldnames or []):
        raise SourceError(
            f"{path}: CSV header lacks {', '.join(sorted(CSV_COLUMNS))}; expected a MemoTrace export"
        )
    # MemoTrace writes <Remark>(<wxid>)/<Remark>.csv; the wxid is the stable conversation key.
    hit = re.search(r"\(([^()]+)\)$", path.parent.name)
    conv = hit.group(1) if hit else path.stem
    for r in rows:
        text = r.get("StrContent") or ""
        if r.get("Type") != "1" or _skip(text):
            continue
        contact = r.get("Remark") or r.get("NickName") or path.stem
        sender = "Me" if r.get("IsSender") == "1" else contact
        context = {"contact": contact, "conversation_id": conv, "title": contact}
        yield Message(
            f"{conv}:{r.get('localId')}", conv, from_epoch(r.get("CreateTime")), sender, text.strip(), context
        )


def read_wechat(export_dir: str | Path) -> Iterator[Message]:
    """Every text message of a WeChat export folder (or a single export file)."""
    root = Path(export_dir).expanduser()
    if root.is_file():
        files = [root]
    elif root.is_dir():
        files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".json", ".csv") and p.is_file())
    else:
        raise SourceError(f"{root}: not found; expected {EXPECT}")
    if not files:
        raise SourceError(f"{root}: no .json or .csv files; expected {EXPECT}")
    out: list[Message] = []
    for f in files:
        out.extend(_csv_messages(f) if f.suffix.lower() == ".csv" else _json_messages(f))
    return iter(out)
