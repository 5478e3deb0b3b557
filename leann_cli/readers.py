"""Find the documents under a folder and read each one into text sections.

A reader turns one file into :class:`Section` objects: a run of text, the line of the file's
extracted text it starts on, and metadata that applies to all of it (the page of a PDF, the slide
of a presentation, the fields of a JSON record). Chunks never cross a section, so a citation's
page or slide is always exact.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXTRA_HINT = 'pip install "leann-graph-index[ingest]"'

PROSE_TYPES = (".txt", ".md", ".markdown", ".rst", ".text", ".org", ".adoc", ".tex", ".csv", ".tsv")
HTML_TYPES = (".html", ".htm", ".xhtml")
# Source code chunked along its syntax tree (tree-sitter), by extension.
AST_LANGUAGES: dict[str, str] = {
    ".py": "python",
    ".pyi": "python",
    ".java": "java",
    ".cs": "csharp",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".js": "javascript",
    ".jsx": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
}
# Other code and configuration, chunked by lines.
LINE_LANGUAGES: dict[str, str] = {
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".hpp": "cpp",
    ".go": "go",
    ".rs": "rust",
    ".rb": "ruby",
    ".php": "php",
    ".swift": "swift",
    ".kt": "kotlin",
    ".scala": "scala",
    ".sh": "shell",
    ".bash": "shell",
    ".sql": "sql",
    ".r": "r",
    ".lua": "lua",
    ".pl": "perl",
    ".css": "css",
    ".scss": "scss",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".toml": "toml",
    ".ini": "ini",
    ".cfg": "ini",
    ".xml": "xml",
}
OFFICE_TYPES = (".pdf", ".docx", ".pptx")
JSON_TYPES = (".json", ".jsonl", ".ndjson")
DEFAULT_FILE_TYPES: tuple[str, ...] = tuple(
    sorted({*PROSE_TYPES, *HTML_TYPES, *AST_LANGUAGES, *LINE_LANGUAGES, *OFFICE_TYPES, *JSON_TYPES})
)
# Known binary formats are skipped without reading them.
BINARY_TYPES = frozenset(
    ".png .jpg .jpeg .gif .bmp .ico .webp .tif .tiff .mp3 .mp4 .wav .ogg .flac .avi .mov .mkv .zip .gz "
    ".tgz .bz2 .xz .7z .rar .tar .exe .dll .so .dylib .o .a .class .jar .pyc .pyo .whl .bin .dat .db "
    ".sqlite .npy .npz .pkl .pt .onnx .safetensors .woff .woff2 .ttf .otf .eot .iso .dmg .xls .xlsx "
    ".doc .ppt .odt .ods .odp".split()
)
_SNIFF = 8192
# Folders that are never documents, even when no .gitignore names them.
_ALWAYS_SKIP_DIRS = frozenset({".git", ".hg", ".svn", ".leann", "__pycache__", "node_modules", ".venv"})


class MissingExtraError(ImportError):
    """A reader needs an optional dependency that is not installed."""


@dataclass
class Section:
    """A run of a document's text; ``first_line`` is 1-based in the file's extracted text."""

    text: str
    first_line: int = 1
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class SkipCounts:
    """Files a scan passed over, by reason."""

    binary: int = 0
    unreadable: int = 0
    other_type: int = 0
    ignored: int = 0
    hidden: int = 0
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "binary": self.binary,
            "unreadable": self.unreadable,
            "other_type": self.other_type,
            "ignored": self.ignored,
            "hidden": self.hidden,
        }


def normalize_file_types(file_types: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...] | None:
    """``".md,.py"`` or ``["md", ".py"]`` -> ``(".md", ".py")``; ``None`` means every known type."""
    if file_types is None:
        return None
    items = file_types.split(",") if isinstance(file_types, str) else list(file_types)
    out = []
    for item in items:
        item = str(item).strip().lower()
        if not item:
            continue
        out.append(item if item.startswith(".") else f".{item}")
    if not out:
        raise ValueError("file_types is empty: give extensions like '.md,.py'")
    return tuple(sorted(set(out)))


def file_kind(suffix: str) -> str:
    suffix = suffix.lower()
    if suffix in AST_LANGUAGES or suffix in LINE_LANGUAGES:
        return "code"
    return "prose"


def language_of(suffix: str) -> str | None:
    suffix = suffix.lower()
    return AST_LANGUAGES.get(suffix) or LINE_LANGUAGES.get(suffix)


# ---------------------------------------------------------------------------- discovery


class _IgnoreRules:
    """The .gitignore files that apply to a folder, each matched relative to its own folder."""

    def __init__(self, specs: list[tuple[Path, Any]] | None = None) -> None:
        self.specs = specs or []

    def child(self, folder: Path) -> _IgnoreRules:
        spec = _load_gitignore(folder)
        return _IgnoreRules(self.specs + [(folder, spec)]) if spec is not None else self

    def ignored(self, path: Path, is_dir: bool) -> bool:
        for folder, spec in self.specs:
            try:
                rel = path.relative_to(folder).as_posix()
            except ValueError:
                continue
            if spec.match_file(rel + "/" if is_dir else rel):
                return True
        return False


def _load_gitignore(folder: Path) -> Any:
    f = folder / ".gitignore"
    if not f.is_file():
        return None
    try:
        import pathspec
    except ImportError as e:
        raise MissingExtraError(f"reading .gitignore needs pathspec: {EXTRA_HINT}") from e
    try:
        lines = f.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return pathspec.GitIgnoreSpec.from_lines(lines)


def _ancestor_rules(root: Path) -> _IgnoreRules:
    """The .gitignore files of the enclosing git work tree above ``root``, outermost first."""
    chain = []
    for folder in root.parents:
        chain.append(folder)
        if (folder / ".git").exists():
            break
    else:
        return _IgnoreRules()  # not inside a git work tree: only .gitignore files below root count
    rules = _IgnoreRules()
    for folder in reversed(chain):
        rules = rules.child(folder)
    return rules


def discover(
    paths: list[Path],
    file_types: tuple[str, ...] | None = None,
    *,
    include_hidden: bool = False,
    skips: SkipCounts | None = None,
) -> Iterator[Path]:
    """Yield the document files under ``paths`` (files or folders), sorted, each once.

    Hidden files and folders (a leading dot) and whatever a ``.gitignore`` names are skipped, as
    git would; files given by name are always taken. Known binary formats, files of other types
    and ignored files are counted in ``skips``.
    """
    skips = skips if skips is not None else SkipCounts()
    wanted = set(file_types or DEFAULT_FILE_TYPES)
    seen: set[Path] = set()

    def accept(path: Path) -> bool:
        suffix = path.suffix.lower()
        if suffix in BINARY_TYPES and suffix not in wanted:
            skips.binary += 1
            return False
        if suffix not in wanted:
            skips.other_type += 1
            return False
        return True

    for given in paths:
        root = Path(given).expanduser().resolve()
        if not root.exists():
            raise FileNotFoundError(f"--docs path {given} does not exist")
        if root.is_file():
            if root not in seen and accept(root):
                seen.add(root)
                yield root
            continue
        outer = _ancestor_rules(root)
        if outer.ignored(root, True):
            # The folder was named explicitly: the user wants it even if the repository ignores it.
            outer = _IgnoreRules()
        rules = outer.child(root)
        yield from _walk(root, rules, include_hidden, accept, skips, seen)


def _walk(
    folder: Path,
    rules: _IgnoreRules,
    include_hidden: bool,
    accept: Callable[[Path], bool],
    skips: SkipCounts,
    seen: set[Path],
) -> Iterator[Path]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as e:
        skips.unreadable += 1
        skips.errors.append(f"{folder}: {e.strerror or e}")
        return
    for entry in entries:
        path = Path(entry.path)
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
            is_file = entry.is_file()
        except OSError:
            skips.unreadable += 1
            continue
        if entry.name.startswith(".") and not include_hidden:
            if is_file:
                skips.hidden += 1
            continue
        if is_dir:
            if entry.name in _ALWAYS_SKIP_DIRS or rules.ignored(path, True):
                continue
            yield from _walk(path, rules.child(path), include_hidden, accept, skips, seen)
        elif is_file:
            if rules.ignored(path, False):
                skips.ignored += 1
                continue
            if path not in seen and accept(path):
                seen.add(path)
                yield path


# ---------------------------------------------------------------------------- readers


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
    try:
        from bs4 import BeautifulSoup
    except ImportError as e:
        raise MissingExtraError(f"reading {path.suffix} files needs beautifulsoup4: {EXTRA_HINT}") from e
    soup = BeautifulSoup(read_text_file(path), "html.parser")
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
    try:
        from pypdf import PdfReader
    except ImportError as e:
        raise MissingExtraError(f"reading .pdf files needs pypdf: {EXTRA_HINT}") from e
    reader = PdfReader(str(path))
    if reader.is_encrypted:
        try:
            reader.decrypt("")
        except Exception as e:
            raise ValueError(f"{path} is encrypted") from e
    return _paged([page.extract_text() or "" for page in reader.pages], "page")


def _read_docx(path: Path) -> list[Section]:
    try:
        import docx
    except ImportError as e:
        raise MissingExtraError(f"reading .docx files needs python-docx: {EXTRA_HINT}") from e
    document = docx.Document(str(path))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text.strip() for cell in row.cells))
    return [Section("\n".join(parts))]


def _read_pptx(path: Path) -> list[Section]:
    try:
        from pptx import Presentation
    except ImportError as e:
        raise MissingExtraError(f"reading .pptx files needs python-pptx: {EXTRA_HINT}") from e
    slides = []
    for slide in Presentation(str(path)).slides:
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
