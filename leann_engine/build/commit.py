"""The last arrow of every new generation: files written aside, then published under the lock.

A writer writes a generation's files into its own stage folder (``.stage-<pid>-<tag>``) without
holding the write lock, so readers and other writers go on meanwhile. The commit takes the lock,
checks that the index is still at the generation the work started from (optimistic; a changed
index raises :class:`GenerationChanged` and the caller retries or gives up), moves the staged
files to their generation names and publishes the manifest. A writer killed before the manifest
is replaced leaves the previous generation whole; the next commit removes its stage folder and
any file no manifest names.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from leann_engine._version import __version__
from leann_engine.errors import IndexFormatError, LeannError
from leann_engine.params import BuildParams
from leann_engine.store.io import crc_of, fsync_dir, gen_name, write_file
from leann_engine.store.lock import write_lock
from leann_engine.store.manifest import FORMAT, FORMAT_VERSION, MANIFEST, commit_manifest, read_manifest

STAGE_PREFIX = ".stage-"


class GenerationChanged(LeannError):
    """Another writer committed while this one prepared a generation from an older one."""


class Stage:
    """A private folder for the files of one generation in the making."""

    def __init__(self, path: Path) -> None:
        self.index_path = path
        self.dir = path / f"{STAGE_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.dir.mkdir()
        self.files: dict[str, str] = {}  # role -> extension of the staged file

    def write(self, role: str, ext: str, data: bytes) -> None:
        write_file(self.dir / f"{role}.{ext}", data)
        self.files[role] = ext

    def discard(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def remove_stale_stages(path: Path) -> None:
    """Remove the stage folders of writers that died (a live writer's folder is kept)."""
    for entry in path.glob(STAGE_PREFIX + "*"):
        with contextlib.suppress(ValueError, IndexError):
            pid = int(entry.name[len(STAGE_PREFIX) :].split("-")[0])
            if pid != os.getpid() and not _alive(pid):
                shutil.rmtree(entry, ignore_errors=True)


def read_previous(path: Path) -> dict[str, Any] | None:
    """The manifest of the index at ``path`` that a new build replaces (``None``: none or corrupt)."""
    if not (path / MANIFEST).exists():
        return None
    try:
        return read_manifest(path)
    except IndexFormatError:
        return None  # a corrupt index is replaced by the new build


def base_manifest(
    *,
    gen: int,
    previous: dict[str, Any] | None,
    params: BuildParams,
    embedding_model: str,
    dimension: int,
    rows: int,
    files: dict[str, str],
    checksums: dict[str, int],
    extra: dict[str, Any],
) -> dict[str, Any]:
    """The manifest of a generation with a fresh base segment and an empty delta."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    m: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "library": f"leann_engine {__version__}",
        "created_at": previous.get("created_at", now) if previous else now,
        "generation": gen,
        "backend_name": "hnsw",
        "embedding_model": embedding_model,
        "dimensions": dimension,
        "metric": params.metric,
        "is_recompute": params.is_recompute,
        "is_compact": params.is_compact,
        "build": params.manifest_build(),
        "base": {"rows": rows},
        "delta": {
            "data": gen_name("delta", gen, "jsonl"),
            "embeddings": gen_name("delta", gen, "f32"),
            "rows": 0,
            "data_bytes": 0,
            "data_crc": 0,
        },
        "files": files,
        "checksums": checksums,
        "counts": {"passages": rows, "base": rows, "delta": 0, "deleted": 0},
    }
    m.update(extra)
    if "embedding" not in extra and previous and previous.get("embedding"):
        # The provider and prompt templates (never a key) outlive a compaction.
        m["embedding"] = previous["embedding"]
    return m


def commit_stage(
    stage: Stage,
    *,
    expect: int | None,
    lock_timeout: float,
    make_manifest: Any,
    locked: bool = False,
) -> dict[str, Any]:
    """Publish ``stage`` as the next generation; ``make_manifest(gen, previous, files, checksums)``
    returns its manifest. ``expect``: the generation the work started from (``None``: replace
    whatever is there). The lock is held for the renames and the manifest only (``locked``: the
    caller holds it already)."""
    path = stage.index_path
    try:
        with contextlib.nullcontext() if locked else write_lock(path, lock_timeout):
            previous = read_previous(path)
            have = int(previous["generation"]) if previous else None
            if expect is not None and have != expect:
                raise GenerationChanged(
                    f"{path} moved from generation {expect} to {have} while a new one was prepared"
                )
            remove_stale_stages(path)
            gen = (have or 0) + 1
            files: dict[str, str] = {}
            for role, ext in stage.files.items():
                files[role] = gen_name("base", gen, ext)
                os.replace(stage.dir / f"{role}.{ext}", path / files[role])
            fsync_dir(path)
            checksums = {files[k]: crc_of(path / files[k]) for k in ("base_offsets", "base_ids") if k in files}
            manifest = make_manifest(gen, previous, files, checksums)
            commit_manifest(path, manifest, previous)
            return manifest
    finally:
        stage.discard()
