"""Node orders that put neighbours close, so varint-coded lists stay short."""

from __future__ import annotations

from collections import deque

import numpy as np

from leann_engine.embed.base import normalize_rows
from leann_engine.graph.csr import Graph, Level
from leann_engine.quant.kmeans import kmeans, nearest, spherical_labels

_BLOCK = 4096


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
    indices = np.empty(int(indptr[-1]), dtype=np.int32)
    # A block of new rows at a time, so the int64 scratch stays small at a million nodes.
    for s in range(0, graph.n, _BLOCK):
        e = min(graph.n, s + _BLOCK)
        d = deg[s:e]
        base = indptr[s]
        # Edge k of new row i is old edge graph.indptr[order[i]] + (k - indptr[i]).
        gather = np.repeat(graph.indptr[order[s:e]] - indptr[s:e], d) + np.arange(base, indptr[e])
        row = np.repeat(np.arange(e - s, dtype=np.int64), d) * max(graph.n, 1)
        indices[base : indptr[e]] = np.sort(row + inv[graph.indices[gather]]) - row
        del gather, row
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
        indices=indices,
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
    top = _unit_labels(vectors, fanout, rng)
    sub = np.zeros(vectors.shape[0], dtype=np.int64)
    for c in np.unique(top):
        members = np.flatnonzero(top == c)
        if members.size > 2 * fanout:
            sub[members] = spherical_labels(_unit(vectors[members]), fanout, rng)
    return np.lexsort((np.arange(vectors.shape[0]), sub, top))


def _unit(x: np.ndarray) -> np.ndarray:
    return normalize_rows(np.asarray(x, dtype=np.float32))


def _unit_labels(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """:func:`spherical_labels` of the unit rows of ``x`` (an array or a memory map), normalising
    a block at a time instead of copying the whole matrix; same draws, same labels."""
    n = x.shape[0]
    pick = rng.choice(n, size=min(n, 64 * max(1, k)), replace=False) if n else np.zeros(0, dtype=np.int64)
    centers = kmeans(_unit(x[pick]), k, rng, 8, spherical=True)
    labels = np.empty(n, dtype=np.int64)
    for s in range(0, n, _BLOCK):
        labels[s : s + _BLOCK] = nearest(_unit(x[s : s + _BLOCK]), centers, spherical=True)
    return labels
