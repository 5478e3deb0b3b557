"""Claude.ai export: chat_messages, content[] blocks, attachments, out-of-order messages, real samples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sources_helpers import exports

from leann_cli.sources.base import SourceError
from leann_cli.sources.chunk import chunk_messages
from leann_cli.sources.claude import read_claude


def test_chat_messages_content_blocks_and_attachments(tmp_path: Path) -> None:
    conv = {
        "uuid": "cv1",
        "name": "Tax questions",
        "created_at": "2024-06-01T10:00:00.123456Z",
        "updated_at": "2024-06-01T10:05:00Z",
        "account": {"uuid": "acc"},
        "chat_messages": [
            {
                "uuid": "m2",
                "sender": "assistant",
                "text": "stale legacy text",
                "created_at": "2024-06-01T10:01:00Z",
                "content": [
                    {"type": "thinking", "thinking": "hidden"},
                    {"type": "text", "text": "Deduct the home office."},
                ],
                "attachments": [],
                "files": [],
            },
            {
                "uuid": "m1",
                "sender": "human",
                "text": "Can I deduct this?",
                "created_at": "2024-06-01T10:00:30+00:00",
                "attachments": [
                    {
                        "file_name": "receipt.txt",
                        "file_size": 20,
                        "file_type": "txt",
                        "extracted_content": "Desk chair 240 EUR",
                    }
                ],
                "files": [{"file_name": "x.png"}],
            },
        ],
    }
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps([conv]))
    msgs = list(read_claude(path))
    assert {m.id: m.text for m in msgs} == {
        "m2": "Deduct the home office.",
        "m1": "Can I deduct this?\n[attachment receipt.txt]\nDesk chair 240 EUR",
    }
    (chunk,) = list(chunk_messages("claude", msgs))
    assert chunk.text.index("User:") < chunk.text.index("Claude:")  # sorted by created_at, not array order
    assert chunk.metadata["date"] == "2024-06-01T10:00:30Z" and chunk.metadata["title"] == "Tax questions"


def test_other_shape_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps([{"uuid": "x", "messages": []}]))  # what LEANN's reader looks for
    with pytest.raises(SourceError, match="chat_messages"):
        read_claude(path)


def test_real_samples() -> None:
    (human, assistant) = list(read_claude(exports("claude", "simonw-example.json")))
    assert human.sender == "User" and human.text == "Turn this into a bash command"
    assert assistant.text.startswith("To turn this into a bash command")  # leading space stripped
    art = list(read_claude(exports("claude", "simonw-artifacts.json")))
    assert len(art) == 20 and not any("<antArtifact" in m.text for m in art)
    assert any("[artifact: " in m.text for m in art)
    chunks = list(chunk_messages("claude", art))
    assert all(c.metadata["conversation_id"] == "91098bc8-f2c4-427b-b71b-1e25efa2e871" for c in chunks)


def test_newer_format_keeps_the_visible_branch(tmp_path: Path) -> None:
    root = "00000000-0000-4000-8000-000000000000"

    def m(uid, parent, sender, text, t):
        return {
            "uuid": uid,
            "parent_message_uuid": parent,
            "sender": sender,
            "text": "",
            "content": [{"type": "text", "text": text}],
            "created_at": f"2025-03-01T10:0{t}:00Z",
        }

    conv = {
        "uuid": "c",
        "name": "Retry",
        "created_at": "2025-03-01T10:00:00Z",
        "chat_messages": [
            m("q", root, "human", "Name a fruit", 0),
            m("a1", "q", "assistant", "Durian, retried away", 1),
            m("a2", "q", "assistant", "Apple", 2),
            m("q2", "a2", "human", "Another one", 3),
        ],
    }
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps([conv]))
    assert [x.text for x in read_claude(path)] == ["Name a fruit", "Apple", "Another one"]
