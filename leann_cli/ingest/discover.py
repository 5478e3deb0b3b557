"""Find the documents under the given paths: file types, .gitignore rules, hidden and binary files."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._extras import _require

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
# Folders that are never documents, even when no .gitignore names them.
_ALWAYS_SKIP_DIRS = frozenset({".git", ".hg", ".svn", ".leann", "__pycache__", "node_modules", ".venv"})


@dataclass
class SkipCounts:
    """Files a scan or a build passed over, by reason, and the errors of unreadable ones."""

    binary: int = 0
    unreadable: int = 0
    other_type: int = 0
    ignored: int = 0
    hidden: int = 0
    errors: list[str] = field(default_factory=list)

    def unreadable_file(self, path: Path, error: BaseException | str) -> None:
        """Count ``path`` as unreadable and keep why."""
        self.unreadable += 1
        if isinstance(error, OSError):
            error = error.strerror or str(error)
        self.errors.append(f"{path}: {error}")

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
    """``"code"`` for source and configuration files, ``"prose"`` for everything else."""
    suffix = suffix.lower()
    if suffix in AST_LANGUAGES or suffix in LINE_LANGUAGES:
        return "code"
    return "prose"


def language_of(suffix: str) -> str | None:
    suffix = suffix.lower()
    return AST_LANGUAGES.get(suffix) or LINE_LANGUAGES.get(suffix)


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
    pathspec = _require("pathspec", "ingest", "reading .gitignore")
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
        skips.unreadable_file(folder, e)
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
