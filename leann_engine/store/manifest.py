"""The index folder: manifest, atomic commits, passage segments, tombstones, the write lock.

An index is a folder. ``manifest.json`` is the commit point: it names the files of the current
generation, with sizes and checksums. A writer writes new files beside the old ones, fsyncs them,
then replaces the manifest with ``os.replace``; a process killed at any moment leaves either the
old or the new manifest, and every file the surviving manifest names is complete. Files of older
generations are removed after the commit, keeping the previous generation for readers that
opened it a moment before.

Passages live in two segments. The *base* segment (written by a build or a compaction) holds the
passages the graph covers, as JSON lines with a byte-offset table, so one passage is read by id
without loading the others. The *delta* segment holds passages added since, with their
embeddings, in append-only files whose committed length is in the manifest (bytes past it are
an interrupted write and are cut off by the next writer). Deleted or replaced rows are
tombstones until the next compaction.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

from leann_engine.errors import IndexFormatError, IndexNotFoundError
from leann_engine.store.io import atomic_write, fault_point
from leann_engine.store.lock import LOCK_FILE

FORMAT = "leann-engine-index"


# 2: passages in compressed blocks (base_blocks + base_table), 4-bit codes. Format 1 indexes
# (base_data + base_offsets + base_ids) still open, and a compaction rewrites them as 2.
# 3: a base may have no graph file (a scan of its codes finds the candidates), and 4-bit
# codebooks are stored as int8 with a scale per subspace (codes file version 3). Formats 1 and 2
# still open.
FORMAT_VERSION = 3


MANIFEST = "manifest.json"


# Names of the files an index folder's own generations and temporaries start with.
OWN_FILE_PREFIXES: tuple[str, ...] = (".", "base-", "delta-", "tomb-")


def check_index_dir(path: Path) -> Path:
    leann_meta = path.with_name(path.name + ".meta.json")
    if not path.exists() and leann_meta.exists():
        raise IndexFormatError(
            f"{path} is an index written by LEANN ({leann_meta.name}); its files differ from "
            "leann_engine's: rebuild it with leann_engine.LeannBuilder from the same documents"
        )
    if not path.exists():
        raise IndexNotFoundError(
            f"no index at {path}: build one first with LeannBuilder(...).build_index({str(path)!r})"
        )
    if not path.is_dir():
        raise IndexFormatError(f"{path} is a file, not a leann_engine index folder")
    return path


def read_manifest(path: Path) -> dict[str, Any]:
    """Read and validate ``path/manifest.json``."""
    check_index_dir(path)
    mf = path / MANIFEST
    if not mf.exists():
        raise IndexNotFoundError(
            f"{path} holds no {MANIFEST}: it is not a leann_engine index, or its first build "
            "never finished; build it again"
        )
    try:
        data = json.loads(mf.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise IndexFormatError(f"{mf} is not valid JSON ({e}): the index is corrupt, rebuild it") from e
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise IndexFormatError(
            f"{mf} is not a leann_engine manifest (format={data.get('format') if isinstance(data, dict) else None!r}); "
            "was this index written by another tool (such as LEANN itself)? Rebuild it with leann_engine"
        )
    version = data.get("format_version")
    if not isinstance(version, int):
        raise IndexFormatError(f"{mf} has no integer format_version: the index is corrupt")
    if version > FORMAT_VERSION:
        raise IndexFormatError(
            f"{path} uses index format {version}, newer than this leann_engine reads "
            f"({FORMAT_VERSION}): upgrade the package"
        )
    for key in ("generation", "embedding_model", "dimensions", "metric", "files", "base", "delta"):
        if key not in data:
            raise IndexFormatError(f"{mf} lacks {key!r}: the index is corrupt, rebuild it")
    return data


def manifest_stamp(path: Path) -> tuple[int, int] | None:
    """A cheap change marker (mtime, inode) of the manifest, for readers to notice commits."""
    try:
        st = os.stat(path / MANIFEST)
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_ino)


def commit_manifest(path: Path, manifest: dict[str, Any], previous: dict[str, Any] | None) -> None:
    """Atomically publish ``manifest`` and remove files no live generation needs."""
    fault_point("commit", path)
    manifest["updated_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    previous_files = set(referenced_files(previous))
    keep = set(referenced_files(manifest)) | previous_files
    manifest["previous_files"] = sorted(previous_files)
    atomic_write(path / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())
    for entry in path.iterdir():
        name = entry.name
        if name in keep or name in (MANIFEST, LOCK_FILE) or not entry.is_file():
            continue
        # Only our own generation files and temporaries: never touch a user's stray file.
        if name.startswith(OWN_FILE_PREFIXES):
            with contextlib.suppress(OSError):
                entry.unlink()


def referenced_files(manifest: dict[str, Any] | None) -> list[str]:
    if not manifest:
        return []
    names = [v for v in manifest["files"].values() if isinstance(v, str)]
    names += [manifest["delta"]["data"], manifest["delta"]["embeddings"]]
    return names
