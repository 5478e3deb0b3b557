"""Embeddings recomputed by earlier queries in this process, bounded in MB, least recently used
dropped first: searches on one topic share most of their walk."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np


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
