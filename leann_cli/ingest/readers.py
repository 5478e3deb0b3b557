"""Read one document into text sections, with the reader for its extension.

A reader turns one file into :class:`Section` objects: a run of text, the line of the file's
extracted text it starts on, and metadata that applies to all of it (the page of a PDF, the slide
of a presentation, the fields of a JSON record). Chunks never cross a section, so a citation's
page or slide is always exact.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._extras import MissingExtraError, _require
from .discover import HTML_TYPES

__all__ = ["BinaryFileError", "MissingExtraError", "READERS", "Section", "read_document", "read_text_file"]

_SNIFF = 8192  # bytes looked at for NUL bytes before a file is taken as text


@dataclass
class Section:
    """A run of a document's text; ``first_line`` is 1-based in the file's extracted text."""

    text: str
    first_line: int = 1
    metadata: dict[str, Any] = field(default_factory=dict)


class BinaryFileError(ValueError):
    """The file's bytes are not text."""


def _decode(data: bytes, path: Path) -> str:
    if b"\0" in data[:_SNIFF]:
        raise BinaryFileError(f"{path} looks binary (NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Legacy 8-bit text; latin-1 maps every byte, so this never fails.
        return data.decode("latin-1")


def read_text_file(path: Path) -> str:
    return _decode(path.read_bytes(), path)


def _read_plain(path: Path) -> list[Section]:
    return [Section(read_text_file(path))]


def _read_html(path: Path) -> list[Section]:
    bs4 = _require("bs4", "ingest", f"reading {path.suffix} files")
    soup = bs4.BeautifulSoup(read_text_file(path), "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    title = soup.title.get_text(strip=True) if soup.title else ""
    lines = [line.strip() for line in soup.get_text("\n").splitlines()]
    text = "\n".join(line for line in lines if line)
    return [Section(text, 1, {"title": title} if title else {})]


def _paged(pages: list[str], key: str) -> list[Section]:
    """One section per page or slide; lines count through the whole extracted text."""
    out, line = [], 1
    for n, text in enumerate(pages, start=1):
        if text.strip():
            out.append(Section(text, line, {key: n}))
        line += text.count("\n") + 1
    return out


def _read_pdf(path: Path) -> list[Section]:
    pypdf = _require("pypdf", "ingest", "reading .pdf files")
    reader = pypdf.PdfReader(str(path))
    if reader.is_encrypted:
        try:
            reader.decrypt("")
        except Exception as e:
            raise ValueError(f"{path} is encrypted") from e
    return _paged([page.extract_text() or "" for page in reader.pages], "page")


def _read_docx(path: Path) -> list[Section]:
    docx = _require("docx", "ingest", "reading .docx files")
    document = docx.Document(str(path))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text.strip() for cell in row.cells))
    return [Section("\n".join(parts))]


def _read_pptx(path: Path) -> list[Section]:
    pptx = _require("pptx", "ingest", "reading .pptx files")
    slides = []
    for slide in pptx.Presentation(str(path)).slides:
        texts = []
        for shape in slide.shapes:
            if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
                texts.append(shape.text_frame.text)
            elif getattr(shape, "has_table", False) and shape.has_table:
                for row in shape.table.rows:
                    texts.append(" | ".join(cell.text for cell in row.cells))
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            texts.append(slide.notes_slide.notes_text_frame.text)
        slides.append("\n".join(t for t in texts if t.strip()))
    return _paged(slides, "slide")


_TEXT_FIELDS = ("text", "content", "body", "page_content")


def _record_section(record: Any, line: int) -> Section:
    """A JSON record: its text field when it has one (other scalar fields become metadata)."""
    if isinstance(record, dict):
        for key in _TEXT_FIELDS:
            if isinstance(record.get(key), str):
                meta = {
                    k: v
                    for k, v in record.items()
                    if k != key and isinstance(v, (str, int, float, bool)) and not k.startswith("_")
                }
                return Section(record[key], line, meta)
        text = "\n".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in record.items())
        return Section(text, line)
    return Section(json.dumps(record, ensure_ascii=False, indent=1), line)


def _read_jsonl(path: Path) -> list[Section]:
    out = []
    for n, line in enumerate(read_text_file(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path} line {n} is not JSON: {e.msg}") from e
        out.append(_record_section(record, n))
    return out


def _read_json(path: Path) -> list[Section]:
    text = read_text_file(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON: {e.msg} at line {e.lineno}") from e
    if isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
        return [_record_section(r, 1) for r in data]
    return [Section(json.dumps(data, ensure_ascii=False, indent=1))]


READERS: dict[str, Callable[[Path], list[Section]]] = {
    **dict.fromkeys(HTML_TYPES, _read_html),
    ".pdf": _read_pdf,
    ".docx": _read_docx,
    ".pptx": _read_pptx,
    ".json": _read_json,
    ".jsonl": _read_jsonl,
    ".ndjson": _read_jsonl,
}


def read_document(path: Path) -> list[Section]:
    """Read one file into sections with the reader for its extension (plain text otherwise)."""
    return READERS.get(path.suffix.lower(), _read_plain)(path)
