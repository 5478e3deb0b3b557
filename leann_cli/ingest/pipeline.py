"""Documents on disk -> chunks with metadata -> an index, rebuilt incrementally by file hash.

``build_from_docs`` is three steps. :func:`plan_changes` compares each file's size, modification
time and SHA-256 with what the last build recorded (``sources.json``) and sorts the files into
unchanged, changed and new, and the chunks that must go. :func:`read_and_chunk` reads and chunks
the new and changed files (sentence-aware prose chunks, syntax-tree chunks for code).
:func:`apply_to_index` builds the index from scratch, or adds and deletes only those chunks (a
changed file's chunk ids are reused, so its old chunks are replaced). Changing the chunking, the
model or stored-vs-recomputed embeddings rebuilds everything.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from leann_engine import DEFAULT_MODEL, LeannBuilder, LeannIndex, index_info

from ..indexes import ENGINE_DIR, is_index
from ..settings import BuildOptions
from .chunk import Chunk, chunk_code, chunk_lines, chunk_prose
from .discover import AST_LANGUAGES, SkipCounts, discover, file_kind, language_of
from .language import auto_model_allowed, language_default
from .readers import BinaryFileError, MissingExtraError, read_document
from .sources import SourcesRecord, file_sha256, read_sources, write_sources


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


def source_name(path: Path, base: Path) -> str:
    """How a file is named in metadata and ids: relative to the project folder when inside it."""
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()


def chunk_id(source: str, i: int) -> str:
    return f"{source}#{i}"


def _chunks_of(section_text: str, suffix: str, options: BuildOptions) -> list[Chunk]:
    if file_kind(suffix) != "code":
        return chunk_prose(section_text, options.chunk_size, options.chunk_overlap)
    if suffix in AST_LANGUAGES:
        try:
            return chunk_code(section_text, AST_LANGUAGES[suffix], options.code_chunk_size)
        except MissingExtraError:
            pass  # no grammar installed: lines are still fine chunks
    return chunk_lines(section_text, options.code_chunk_size)


def chunk_document(path: Path, source: str, options: BuildOptions) -> list[tuple[str, dict[str, Any]]]:
    """Read and chunk one file: ``(text, metadata)`` pairs in file order."""
    suffix = path.suffix.lower()
    language = language_of(suffix)
    out: list[tuple[str, dict[str, Any]]] = []
    for section in read_document(path):
        for c in _chunks_of(section.text, suffix, options):
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


@dataclass
class Plan:
    """What a build will do: the files to (re)read, the record of every file, chunks to delete."""

    full: bool
    to_index: list[tuple[Path, str]] = field(default_factory=list)
    record: dict[str, dict[str, Any]] = field(default_factory=dict)
    old_files: dict[str, dict[str, Any]] = field(default_factory=dict)

    def stale_ids(self) -> tuple[list[str], int]:
        """Ids that must go (every chunk of a removed file, and the tail of a file that shrank), and
        the number of removed files."""
        stale: list[str] = []
        removed = 0
        for source, old in self.old_files.items():
            new = self.record.get(source)
            if new is None:
                removed += 1
                stale.extend(chunk_id(source, i) for i in range(int(old.get("chunks", 0))))
            elif new is not old and new.get("sha256") != old.get("sha256"):
                stale.extend(chunk_id(source, i) for i in range(int(new["chunks"]), int(old.get("chunks", 0))))
        return stale, removed


def needs_full_rebuild(previous: SourcesRecord | None, options: BuildOptions, force: bool = False) -> bool:
    """True unless the last build's chunks and vectors can be kept: same chunking, model and
    stored-or-recomputed embeddings (an unreadable record also means a full rebuild)."""
    if force or previous is None:
        return True
    try:
        return BuildOptions.resolve(previous.options).rebuild_key() != options.rebuild_key()
    except ValueError:
        return True


def plan_changes(
    files: list[Path],
    base: Path,
    previous: SourcesRecord | None,
    options: BuildOptions,
    skips: SkipCounts,
    *,
    force: bool = False,
) -> Plan:
    """Sort ``files`` into unchanged (same size and mtime, or same hash), changed and new."""
    full = needs_full_rebuild(previous, options, force)
    plan = Plan(full=full, old_files={} if full or previous is None else previous.files)
    for path in files:
        source = source_name(path, base)
        try:
            st = path.stat()
            old = plan.old_files.get(source)
            if old and old.get("size") == st.st_size and old.get("mtime_ns") == st.st_mtime_ns:
                plan.record[source] = old
                continue
            digest = file_sha256(path)
        except OSError as e:
            skips.unreadable_file(path, e)
            continue
        if old and old.get("sha256") == digest:
            plan.record[source] = dict(old, size=st.st_size, mtime_ns=st.st_mtime_ns)
            continue
        plan.to_index.append((path, source))
        plan.record[source] = {"sha256": digest, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "chunks": 0}
    return plan


@dataclass
class Chunks:
    """The chunks to embed, as the engine's ``add_texts`` takes them."""

    texts: list[str] = field(default_factory=list)
    metas: list[dict[str, Any]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)


Progress = Callable[[str, int, int], None]


def read_and_chunk(
    plan: Plan,
    options: BuildOptions,
    skips: SkipCounts,
    report: BuildReport,
    show_progress: bool = False,
    progress: Progress | None = None,
) -> Chunks:
    """Read and chunk the plan's new and changed files; files that fail are skipped and counted.
    ``progress("reading", files_done, files_total)`` follows each file."""
    out = Chunks()
    bar = _bar(len(plan.to_index), "reading", show_progress)
    total = len(plan.to_index)
    for done, (path, source) in enumerate(plan.to_index, start=1):
        if progress is not None:
            progress("reading", done - 1, total)
        try:
            pieces = chunk_document(path, source, options)
        except BinaryFileError:
            skips.binary += 1
            plan.record.pop(source)
            continue
        except Exception as e:  # a corrupt PDF/Office file raises whatever its library raises
            known = isinstance(e, (MissingExtraError, OSError, ValueError, UnicodeError, KeyError))
            skips.unreadable_file(path, str(e) if known else f"{type(e).__name__}: {e}")
            plan.record.pop(source)
            continue
        finally:
            if bar is not None:
                bar.update(1)
        plan.record[source]["chunks"] = len(pieces)
        if source in plan.old_files:
            report.files_changed += 1
        else:
            report.files_new += 1
        for i, (text, meta) in enumerate(pieces):
            out.texts.append(text)
            out.metas.append(meta)
            out.ids.append(chunk_id(source, i))
    if bar is not None:
        bar.close()
    if progress is not None:
        progress("reading", total, total)
    return out


def apply_to_index(
    engine: Path,
    chunks: Chunks,
    stale: list[str],
    options: BuildOptions,
    report: BuildReport,
    *,
    full: bool,
    embedding: Any = None,
    show_progress: bool = False,
    api_key: str | None = None,
    sharding: dict[str, Any] | None = None,
) -> None:
    """Write a new index from ``chunks`` (``full``, sharded per ``sharding``), or add them and
    delete ``stale`` in place."""
    if full:
        report.full_rebuild = True
        builder = LeannBuilder(
            embedding_model=embedding if embedding is not None else options.embedding_model,
            embedding_mode="sentence-transformers" if embedding is not None else options.embedding_mode,
            embedding_options=options.embedding_options(api_key),
            show_progress=show_progress,
            num_shards=(sharding or {}).get("num_shards", 1),
            **options.engine_options(),
        )
        builder.add_texts(chunks.texts, chunks.metas, chunks.ids)
        engine.parent.mkdir(parents=True, exist_ok=True)
        shard_opts = {k: v for k, v in (sharding or {}).items() if k != "num_shards"}
        builder.build_index(engine, **shard_opts)
        report.chunks_embedded = len(chunks.texts)
        return
    if not chunks.texts and not stale:
        return
    runtime = {"api_key": api_key} if api_key else None
    index = LeannIndex(engine, embedding, show_progress=show_progress, embedding_options=runtime)
    try:
        if chunks.texts:
            index.add_texts(chunks.texts, chunks.metas, chunks.ids)
            report.chunks_embedded = len(chunks.texts)
        if stale:
            report.chunks_removed = index.delete(stale)
    finally:
        index.close()


# The model a provider build uses when --embedding-model is not given.
PROVIDER_DEFAULT_MODELS = {"openai": "text-embedding-3-small", "ollama": "nomic-embed-text"}


def _resolve_model(options: BuildOptions, embedding: Any) -> tuple[BuildOptions, bool]:
    """The options with the model filled in, and whether the build may still pick the model
    by the documents' language (:func:`~.language.language_default`)."""
    auto = auto_model_allowed(options, embedding)
    if options.embedding_model is not None:
        return options, auto
    if embedding is not None:
        return replace(options, embedding_model=str(getattr(embedding, "name", "custom"))), auto
    if options.embedding_mode in PROVIDER_DEFAULT_MODELS:
        return replace(options, embedding_model=PROVIDER_DEFAULT_MODELS[options.embedding_mode]), auto
    return replace(options, embedding_model=os.environ.get("LEANN_EMBEDDING_MODEL", DEFAULT_MODEL)), auto


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
    progress: Progress | None = None,
    api_key: str | None = None,
    sharding: dict[str, Any] | None = None,
) -> BuildReport:
    """Build or update the index in ``index_folder`` from the documents under ``docs``.

    Args:
        index_folder: the index's folder (``.leann/indexes/NAME``); the engine index is
            ``documents.leann`` inside it, the build record ``sources.json`` beside it.
        docs: files and folders to index.
        options: chunking, file types and graph options (:class:`BuildOptions`); to keep those of
            the last build, pass ``BuildOptions.resolve(read_sources(folder).options, changes)``.
        force: rebuild everything even when nothing changed.
        embedding: an embedder object to use instead of ``options.embedding_model`` (tests).
        base: the folder source paths are relative to (default: the current one).
        show_progress: progress bars on stderr.
        log: called with warnings (unreadable files); default: ignored, they are in the report.
        progress: called as ``progress(stage, done, total)``: ``"reading"`` with files read of
            those to read, then ``"embedding"`` with chunks embedded and written (0 of n before,
            n of n after).
        api_key: the OpenAI-compatible server's key for this run (default ``OPENAI_API_KEY``);
            never written to the index or ``sources.json``.
        sharding: a sharded full build: ``num_shards``, ``executor``, ``ray_address``.
    """
    t0 = time.perf_counter()
    if not docs:
        raise ValueError("docs is empty: give at least one file or folder to index")
    options, auto = _resolve_model(options or BuildOptions(), embedding)
    folder = Path(index_folder)
    engine = folder / ENGINE_DIR
    base_path = Path(base).resolve() if base is not None else Path.cwd().resolve()
    roots = [Path(d).expanduser().resolve() for d in docs]
    report = BuildReport(index_path=str(engine))
    skips = SkipCounts()
    files = list(discover(roots, options.file_types, include_hidden=options.include_hidden, skips=skips))
    previous = read_sources(folder) if is_index(engine) else None

    plan = plan_changes(files, base_path, previous, options, skips, force=force)
    chunks = read_and_chunk(plan, options, skips, report, show_progress, progress)
    report.skipped = skips.to_dict()
    report.warnings = list(skips.errors)
    if log is not None:
        for w in skips.errors:
            log(f"skipped unreadable: {w}")
    stale, report.files_removed = plan.stale_ids()
    report.files_unchanged = len(plan.record) - report.files_indexed
    if plan.full and not chunks.texts:
        raise ValueError(
            "no documents to index under " + ", ".join(str(r) for r in roots) + _skip_hint(report.skipped)
        )
    options, embedding = language_default(options, embedding, auto and plan.full and chunks.texts, report, log)
    if sharding is None and plan.full and previous is not None:
        sharding = _kept_sharding(engine)
    if progress is not None:
        progress("embedding", 0, len(chunks.texts))
    apply_to_index(
        engine, chunks, stale, options, report, full=plan.full, embedding=embedding,
        show_progress=show_progress, api_key=api_key, sharding=sharding,
    )
    if progress is not None:
        progress("embedding", len(chunks.texts), len(chunks.texts))
    record = SourcesRecord([str(r) for r in roots], str(base_path), options.to_record(), plan.record)
    if plan.full or chunks.texts or stale or previous is None or previous.to_json() != record.to_json():
        write_sources(folder, record)
    report.chunks_total = int(index_info(engine).passages)
    report.seconds = time.perf_counter() - t0
    return report


def _kept_sharding(engine: Path) -> dict[str, Any] | None:
    """A rebuild without --shards keeps the shard count the index has (local processes)."""
    try:
        count = index_info(engine).shards
    except (OSError, ValueError):  # IndexNotFoundError, IndexFormatError: nothing to keep
        return None
    return {"num_shards": count} if count > 1 else None


def _skip_hint(skipped: dict[str, int]) -> str:
    parts = [f"{v} {k.replace('_', ' ')}" for k, v in skipped.items() if v]
    return f" (skipped: {', '.join(parts)})" if parts else ""


def _bar(total: int, desc: str, show: bool) -> Any:
    if not show or total < 2:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="file", file=sys.stderr)
