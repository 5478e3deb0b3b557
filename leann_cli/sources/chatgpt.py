"""ChatGPT export: ``conversations.json`` (from the export zip, its folder, or the file).

Only the visible thread is read: from ``current_node`` back through ``parent``, so branches that
were regenerated or edited away are left out. Hidden system nodes, custom instructions
(``user_editable_context``) and tool traffic (browsing, code runs) are skipped; citation markers
such as ``【6†source】`` and private-use marker characters are removed. Messages carry ``conversation_id``, ``title``, ``created``,
``updated`` and ``model`` for :func:`~leann_cli.sources.chunk.chunk_messages`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .base import Message, SourceError, from_epoch, json_from_export

KIND = "chatgpt"
EXPECT = "a ChatGPT export (conversations.json: a list of conversations with 'mapping' and 'current_node')"
ROLES = {"user": "User", "assistant": "ChatGPT"}
# Old citations: 【6†source】; new ones wrap ids in private-use characters (\ue200cite\ue202turn0search3\ue201)
# and mark quoted spans with \ue203...\ue204.
_CITE = re.compile(r"【[^】]{0,40}】|\ue200[^\ue201]{0,200}\ue201|[\ue000-\uf8ff]")


def _leaf(mapping: dict[str, Any], current: Any) -> str | None:
    if isinstance(current, str) and current in mapping:
        return current
    # A trimmed export may lack current_node: take the newest node whose children are all gone.
    leaves = [k for k, n in mapping.items() if not any(c in mapping for c in (n or {}).get("children") or [])]
    stamp = lambda k: ((mapping[k] or {}).get("message") or {}).get("create_time") or 0  # noqa: E731
    return max(leaves, key=stamp) if leaves else None


def visible_thread(conv: dict[str, Any]) -> list[dict[str, Any]]:
    """The messages of the ``current_node`` → root chain, oldest first."""
    mapping = conv.get("mapping")
    if not isinstance(mapping, dict):
        return []
    node_id, chain, seen = _leaf(mapping, conv.get("current_node")), [], set()
    while node_id and node_id in mapping and node_id not in seen:
        seen.add(node_id)
        node = mapping[node_id] or {}
        if node.get("message"):
            chain.append(node["message"])
        node_id = node.get("parent")
    return chain[::-1]


def message_text(msg: dict[str, Any]) -> str:
    """The readable text of one user/assistant message, or ``""`` when it is not shown."""
    role = (msg.get("author") or {}).get("role")
    meta = msg.get("metadata") or {}
    if role not in ROLES or meta.get("is_visually_hidden_from_conversation"):
        return ""
    if msg.get("recipient") not in (None, "all"):  # a call to a tool (browser, python), not a reply
        return ""
    content = msg.get("content") or {}
    ctype = content.get("content_type")
    if ctype in ("text", "multimodal_text"):
        # Image, audio and file parts are dicts (asset pointers); only the strings are text.
        parts = [p for p in content.get("parts") or [] if isinstance(p, str)]
        text = "\n".join(parts)
    elif ctype == "code":
        text = str(content.get("text") or "")
    else:
        return ""
    return _CITE.sub("", text).strip()


def _model(conv: dict[str, Any], thread: list[dict[str, Any]]) -> str:
    for msg in reversed(thread):
        slug = (msg.get("metadata") or {}).get("model_slug")
        if slug:
            return str(slug)
    return str(conv.get("default_model_slug") or "")


def conversation_messages(conv: dict[str, Any]) -> Iterator[Message]:
    cid = str(conv.get("conversation_id") or conv.get("id") or "")
    thread = visible_thread(conv)
    created = from_epoch(conv.get("create_time"))
    context = {
        "conversation_id": cid,
        "title": str(conv.get("title") or ""),
        "created": created,
        "updated": from_epoch(conv.get("update_time")),
        "model": _model(conv, thread),
    }
    for msg in thread:
        text = message_text(msg)
        if text:
            role = msg["author"]["role"]
            when = from_epoch(msg.get("create_time")) or created
            yield Message(str(msg.get("id") or ""), cid, when, ROLES[role], text, context)


def read_chatgpt(path: str | Path) -> Iterator[Message]:
    """Messages of every conversation's visible thread in a ChatGPT export."""
    data = json_from_export(Path(path).expanduser(), "conversations.json", EXPECT)
    if isinstance(data, dict) and "mapping" in data:
        data = [data]  # one conversation object on its own
    if not isinstance(data, list) or any(not isinstance(c, dict) or "mapping" not in c for c in data):
        raise SourceError(f"{path}: {EXPECT} — this JSON has another shape")
    messages = []
    for conv in data:
        messages.extend(conversation_messages(conv))
    return iter(messages)
