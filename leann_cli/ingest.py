"""Documents on disk -> chunks with metadata -> an index, rebuilt incrementally by file hash.

``build_from_docs`` reads every document under the given paths, chunks it (sentence-aware
prose chunks, syntax-tree chunks for code) and writes the index. Run again, it compares each
file's size, modification time and SHA-256 with what the last build recorded (``sources.json``
beside the engine folder) and touches only what changed: new and changed files are re-embedded
(a changed file's chunk ids are reused, so its old chunks are replaced), deleted files' chunks are
deleted, and unchanged files are not read again. Changing the chunking or the model rebuilds all.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from leann_engine.chunking import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE

from .chunk_code import DEFAULT_CODE_CHUNK_SIZE, Chunk, chunk_code, chunk_lines, chunk_prose
from .config import ENGINE_DIR, SOURCES_FILE
from .readers import (
    AST_LANGUAGES,
    BinaryFileError,
    MissingExtraError,
    SkipCounts,
    discover,
    file_kind,
    language_of,
    normalize_file_types,
    read_document,
)

SOURCES_VERSION = 1
_HASH_BLOCK = 1 << 20


@dataclass
class BuildOptions:
    """How documents become chunks and chunks become an index (recorded for the next build)."""

    chunk_size: int = DEFAULT_CHUNK_SIZE
    chunk_overlap: int = DEFAULT_CHUNK_OVERLAP
    code_chunk_size: int = DEFAULT_CODE_CHUNK_SIZE
    file_types: tuple[str, ...] | None = None
    include_hidden: bool = False
    embedding_model: str | None = None
    graph_degree: int = 32
    build_complexity: int = 200
    is_recompute: bool = True

    def __post_init__(self) -> None:
        self.file_types = normalize_file_types(self.file_types)
        for name in ("chunk_size", "code_chunk_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 16:
                raise ValueError(f"{name} must be an integer >= 16, got {value!r}")
        if not isinstance(self.chunk_overlap, int) or not 0 <= self.chunk_overlap < self.chunk_size:
            raise ValueError(
                f"chunk_overlap must be an integer in [0, chunk_size={self.chunk_size}), got {self.chunk_overlap!r}"
            )

    def chunking_key(self) -> dict[str, Any]:
        """What decides the chunks and their vectors: a change here means a full rebuild."""
        return {
            "chunk_size": self.chunk_size,
            "chunk_overlap": self.chunk_overlap,
            "code_chunk_size": self.code_chunk_size,
            "embedding_model": self.embedding_model,
        }


@dataclass
class BuildReport:
    """What a build did."""

    index_path: str = ""
    full_rebuild: bool = False
    files_new: int = 0
    files_changed: int = 0
    files_removed: int = 0
    files_unchanged: int = 0
    chunks_embedded: int = 0
    chunks_removed: int = 0
    chunks_total: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def files_indexed(self) -> int:
        return self.files_new + self.files_changed

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        s = self.skipped
        skipped = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in s.items() if v) or "none"
        kind = "full build" if self.full_rebuild else "update"
        return (
            f"{kind}: {self.files_new} new, {self.files_changed} changed, {self.files_removed} removed, "
            f"{self.files_unchanged} unchanged files; {self.chunks_embedded} chunks embedded, "
            f"{self.chunks_removed} removed, {self.chunks_total} in the index; skipped: {skipped}; "
            f"{self.seconds:.1f} s"
        )


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_HASH_BLOCK):
            h.update(block)
    return h.hexdigest()


def source_name(path: Path, base: Path) -> str:
    """How a file is named in metadata and ids: relative to the project folder when inside it."""
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()


def chunk_document(path: Path, source: str, options: BuildOptions) -> list[tuple[str, dict[str, Any]]]:
    """Read and chunk one file: ``(text, metadata)`` pairs in file order."""
    suffix = path.suffix.lower()
    kind = file_kind(suffix)
    language = language_of(suffix)
    out: list[tuple[str, dict[str, Any]]] = []
    for section in read_document(path):
        chunks: list[Chunk]
        if kind == "code" and suffix in AST_LANGUAGES:
            try:
                chunks = chunk_code(section.text, AST_LANGUAGES[suffix], options.code_chunk_size)
            except MissingExtraError:
                chunks = chunk_lines(section.text, options.code_chunk_size)
        elif kind == "code":
            chunks = chunk_lines(section.text, options.code_chunk_size)
        else:
            chunks = chunk_prose(section.text, options.chunk_size, options.chunk_overlap)
        for c in chunks:
            meta: dict[str, Any] = dict(section.metadata)
            meta.update(
                source=source,
                file_type=suffix or "none",
                start_line=section.first_line + c.start_line - 1,
                end_line=section.first_line + c.end_line - 1,
            )
            if language:
                meta["language"] = language
            out.append((c.text, meta))
    return out


def _chunk_id(source: str, i: int) -> str:
    return f"{source}#{i}"


def _read_sources(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / SOURCES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if data.get("version") == SOURCES_VERSION else None


def _write_sources(folder: Path, data: dict[str, Any]) -> None:
    tmp = folder / f".{SOURCES_FILE}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, folder / SOURCES_FILE)


def stored_options(folder: Path) -> dict[str, Any] | None:
    """The options and docs roots the last build of the index at ``folder`` used."""
    data = _read_sources(folder)
    return None if data is None else {"options": data.get("options", {}), "docs": data.get("docs", [])}


def build_from_docs(
    index_folder: str | Path,
    docs: list[str | Path],
    options: BuildOptions | None = None,
    *,
    force: bool = False,
    embedding: Any = None,
    base: str | Path | None = None,
    show_progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> BuildReport:
    """Build or update the index in ``index_folder`` from the documents under ``docs``.

    Args:
        index_folder: the index's folder (``.leann/indexes/NAME``); the engine index is
            ``documents.leann`` inside it, the build record ``sources.json`` beside it.
        docs: files and folders to index.
        options: chunking, file types and graph options (:class:`BuildOptions`).
        force: rebuild everything even when nothing changed.
        embedding: an embedder object to use instead of ``options.embedding_model`` (tests).
        base: the folder source paths are relative to (default: the current one).
        show_progress: progress bars on stderr.
        log: called with warnings (unreadable files); default: ignored, they are in the report.
    """
    from leann_engine import LeannBuilder, LeannIndex
    from leann_engine.embedding import DEFAULT_MODEL

    t0 = time.perf_counter()
    options = options or BuildOptions()
    if options.embedding_model is None and embedding is None:
        options.embedding_model = os.environ.get("LEANN_EMBEDDING_MODEL", DEFAULT_MODEL)
    if embedding is not None and options.embedding_model is None:
        options.embedding_model = str(getattr(embedding, "name", "custom"))
    folder = Path(index_folder)
    engine = folder / ENGINE_DIR
    base_path = Path(base).resolve() if base is not None else Path.cwd().resolve()
    if not docs:
        raise ValueError("docs is empty: give at least one file or folder to index")
    roots = [Path(d).expanduser().resolve() for d in docs]
    report = BuildReport(index_path=str(engine))
    skips = SkipCounts()
    files = list(discover(roots, options.file_types, include_hidden=options.include_hidden, skips=skips))

    previous = _read_sources(folder) if (engine / "manifest.json").exists() else None
    full = (
        force
        or previous is None
        or previous.get("options", {}).get("chunking") != options.chunking_key()
        or bool(previous.get("options", {}).get("is_recompute", True)) != options.is_recompute
    )
    old_files: dict[str, Any] = {} if full or previous is None else previous.get("files", {})

    # Decide per file: unchanged (size + mtime, or same hash), changed, or new.
    record: dict[str, Any] = {}
    to_index: list[tuple[Path, str, str]] = []
    for path in files:
        source = source_name(path, base_path)
        try:
            st = path.stat()
        except OSError as e:
            skips.unreadable += 1
            skips.errors.append(f"{path}: {e.strerror or e}")
            continue
        old = old_files.get(source)
        if old and old.get("size") == st.st_size and old.get("mtime_ns") == st.st_mtime_ns:
            record[source] = old
            continue
        try:
            digest = file_sha256(path)
        except OSError as e:
            skips.unreadable += 1
            skips.errors.append(f"{path}: {e.strerror or e}")
            continue
        if old and old.get("sha256") == digest:
            record[source] = dict(old, size=st.st_size, mtime_ns=st.st_mtime_ns)
            continue
        to_index.append((path, source, digest))
        record[source] = {"sha256": digest, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "chunks": 0}

    # Read and chunk what is new or changed.
    texts: list[str] = []
    metas: list[dict[str, Any]] = []
    ids: list[str] = []
    bar = _bar(len(to_index), "reading", show_progress)
    for path, source, _digest in to_index:
        try:
            pieces = chunk_document(path, source, options)
        except BinaryFileError:
            skips.binary += 1
            record.pop(source)
            continue
        except (MissingExtraError, OSError, ValueError, UnicodeError, KeyError) as e:
            skips.unreadable += 1
            skips.errors.append(f"{path}: {e}")
            record.pop(source)
            continue
        except Exception as e:  # a corrupt PDF/Office file raises whatever its library raises
            skips.unreadable += 1
            skips.errors.append(f"{path}: {type(e).__name__}: {e}")
            record.pop(source)
            continue
        finally:
            if bar is not None:
                bar.update(1)
        record[source]["chunks"] = len(pieces)
        if source in old_files:
            report.files_changed += 1
        else:
            report.files_new += 1
        for i, (text, meta) in enumerate(pieces):
            texts.append(text)
            metas.append(meta)
            ids.append(_chunk_id(source, i))
    if bar is not None:
        bar.close()

    report.skipped = skips.to_dict()
    report.warnings = list(skips.errors)
    if log is not None:
        for w in skips.errors:
            log(f"skipped unreadable: {w}")

    # Ids that must go: every chunk of a removed file, and the tail of a file that shrank.
    stale: list[str] = []
    for source, old in old_files.items():
        new = record.get(source)
        if new is None:
            report.files_removed += 1
            stale.extend(_chunk_id(source, i) for i in range(int(old.get("chunks", 0))))
        elif new is not old and new.get("sha256") != old.get("sha256"):
            stale.extend(_chunk_id(source, i) for i in range(int(new["chunks"]), int(old.get("chunks", 0))))
    report.files_unchanged = len(record) - report.files_indexed
    build_kwargs = {
        "graph_degree": options.graph_degree,
        "build_complexity": options.build_complexity,
        "is_recompute": options.is_recompute,
    }

    if full:
        if not texts:
            raise ValueError(
                "no documents to index under " + ", ".join(str(r) for r in roots) + _skip_hint(report.skipped)
            )
        report.full_rebuild = True
        builder = LeannBuilder(
            embedding_model=embedding if embedding is not None else options.embedding_model,
            show_progress=show_progress,
            **build_kwargs,
        )
        builder.add_texts(texts, metas, ids)
        folder.mkdir(parents=True, exist_ok=True)
        builder.build_index(engine)
        report.chunks_embedded = len(texts)
    elif texts or stale:
        index = LeannIndex(engine, embedding, show_progress=show_progress)
        try:
            if texts:
                index.add_texts(texts, metas, ids)
                report.chunks_embedded = len(texts)
            if stale:
                report.chunks_removed = index.delete(stale)
        finally:
            index.close()
    if full or texts or stale or previous is None or previous.get("files") != record:
        _write_sources(
            folder,
            {
                "version": SOURCES_VERSION,
                "docs": [str(r) for r in roots],
                "base": str(base_path),
                "options": {
                    "chunking": options.chunking_key(),
                    "file_types": list(options.file_types) if options.file_types else None,
                    "include_hidden": options.include_hidden,
                    "graph_degree": options.graph_degree,
                    "build_complexity": options.build_complexity,
                    "is_recompute": options.is_recompute,
                },
                "files": record,
            },
        )
    report.chunks_total = _count(engine)
    report.seconds = time.perf_counter() - t0
    return report


def _skip_hint(skipped: dict[str, int]) -> str:
    parts = [f"{v} {k.replace('_', ' ')}" for k, v in skipped.items() if v]
    return f" (skipped: {', '.join(parts)})" if parts else ""


def _count(engine: Path) -> int:
    try:
        manifest = json.loads((engine / "manifest.json").read_text(encoding="utf-8"))
        return int(manifest["counts"]["passages"])
    except (OSError, ValueError, KeyError):
        return 0


def _bar(total: int, desc: str, show: bool) -> Any:
    if not show or total < 2:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="file", file=sys.stderr)
