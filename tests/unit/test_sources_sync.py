"""Chunking, date/sender filters, and incremental sync into a named index through the CLI entry point."""

from __future__ import annotations

import json
import mailbox
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from conftest import WordHashEmbedder

from leann_cli.sources.base import Message
from leann_cli.sources.chunk import CHUNK_CHARS, chunk_messages, split_spans, split_text
from leann_cli.sources.cli import build_parser, main
from leann_cli.sources.filters import combine, parse_date, search_filters
from leann_cli.sources.sync import STATE_FILE, index_folder
from leann_engine import LeannSearcher
from leann_engine.filters import compile_filter

UTC = timezone.utc


def test_split_text_size_and_overlap() -> None:
    text = " ".join(f"word{i}" for i in range(200))
    pieces = split_text(text)
    assert all(len(p) <= CHUNK_CHARS for p in pieces) and len(pieces) > 5
    for a, b in zip(pieces, pieces[1:]):
        assert a.split()[-1] in b.split()[:6]  # ~25 characters of overlap, cut at words
    assert " ".join(pieces).replace(" ", "").startswith(text.replace(" ", "")[:100])
    assert split_spans("", 10, 2) == []
    with pytest.raises(ValueError, match="size must exceed overlap"):
        split_text("abc", 10, 10)


def _chat(n: int, start: datetime, conv: str = "c") -> list[Message]:
    return [
        Message(
            f"{conv}{i}",
            conv,
            (start + timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Ann" if i % 2 else "Ben",
            f"message {i} about the garden and tomatoes",
            {"title": "Garden"},
        )
        for i in range(n)
    ]


def test_chunks_by_conversation_and_time_window() -> None:
    day1 = _chat(6, datetime(2024, 1, 1, 9, tzinfo=UTC))
    day2 = _chat(3, datetime(2024, 1, 5, 9, tzinfo=UTC))
    for i, m in enumerate(day2):
        m.id = f"late{i}"
    other = _chat(2, datetime(2024, 1, 1, 9, tzinfo=UTC), conv="d")
    chunks = list(chunk_messages("x", day1 + day2 + other))
    assert {c.metadata["conversation"] for c in chunks} == {"c", "d"}
    c_chunks = [c for c in chunks if c.metadata["conversation"] == "c"]
    assert not any(
        "2024-01-01" in c.metadata["date"] and "2024-01-05" in c.metadata["date_last"] for c in c_chunks
    )
    for c in chunks:
        assert c.metadata["date"] <= c.metadata["date_last"] and c.metadata["people"]
        assert c.metadata["from"] == ", ".join(c.metadata["people"])
        assert len(c.text) <= CHUNK_CHARS + len("Garden\n")
    # Adding messages to the newest window leaves every chunk of older windows with its id.
    more = _chat(8, datetime(2024, 1, 5, 9, tzinfo=UTC))
    for i, m in enumerate(more):
        m.id = f"late{i}"
    again = list(chunk_messages("x", day1 + more + other))
    old_ids = {c.id for c in chunks if c.metadata["date"] < "2024-01-05"}
    assert old_ids <= {c.id for c in again}


def test_parse_date_and_filters() -> None:
    assert parse_date("2024") == "2024-01-01T00:00:00Z"
    assert parse_date("2024-05-01T12:00:00+02:00") == "2024-05-01T10:00:00Z"
    with pytest.raises(ValueError, match="--after 'yesterday' is not a date"):
        search_filters(after="yesterday")
    with pytest.raises(ValueError, match="not before"):
        search_filters(after="2024-02-01", before="2024-01-01")
    assert search_filters() is None
    f = search_filters(after="2024-01-02", before="2024-01-03", sender="ann")
    pred = compile_filter(f)
    assert pred({"date": "2024-01-02T10:00:00Z", "date_last": "2024-01-02T11:00:00Z", "from": "Ann, Ben"})
    assert pred(
        {"date": "2024-01-01T23:00:00Z", "date_last": "2024-01-02T00:30:00Z", "from": "ANN"}
    )  # overlaps
    assert not pred({"date": "2024-01-03T00:00:00Z", "date_last": "2024-01-03T01:00:00Z", "from": "Ann"})
    assert not pred({"date": "2024-01-02T10:00:00Z", "date_last": "2024-01-02T11:00:00Z", "from": "Ben"})
    assert not pred({"text": "a document without dates"})
    assert combine({"a": 1}, None) == {"a": 1} and combine({"a": 1}, {"b": 2}) == {
        "$and": [{"a": 1}, {"b": 2}]
    }


def _mail(mid: str, subject: str, body: str, day: int) -> EmailMessage:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"], m["Message-ID"] = "Ann <ann@x.org>", "me@x.org", subject, f"<{mid}>"
    m["Date"] = format_datetime(datetime(2024, 1, day, 12, tzinfo=UTC))
    m.set_content(body)
    return m


def test_incremental_sync_adds_only_new_and_deletes_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEANN_BASE_DIR", raising=False)
    box_path = tmp_path / "inbox.mbox"
    box = mailbox.mbox(box_path)
    topics = ["invoice payment due", "garden tomatoes harvest", "kernel patch review", "train tickets booked"]
    for i, t in enumerate(topics):
        box.add(_mail(f"m{i}@x", t.title(), f"Mail about {t}.", i + 1))
    box.flush()
    emb = WordHashEmbedder()
    assert main(["index-email", "mail", "--path", str(box_path)], embedding=emb) == 0
    folder = index_folder("mail")
    assert folder == tmp_path / ".leann" / "indexes" / "mail" and (folder / STATE_FILE).exists()
    searcher = LeannSearcher(folder / "documents.leann", emb)
    hits = searcher.search(
        "garden tomatoes", top_k=4, metadata_filters=search_filters(after="2024-01-02", before="2024-01-03")
    )
    assert [h.metadata["subject"] for h in hits] == ["Garden Tomatoes Harvest"]

    emb.seen.clear()
    box.add(_mail("m9@x", "Concert Tonight", "Mail about the concert tonight.", 9))
    box.remove(next(k for k, m in box.items() if "m0@x" in m["Message-ID"]))
    box.flush()
    assert main(["index-email", "mail", "--path", str(box_path)], embedding=emb) == 0
    assert emb.seen == ["Subject: Concert Tonight\nFrom: Ann <ann@x.org>\nMail about the concert tonight."]
    searcher.refresh()
    assert searcher.count() == 4 and sorted(searcher.ids()) == [
        "mail:m1@x",
        "mail:m2@x",
        "mail:m3@x",
        "mail:m9@x",
    ]
    state = json.loads((folder / STATE_FILE).read_text())
    assert sorted(next(iter(state["sources"].values()))) == [
        "mail:m1@x",
        "mail:m2@x",
        "mail:m3@x",
        "mail:m9@x",
    ]

    emb.seen.clear()
    assert main(["index-email", "mail", "--path", str(box_path)], embedding=emb) == 0
    assert emb.seen == []  # nothing new: nothing embedded


def test_bad_source_leaves_index_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEANN_BASE_DIR", raising=False)
    export = tmp_path / "conversations.json"
    export.write_text(
        json.dumps(
            [
                {
                    "uuid": "c",
                    "name": "Hi",
                    "created_at": "2024-01-01T00:00:00Z",
                    "chat_messages": [
                        {
                            "uuid": "m",
                            "sender": "human",
                            "text": "hello there",
                            "created_at": "2024-01-01T00:00:00Z",
                        }
                    ],
                }
            ]
        )
    )
    emb = WordHashEmbedder()
    assert main(["index-claude", "chats", "--export-path", str(export)], embedding=emb) == 0
    engine = index_folder("chats") / "documents.leann"
    snapshot = {p.name: p.read_bytes() for p in engine.iterdir() if p.is_file()}
    state = (index_folder("chats") / STATE_FILE).read_bytes()
    capsys.readouterr()
    export.write_text('{"truncated": ')
    assert main(["index-claude", "chats", "--export-path", str(export)], embedding=emb) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "conversations.json: not valid JSON" in err[0] and "Claude export" in err[0]
    assert {p.name: p.read_bytes() for p in engine.iterdir() if p.is_file()} == snapshot
    assert (index_folder("chats") / STATE_FILE).read_bytes() == state
    assert main(["index-claude", "../bad", "--export-path", str(export)], embedding=emb) == 1
    assert "index name" in capsys.readouterr().err


def test_parser_has_the_issue_flags() -> None:
    p = build_parser()
    assert p.parse_args(["index-email", "n", "--path", "a", "--path", "b"]).path == ["a", "b"]
    a = p.parse_args(["index-browser", "n", "firefox", "--profile", "P"])
    assert (a.browser, a.profile) == ("firefox", "P")
    assert p.parse_args(["index-chatgpt", "n", "--export-path", "x.zip"]).export_path == "x.zip"
    assert p.parse_args(["index-wechat", "n", "--export-dir", "d"]).export_dir == "d"
    assert p.parse_args(["index-imessage", "n"]).db is None
    assert p.parse_args(["index-slack", "n", "--export-path", "s"]).source_command == "index-slack"
    with pytest.raises(SystemExit):
        p.parse_args(["index-browser", "n", "netscape"])
