"""Build an HNSW graph with hnswlib and take its level lists out."""

from __future__ import annotations

from typing import Any

import numpy as np

from leann_engine.graph.csr import Graph, Level


def build_hnsw(
    vectors: np.ndarray, *, M: int, ef_construction: int, seed: int = 100, num_threads: int = -1
) -> Graph:
    """Build an HNSW graph with hnswlib over ``vectors`` (inner-product space) and extract it.

    hnswlib keeps at most ``2*M`` neighbours per node on level 0 and ``M`` above.
    """
    try:
        import hnswlib
    except ImportError as e:  # pragma: no cover - a core dependency
        raise ImportError("hnswlib is required to build an index: pip install hnswlib") from e
    n, dim = vectors.shape
    index = hnswlib.Index(space="ip", dim=dim)
    index.init_index(max_elements=n, M=M, ef_construction=ef_construction, random_seed=seed)
    index.set_num_threads(num_threads)
    index.add_items(vectors, np.arange(n))
    return _extract(index.__getstate__()[0], n)


def _extract(state: dict[str, Any], n: int) -> Graph:
    """Read level lists out of hnswlib's serialised state (its documented pickle layout)."""
    per = int(state["size_data_per_element"])
    count = int(state["cur_element_count"])
    if count != n:
        raise RuntimeError(f"hnswlib holds {count} elements, expected {n}")
    raw = np.asarray(state["data_level0"]).view(np.uint8)[: count * per].reshape(count, per)
    max_m0 = int(state["max_M0"])
    label_off = int(state["label_offset"])
    labels = raw[:, label_off : label_off + 8].copy().view(np.uint64).ravel().astype(np.int64)
    # internal id -> our id; hnswlib may assign internal ids in another order when threaded
    counts0 = raw[:, 0:2].copy().view(np.uint16).ravel().astype(np.int64)
    links0 = raw[:, 4 : 4 + 4 * max_m0].copy().view(np.uint32).reshape(count, max_m0)
    indptr, indices = _rows_to_csr(labels, counts0, links0, labels, n)

    levels = np.asarray(state["element_levels"], dtype=np.int64)[:count]
    max_level = int(state["max_level"])
    link_bytes = np.asarray(state["link_lists"]).view(np.uint8)
    size_links = int(state["size_links_per_element"])
    max_m = int(state["max_M"])
    upper: list[Level] = []
    if max_level > 0:
        have = np.flatnonzero(levels > 0)
        offsets = np.zeros(count, dtype=np.int64)
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
    entry = int(labels[int(state["enterpoint_node"])])
    return Graph(n=n, indptr=indptr, indices=indices, entry_point=entry, upper=upper)


def _rows_to_csr(
    owners: np.ndarray, counts: np.ndarray, links: np.ndarray, labels: np.ndarray, n: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Turn fixed-width hnswlib rows into CSR, mapping internal ids to labels, lists sorted."""
    width = links.shape[1]
    mask = np.arange(width)[None, :] < counts[:, None]
    if n is not None:
        order = np.argsort(owners)
        mask, links = mask[order], links[order]
    vals = labels[links.astype(np.int64)]
    vals = np.where(mask, vals, np.iinfo(np.int64).max)
    vals.sort(axis=1)
    deg = mask.sum(axis=1)
    indptr = np.zeros(deg.size + 1, dtype=np.int64)
    np.cumsum(deg, out=indptr[1:])
    indices = vals[np.arange(width)[None, :] < deg[:, None]].astype(np.int32)
    return indptr, indices
