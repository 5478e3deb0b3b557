"""WeChat, iMessage and Slack importers: generated exports in the real formats, and the real samples."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sources_helpers import CHATDB_SCHEMA, cocoa_s, exports, make_db, typedstream

from leann_cli.sources.base import SourceError
from leann_cli.sources.chunk import chunk_messages
from leann_cli.sources.imessage import cocoa_time, decode_attributed_body, read_imessage
from leann_cli.sources.slack import read_slack
from leann_cli.sources.wechat import read_wechat

UTC = timezone.utc


# ---------------------------------------------------------------- WeChat


def test_wechat_json_per_contact(tmp_path: Path) -> None:
    logs = [
        {
            "content": "明天一起吃饭吗？",
            "createTime": 1700000000,
            "isSentFromSelf": False,
            "fromUser": "wxid_li",
            "toUser": "me",
            "svrId": 1,
        },
        {"content": "<img src='x'/>", "createTime": 1700000010, "isSentFromSelf": False, "svrId": 2},
        {"content": "好的", "createTime": 1700000020, "isSentFromSelf": True, "svrId": 3},
        {
            "content": {"title": "看这个链接", "quoted": "之前的话"},
            "createTime": 1700000030,
            "isSentFromSelf": True,
            "svrId": 4,
        },
        {"content": '"Li" recalled a message', "createTime": 1700000040, "isSentFromSelf": False, "svrId": 5},
    ]
    (tmp_path / "小李-wxid_li.json").write_text(json.dumps(logs, ensure_ascii=False), encoding="utf-8")
    group = [
        {
            "content": "wxid_wang:\n周末爬山",
            "createTime": 1700000100,
            "isSentFromSelf": False,
            "fromUser": "123@chatroom",
            "svrId": 9,
        }
    ]
    (tmp_path / "登山群-123@chatroom.json").write_text(
        json.dumps(group, ensure_ascii=False), encoding="utf-8"
    )
    msgs = list(read_wechat(tmp_path))
    assert [(m.sender, m.text) for m in msgs if m.conversation == "wxid_li"] == [
        ("小李", "明天一起吃饭吗？"),
        ("Me", "好的"),
        ("Me", "看这个链接\n之前的话"),
    ]
    (g,) = [m for m in msgs if m.conversation == "123@chatroom"]
    assert g.sender == "wxid_wang" and g.text == "周末爬山" and g.time == "2023-11-14T22:15:00Z"
    (tmp_path / "bad.json").write_text('{"user": 1}')
    with pytest.raises(SourceError, match=r"bad\.json: expected a list of chat logs"):
        read_wechat(tmp_path)


def test_wechat_real_memotrace_csv() -> None:
    msgs = list(read_wechat(exports("wechat", "memotrace-csv-snippet.csv")))
    # BOM header read, the Type 47 emoji row skipped, seconds converted
    assert [(m.sender, m.text, m.time) for m in msgs] == [
        ("21-新传-宋悦", "我通过了你的朋友验证请求，现在我们可以开始聊天了", "2021-08-13T14:11:18Z"),
        ("Me", "你好", "2021-08-13T14:11:26Z"),
    ]


# ---------------------------------------------------------------- iMessage


def _chat_db(path: Path) -> sqlite3.Connection:
    con = make_db(path, CHATDB_SCHEMA, wal=True)
    con.execute("INSERT INTO handle VALUES (1,'+15551234567','US','iMessage',NULL,NULL)")
    con.execute(
        "INSERT INTO chat (ROWID,guid,style,chat_identifier,service_name,display_name) VALUES (1,'iMessage;-;+15551234567',45,'+15551234567','iMessage','')"
    )
    return con


def _add(con, rowid, *, text=None, body=None, when, from_me=0, assoc=0):
    ns = int(cocoa_s(when) * 1e9)
    con.execute(
        "INSERT INTO message (ROWID,guid,text,handle_id,attributedBody,service,date,is_from_me,associated_message_type) "
        "VALUES (?,?,?,1,?,'iMessage',?,?,?)",
        (rowid, f"G{rowid}", text, body, ns, from_me, assoc),
    )
    con.execute("INSERT INTO chat_message_join VALUES (1,?,?)", (rowid, ns))


def test_imessage_attributed_body_and_nanoseconds(tmp_path: Path) -> None:
    db = tmp_path / "chat.db"
    con = _chat_db(db)
    t = datetime(2024, 2, 29, 20, 15, tzinfo=UTC)
    _add(con, 1, text="Dinner at 8?", when=t)
    _add(
        con,
        2,
        text=None,
        body=typedstream("Sure, see you at Luigi's 🍝"),
        when=t.replace(minute=16),
        from_me=1,
    )
    _add(con, 3, text=None, body=typedstream("x" * 300), when=t.replace(minute=17), from_me=1)  # 0x81 length
    _add(con, 4, text="Loved “Sure”", when=t.replace(minute=18), assoc=2000)  # a tapback
    con.commit()
    msgs = list(read_imessage(db))
    con.close()
    assert [(m.id, m.sender, m.text[:26]) for m in msgs] == [
        ("G1", "+15551234567", "Dinner at 8?"),
        ("G2", "Me", "Sure, see you at Luigi's 🍝"),
        ("G3", "Me", "x" * 26),
    ]
    assert msgs[1].time == "2024-02-29T20:16:00Z" and len(msgs[2].text) == 300
    (chunk, *_rest) = list(chunk_messages("imessage", msgs))
    assert (
        chunk.metadata["people"] == ["+15551234567", "Me"]
        and chunk.metadata["date"] == "2024-02-29T20:15:00Z"
    )


def test_imessage_epochs_and_bad_db(tmp_path: Path) -> None:
    assert cocoa_time(469908586) == "2015-11-22T18:09:46Z"  # seconds (macOS before 10.13)
    assert cocoa_time(469908586 * 10**9) == "2015-11-22T18:09:46Z"  # nanoseconds
    other = tmp_path / "chat.db"
    sqlite3.connect(other).executescript(
        "CREATE TABLE message (ROWID INTEGER PRIMARY KEY, text TEXT);"
    ).close()
    with pytest.raises(
        SourceError, match=r"chat\.db: no table handle, chat, chat_message_join; expected an iMessage"
    ):
        read_imessage(other)


def test_imessage_real_blobs_and_plaso_db(tmp_path: Path) -> None:
    for s in json.loads(exports("imessage", "attributedBody-samples.json").read_text()):
        got = decode_attributed_body(bytes.fromhex(s["hex"]))
        if s["expected_text"] is None:
            assert got is None, s["file"]
        elif s["file"] == "ExtraData":
            assert got.startswith(s["expected_text"])
        else:
            assert got == s["expected_text"], s["file"]
    for s in json.loads(exports("imessage", "attributedBody-plaso-pairs.json").read_text()):
        # plaso's published text column says "Open Office" where the blob kept "Microsoft Office" in two rows
        assert decode_attributed_body(bytes.fromhex(s["hex"])).replace("Microsoft", "Open") == s[
            "text_column"
        ].replace("Microsoft", "Open")
    db = tmp_path / "chat.db"
    con = sqlite3.connect(db)
    con.execute("PRAGMA synchronous=OFF")  # the dump inserts row by row; no fsync each
    con.executescript(exports("imessage", "plaso-imessage-chat.schema.sql").read_text())
    con.executescript(exports("imessage", "plaso-imessage-chat.data.sql").read_text())
    con.commit()
    con.close()
    msgs = list(read_imessage(db))
    assert (
        len(msgs) == 10 and msgs[0].time == "2015-11-22T18:09:46Z" and msgs[0].text.startswith("Hey Kenneth")
    )
    assert {m.sender for m in msgs} >= {"Me", "447775455555"}
    schema = tmp_path / "modern.db"
    con = sqlite3.connect(schema)
    con.executescript(exports("imessage", "chatdb-schema-macos-2025.sql").read_text())
    con.execute("INSERT INTO handle (ROWID,id,service) VALUES (1,'a@b.c','iMessage')")
    con.execute(
        "INSERT INTO message (ROWID,guid,attributedBody,handle_id,date) VALUES (1,'g',?,1,?)",
        (typedstream("hello modern"), int(cocoa_s(datetime(2025, 1, 1, tzinfo=UTC)) * 1e9)),
    )
    con.commit()
    con.close()
    (m,) = read_imessage(schema)
    assert m.text == "hello modern" and m.time == "2025-01-01T00:00:00Z" and m.sender == "a@b.c"


# ---------------------------------------------------------------- Slack


def test_slack_zip_threads_across_days(tmp_path: Path) -> None:
    files = {
        "channels.json": [{"id": "C1", "name": "general", "created": 1700000000}],
        "users.json": [
            {"id": "U1", "name": "ada", "real_name": "Ada L", "profile": {"display_name": "ada"}},
            {"id": "U2", "name": "bob", "profile": {"display_name": "", "real_name": "Bob K"}},
        ],
        "general/2024-01-10.json": [
            {
                "type": "message",
                "user": "U1",
                "text": "Release plan for <@U2>? See <https://x.org/p|the plan>",
                "ts": "1704880000.000100",
                "thread_ts": "1704880000.000100",
                "reply_count": 1,
            },
            {
                "type": "message",
                "subtype": "channel_join",
                "user": "U2",
                "text": "<@U2> has joined the channel",
                "ts": "1704880100.000200",
            },
            {
                "type": "message",
                "subtype": "bot_message",
                "text": "",
                "ts": "1704880200.000300",
                "username": "ci",
                "attachments": [{"fallback": "Build 42 passed", "text": "Build 42 passed"}],
            },
        ],
        "general/2024-01-11.json": [
            {
                "type": "message",
                "user": "U2",
                "text": "Looks good",
                "ts": "1704960000.000400",
                "thread_ts": "1704880000.000100",
            },
        ],
    }
    z = tmp_path / "Workspace Slack export.zip"
    with zipfile.ZipFile(z, "w") as f:
        for name, data in files.items():
            f.writestr("export/" + name, json.dumps(data))
    msgs = list(read_slack(z))
    assert [(m.sender, m.text) for m in msgs] == [
        ("ada", "Release plan for @Bob K? See the plan"),
        ("ci", "Build 42 passed"),
        ("Bob K", "Looks good"),
    ]
    chunks = list(chunk_messages("slack", msgs))
    thread = [c for c in chunks if c.metadata.get("thread_ts")]
    assert len(thread) == 1 and "Looks good" in thread[0].text and "Release plan" in thread[0].text
    assert thread[0].metadata["date_last"] == "2024-01-11T08:00:00Z"
    broken = tmp_path / "broken.zip"
    broken.write_bytes(z.read_bytes()[:-40])
    with pytest.raises(SourceError, match=r"broken\.zip: damaged or truncated zip.*Slack"):
        read_slack(broken)


def test_slack_real_exports() -> None:
    old = list(read_slack(exports("slack", "slack-export-viewer-2016")))
    assert not any("has joined the channel" in m.text for m in old)
    assert not any("<@U" in m.text for m in old)  # mentions resolved to names
    assert (
        sum(1 for m in old if "Build" in m.text or "travis" in m.text.lower() or "[" in m.text) > 10
    )  # bot content
    assert {m.context["channel"] for m in old} == {"enrique", "traveling-sailor"}
    new = list(read_slack(exports("slack", "slackdump-export-2025")))
    threads = {m.conversation for m in new if "thread_ts" in m.context}
    assert "B75B4C7/1736478630.905399" in threads
    replies = [m for m in new if m.conversation == "B75B4C7/1736478630.905399"]
    assert len({m.time[:10] for m in replies}) == 2  # parent on the 10th, replies filed on the 11th
    assert all(m.text for m in new)


def test_slack_real_bot_message_blocks() -> None:
    from leann_cli.sources.slack import message_text

    msg = json.loads(exports("slack", "slackdump-bot_message.json").read_text())
    text = message_text(msg, {})
    assert text.startswith("Some question?") and "*Poll title*" in text  # the poll lives in blocks[]
