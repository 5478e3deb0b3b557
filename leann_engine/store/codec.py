"""Compressed neighbour lists: sorted ids stored as gaps in LEB128 varints, decoded with numpy.

A node's list is sorted; its first id is stored as the zig-zag coded difference from the node's
own id (graph reordering puts neighbours close to each other), the rest as gaps minus one
(the ids are distinct, so a gap is at least one). Decoding the whole graph at open takes a few
vectorised numpy passes, not a Python loop per edge.
"""

from __future__ import annotations

import numpy as np


def varint_sizes(values: np.ndarray) -> np.ndarray:
    """Bytes each non-negative integer takes as a LEB128 varint."""
    v = np.asarray(values, dtype=np.uint64)
    nbytes = np.ones(v.shape, dtype=np.int64)
    rest = v >> np.uint64(7)
    while rest.any():
        nbytes += rest > 0
        rest >>= np.uint64(7)
    return nbytes


def encode_varints(values: np.ndarray) -> bytes:
    """LEB128-encode non-negative integers (uint64) into bytes."""
    v = np.asarray(values, dtype=np.uint64)
    if v.size == 0:
        return b""
    nbytes = varint_sizes(v)
    total = int(nbytes.sum())
    out = np.empty(total, dtype=np.uint8)
    starts = np.concatenate(([0], np.cumsum(nbytes)[:-1]))
    cur = v.copy()
    for k in range(int(nbytes.max())):
        live = nbytes > k
        pos = starts[live] + k
        chunk = (cur[live] & np.uint64(0x7F)).astype(np.uint8)
        more = nbytes[live] > k + 1
        out[pos] = chunk | (more.astype(np.uint8) << 7)
        cur[live] >>= np.uint64(7)
    return out.tobytes()


_DECODE_CHUNK = 1 << 18  # bytes decoded per step: the scratch arrays stay in cache


def decode_varints(data: bytes | bytearray | memoryview | np.ndarray, count: int) -> np.ndarray:
    """Decode exactly ``count`` LEB128 integers; raises ValueError if the stream does not fit."""
    buf = np.frombuffer(data, dtype=np.uint8) if isinstance(data, (bytes, bytearray, memoryview)) else data
    if count == 0:
        if buf.size:
            raise ValueError("varint stream has trailing bytes")
        return np.zeros(0, dtype=np.int64)
    ends = np.flatnonzero(buf < 0x80)
    if ends.size != count or ends[-1] != buf.size - 1:
        raise ValueError(f"varint stream holds {ends.size} values, expected {count}")
    if ends[0] > 8 or (ends.size > 1 and np.diff(ends).max() > 9):
        raise ValueError("varint longer than 9 bytes")
    # Each byte adds its low 7 bits, shifted by its place in its varint; a value is the sum over
    # its bytes (a difference of running sums; uint64 wraps, so the difference stays exact).
    result = np.empty(count, dtype=np.int64)
    k = at = 0
    while k < count:
        last = min(k + _DECODE_CHUNK, count) - 1  # values k..last, bytes at..ends[last]
        e = ends[k : last + 1] - at
        seg = buf[at : int(ends[last]) + 1]
        begin = np.zeros(seg.size, dtype=np.int64)
        begin[e[:-1] + 1] = e[:-1] + 1
        np.maximum.accumulate(begin, out=begin)
        part = (seg & 0x7F).astype(np.uint64) << (np.uint64(7) * (np.arange(seg.size) - begin).astype(np.uint64))
        run = np.cumsum(part)
        vals = run[e]
        vals[1:] -= run[e[:-1]]
        result[k : last + 1] = vals.astype(np.int64)
        k, at = last + 1, int(ends[last]) + 1
    return result


def encode_lists(indptr: np.ndarray, indices: np.ndarray, owners: np.ndarray | None = None) -> bytes:
    """Encode CSR neighbour lists. Each list must be sorted ascending with distinct ids.

    ``owners`` gives the node id each list belongs to (default: its position), the reference for
    the first id of the list.
    """
    indptr = np.asarray(indptr, dtype=np.int64)
    idx = np.asarray(indices, dtype=np.int64)
    n = indptr.size - 1
    if owners is None:
        owners = np.arange(n, dtype=np.int64)
    deg = np.diff(indptr)
    vals = np.empty(idx.size, dtype=np.int64)
    if idx.size:
        vals[1:] = idx[1:] - idx[:-1] - 1
        firsts = indptr[:-1][deg > 0]
        first_delta = idx[firsts] - np.asarray(owners, dtype=np.int64)[deg > 0]
        vals[firsts] = np.where(first_delta >= 0, first_delta * 2, -first_delta * 2 - 1)
        if (vals < 0).any():
            raise ValueError("neighbour lists must be sorted with distinct ids")
    return encode_varints(vals.astype(np.uint64))


def decode_lists(
    data: bytes | np.ndarray, degrees: np.ndarray, owners: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Invert :func:`encode_lists`; returns ``(indptr, indices)`` with int64 indptr, int32 ids."""
    deg = np.asarray(degrees, dtype=np.int64)
    n = deg.size
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(deg, out=indptr[1:])
    vals = decode_varints(data, int(indptr[-1]))
    if owners is None:
        owners = np.arange(n, dtype=np.int64)
    firsts = indptr[:-1][deg > 0]
    zz = vals[firsts]
    first = np.where(zz % 2 == 0, zz // 2, -(zz + 1) // 2) + np.asarray(owners, dtype=np.int64)[deg > 0]
    steps = vals + 1
    steps[firsts] = 0
    run = np.cumsum(steps)
    # Restart the running sum at each list head, then add the decoded first id.
    base = np.repeat(first - run[firsts], deg[deg > 0])
    ids = run + base
    return indptr, ids.astype(np.int32)
