"""ChatGPT export: visible thread via current_node -> parent, zip/folder/file, real samples."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from sources_helpers import exports

from leann_cli.sources.base import SourceError
from leann_cli.sources.chatgpt import read_chatgpt
from leann_cli.sources.chunk import chunk_messages


def _node(nid, parent, children, role=None, text=None, t=None, **extra):
    msg = None
    if role:
        msg = {
            "id": nid,
            "author": {"role": role},
            "create_time": t,
            "content": {"content_type": "text", "parts": [text]},
            "metadata": extra.pop("metadata", {}),
            "recipient": extra.pop("recipient", "all"),
        }
    return {"id": nid, "message": msg, "parent": parent, "children": children}


def conversation(cid: str = "c1") -> dict:
    mapping = {
        "root": _node("root", None, ["sys"]),
        "sys": _node(
            "sys", "root", ["u1"], "system", "", 1.0, metadata={"is_visually_hidden_from_conversation": True}
        ),
        "u1": _node("u1", "sys", ["a1", "a1b"], "user", "How do I bake sourdough bread?", 1704100000.0),
        "a1": _node("a1", "u1", [], "assistant", "Old answer that was regenerated away", 1704100010.0),
        "a1b": _node(
            "a1b",
            "u1",
            ["t1"],
            "assistant",
            "Feed the starter, then bake at 250C【6†source】.",
            1704100020.0,
            metadata={"model_slug": "gpt-4o"},
        ),
        "t1": _node("t1", "a1b", ["u2"], "tool", "browsing result text", 1704100030.0),
        "u2": _node("u2", "t1", [], "user", "Thanks!", 1704100040.0),
    }
    return {
        "id": cid,
        "conversation_id": cid,
        "title": "Sourdough",
        "create_time": 1704100000.0,
        "update_time": 1704100040.0,
        "current_node": "u2",
        "mapping": mapping,
    }


def test_visible_thread_only(tmp_path: Path) -> None:
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps([conversation()]))
    msgs = list(read_chatgpt(path))
    assert [(m.sender, m.text) for m in msgs] == [
        ("User", "How do I bake sourdough bread?"),
        ("ChatGPT", "Feed the starter, then bake at 250C."),
        ("User", "Thanks!"),
    ]
    assert msgs[0].time == "2024-01-01T09:06:40Z"
    assert msgs[0].context == {
        "conversation_id": "c1",
        "title": "Sourdough",
        "created": "2024-01-01T09:06:40Z",
        "updated": "2024-01-01T09:07:20Z",
        "model": "gpt-4o",
    }
    (chunk,) = list(chunk_messages("chatgpt", msgs))
    assert chunk.text.startswith("Sourdough\n") and "regenerated" not in chunk.text
    assert (
        chunk.metadata["people"] == ["ChatGPT", "User"]
        and chunk.metadata["date_last"] == "2024-01-01T09:07:20Z"
    )


def test_zip_and_folder_and_bad_shapes(tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    (export / "conversations.json").write_text(json.dumps([conversation("a"), conversation("b")]))
    (export / "chat.html").write_text("<html></html>")
    z = tmp_path / "export.zip"
    with zipfile.ZipFile(z, "w") as f:
        f.write(export / "conversations.json", "conversations.json")
        f.write(export / "chat.html", "chat.html")
    assert len(list(read_chatgpt(z))) == len(list(read_chatgpt(export))) == 6
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(z.read_bytes()[:100])
    with pytest.raises(SourceError, match=r"truncated\.zip: damaged or truncated zip.*ChatGPT"):
        read_chatgpt(truncated)
    claude_shape = tmp_path / "claude.json"
    claude_shape.write_text(json.dumps([{"uuid": "x", "chat_messages": []}]))
    with pytest.raises(SourceError, match=r"claude\.json: a ChatGPT export.*another shape"):
        read_chatgpt(claude_shape)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="no conversations.json"):
        read_chatgpt(tmp_path / "empty")


def test_real_samples() -> None:
    tree = list(read_chatgpt(exports("chatgpt", "librechat-chatgpt-tree.json")))
    assert [m.text[:14] for m in tree] == [
        "hi there",
        "Hello! How can",
        "hi again",
        "Hey! Welcome b",
        "tell me a joke",
        "Sure, here's o",
    ]
    assert "so cool bro" not in " ".join(m.text for m in tree)  # a branch edited away
    export = list(read_chatgpt(exports("chatgpt", "librechat-chatgpt-export.json")))
    assert len({m.conversation for m in export}) == 2 and len(export) == 10
    assert not any("【" in m.text or "search(" in m.text for m in export)  # citations and browser calls gone
    cites = list(read_chatgpt(exports("chatgpt", "librechat-chatgpt-citations.json")))  # current_node missing
    assert len(cites) == 1 and cites[0].text.startswith("Signal Sciences") and "【" not in cites[0].text
    simple = list(read_chatgpt(exports("chatgpt", "echomine-001_simple_text.conversation.json")))
    assert [m.sender for m in simple] == [
        "User",
        "ChatGPT",
    ]  # hidden system and custom-instruction nodes skipped
    images = list(read_chatgpt(exports("chatgpt", "echomine-002_with_images.conversation.json")))
    assert images[0].text == "Interpret this painting" and len(images) == 4
    code = list(read_chatgpt(exports("chatgpt", "echomine-003_with_code.conversation.json")))
    assert len(code) == 6 and not any(ch for m in code for ch in m.text if "\ue000" <= ch <= "\uf8ff")
