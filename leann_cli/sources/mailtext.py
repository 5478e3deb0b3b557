"""Mail bodies as plain text: HTML converted, charsets decoded, quoted replies and signatures cut."""

from __future__ import annotations

import re
from email.message import EmailMessage, Message
from html import unescape
from html.parser import HTMLParser

_BLOCK = {
    "p",
    "div",
    "br",
    "tr",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "blockquote",
    "pre",
    "hr",
}
_SKIP = {"script", "style", "head", "title"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.quote = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif tag == "blockquote":
            self.quote += 1  # quoted replies in HTML mail live in <blockquote>
        if tag in _BLOCK:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP and self.skip:
            self.skip -= 1
        elif tag == "blockquote" and self.quote:
            self.quote -= 1
        if tag in _BLOCK:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip and not self.quote:
            self.out.append(data)


def html_to_text(html: str) -> str:
    """Visible text of an HTML body (no scripts, styles or ``<blockquote>`` quotes)."""
    p = _Text()
    try:
        p.feed(html)
        p.close()
        text = "".join(p.out)
    except Exception:  # malformed markup: fall back to stripping tags
        text = unescape(re.sub(r"<[^>]+>", " ", html))
    lines = [re.sub(r"[ \t\xa0]+", " ", ln).strip() for ln in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


_REPLY_HEAD = re.compile(
    r"^(On .{0,200}wrote:|Le .{0,200}a écrit ?:|Am .{0,200}schrieb .{0,100}:|-{2,} ?Original Message ?-{2,}"
    r"|-{5,} ?Forwarded message ?-{5,}|_{10,})\s*$",
    re.IGNORECASE,
)


def trim_reply(text: str) -> str:
    """Cut the quoted previous message and the signature: ``>`` lines, ``On … wrote:`` and what
    follows it, Outlook's ``-----Original Message-----``, and everything after a ``-- `` line."""
    lines = text.replace("\r\n", "\n").split("\n")
    out: list[str] = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        if line.rstrip("\r") in ("-- ", "--"):
            break
        # "On Mon, 1 Jan 2024, Alice <a@x> wrote:" is often wrapped over two lines.
        joined = stripped + (" " + lines[i + 1].strip() if i + 1 < len(lines) else "")
        if _REPLY_HEAD.match(stripped) or (
            stripped.startswith("On ") and joined.endswith("wrote:") and not stripped.endswith("wrote:")
        ):
            break
        if line.startswith(">From "):  # mbox escapes body lines starting "From "; not a quote
            line = line[1:]
        elif stripped.startswith(">"):
            continue
        out.append(line.rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()


def _decode(part: Message) -> str:
    try:
        content = part.get_content() if isinstance(part, EmailMessage) else None
        if isinstance(content, str):
            return content
    except (LookupError, UnicodeError, KeyError, ValueError, AssertionError):
        pass
    raw = part.get_payload(decode=True) or b""
    if not isinstance(raw, bytes):
        return str(raw)
    charset = part.get_content_charset() or "utf-8"
    try:
        return raw.decode(charset, errors="replace")
    except LookupError:  # an unknown charset name
        return raw.decode("utf-8", errors="replace")


def body_text(msg: Message) -> str:
    """The message's readable body: the text/plain part, else its HTML converted to text."""
    plain = html = None
    if isinstance(msg, EmailMessage):
        try:
            plain = msg.get_body(preferencelist=("plain",))
            html = msg.get_body(preferencelist=("html",))
        except (KeyError, ValueError):
            plain = html = None
    if plain is None and html is None:
        for part in msg.walk():
            if part.is_multipart() or part.get_content_disposition() == "attachment":
                continue
            ctype = part.get_content_type()
            if ctype == "text/plain" and plain is None:
                plain = part
            elif ctype == "text/html" and html is None:
                html = part
    if plain is not None:
        text = _decode(plain)
        if text.strip():
            return trim_reply(text)
    if html is not None:
        return trim_reply(html_to_text(_decode(html)))
    return ""
