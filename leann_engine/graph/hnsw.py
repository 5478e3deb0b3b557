"""Build an HNSW graph with hnswlib and take its level lists out.

hnswlib keeps its own copy of every vector next to the links. The build feeds it in batches,
saves it to a scratch file, frees it, and reads the links back from that file a block of
nodes at a time, so at no point are two copies of the vectors in memory.
"""

from __future__ import annotations

import contextlib
import os
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from leann_engine.graph.csr import Graph, Level

# hnswlib's saveIndex header: offsetLevel0, max_elements, cur_element_count,
# size_data_per_element, label_offset, offsetData (size_t); maxlevel (int); enterpoint (uint32);
# maxM, maxM0, M (size_t); mult (double); ef_construction (size_t).
_HEADER = struct.Struct("<QQQQQQiIQQQdQ")
_BLOCK_NODES = 4096  # rows per hnswlib call and per read-back block


class RowSource(Protocol):
    """Vectors read in batches (:class:`~leann_engine.build.spool.VectorFile`)."""

    n: int
    dim: int

    def chunks(self, size: int = ...) -> Iterator[tuple[int, np.ndarray]]: ...


class _Array:
    def __init__(self, x: np.ndarray) -> None:
        self.x = np.asarray(x, dtype=np.float32)
        self.n, self.dim = self.x.shape

    def chunks(self, size: int = _BLOCK_NODES) -> Iterator[tuple[int, np.ndarray]]:
        for s in range(0, self.n, size):
            yield s, self.x[s : s + size]


def build_hnsw(
    vectors: np.ndarray | RowSource,
    *,
    M: int,
    ef_construction: int,
    seed: int = 100,
    num_threads: int = -1,
    scratch: Path | None = None,
) -> Graph:
    """Build an HNSW graph with hnswlib over ``vectors`` (inner-product space) and extract it.

    ``vectors``: an ``(n, dim)`` array or a source of row batches. ``scratch``: a folder for
    hnswlib's saved index while it is read back (a temporary folder when ``None``).
    hnswlib keeps at most ``2*M`` neighbours per node on level 0 and ``M`` above.
    """
    try:
        import hnswlib
    except ImportError as e:  # pragma: no cover - a core dependency
        raise ImportError("hnswlib is required to build an index: pip install hnswlib") from e
    src = vectors if hasattr(vectors, "chunks") else _Array(vectors)  # type: ignore[arg-type]
    n, dim = src.n, src.dim
    index = hnswlib.Index(space="ip", dim=dim)
    index.init_index(max_elements=n, M=M, ef_construction=ef_construction, random_seed=seed)
    # hnswlib reads -1 as "one thread" in add_items, not "all cores": give it the count.
    index.set_num_threads(num_threads if num_threads > 0 else (os.cpu_count() or 1))
    for s, part in src.chunks(_BLOCK_NODES):
        index.add_items(part, np.arange(s, s + part.shape[0]))
    with contextlib.ExitStack() as stack:
        folder = Path(scratch) if scratch is not None else Path(stack.enter_context(tempfile.TemporaryDirectory()))
        file = folder / "hnsw.tmp"
        try:
            index.save_index(str(file))
            del index  # its vectors and links leave memory before the file is read back
            return read_hnsw_file(file, n)
        finally:
            with contextlib.suppress(OSError):
                file.unlink()


def read_hnsw_file(path: Path, n: int) -> Graph:
    """The graph in a file written by hnswlib's ``save_index``, read a block of nodes at a time."""
    with open(path, "rb") as f:
        (_, _, count, per, label_off, _, max_level, entry, max_m, max_m0, _, _, _) = _HEADER.unpack(
            f.read(_HEADER.size)
        )
        if count != n:
            raise RuntimeError(f"hnswlib holds {count} elements, expected {n}")
        labels = np.empty(count, dtype=np.int64)
        counts0 = np.empty(count, dtype=np.int64)
        links0 = np.empty((count, max_m0), dtype=np.uint32)
        for s in range(0, count, _BLOCK_NODES):
            rows = min(_BLOCK_NODES, count - s)
            raw = np.frombuffer(f.read(rows * per), dtype=np.uint8).reshape(rows, per)
            labels[s : s + rows] = raw[:, label_off : label_off + 8].copy().view(np.uint64).ravel()
            counts0[s : s + rows] = raw[:, 0:2].copy().view(np.uint16).ravel()
            links0[s : s + rows] = raw[:, 4 : 4 + 4 * max_m0].copy().view(np.uint32).reshape(rows, max_m0)
        rest = f.read()
    indptr, indices = _rows_to_csr(labels, counts0, links0, labels, n)
    del links0
    sizes, link_bytes = _link_lists(rest, count)
    size_links = 4 * max_m + 4
    state = {"levels": sizes // size_links, "link_bytes": link_bytes, "size_links": size_links, "max_m": max_m}
    upper = _upper_levels(state, labels, max_level)
    return Graph(n=n, indptr=indptr, indices=indices, entry_point=int(labels[entry]) if count else 0, upper=upper)


def _link_lists(rest: bytes, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Per node the byte size of its upper-level lists, and those lists concatenated."""
    sizes = np.zeros(count, dtype=np.int64)
    keep: list[bytes] = []
    pos = 0
    unpack = struct.Struct("<I").unpack_from
    for i in range(count):
        (size,) = unpack(rest, pos)
        pos += 4
        if size:
            sizes[i] = size
            keep.append(rest[pos : pos + size])
            pos += size
    return sizes, np.frombuffer(b"".join(keep), dtype=np.uint8)


def _upper_levels(state: dict[str, Any], labels: np.ndarray, max_level: int) -> list[Level]:
    levels, link_bytes = state["levels"], state["link_bytes"]
    size_links, max_m = int(state["size_links"]), int(state["max_m"])
    upper: list[Level] = []
    if max_level <= 0:
        return upper
    have = np.flatnonzero(levels > 0)
    offsets = np.zeros(levels.size, dtype=np.int64)
    offsets[have] = np.concatenate(([0], np.cumsum(levels[have] * size_links)[:-1]))
    for lev in range(1, max_level + 1):
        internal = np.flatnonzero(levels >= lev)
        starts = offsets[internal] + (lev - 1) * size_links
        block = link_bytes[starts[:, None] + np.arange(size_links)[None, :]]
        cnt = block[:, 0:2].copy().view(np.uint16).ravel().astype(np.int64)
        lk = block[:, 4 : 4 + 4 * max_m].copy().view(np.uint32).reshape(-1, max_m)
        nodes = labels[internal]
        order = np.argsort(nodes)
        ip, ix = _rows_to_csr(nodes[order], cnt[order], lk[order], labels, None)
        upper.append(Level(nodes=nodes[order], indptr=ip, indices=ix))
    return upper


def _rows_to_csr(
    owners: np.ndarray, counts: np.ndarray, links: np.ndarray, labels: np.ndarray, n: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Turn fixed-width hnswlib rows into CSR, mapping internal ids to labels, lists sorted.

    Works a block of rows at a time, so its int64 scratch stays small at a million nodes."""
    width = links.shape[1]
    if n is not None:
        order = np.argsort(owners)
        counts = counts[order]
    else:
        order = None
    deg = np.minimum(counts, width)
    indptr = np.zeros(deg.size + 1, dtype=np.int64)
    np.cumsum(deg, out=indptr[1:])
    indices = np.empty(int(indptr[-1]), dtype=np.int32)
    for s in range(0, deg.size, _BLOCK_NODES):
        e = min(deg.size, s + _BLOCK_NODES)
        lk = links[order[s:e]] if order is not None else links[s:e]
        mask = np.arange(width)[None, :] < deg[s:e, None]
        vals = np.where(mask, labels[lk.astype(np.int64)], np.iinfo(np.int64).max)
        vals.sort(axis=1)
        indices[indptr[s] : indptr[e]] = vals[mask]
    return indptr, indices
