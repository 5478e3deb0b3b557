"""Node orders that put neighbours close, so varint-coded lists stay short."""

from __future__ import annotations

from collections import deque

import numpy as np

from leann_engine.embed.base import normalize_rows
from leann_engine.graph.csr import Graph, Level
from leann_engine.quant.kmeans import spherical_labels


def locality_order(graph: Graph) -> np.ndarray:
    """A node order (new position -> old id) that keeps neighbours close: BFS from the entry.

    Numbering nodes in breadth-first order makes the gaps inside each sorted neighbour list
    small, so their varint coding takes fewer bytes. Nodes not reached come last.
    """
    seen = np.zeros(graph.n, dtype=bool)
    order: list[int] = []
    for start in [graph.entry_point, *range(graph.n)]:
        if seen[start]:
            continue
        seen[start] = True
        queue = deque([start])
        while queue:
            u = queue.popleft()
            order.append(u)
            nb = graph.neighbors(u)
            new = nb[~seen[nb]]
            seen[new] = True
            queue.extend(new.tolist())
    return np.asarray(order, dtype=np.int64)


def relabel(graph: Graph, order: np.ndarray) -> Graph:
    """Renumber nodes so that old id ``order[i]`` becomes ``i``; lists stay sorted."""
    inv = np.empty(graph.n, dtype=np.int64)
    inv[order] = np.arange(graph.n)
    deg = graph.degrees[order]
    indptr = np.zeros(graph.n + 1, dtype=np.int64)
    np.cumsum(deg, out=indptr[1:])
    gather = (
        np.concatenate([np.arange(graph.indptr[o], graph.indptr[o + 1]) for o in order])
        if graph.n
        else np.zeros(0, dtype=np.int64)
    )
    indices = inv[graph.indices[gather]] if gather.size else np.zeros(0, dtype=np.int64)
    for i in range(graph.n):
        indices[indptr[i] : indptr[i + 1]].sort()
    upper = []
    for lev in graph.upper:
        new_nodes = inv[lev.nodes]
        perm = np.argsort(new_nodes)
        d = np.diff(lev.indptr)[perm]
        ip = np.zeros(d.size + 1, dtype=np.int64)
        np.cumsum(d, out=ip[1:])
        parts = [np.sort(inv[lev.indices[lev.indptr[p] : lev.indptr[p + 1]]]) for p in perm]
        ix = np.concatenate(parts).astype(np.int32) if parts else np.zeros(0, dtype=np.int32)
        upper.append(Level(nodes=new_nodes[perm], indptr=ip, indices=ix))
    return Graph(
        n=graph.n,
        indptr=indptr,
        indices=indices.astype(np.int32),
        entry_point=int(inv[graph.entry_point]),
        upper=upper,
    )


def cluster_order(vectors: np.ndarray, graph: Graph, *, fanout: int = 32, seed: int = 0) -> np.ndarray:
    """A node order (new position -> old id) that puts similar nodes, hence neighbours, close.

    Two levels of k-means (``fanout`` clusters, each split again into ``fanout``) sort the
    nodes; graph neighbours mostly share a cluster, so the gaps inside each sorted neighbour list
    are small and their varints short. This does not depend on the order passages arrived in.
    Measured on 20,000 MiniLM vectors (default pruned graph): random numbering 2.26% of flat,
    breadth-first 2.12%, this order 1.91% (benchmarks/bench_pruning.py).
    """
    rng = np.random.default_rng(seed)
    x = normalize_rows(np.asarray(vectors, dtype=np.float32))
    top = spherical_labels(x, fanout, rng)
    sub = np.zeros(x.shape[0], dtype=np.int64)
    for c in np.unique(top):
        members = np.flatnonzero(top == c)
        if members.size > 2 * fanout:
            sub[members] = spherical_labels(x[members], fanout, rng)
    return np.lexsort((np.arange(x.shape[0]), sub, top))
