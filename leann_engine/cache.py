"""Embedding caches that spare the model work at query time.

* :class:`EmbeddingLRU`: embeddings recomputed by earlier queries in this process, bounded in
  MB, least recently used dropped first. Searches on one topic share most of their walk.
* The hub file: the stored embeddings (float16) of the nodes most searches pass through, the
  upper HNSW levels and the highest-degree nodes (LEANN paper, section 5: a small cache of hub
  embeddings). It costs index space, so it is off unless the builder is given ``hub_cache_mb``.

Hub file layout (little-endian): magic ``LEANNHUB``, uint32 version, uint32 row count, uint32
dimension, the sorted rows as int32, the vectors as float16, and a trailing CRC-32.
"""

from __future__ import annotations

import struct
import zlib
from collections import OrderedDict
from pathlib import Path

import numpy as np

from .errors import IndexFormatError
from .graph import Graph

HUB_MAGIC = b"LEANNHUB"
HUB_VERSION = 1


class EmbeddingLRU:
    """Row -> embedding, bounded to ``max_mb`` of float32 vectors; ``0`` disables it.

    ``hits`` and ``misses`` count lookups since creation.
    """

    def __init__(self, max_mb: float) -> None:
        if isinstance(max_mb, bool) or not isinstance(max_mb, (int, float)) or max_mb < 0:
            raise ValueError(f"embedding_cache_mb must be a number >= 0, got {max_mb!r}")
        self.max_bytes = int(max_mb * (1 << 20))
        self._data: OrderedDict[int, np.ndarray] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._data)

    @property
    def nbytes(self) -> int:
        return self._bytes

    def get(self, row: int) -> np.ndarray | None:
        vec = self._data.get(row)
        if vec is None:
            self.misses += 1
            return None
        self._data.move_to_end(row)
        self.hits += 1
        return vec

    def put(self, rows: np.ndarray, vecs: np.ndarray) -> None:
        if self.max_bytes <= 0:
            return
        for r, v in zip(rows.tolist(), vecs):
            old = self._data.pop(r, None)
            if old is not None:
                self._bytes -= old.nbytes
            v = np.array(v, dtype=np.float32)  # a copy: never a view into a caller's batch
            if v.nbytes > self.max_bytes:
                continue
            self._data[r] = v
            self._bytes += v.nbytes
        while self._bytes > self.max_bytes:
            _, v = self._data.popitem(last=False)
            self._bytes -= v.nbytes

    def clear(self) -> None:
        self._data.clear()
        self._bytes = 0


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
    body = (
        HUB_MAGIC
        + struct.pack("<III", HUB_VERSION, rows.size, vecs.shape[1])
        + rows.tobytes()
        + vecs.tobytes()
    )
    return body + struct.pack("<I", zlib.crc32(body))


def read_hub_file(path: Path, *, n: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, float32 vectors)`` from a hub file; damage raises IndexFormatError."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError as e:
        raise IndexFormatError(f"{path} is missing: the index is incomplete, rebuild it") from e
    if len(data) < 24 or not data.startswith(HUB_MAGIC):
        raise IndexFormatError(f"{path} is not a leann_engine hub cache file (bad magic bytes)")
    if zlib.crc32(data[:-4]) != struct.unpack("<I", data[-4:])[0]:
        raise IndexFormatError(f"{path} is corrupt (checksum mismatch): rebuild the index")
    version, count, d = struct.unpack("<III", data[8:20])
    if version > HUB_VERSION or d != dim or len(data) != 24 + count * 4 + count * d * 2:
        raise IndexFormatError(f"{path} does not match the index ({count} x {d}, version {version})")
    rows = np.frombuffer(data, dtype="<i4", count=count, offset=20).astype(np.int64)
    vecs = np.frombuffer(data, dtype="<f2", count=count * d, offset=20 + 4 * count).reshape(count, d)
    if count and (rows.min() < 0 or rows.max() >= n):
        raise IndexFormatError(f"{path} is corrupt: a cached row is outside [0, {n})")
    return rows, vecs.astype(np.float32)
