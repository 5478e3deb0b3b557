"""Claude.ai export: ``conversations.json`` with ``chat_messages`` (zip, folder or file).

Each message's text is its ``content[]`` text blocks when present (the legacy ``text`` field can
be empty or stale), else ``text``; ``attachments[].extracted_content`` is added under the file's
name. ``chat_messages`` are not always in time order, so messages are sorted by ``created_at``
when chunked. Newer exports with ``parent_message_uuid`` keep only the branch that ends at the
newest message. Inline ``<antArtifact …>`` tags become ``[artifact: title]``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .base import Message, SourceError, json_from_export, parse_iso

KIND = "claude"
EXPECT = "a Claude export (conversations.json: a list of conversations with 'chat_messages')"
SENDERS = {"human": "User", "assistant": "Claude"}
_ARTIFACT_OPEN = re.compile(r"<antArtifact\b[^>]*?(?:title=\"([^\"]*)\")?[^>]*>")


def _clean(text: str) -> str:
    text = _ARTIFACT_OPEN.sub(lambda m: f"[artifact: {m.group(1) or ''}]\n", text)
    return text.replace("</antArtifact>", "").strip()


def message_text(msg: dict[str, Any]) -> str:
    """Visible text of one ``chat_messages`` entry, attachments' extracted text included."""
    blocks = [b for b in msg.get("content") or [] if isinstance(b, dict) and b.get("type") == "text"]
    text = "\n".join(str(b.get("text") or "") for b in blocks).strip() or str(msg.get("text") or "")
    parts = [_clean(text)] if text.strip() else []
    for att in msg.get("attachments") or []:
        if isinstance(att, dict) and str(att.get("extracted_content") or "").strip():
            parts.append(f"[attachment {att.get('file_name') or ''}]\n{att['extracted_content'].strip()}")
    return "\n".join(parts).strip()


def visible_branch(msgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Newer exports link messages by ``parent_message_uuid``; edits and retries make branches.
    Keep the chain that ends at the newest message (what the app shows); older exports without
    parents are kept whole."""
    by_id = {str(m.get("uuid")): m for m in msgs if m.get("uuid")}
    if not any(m.get("parent_message_uuid") in by_id for m in msgs):
        return msgs
    node: dict[str, Any] | None = max(msgs, key=lambda m: str(m.get("created_at") or ""))
    chain, seen = [], set()
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        chain.append(node)
        node = by_id.get(str(node.get("parent_message_uuid")))
    return chain[::-1]


def conversation_messages(conv: dict[str, Any]) -> Iterator[Message]:
    cid = str(conv.get("uuid") or "")
    created = parse_iso(conv.get("created_at"))
    context = {
        "conversation_id": cid,
        "title": str(conv.get("name") or ""),
        "created": created,
        "updated": parse_iso(conv.get("updated_at")),
        "model": str(conv.get("model") or ""),
    }
    msgs = [m for m in conv.get("chat_messages") or [] if isinstance(m, dict)]
    for n, msg in enumerate(visible_branch(msgs)):
        text = message_text(msg)
        if text:
            sender = SENDERS.get(str(msg.get("sender")), str(msg.get("sender") or ""))
            when = parse_iso(msg.get("created_at")) or created
            yield Message(str(msg.get("uuid") or f"{cid}-{n}"), cid, when, sender, text, context)


def read_claude(path: str | Path) -> Iterator[Message]:
    """Messages of every conversation in a Claude.ai export."""
    data = json_from_export(Path(path).expanduser(), "conversations.json", EXPECT)
    if not isinstance(data, list) or any(not isinstance(c, dict) or "chat_messages" not in c for c in data):
        raise SourceError(f"{path}: {EXPECT} — this JSON has another shape")
    messages = []
    for conv in data:
        messages.extend(conversation_messages(conv))
    return iter(messages)
