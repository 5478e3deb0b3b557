"""The hub cache file: float16 embeddings of the nodes most searches pass through (LEANN paper,
section 5), on the shared frame (magic ``LEANNHUB``, header ``{rows, dim}``, rows as int32 then
the vectors). Version 1 files, written before the frame, still open."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from leann_engine.errors import IndexFormatError
from leann_engine.graph.csr import Graph
from leann_engine.store.framing import frame, read_framed_bytes, unframe

HUB_MAGIC = b"LEANNHUB"


# Version 2 is on the shared frame (framing.py); version 1 files still open.
HUB_VERSION = 2


def hub_rows(graph: Graph, mb: float, dim: int) -> np.ndarray:
    """The rows worth caching within ``mb`` of float16 vectors, sorted ascending.

    Upper-level nodes first (every walk descends through them), highest level first, then the
    remaining nodes by degree.
    """
    budget = int(mb * (1 << 20)) // (2 * dim + 4)  # a float16 vector and its int32 row
    if budget <= 0 or graph.n == 0:
        return np.zeros(0, dtype=np.int64)
    picked: list[int] = []
    taken = np.zeros(graph.n, dtype=bool)
    for level in reversed(graph.upper):
        for node in level.nodes.tolist():
            if not taken[node]:
                taken[node] = True
                picked.append(node)
    by_degree = np.argsort(-graph.degrees, kind="stable")
    picked += [int(v) for v in by_degree[~taken[by_degree]][: max(0, budget - len(picked))]]
    return np.sort(np.asarray(picked[:budget], dtype=np.int64))


def encode_hub_file(rows: np.ndarray, vectors: np.ndarray) -> bytes:
    rows = np.asarray(rows, dtype="<i4")
    vecs = np.asarray(vectors, dtype="<f2")
    header = {"rows": int(rows.size), "dim": int(vecs.shape[1])}
    return frame(HUB_MAGIC, HUB_VERSION, header, [rows.tobytes(), vecs.tobytes()])


def _legacy_hub_body(data: bytes, path: Path) -> tuple[int, int, memoryview]:
    """Version 1 hub files (before the shared frame): uint32 version, count, dim, then the body."""
    if len(data) < 24:
        raise IndexFormatError(f"{path} is truncated: rebuild the index")
    if zlib.crc32(data[:-4]) != struct.unpack("<I", data[-4:])[0]:
        raise IndexFormatError(f"{path} is corrupt (checksum mismatch): rebuild the index")
    _, count, d = struct.unpack("<III", data[8:20])
    return count, d, memoryview(data)[20:-4]


def read_hub_file(path: Path, *, n: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, float32 vectors)`` from a hub file; damage raises IndexFormatError."""
    data = read_framed_bytes(path)
    if data.startswith(HUB_MAGIC) and len(data) >= 12 and struct.unpack("<I", data[8:12])[0] == 1:
        count, d, body = _legacy_hub_body(data, path)
    else:
        head, body = unframe(data, path, HUB_MAGIC, HUB_VERSION, "leann_engine hub cache file")
        try:
            count, d = int(head["rows"]), int(head["dim"])
        except (KeyError, TypeError, ValueError) as e:
            raise IndexFormatError(f"{path} is corrupt (header: {e}): rebuild the index") from e
    if d != dim or len(body) != count * 4 + count * d * 2:
        raise IndexFormatError(f"{path} does not match the index ({count} x {d}, the index has {dim}-d vectors)")
    rows = np.frombuffer(body, dtype="<i4", count=count).astype(np.int64)
    vecs = np.frombuffer(body, dtype="<f2", count=count * d, offset=4 * count).reshape(count, d)
    if count and (rows.min() < 0 or rows.max() >= n):
        raise IndexFormatError(f"{path} is corrupt: a cached row is outside [0, {n})")
    return rows, vecs.astype(np.float32)
