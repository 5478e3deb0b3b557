"""Mail importer: mbox/Maildir through stdlib mailbox, byte-exact .emlx, charsets, trimming, real samples."""

from __future__ import annotations

import mailbox
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from sources_helpers import exports

from leann_cli.sources.base import SourceError
from leann_cli.sources.mail import read_mail
from leann_cli.sources.mailtext import html_to_text, trim_reply

UTC = timezone.utc


def _msg(
    subject: str,
    body: str,
    *,
    sender="Alice <alice@example.com>",
    mid="m1@example.com",
    when=None,
    html=None,
    **headers,
) -> EmailMessage:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "Bob <bob@example.com>"
    m["Cc"] = "Carol <carol@example.com>"
    m["Subject"] = subject
    m["Message-ID"] = f"<{mid}>"
    m["Date"] = format_datetime(when or datetime(2024, 3, 1, 9, 30, tzinfo=UTC))
    for k, v in headers.items():
        m[k.replace("_", "-")] = v
    if body:
        m.set_content(body)
    if html:
        if body:
            m.add_alternative(html, subtype="html")
        else:
            m.set_content(html, subtype="html")
    return m


def test_mbox_gmail_takeout_labels_and_metadata(tmp_path: Path) -> None:
    box = mailbox.mbox(tmp_path / "All mail Including Spam and Trash.mbox")
    m = _msg("Trip plans", "Flights are booked for Lisbon.\n", X_GM_THRID="1669160939957813740")
    m["X-Gmail-Labels"] = 'Archived,Important,"Trips, 2023",Category Updates'
    box.add(m)
    box.add(_msg("Second", "From the start of this line, mbox quotes it.\nOk.", mid="m2@example.com"))
    box.flush()
    items = list(read_mail([tmp_path / "All mail Including Spam and Trash.mbox"]))
    assert [i.id for i in items] == ["mail:m1@example.com", "mail:m2@example.com"]
    meta = items[0].metadata
    assert meta["labels"] == ["Archived", "Important", "Trips, 2023", "Category Updates"]
    assert meta["date"] == "2024-03-01T09:30:00Z" and meta["date_last"] == meta["date"]
    assert meta["from"] == "Alice <alice@example.com>" and meta["to"] == "Bob <bob@example.com>"
    assert meta["cc"] == "Carol <carol@example.com>" and meta["subject"] == "Trip plans"
    assert meta["thread"] == "1669160939957813740" and meta["folder"] == "All mail Including Spam and Trash"
    assert items[0].text.startswith("Subject: Trip plans\n") and "Lisbon" in items[0].text
    assert "From the start of this line" in items[1].text  # the >From quoting is undone


def test_maildir_and_eml_folder_with_threads(tmp_path: Path) -> None:
    (tmp_path / "mail").mkdir()
    md = mailbox.Maildir(tmp_path / "mail" / "Work", create=True)
    md.add(_msg("Budget", "Numbers attached.", mid="a@x"))
    md.add(_msg("Re: Budget", "Looks good.", mid="b@x", In_Reply_To="<a@x>", References="<a@x>"))
    (tmp_path / "mail" / "saved").mkdir()
    (tmp_path / "mail" / "saved" / "one.eml").write_bytes(bytes(_msg("Saved", "Kept as a file.", mid="c@x")))
    items = {i.id: i for i in read_mail([tmp_path / "mail"])}
    assert set(items) == {"mail:a@x", "mail:b@x", "mail:c@x"}
    assert items["mail:b@x"].metadata["thread"] == "a@x" and items["mail:a@x"].metadata["thread"] == "a@x"
    assert items["mail:a@x"].metadata["folder"] == "Work" and items["mail:c@x"].metadata["folder"] == "saved"


def test_emlx_byte_exact_with_plist_and_padding(tmp_path: Path) -> None:
    raw = bytes(_msg("Emlx subject", "Body of the emlx.\n", mid="e@x")).replace(b"\r\n", b"\n")
    plist = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" '
        b'"http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist version="1.0">\n<dict>\n'
        b"<key>date-received</key>\n<integer>1709285400</integer>\n<key>flags</key>\n<integer>8623489089</integer>\n"
        b"</dict>\n</plist>\n"
    )
    box = tmp_path / "Library" / "Mail" / "V10" / "INBOX.mbox" / "UUID" / "Data" / "Messages"
    box.mkdir(parents=True)
    (box / "12.emlx").write_bytes(f"{len(raw):<10}".encode() + b"\n" + raw + plist)
    (items,) = list(read_mail([tmp_path / "Library" / "Mail"]))
    assert items.metadata["flags"] == 8623489089 and items.metadata["folder"] == "INBOX"
    assert "Body of the emlx." in items.text and "plist" not in items.text
    (box / "13.emlx").write_bytes(b"not a number\n" + raw)
    with pytest.raises(SourceError, match=r"13\.emlx.*byte count"):
        list(read_mail([tmp_path / "Library" / "Mail"]))


def test_iso_2022_jp_and_html_only(tmp_path: Path) -> None:
    jp = EmailMessage()
    jp["Subject"] = "会議のお知らせ"
    jp["From"] = "taro@example.jp"
    jp["Message-ID"] = "<jp@x>"
    jp.set_content("明日の会議は十時からです。", charset="iso-2022-jp")
    assert b"ISO-2022-JP" in bytes(jp).upper() or b"iso-2022-jp" in bytes(jp)
    (tmp_path / "jp.eml").write_bytes(bytes(jp))
    html = "<html><style>p{}</style><body><p>Hello <b>team</b>,</p><p>Ship it&nbsp;today.</p><blockquote>old quoted text</blockquote></body></html>"
    (tmp_path / "h.eml").write_bytes(bytes(_msg("HTML", "", mid="h@x", html=html)))
    items = {i.id: i for i in read_mail([tmp_path])}
    assert (
        "明日の会議は十時からです。" in items["mail:jp@x"].text
        and items["mail:jp@x"].metadata["subject"] == "会議のお知らせ"
    )
    text = items["mail:h@x"].text
    assert (
        "Hello team" in text and "Ship it today." in text and "p{}" not in text and "old quoted" not in text
    )


def test_quotes_and_signature_trimmed() -> None:
    body = "Sounds good, see you then.\n\n-- \nAlice Example\nCEO\n"
    assert trim_reply(body) == "Sounds good, see you then."
    reply = "Yes.\n\nOn Mon, 1 Jan 2024 at 10:00, Bob <bob@example.com>\nwrote:\n> Can we meet?\n> Thanks"
    assert trim_reply(reply) == "Yes."
    outlook = "Fine by me.\n-----Original Message-----\nFrom: Bob\nSent: today\nold text"
    assert trim_reply(outlook) == "Fine by me."
    assert html_to_text("<div>a<br>b</div><script>x()</script>") == "a\nb"


def test_bad_input_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("just some text, not mail\n")
    with pytest.raises(SourceError, match=r"notes\.txt.*mbox"):
        list(read_mail([bad]))
    with pytest.raises(SourceError, match="not found"):
        list(read_mail([tmp_path / "missing.mbox"]))


def test_real_samples() -> None:
    items = list(read_mail([exports("mail")]))
    by_id = {i.id: i for i in items}
    # Apple Mail export package (INBOX.mbox/mbox, 6 messages), 2 mikez .emlx, 5 Mail.app files, 1 Thunderbird .eml
    assert len(by_id) == 14
    inbox = [i for i in items if i.metadata["folder"] == "INBOX"]
    assert len(inbox) == 6 and inbox[0].metadata["date"] == "2019-10-30T19:48:59Z"
    plain = by_id["mail:7A129E26-2C1F-4517-B6B5-39460ED50E12@example.com"]
    assert "You're welcome. :)" in plain.text and "Thank you!" not in plain.text  # quote trimmed
    assert plain.metadata["flags"] == 8623489089 and plain.metadata["date"] == "2020-02-06T13:39:55Z"
    jp = by_id["mail:1495614499.22327.jigyouka06@jsps.go.jp"]
    assert jp.metadata["subject"].startswith("【151委員会】") and "日本学術振興会" in jp.text
    assert jp.metadata["partial"] is True
    bug = by_id["mail:200806061706.m56H6RWT004933@mrapp54.mozilla.org"]
    assert bug.metadata["subject"].startswith("[Bug 436880] IMAP itemDeleted") and "bugzilla" in bug.text
    multi = by_id["mail:D9035B79-5B16-4857-9F9D-E27D49BE1C1B@philippkatz.de"]
    assert (
        "Lorem ipsum dolor sit amet" in multi.text and "<div" not in multi.text and "<html" not in multi.text
    )


def test_headers_the_stdlib_parser_chokes_on_are_read_raw(tmp_path: Path) -> None:
    # Real mail (the SpamAssassin corpus) has Message-IDs like "<>" and "<@host>", on which
    # email.policy.default raises IndexError from deep inside its header parser.
    box = mailbox.mbox(tmp_path / "spam.mbox")
    for mid, subject in ((b"<>", b"Empty id"), (b"<@relay.example>", b"No local part"), (b"< >", b"Blank")):
        box.add(
            b"From: Eve <eve@example.com>\nTo: you@example.com\nMessage-ID: " + mid
            + b"\nIn-Reply-To: " + mid + b"\nSubject: " + subject
            + b"\nDate: Thu, 22 Aug 2002 12:36:23 +0000\n\nCheap offers inside.\n"
        )
    box.flush()
    items = list(read_mail([tmp_path / "spam.mbox"]))
    assert [i.metadata["subject"] for i in items] == ["Empty id", "No local part", "Blank"]
    assert len({i.id for i in items}) == 3
    assert all("Cheap offers" in i.text for i in items)
