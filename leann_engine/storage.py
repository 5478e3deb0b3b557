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
import errno
import json
import os
import threading
import time
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .codec import decode_varints
from .errors import IndexFormatError, IndexLockedError, IndexNotFoundError

try:  # POSIX
    import fcntl

    def _try_lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

except ImportError:  # Windows: lock the first byte of the lock file instead
    import msvcrt

    def _try_lock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]


FORMAT = "leann-engine-index"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
# Names of the files an index folder's own generations and temporaries start with.
OWN_FILE_PREFIXES: tuple[str, ...] = (".", "base-", "delta-", "tomb-")
LOCK_FILE = ".write.lock"
# Stored embeddings (the delta segment, and the base when is_recompute=False): little-endian float32.
EMBEDDING_DTYPE = "<f4"


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_file(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file and flush it to disk (files are never rewritten in place)."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def atomic_write(path: Path, data: bytes) -> None:
    """Write aside, fsync, rename over ``path``: readers see the old or the new content, whole."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write_file(tmp, data)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def crc_of(path: Path) -> int:
    crc = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            crc = zlib.crc32(chunk, crc)
    return crc


def gen_name(kind: str, gen: int, ext: str) -> str:
    return f"{kind}-{gen:06d}.{ext}"


# --------------------------------------------------------------------------- manifest


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


# --------------------------------------------------------------------------- lock


@contextlib.contextmanager
def write_lock(path: Path, timeout: float = 60.0) -> Iterator[None]:
    """Hold the index's single-writer lock (an OS file lock, released if the process dies)."""
    fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                _try_lock(fd)
                break
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES, errno.EDEADLK) or time.monotonic() > deadline:
                    raise IndexLockedError(
                        f"{path} is being written by another process (lock {LOCK_FILE}); "
                        "wait for it to finish"
                    ) from e
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- passages


def encode_records(
    ids: Sequence[str], texts: Sequence[str], metas: Sequence[dict[str, Any]]
) -> tuple[bytes, np.ndarray]:
    """JSON lines of ``{id, text, metadata}`` and the byte offset of each line (plus the end)."""
    lines = [
        (json.dumps({"id": i, "text": t, "metadata": m}, ensure_ascii=False) + "\n").encode("utf-8")
        for i, t, m in zip(ids, texts, metas)
    ]
    offsets = np.zeros(len(lines) + 1, dtype=np.uint64)
    np.cumsum([len(x) for x in lines], out=offsets[1:])
    return b"".join(lines), offsets


def _parse_record(raw: bytes, where: str) -> dict[str, Any]:
    try:
        rec = json.loads(raw)
        rec["text"], rec["id"]  # noqa: B018 - a record without them is corrupt
    except (ValueError, TypeError, KeyError) as e:
        raise IndexFormatError(f"{where}: a passage record is corrupt ({e}); rebuild the index") from e
    return rec


if hasattr(os, "pread"):
    _read_at = os.pread
else:  # Windows has no pread: seek and read under a lock so threads do not interleave
    _seek_lock = threading.Lock()

    def _read_at(fd: int, size: int, offset: int) -> bytes:
        with _seek_lock:
            os.lseek(fd, offset, os.SEEK_SET)
            return os.read(fd, size)


class BaseSegment:
    """Passages covered by the graph; read one at a time through the offset table."""

    def __init__(self, path: Path, manifest: dict[str, Any]) -> None:
        base = manifest["base"]
        files = manifest["files"]
        self.n = int(base["rows"])
        self.data_path = path / files["base_data"]
        offsets_path = path / files["base_offsets"]
        ids_path = path / files["base_ids"]
        for p in (self.data_path, offsets_path, ids_path):
            if not p.exists():
                raise IndexFormatError(f"{p} is missing: the index is incomplete, rebuild it")
        checks = manifest.get("checksums", {})
        for p in (offsets_path, ids_path):
            want = checks.get(p.name)
            if want is not None and crc_of(p) != want:
                raise IndexFormatError(f"{p} is corrupt (checksum mismatch): rebuild the index")
        try:
            lengths = decode_varints(np.fromfile(offsets_path, dtype=np.uint8), self.n)
        except ValueError as e:
            raise IndexFormatError(
                f"{offsets_path} does not hold {self.n} record lengths ({e}): rebuild the index"
            ) from e
        self.offsets = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(lengths, out=self.offsets[1:])
        if os.path.getsize(self.data_path) != int(self.offsets[-1]):
            raise IndexFormatError(f"{self.data_path} is truncated or padded: rebuild the index")
        try:
            self.ids: list[str] = json.loads(ids_path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise IndexFormatError(f"{ids_path} is corrupt ({e}): rebuild the index") from e
        if not isinstance(self.ids, list) or len(self.ids) != self.n:
            raise IndexFormatError(f"{ids_path} does not list {self.n} ids: rebuild the index")
        self._fd = os.open(self.data_path, os.O_RDONLY | getattr(os, "O_BINARY", 0))

    def records(self, rows: Sequence[int]) -> list[dict[str, Any]]:
        out = []
        for r in rows:
            start, end = int(self.offsets[r]), int(self.offsets[r + 1])
            out.append(_parse_record(_read_at(self._fd, end - start, start), str(self.data_path)))
        return out

    def all_records(self) -> Iterator[dict[str, Any]]:
        with open(self.data_path, "rb") as f:
            for line in f:
                yield _parse_record(line, str(self.data_path))

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


class DeltaSegment:
    """Passages added since the last compaction, kept in memory with their embeddings.

    The delta files are append-only, so a segment opened after a commit reads only the bytes
    added since ``previous`` (the segment of the snapshot before) when it names the same files.
    """

    def __init__(
        self, path: Path, manifest: dict[str, Any], dim: int, previous: DeltaSegment | None = None
    ) -> None:
        delta = manifest["delta"]
        self.rows = int(delta["rows"])
        self.data_bytes = int(delta["data_bytes"])
        self.data_crc = int(delta.get("data_crc") or 0)
        self.data_path = path / delta["data"]
        self.emb_path = path / delta["embeddings"]
        self.records: list[dict[str, Any]] = []
        self.embeddings = np.zeros((0, dim), dtype=np.float32)
        if self.rows == 0:
            return
        for p in (self.data_path, self.emb_path):
            if not p.exists():
                raise IndexFormatError(f"{p} is missing: the index is incomplete, rebuild it")
        prev = previous
        if prev is not None and not (
            prev.data_path == self.data_path and prev.rows <= self.rows and prev.data_bytes <= self.data_bytes
        ):
            prev = None
        start_bytes, start_rows, crc = (prev.data_bytes, prev.rows, prev.data_crc) if prev else (0, 0, 0)
        with open(self.data_path, "rb") as f:
            f.seek(start_bytes)
            raw = f.read(self.data_bytes - start_bytes)
        if len(raw) != self.data_bytes - start_bytes or (raw and not raw.endswith(b"\n")):
            raise IndexFormatError(f"{self.data_path} is truncated: rebuild the index")
        if "data_crc" in delta and zlib.crc32(raw, crc) != self.data_crc:
            raise IndexFormatError(f"{self.data_path} is corrupt (checksum mismatch): rebuild the index")
        new = [_parse_record(line, str(self.data_path)) for line in raw.splitlines()]
        self.records = (prev.records if prev else []) + new
        if len(self.records) != self.rows:
            raise IndexFormatError(
                f"{self.data_path} holds {len(self.records)} rows, the manifest says {self.rows}"
            )
        need = (self.rows - start_rows) * dim * 4
        with open(self.emb_path, "rb") as f:
            f.seek(start_rows * dim * 4)
            buf = f.read(need)
        if len(buf) != need:
            raise IndexFormatError(f"{self.emb_path} is truncated: rebuild the index")
        added = np.frombuffer(buf, dtype=EMBEDDING_DTYPE).reshape(-1, dim)
        old = prev.embeddings if prev else np.zeros((0, dim), dtype=np.float32)
        self.embeddings = np.concatenate([old, added])


def read_tombstones(path: Path, manifest: dict[str, Any]) -> np.ndarray:
    name = manifest["files"].get("tombstones")
    if not name:
        return np.zeros(0, dtype=np.int64)
    p = path / name
    if not p.exists():
        raise IndexFormatError(f"{p} is missing: the index is incomplete")
    want = manifest.get("checksums", {}).get(name)
    if want is not None and crc_of(p) != want:
        raise IndexFormatError(f"{p} is corrupt (checksum mismatch): rebuild the index")
    return np.fromfile(p, dtype="<u8").astype(np.int64)


def read_base_embeddings(path: Path, manifest: dict[str, Any]) -> np.ndarray | None:
    name = manifest["files"].get("embeddings")
    if not name:
        return None
    p = path / name
    n, dim = int(manifest["base"]["rows"]), int(manifest["dimensions"])
    if not p.exists() or os.path.getsize(p) != n * dim * 4:
        raise IndexFormatError(
            f"{p} is missing or has the wrong size for {n}x{dim} float32: rebuild the index"
        )
    if n == 0:  # an empty file cannot be memory-mapped
        return np.zeros((0, dim), dtype=EMBEDDING_DTYPE)
    return np.memmap(p, dtype=EMBEDDING_DTYPE, mode="r", shape=(n, dim))
