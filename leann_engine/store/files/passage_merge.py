"""A merge's passage blocks, written in proportion to the change.

The kept rows stay in their order and the new passages follow them (the merged graph numbers
them so). Blocks whose rows are all kept are copied as they are, compressed bytes and CRC, with
the base's dictionary; a block that lost rows is decompressed and its survivors re-encoded with
the same dictionary. Re-encoded rows never end up in a block of fewer than ``BLOCK_ROWS // 2``
when a neighbour can take them: a short run joins the next kept block (decoded for it), and a
short block (under half full) that follows re-encoded rows, or ends the base before new
passages, joins them. So every merge re-encodes at most about two blocks per block that lost
rows, plus the short blocks it absorbs, and blocks stay between half and one and a half
``BLOCK_ROWS`` except a base's last block and an untouched short one.

The dictionary is retrained (every block re-encoded) only once the index has doubled since it
was trained: the rewrite then costs at most what the growth since the last one did.
"""

from __future__ import annotations

import itertools
import os
import uuid
import zlib
from collections.abc import Sequence
from typing import Any, BinaryIO

import numpy as np

from leann_engine.errors import IndexFormatError
from leann_engine.store.files.passages import (
    BLOCK_ROWS,
    PassageBlocks,
    PassageWriter,
    encode_ids,
    int_ids,
    json_ids,
    pack_ints,
    train_dict,
)

_HALF = BLOCK_ROWS // 2
# A merge's JSON id list: zstd level 9 costs ~14 ms for 20,000 ids where level 19 costs ~150 ms
# (it is rewritten whole); the list is a small part of the index either way.
MERGE_ID_LEVEL = 9
# Records a retrained dictionary learns from (an even sample of the merged rows).
_DICT_SAMPLE = 50_000


def merge_passages(
    blocks: PassageBlocks, keep: np.ndarray, new_lines: Sequence[bytes], new_ids: Sequence[str], out: BinaryIO
) -> bytes:
    """Write the blocks file of the base rows where ``keep`` is true, then ``new_lines``
    (:func:`~leann_engine.store.files.passages.record_line`), into ``out``; returns the table."""
    keep = np.asarray(keep, dtype=bool)
    if keep.size != blocks.n or len(new_lines) != len(new_ids):
        raise ValueError(f"keep has {keep.size} rows for {blocks.n} passages, or new lines and ids differ")
    id_form = merged_ids(blocks, keep, new_ids)
    total = int(keep.sum()) + len(new_lines)
    fd = os.open(blocks.data_path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        if total >= 2 * max(blocks.dict_rows, 1):
            return _retrain(blocks, fd, keep, new_lines, out, id_form, total)
        writer = PassageWriter(out, blocks.dict_data, dict_rows=blocks.dict_rows)
        _copy_kept(blocks, fd, keep, writer, has_new=bool(new_lines))
    finally:
        os.close(fd)
    writer.add(new_lines)
    return writer.finish(None, id_form)


def _read(blocks: PassageBlocks, fd: int, first: int, end: int) -> bytes:
    """The compressed bytes of blocks ``first .. end - 1``."""
    start, stop = int(blocks.offsets[first]), int(blocks.offsets[end])
    raw = os.pread(fd, stop - start, start) if hasattr(os, "pread") else _seek_read(fd, stop - start, start)
    if len(raw) != stop - start:
        raise IndexFormatError(f"{blocks.data_path} is truncated: rebuild the index")
    return raw


def _seek_read(fd: int, size: int, offset: int) -> bytes:
    os.lseek(fd, offset, os.SEEK_SET)
    return os.read(fd, size)


def _kept_lines(blocks: PassageBlocks, fd: int, b: int, keep: np.ndarray) -> list[bytes]:
    """The kept records of block ``b``, each with its newline (as the writer takes them)."""
    lines = blocks.block(b, _read(blocks, fd, b, b + 1))
    first = int(blocks.starts[b])
    return [lines[j] + b"\n" for j in np.flatnonzero(keep[first : first + len(lines)]).tolist()]


def _copy_kept(blocks: PassageBlocks, fd: int, keep: np.ndarray, writer: PassageWriter, has_new: bool) -> None:
    """The kept base rows, in order, into ``writer``: runs of untouched blocks copied as bytes."""
    nb = blocks.n_blocks
    if nb == 0:
        return
    rows = np.diff(blocks.starts)
    kept = np.add.reduceat(keep.astype(np.int64), blocks.starts[:-1])
    last = int(np.flatnonzero(kept)[-1]) if kept.any() else -1
    pend: list[bytes] = []
    run = -1  # first block of the run of untouched blocks being collected, -1 for none
    for b in range(nb):
        whole = kept[b] == rows[b]
        short = rows[b] < _HALF
        copy = whole and not ((pend and (len(pend) < _HALF or short)) or (short and b == last and has_new))
        if copy and run < 0 and pend:
            writer.add_block(pend)
            pend = []
        if copy:
            run = b if run < 0 else run
            continue
        if run >= 0:
            _copy_run(blocks, fd, writer, run, b)
            run = -1
        if kept[b]:
            pend += _kept_lines(blocks, fd, b, keep)
            while len(pend) >= BLOCK_ROWS + _HALF:
                writer.add_block(pend[:BLOCK_ROWS])
                del pend[:BLOCK_ROWS]
    if run >= 0:
        _copy_run(blocks, fd, writer, run, nb)
    writer.add(pend)  # new passages join these, in blocks of BLOCK_ROWS


def _copy_run(blocks: PassageBlocks, fd: int, writer: PassageWriter, first: int, end: int) -> None:
    """Blocks ``first .. end - 1`` as they are, each checked against its CRC on the way."""
    raw = _read(blocks, fd, first, end)
    sizes = np.diff(blocks.offsets[first : end + 1])
    mv, at = memoryview(raw), 0
    for i, size in enumerate(sizes.tolist()):
        if zlib.crc32(mv[at : at + size]) != int(blocks.crcs[first + i]):
            blocks.block(first + i, bytes(mv[at : at + size]))  # raises, naming the block
        at += size
    writer.copy_blocks(raw, sizes, blocks.crcs[first:end], np.diff(blocks.starts[first : end + 1]))


def _retrain(
    blocks: PassageBlocks, fd: int, keep: np.ndarray, new_lines: Sequence[bytes], out: BinaryIO,
    id_form: tuple[dict[str, Any], bytes], total: int,
) -> bytes:
    """Every kept record and the new ones under a dictionary learned from them (no JSON parsing:
    the stored lines are the records)."""
    lines: list[bytes] = []
    for b in range(blocks.n_blocks):
        first, end = int(blocks.starts[b]), int(blocks.starts[b + 1])
        if keep[first:end].any():
            lines += _kept_lines(blocks, fd, b, keep)
    lines += new_lines
    step = max(1, len(lines) // _DICT_SAMPLE)
    writer = PassageWriter(out, train_dict(lines[::step]), dict_rows=total)
    writer.add(lines)
    return writer.finish(None, id_form)


def merged_ids(blocks: PassageBlocks, keep: np.ndarray, new_ids: Sequence[str]) -> tuple[dict[str, Any], bytes]:
    """The id form of the kept ids then ``new_ids``: kept as stored (integers, UUIDs) when the
    new ids take the same form, so nothing is parsed per kept row; else re-encoded."""
    kind, old = blocks.stored_ids()
    if int(keep.sum()) + len(new_ids):
        if kind == "ints":
            new = int_ids(new_ids) if new_ids else np.zeros(0, dtype=np.int64)
            if new is not None:
                vals = np.concatenate([old[keep], new])
                if int(vals.max()) < 2**62:
                    return pack_ints(vals)
        elif kind in ("uuid", "uuid_hex"):
            fmt = str if kind == "uuid" else (lambda u: u.hex)
            try:
                parsed = [uuid.UUID(i) for i in new_ids]
            except ValueError:
                parsed = None
            if parsed is not None and all(fmt(u) == i for u, i in zip(parsed, new_ids)):
                return {"ids": kind}, old[keep].tobytes() + b"".join(u.bytes for u in parsed)
    if kind == "json":  # stays a JSON list (the kept ids are not parsed again)
        return json_ids(list(itertools.compress(old, keep.tolist())) + list(new_ids), level=MERGE_ID_LEVEL)
    return encode_ids(blocks.id_of(np.flatnonzero(keep)) + list(new_ids), level=MERGE_ID_LEVEL)
