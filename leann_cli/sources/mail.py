"""Mail: mbox (Thunderbird, Gmail Takeout, Apple Mail export), Maildir, ``.eml`` and Apple ``.emlx``.

One passage per mail (long bodies split): text = subject + trimmed plain body; metadata ``date``
(ISO UTC), ``from``, ``to``, ``cc``, ``subject``, ``message_id``, ``thread``, ``folder``,
``labels`` (Gmail's ``X-GM-LABELS``/``X-Gmail-Labels``) and Apple Mail ``flags``.
"""

from __future__ import annotations

import csv
import hashlib
import mailbox
import plistlib
import sys
from collections.abc import Iterator
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import Any

from .base import Item, SourceError, from_epoch, iso
from .chunk import split_text
from .mailtext import body_text

KIND = "mail"
BODY_CHARS = 1200
BODY_OVERLAP = 100
_PARSER = BytesParser(policy=policy.default)


def default_paths() -> list[Path]:
    """``~/Library/Mail`` on macOS; elsewhere there is no standard place, so ``--path`` is needed."""
    if sys.platform == "darwin":
        return [Path.home() / "Library" / "Mail"]
    return []


def _header(msg: Message, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:  # noqa: BLE001 - the stdlib's header parser fails in many ways on real mail
        # (e.g. ``Message-ID: <>`` raises IndexError deep in email._header_value_parser):
        # fall back to the header's raw text, which needs no parsing.
        wanted = name.lower()
        value = next((v for k, v in msg.raw_items() if k.lower() == wanted), "")
    return " ".join(str(value or "").split())


def _addresses(msg: Message, name: str) -> str:
    raw = _header(msg, name)
    if not raw:
        return ""
    pairs = getaddresses([raw])
    return ", ".join(f"{n} <{a}>" if n and a else (a or n) for n, a in pairs if n or a) or raw


def gmail_labels(msg: Message) -> list[str]:
    """Gmail Takeout labels: comma-separated CSV, quoted when a label holds a comma, maybe folded."""
    raw = _header(msg, "X-GM-LABELS") or _header(msg, "X-Gmail-Labels")
    if not raw:
        return []
    row = next(csv.reader([raw], skipinitialspace=True), [])
    return [lab.strip() for lab in row if lab.strip()]


def _date(msg: Message) -> str:
    raw = _header(msg, "Date")
    try:
        return iso(parsedate_to_datetime(raw)) if raw else ""
    except (TypeError, ValueError, IndexError):
        return ""


def mail_items(msg: Message, folder: str, extra: dict[str, Any] | None = None) -> list[Item]:
    """The passages of one parsed message."""
    subject = _header(msg, "Subject")
    message_id = _header(msg, "Message-ID").strip("<>")
    refs = (_header(msg, "References") or _header(msg, "In-Reply-To")).split()
    body = body_text(msg)
    meta: dict[str, Any] = {
        "source": KIND,
        "date": _date(msg),
        "from": _addresses(msg, "From"),
        "to": _addresses(msg, "To"),
        "cc": _addresses(msg, "Cc"),
        "subject": subject,
        "message_id": message_id,
        "thread": _header(msg, "X-GM-THRID") or (refs[0].strip("<>") if refs else message_id),
        "folder": folder,
    }
    labels = gmail_labels(msg)
    if labels:
        meta["labels"] = labels
    meta.update(extra or {})
    if not meta["date"] and extra and extra.get("date_received"):
        meta["date"] = extra["date_received"]
    meta["date_last"] = meta["date"]
    key = (
        message_id or hashlib.sha1(f"{meta['date']}\0{meta['from']}\0{subject}\0{body}".encode()).hexdigest()
    )
    pieces = split_text(body, BODY_CHARS, BODY_OVERLAP) or [""]
    head = f"Subject: {subject}\nFrom: {meta['from']}\n"
    return [
        Item(f"{KIND}:{key}" + (f"#{n}" if n else ""), head + piece, dict(meta, part=n))
        for n, piece in enumerate(pieces)
    ]


def parse_emlx(data: bytes, path: Path) -> tuple[Message, dict[str, Any]]:
    """An Apple Mail ``.emlx``: a byte-count line (maybe space-padded), the RFC 822 message, a plist."""
    first, _, rest = data.partition(b"\n")
    try:
        n = int(first.strip())
    except ValueError as e:
        raise SourceError(
            f"{path}: first line {first[:20]!r} is not a byte count; expected an Apple Mail .emlx"
        ) from e
    msg = _PARSER.parsebytes(rest[:n])
    extra: dict[str, Any] = {}
    tail = rest[n:].strip()
    if tail:
        try:
            plist = plistlib.loads(tail)
        except Exception:  # a damaged trailer only loses the flags
            plist = {}
        if isinstance(plist, dict):
            if "flags" in plist:
                extra["flags"] = int(plist["flags"])
            if plist.get("date-received"):
                extra["date_received"] = from_epoch(plist["date-received"])
    if path.name.endswith(".partial.emlx"):
        extra["partial"] = True  # attachments were left in Attachments/, not inside the file
    return msg, extra


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise SourceError(f"{path}: cannot be read ({e.strerror or e}); expected a mail file") from e


def _mbox_items(path: Path, folder: str) -> Iterator[Item]:
    head = _read_file_head(path)
    if head and not head.startswith(b"From "):
        raise SourceError(f"{path}: does not start with a 'From ' line; expected an mbox file")
    try:
        box = mailbox.mbox(path, factory=_PARSER.parse, create=False)
        for msg in box.itervalues():
            yield from mail_items(msg, folder)
    except (OSError, mailbox.Error) as e:
        raise SourceError(f"{path}: unreadable ({e}); expected an mbox file") from e


def _read_file_head(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(5)
    except OSError as e:
        raise SourceError(f"{path}: cannot be read ({e.strerror or e}); expected a mail file") from e


def _maildir_items(path: Path, folder: str) -> Iterator[Item]:
    box = mailbox.Maildir(path, factory=None, create=False)
    for key in sorted(box.iterkeys()):
        msg = _PARSER.parsebytes(box.get_bytes(key))
        yield from mail_items(msg, folder)


def _is_maildir(p: Path) -> bool:
    return (p / "cur").is_dir() and (p / "new").is_dir()


def _walk(root: Path, top: Path) -> Iterator[Item]:
    folder = str(root.relative_to(top)) if root != top else root.name
    if _is_maildir(root):
        yield from _maildir_items(root, folder)
    if (root / "mbox").is_file():  # Apple Mail "Export Mailbox…" package: NAME.mbox/mbox
        yield from _mbox_items(root / "mbox", root.stem)
    for child in sorted(root.iterdir()):
        if child.is_dir():
            if child.name in ("cur", "new", "tmp") and _is_maildir(root):
                continue
            yield from _walk(child, top)
        elif child.name.endswith(".emlx"):
            msg, extra = parse_emlx(_read_file(child), child)
            yield from mail_items(msg, _mail_folder(child, top), extra)
        elif child.suffix.lower() == ".eml":
            yield from mail_items(_PARSER.parsebytes(_read_file(child)), folder)
        elif child.suffix.lower() == ".mbox" and child.is_file():
            yield from _mbox_items(child, child.stem)


def _mail_folder(path: Path, top: Path) -> str:
    """Mail.app keeps ``<Mailbox>.mbox/<uuid>/Data/…/Messages/N.emlx``: name the ``.mbox`` folder."""
    for parent in path.parents:
        if parent.suffix == ".mbox":
            return parent.stem
        if parent == top:
            break
    return path.parent.parent.name if path.parent.name == "Messages" else path.parent.name


def read_mail(paths: list[Path]) -> Iterator[Item]:
    """Every mail under ``paths`` (files or folders), in a stable order."""
    if not paths:
        raise SourceError("no mail path given: pass --path (an mbox file, Maildir, or folder of .eml/.emlx)")
    for p in paths:
        p = Path(p).expanduser()
        if p.is_dir():
            yield from _walk(p, p)
        elif not p.exists():
            raise SourceError(f"{p}: not found; expected an mbox file, a Maildir or a folder of .eml/.emlx")
        elif p.name.endswith(".emlx"):
            msg, extra = parse_emlx(_read_file(p), p)
            yield from mail_items(msg, p.parent.name, extra)
        elif p.suffix.lower() == ".eml":
            yield from mail_items(_PARSER.parsebytes(_read_file(p)), p.parent.name)
        else:
            yield from _mbox_items(p, p.stem)
