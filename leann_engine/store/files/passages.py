"""Passages compressed in blocks (format 2 of the base segment's text).

Two files:

* the blocks file: the zstandard dictionary trained on this index's records (it is part of
  the text's cost, so it lives with the text), then blocks of records, each block one
  zstandard frame, so a read decompresses one small block; a record is the JSON array
  ``[text, metadata]`` on its own line (metadata keys repeat, the dictionary interns them);
* the table file, on the shared frame (magic ``LEANNPT1``): the CRC-32 of the dictionary, each
  block's byte offset, CRC-32 (a damaged block is named in the error) and first row, and the ids.

A build writes blocks of ``BLOCK_ROWS`` records; a merge (:mod:`.passage_merge`) copies the
untouched blocks as they are, so blocks vary in size and table version 2 lists each block's
first row (version 1 tables, all blocks of ``block_rows``, still open).

Ids cost what they must: ids that are canonical non-negative integers (the builder's default
ids are the passages' insertion positions) take ``bits`` bits each, the bit length of the
largest; ids that are all UUIDs take 16 bytes each; any others are a compressed JSON list.
"""

from __future__ import annotations

import io
import json
import struct
import uuid
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import zstandard

from leann_engine.errors import IndexFormatError
from leann_engine.store.framing import frame, unframe

MAGIC = b"LEANNPT1"
VERSION = 2
BLOCK_ROWS = 32
_LEVEL = 19
_INT_KINDS = ("positions", "ints")  # the same packing; "positions": a permutation of 0..n-1
_DICT_BYTES = 16384


def _pack_bits(vals: np.ndarray, bits: int) -> bytes:
    v = np.asarray(vals, dtype=np.uint64)
    # Blocks of 8 values end on a byte boundary, so the packed blocks join; the scratch per
    # block stays small at a million ids.
    step = 8 * 16384
    out = []
    for s in range(0, max(v.size, 1), step):
        part = v[s : s + step]
        bitmat = ((part[:, None] >> np.arange(bits, dtype=np.uint64)[None, :]) & np.uint64(1)).astype(np.uint8)
        out.append(np.packbits(bitmat.ravel()).tobytes())
    return b"".join(out)


def _unpack_bits(data: bytes, n: int, bits: int) -> np.ndarray:
    flat = np.unpackbits(np.frombuffer(data, dtype=np.uint8))[: n * bits].reshape(n, bits)
    return (flat.astype(np.int64) << np.arange(bits, dtype=np.int64)[None, :]).sum(axis=1)


def int_ids(ids: Sequence[str]) -> np.ndarray | None:
    """``ids`` as integers when all are canonical non-negative integers ("0", "17"; not "007")."""
    try:
        vals = [int(i) if i.isascii() and i.isdigit() and (i == "0" or i[0] != "0") else -1 for i in ids]
        arr = np.array(vals, dtype=np.int64)
    except (ValueError, OverflowError):
        return None
    return arr if arr.size and int(arr.min()) >= 0 else None


def pack_ints(vals: np.ndarray) -> tuple[dict[str, Any], bytes]:
    """The integer id form of ``vals`` (non-negative, below 2**62)."""
    n = int(vals.size)
    kind = "positions" if (np.sort(vals) == np.arange(n)).all() else "ints"
    bits = max(1, int(vals.max()).bit_length())
    return {"ids": kind, "bits": bits}, _pack_bits(vals, bits)


def encode_ids(ids: Sequence[str], level: int = _LEVEL) -> tuple[dict[str, Any], bytes]:
    """``(header, body)`` of the smallest form the ids allow (``level``: a JSON list's zstd level)."""
    n = len(ids)
    as_int = int_ids(ids)
    if as_int is not None and int(as_int.max()) < 2**62:
        return pack_ints(as_int)
    for kind, fmt in (("uuid", str), ("uuid_hex", lambda u: u.hex)):
        try:
            parsed = [uuid.UUID(i) for i in ids]
        except ValueError:
            break
        if n and all(fmt(u) == i for u, i in zip(parsed, ids)):
            return {"ids": kind}, b"".join(u.bytes for u in parsed)
    return json_ids(ids, level)


def json_ids(ids: Sequence[str], level: int = _LEVEL) -> tuple[dict[str, Any], bytes]:
    """The JSON id form: the list, zstd-compressed at ``level``."""
    raw = json.dumps(list(ids), ensure_ascii=False).encode()
    return {"ids": "json"}, zstandard.ZstdCompressor(level=level).compress(raw)


def decode_ids(head: dict[str, Any], body: bytes, n: int) -> list[str]:
    kind = head.get("ids")
    if kind in _INT_KINDS:
        return [str(v) for v in _unpack_bits(body, n, int(head["bits"])).tolist()]
    if kind in ("uuid", "uuid_hex"):
        if len(body) != 16 * n:
            raise ValueError("the UUID list has the wrong size")
        us = [uuid.UUID(bytes=body[16 * i : 16 * i + 16]) for i in range(n)]
        return [str(u) if kind == "uuid" else u.hex for u in us]
    if kind == "json":
        ids = json.loads(zstandard.ZstdDecompressor().decompress(body))
        if not isinstance(ids, list) or len(ids) != n:
            raise ValueError(f"the id list does not hold {n} ids")
        return [str(i) for i in ids]
    raise ValueError(f"unknown id form {kind!r}")


def record_line(text: str, meta: dict[str, Any]) -> bytes:
    """One passage as stored in a block: the JSON array ``[text, metadata]`` and a newline."""
    return (json.dumps([text, meta], ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def train_dict(sample: Sequence[bytes]) -> bytes:
    """The zstandard dictionary for records like ``sample`` (empty when too few to learn from)."""
    if len(sample) < 64:
        return b""
    try:
        size = max(1024, min(_DICT_BYTES, sum(len(r) for r in sample) // 16))
        return zstandard.train_dictionary(size, list(sample)).as_bytes()
    except zstandard.ZstdError:
        return b""  # too little text to learn from: plain blocks


class PassageWriter:
    """Writes the blocks file as records stream in (row order); :meth:`finish` gives the table.

    ``dict_data`` comes from :func:`train_dict` on all records or, for a large corpus, on an
    even sample of them; ``dict_rows`` is how many passages the index had when it was trained
    (a merge retrains once the index has doubled since).
    """

    def __init__(self, out: BinaryIO, dict_data: bytes, dict_rows: int | None = None) -> None:
        self.out, self.dict_data, self.dict_rows = out, dict_data, dict_rows
        zdict = zstandard.ZstdCompressionDict(dict_data) if dict_data else None
        self._comp = zstandard.ZstdCompressor(
            level=_LEVEL, dict_data=zdict, write_checksum=False, write_content_size=True
        )
        out.write(dict_data)
        self.offsets, self.crcs, self.starts = [len(dict_data)], [], [0]
        self._pending: list[bytes] = []
        self.n = 0

    def add(self, records: Sequence[bytes]) -> None:
        """Append records; they fill blocks of ``BLOCK_ROWS``."""
        self._pending.extend(records)
        self.n += len(records)
        while len(self._pending) >= BLOCK_ROWS:
            self._flush(self._pending[:BLOCK_ROWS])
            del self._pending[:BLOCK_ROWS]

    def add_block(self, records: Sequence[bytes]) -> None:
        """Append ``records`` as one block of their own (after any pending records' block)."""
        self.flush()
        if records:
            self._flush(list(records))
            self.n += len(records)

    def copy_blocks(self, raw: bytes, sizes: Sequence[int], crcs: Sequence[int], rows: Sequence[int]) -> None:
        """Append blocks compressed with this writer's dictionary, as they are: ``raw`` holds
        them back to back, ``sizes``, ``crcs`` and ``rows`` describe each."""
        self.flush()
        self.out.write(raw)
        self.offsets.extend((self.offsets[-1] + np.cumsum(sizes, dtype=np.int64)).tolist())
        self.crcs.extend(int(c) for c in crcs)
        self.starts.extend((self.starts[-1] + np.cumsum(rows, dtype=np.int64)).tolist())
        self.n += int(np.sum(rows, dtype=np.int64))

    def flush(self) -> None:
        """End the pending records' block, short as it may be."""
        if self._pending:
            self._flush(self._pending)
            self._pending = []

    def _flush(self, recs: list[bytes]) -> None:
        blk = self._comp.compress(b"".join(recs))
        self.out.write(blk)
        self.offsets.append(self.offsets[-1] + len(blk))
        self.crcs.append(zlib.crc32(blk))
        self.starts.append(self.starts[-1] + len(recs))

    def finish(self, ids: Sequence[str] | None, id_form: tuple[dict[str, Any], bytes] | None = None) -> bytes:
        """Write the last block; the table file's bytes for ``ids`` (one per record, row order),
        or for ids already encoded by :func:`encode_ids` (``id_form``)."""
        self.flush()
        if id_form is None:
            if ids is None or len(ids) != self.n:
                raise ValueError(f"{0 if ids is None else len(ids)} ids for {self.n} passages")
            id_form = encode_ids(ids)
        if self.n >= 2**32:
            raise ValueError(f"{self.n} passages: a passage table holds fewer than 2**32")
        id_head, id_body = id_form
        header = {
            "n": self.n,
            "blocks": len(self.crcs),
            "block_rows": BLOCK_ROWS,
            "dict": len(self.dict_data),
            "dict_crc": zlib.crc32(self.dict_data),
            "dict_rows": self.n if self.dict_rows is None else int(self.dict_rows),
            "id_bytes": len(id_body),
            **id_head,
        }
        parts = [
            np.asarray(self.offsets, "<u8").tobytes(),
            np.asarray(self.crcs, "<u4").tobytes(),
            np.asarray(self.starts[:-1], "<u4").tobytes(),
            id_body,
        ]
        return frame(MAGIC, VERSION, header, parts)


def encode_passages(
    ids: Sequence[str], texts: Sequence[str], metas: Sequence[dict[str, Any]]
) -> tuple[bytes, bytes]:
    """``(blocks file, table file)`` for the passages in row order."""
    recs = [record_line(t, m) for t, m in zip(texts, metas)]
    buf = io.BytesIO()
    writer = PassageWriter(buf, train_dict(recs))
    writer.add(recs)
    table = writer.finish(ids)
    return buf.getvalue(), table


class PassageBlocks:
    """Reader of the blocks file through its table: one block read and decompressed per lookup."""

    def __init__(
        self, table: bytes, table_path: Path, data_path: Path, n: int, head_bytes: bytes | None = None
    ) -> None:
        """``head_bytes``: the start of the blocks file (at least the dictionary); read when omitted."""
        head, body = unframe(table, table_path, MAGIC, VERSION, "leann_engine passage table")
        self.data_path = data_path
        try:
            if int(head["n"]) != n:
                raise ValueError(f"lists {head['n']} passages, the manifest {n}")
            self.block_rows = int(head["block_rows"])  # a build's block size
            version = struct.unpack_from("<I", table, 8)[0]
            n_blocks = int(head["blocks"]) if version >= 2 else -(-n // self.block_rows)
            d = int(head["dict"])
            self.dict_rows = int(head.get("dict_rows", n))
            o = 8 * (n_blocks + 1)
            c = o + 4 * n_blocks
            s = c + 4 * n_blocks if version >= 2 else c
            if len(body) != s + int(head["id_bytes"]):
                raise ValueError("the table's size does not match its header")
            self.offsets = np.frombuffer(body[:o], "<u8").astype(np.int64)
            self.crcs = np.frombuffer(body[o:c], "<u4")
            if version >= 2:
                starts = np.frombuffer(body[c:s], "<u4").astype(np.int64)
            else:
                starts = np.arange(0, n, self.block_rows, dtype=np.int64)
            self.starts = np.append(starts, n)  # block b holds rows starts[b] .. starts[b + 1] - 1
            if n_blocks and (starts[0] != 0 or (np.diff(self.starts) <= 0).any()):
                raise ValueError("the blocks' first rows are out of order")
            self._id_head, self._id_body, self.n = head, bytes(body[s:]), n
            self._ids: list[str] | None = None
            kind = head.get("ids")
            if kind in _INT_KINDS and len(self._id_body) * 8 < n * int(head["bits"]):
                raise ValueError("the integer ids are truncated")
            if kind in ("uuid", "uuid_hex") and len(self._id_body) != 16 * n:
                raise ValueError("the UUID list has the wrong size")
            if kind not in (*_INT_KINDS, "uuid", "uuid_hex"):
                self._ids = decode_ids(head, self._id_body, n)  # small forms: decoded now
        except (ValueError, KeyError, TypeError, struct.error, zstandard.ZstdError) as e:
            raise IndexFormatError(f"{table_path} is corrupt ({e}): rebuild the index") from e
        if head_bytes is None:
            with open(data_path, "rb") as f:
                head_bytes = f.read(d)
        self.dict_data = bytes(head_bytes[:d])
        if len(self.dict_data) != d or zlib.crc32(self.dict_data) != int(head.get("dict_crc", 0)):
            raise IndexFormatError(
                f"{data_path} is corrupt: its dictionary fails its checksum; rebuild the index"
            )
        zdict = zstandard.ZstdCompressionDict(self.dict_data) if d else None
        self._dctx = zstandard.ZstdDecompressor(dict_data=zdict)

    @property
    def n_blocks(self) -> int:
        return int(self.crcs.size)

    def block_of(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """The block that holds each of ``rows``."""
        return np.searchsorted(self.starts, np.asarray(rows, dtype=np.int64), side="right") - 1

    def block(self, b: int, raw: bytes) -> list[bytes]:
        """The records of block ``b`` from its compressed bytes; damage raises IndexFormatError."""
        first, end = int(self.starts[b]), int(self.starts[b + 1])
        if len(raw) != self.offsets[b + 1] - self.offsets[b] or zlib.crc32(raw) != int(self.crcs[b]):
            raise IndexFormatError(
                f"{self.data_path} is corrupt: block {b} (passages {first}..{end - 1}) fails its "
                "checksum; rebuild the index"
            )
        try:
            lines = self._dctx.decompress(raw).splitlines()
        except zstandard.ZstdError as e:
            raise IndexFormatError(f"{self.data_path} is corrupt: block {b} ({e}); rebuild the index") from e
        if len(lines) != end - first:
            raise IndexFormatError(
                f"{self.data_path} is corrupt: block {b} holds {len(lines)} passages, its table says "
                f"{end - first}; rebuild the index"
            )
        return lines

    def parse(self, line: bytes, row: int) -> dict[str, Any]:
        try:
            text, meta = json.loads(line)
            if not isinstance(text, str) or not isinstance(meta, dict):
                raise ValueError("a record is not [text, metadata]")
        except (ValueError, TypeError) as e:
            raise IndexFormatError(
                f"{self.data_path}: passage {row} is corrupt ({e}); rebuild the index"
            ) from e
        return {"id": self.id_of([row])[0], "text": text, "metadata": meta}

    @property
    def ids(self) -> list[str]:
        """Every id in row order (decoded on first use: a million take ~70 MB as strings)."""
        if self._ids is None:
            self._ids = decode_ids(self._id_head, self._id_body, self.n)
        return self._ids

    def stored_ids(self) -> tuple[str, Any]:
        """The ids in their stored form, for a merge that keeps it: ``("ints", int64 array)``,
        ``(uuid kind, (n, 16) uint8 array)`` or ``("json", list of str)``."""
        kind = self._id_head.get("ids")
        if kind in _INT_KINDS:
            return "ints", _unpack_bits(self._id_body, self.n, int(self._id_head["bits"]))
        if kind in ("uuid", "uuid_hex"):
            return str(kind), np.frombuffer(self._id_body, dtype=np.uint8).reshape(self.n, 16)
        return "json", self.ids

    def id_of(self, rows: Sequence[int]) -> list[str]:
        """The ids of ``rows`` without decoding the others."""
        if self._ids is not None:
            return [self._ids[int(r)] for r in rows]
        kind, body = self._id_head.get("ids"), self._id_body
        if kind in _INT_KINDS:
            bits = int(self._id_head["bits"])
            at = np.asarray(rows, dtype=np.int64)[:, None] * bits + np.arange(bits)[None, :]
            raw = np.frombuffer(body, dtype=np.uint8)[at >> 3].astype(np.int64)
            vals = ((raw >> (7 - (at & 7))) & 1) << np.arange(bits)[None, :]
            return [str(v) for v in vals.sum(axis=1).tolist()]
        us = [uuid.UUID(bytes=body[16 * int(r) : 16 * int(r) + 16]) for r in rows]
        return [str(u) if kind == "uuid" else u.hex for u in us]
