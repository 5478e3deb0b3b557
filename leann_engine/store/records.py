"""Passage segments: the base (compressed blocks + table, or in indexes of format 1 JSON lines +
offset table; read a few passages at a time), the append-only delta with its embeddings,
tombstones and stored base embeddings."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from leann_engine.errors import IndexFormatError
from leann_engine.store.codec import decode_varints
from leann_engine.store.files.passages import PassageBlocks
from leann_engine.store.io import EMBEDDING_DTYPE, crc_of


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
        self.blocks: PassageBlocks | None = None
        if "base_table" in files:
            self._open_blocks(path / files["base_blocks"], path / files["base_table"])
            return
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
            self._ids: list[str] = json.loads(ids_path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise IndexFormatError(f"{ids_path} is corrupt ({e}): rebuild the index") from e
        if not isinstance(self._ids, list) or len(self._ids) != self.n:
            raise IndexFormatError(f"{ids_path} does not list {self.n} ids: rebuild the index")
        self._fd = os.open(self.data_path, os.O_RDONLY | getattr(os, "O_BINARY", 0))

    def _open_blocks(self, data_path: Path, table_path: Path) -> None:
        for p in (data_path, table_path):
            if not p.exists():
                raise IndexFormatError(f"{p} is missing: the index is incomplete, rebuild it")
        self.data_path = data_path
        self.blocks = PassageBlocks(table_path.read_bytes(), table_path, data_path, self.n)
        if os.path.getsize(data_path) != int(self.blocks.offsets[-1]):
            raise IndexFormatError(f"{data_path} is truncated or padded: rebuild the index")
        self._fd = os.open(data_path, os.O_RDONLY | getattr(os, "O_BINARY", 0))

    @property
    def ids(self) -> list[str]:
        """Every base id in row order (the block format decodes them on first use)."""
        return self.blocks.ids if self.blocks is not None else self._ids

    def id_of(self, rows: Sequence[int]) -> list[str]:
        """The ids of ``rows``, without decoding the others where the format allows."""
        if self.blocks is not None:
            return self.blocks.id_of(rows)
        return [self._ids[int(r)] for r in rows]

    def _block_lines(self, b: int) -> list[bytes]:
        assert self.blocks is not None
        start, end = int(self.blocks.offsets[b]), int(self.blocks.offsets[b + 1])
        return self.blocks.block(b, _read_at(self._fd, end - start, start))

    def records(self, rows: Sequence[int]) -> list[dict[str, Any]]:
        if self.blocks is not None:
            rows = [int(r) for r in rows]
            of = self.blocks.block_of(rows).tolist()
            starts = self.blocks.starts
            lines = {b: self._block_lines(b) for b in sorted(set(of))}
            return [self.blocks.parse(lines[b][r - int(starts[b])], r) for r, b in zip(rows, of)]
        out = []
        for r in rows:
            start, end = int(self.offsets[r]), int(self.offsets[r + 1])
            out.append(_parse_record(_read_at(self._fd, end - start, start), str(self.data_path)))
        return out

    def all_records(self) -> Iterator[dict[str, Any]]:
        if self.blocks is not None:
            for b in range(self.blocks.n_blocks):
                first = int(self.blocks.starts[b])
                for j, line in enumerate(self._block_lines(b)):
                    yield self.blocks.parse(line, first + j)
            return
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
