"""iMessage: ``~/Library/Messages/chat.db`` (tables ``message``, ``handle``, ``chat``, ``chat_message_join``).

Text comes from ``message.text`` or, when that is empty (20–60% of rows on recent macOS), from
the ``attributedBody`` blob: an NSAttributedString in Apple's typedstream format whose first
NSString holds the text. ``date`` is nanoseconds since 2001-01-01 on macOS ≥ 10.13 and seconds
before it; tapbacks and group events are skipped. The database is read from a private copy.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

from .base import COCOA, Message, SourceError, columns, from_epoch, sqlite_copy

KIND = "imessage"
EXPECT = "an iMessage chat.db (tables message, handle, chat, chat_message_join)"
DEFAULT_DB = Path.home() / "Library" / "Messages" / "chat.db"
OBJECT_REPLACEMENT = "\ufffc"  # stands where an attachment sat in the text


def decode_attributed_body(blob: bytes | None) -> str | None:
    """The string of a typedstream ``NSAttributedString`` blob, or ``None`` when there is none.

    After the ``NSString`` class name comes ``+`` (a C string follows) and a typedstream
    integer: one byte below 0x80, or 0x81 + int16 / 0x82 + int32 little-endian, giving the UTF-8
    byte length (not the UTF-16 length: astral characters differ). Trailing data is ignored.
    """
    if not blob or not blob.startswith(b"\x04\x0bstreamtyped"):
        return None
    at = blob.find(b"NSString")
    if at < 0:
        return None
    plus = blob.find(b"+", at + len(b"NSString"), at + len(b"NSString") + 8)
    if plus < 0:
        return None
    i = plus + 1
    if i >= len(blob):
        return None
    head = blob[i]
    if head == 0x81:
        n, i = int.from_bytes(blob[i + 1 : i + 3], "little"), i + 3
    elif head == 0x82:
        n, i = int.from_bytes(blob[i + 1 : i + 5], "little"), i + 5
    elif head < 0x80:
        n, i = head, i + 1
    else:
        return None
    if n <= 0:
        return None
    raw = blob[i : i + n]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        # A length past the real string (seen in the wild): keep the valid text before the
        # typedstream markers that follow it.
        text = raw[: e.start].decode("utf-8").strip()
        return text or None


def cocoa_time(value: object) -> str:
    """``message.date``: seconds since 2001 on old macOS, nanoseconds since 10.13 (High Sierra)."""
    if not isinstance(value, (int, float)) or not value:
        return ""
    return from_epoch(value, COCOA, 1e9 if abs(value) > 1e11 else 1.0)


def _query(con: sqlite3.Connection) -> str:
    have = columns(con, "message")
    opt = lambda c, default="NULL": f"m.{c}" if c in have else default  # noqa: E731
    chat_cols = columns(con, "chat")
    name = "c.display_name" if "display_name" in chat_cols else "NULL"
    return (
        f"SELECT m.ROWID AS rowid, m.guid, m.text, {opt('attributedBody')} AS body, m.date, "
        f"{opt('is_from_me', '0')} AS is_from_me, {opt('service')} AS service, "
        f"{opt('associated_message_type', '0')} AS assoc, {opt('item_type', '0')} AS item_type, "
        f"h.id AS handle, c.guid AS chat_guid, c.chat_identifier, {name} AS chat_name "
        "FROM message m LEFT JOIN chat_message_join j ON j.message_id = m.ROWID "
        "LEFT JOIN chat c ON c.ROWID = j.chat_id LEFT JOIN handle h ON h.ROWID = m.handle_id ORDER BY m.ROWID"
    )


def read_imessage(db: str | Path | None = None) -> Iterator[Message]:
    """Every text message in ``chat.db`` (default ``~/Library/Messages/chat.db``)."""
    path = Path(db).expanduser() if db else DEFAULT_DB
    out: list[Message] = []
    seen: set[str] = set()
    with sqlite_copy(path, EXPECT, ("message", "handle", "chat", "chat_message_join")) as con:
        try:
            rows = con.execute(_query(con)).fetchall()
        except sqlite3.DatabaseError as e:
            raise SourceError(f"{path}: {e}; expected {EXPECT}") from e
    for r in rows:
        if (r["assoc"] or 0) != 0 or (r["item_type"] or 0) != 0:
            continue  # tapbacks/reactions and group renames/joins, not messages
        text = r["text"] or decode_attributed_body(r["body"]) or ""
        text = text.replace(OBJECT_REPLACEMENT, " ").strip()
        guid = str(r["guid"] or r["rowid"])
        if not text or guid in seen:
            continue
        seen.add(guid)
        conv = str(r["chat_guid"] or r["chat_identifier"] or r["handle"] or "unknown")
        title = str(r["chat_name"] or r["chat_identifier"] or r["handle"] or "")
        sender = "Me" if r["is_from_me"] else str(r["handle"] or r["chat_identifier"] or "unknown")
        context = {"conversation_id": conv, "title": title, "service": str(r["service"] or "")}
        out.append(Message(guid, conv, cocoa_time(r["date"]), sender, text, context))
    return iter(out)
