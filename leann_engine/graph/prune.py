"""High-degree-preserving pruning and connectivity repair."""

from __future__ import annotations

from collections import deque

import numpy as np

from leann_engine.graph.csr import Graph, reachable

_PAIR_BLOCK = 65536  # owners per block of pairs_to_csr


def prune_high_degree_preserving(
    graph: Graph,
    vectors: np.ndarray,
    *,
    max_degree: int,
    pruned_degree: int,
    hub_fraction: float,
) -> Graph:
    """High-degree-preserving pruning (LEANN paper, Algorithm 3), with reverse-edge repair.

    Hubs, the top ``hub_fraction`` of nodes by total degree (in + out), keep up to
    ``max_degree`` neighbours. Every other node keeps ``pruned_degree`` neighbours chosen by the
    relative-neighbourhood heuristic over its similarity-sorted list. Then each kept edge u->v
    gets its reverse v->u where v still has room below ``max_degree``, which is what keeps the
    pruned graph navigable (cutting lists alone loses recall badly). ``vectors`` must be the
    vectors the graph was built on; similarities are inner products.
    """
    kept_ptr, kept_idx = select_pruned(
        graph, vectors, max_degree=max_degree, pruned_degree=pruned_degree, hub_fraction=hub_fraction
    )
    return finish_pruned(graph, kept_ptr, kept_idx, max_degree)


def select_pruned(
    graph: Graph, vectors: np.ndarray, *, max_degree: int, pruned_degree: int, hub_fraction: float
) -> tuple[np.ndarray, np.ndarray]:
    """The first half of :func:`prune_high_degree_preserving`, the only one that reads vectors:
    each node's kept list, as CSR ``(ptr, ids)``."""
    n = graph.n
    deg_out = graph.degrees
    deg_in = np.bincount(graph.indices, minlength=n)
    total = deg_out + deg_in
    n_hubs = int(np.ceil(hub_fraction * n)) if hub_fraction > 0 else 0
    is_hub = np.zeros(n, dtype=bool)
    if n_hubs:
        is_hub[np.argsort(-total, kind="stable")[:n_hubs]] = True
    del deg_in, total
    kept_ptr = np.zeros(n + 1, dtype=np.int64)
    kept_idx = np.empty(graph.n_edges, dtype=np.int32)
    pos = 0
    for u in range(n):
        nb = graph.neighbors(u)
        if nb.size:
            sims = np.asarray(vectors[nb]) @ np.asarray(vectors[u])
            order = nb[np.argsort(-sims, kind="stable")]
            budget = max_degree if is_hub[u] else pruned_degree
            keep = order if order.size <= budget else _rng_select(u, order, vectors, budget)
            kept_idx[pos : pos + keep.size] = keep
            pos += keep.size
        kept_ptr[u + 1] = pos
    return kept_ptr, kept_idx[:pos].copy()


def finish_pruned(graph: Graph, kept_ptr: np.ndarray, kept_idx: np.ndarray, max_degree: int) -> Graph:
    """The second half: reverse-edge repair and connectivity (no vectors needed)."""
    indptr, indices = _add_reverse_edges(kept_ptr, kept_idx.astype(np.int64), max_degree)
    pruned = Graph(n=graph.n, indptr=indptr, indices=indices, entry_point=graph.entry_point, upper=graph.upper)
    return ensure_connected(pruned, original=graph)


def _add_reverse_edges(ptr: np.ndarray, dst: np.ndarray, max_degree: int) -> tuple[np.ndarray, np.ndarray]:
    """Each kept edge u->v gets its reverse v->u where v still has room below ``max_degree``;
    the edges are considered in the order u ascending, then u's list order (numpy, no sets)."""
    n = ptr.size - 1
    src = np.repeat(np.arange(n, dtype=np.int64), np.diff(ptr))
    fwd = np.sort(src * n + dst)
    back = dst * n + src
    at = np.minimum(np.searchsorted(fwd, back), max(fwd.size - 1, 0))
    cand = np.flatnonzero(fwd[at] != back) if fwd.size else np.zeros(0, dtype=np.int64)
    # Within each target v, the first room[v] candidates in edge order are accepted.
    by_v = cand[np.argsort(dst[cand], kind="stable")]
    v = dst[by_v]
    first = np.searchsorted(v, v, side="left")
    rank = np.arange(v.size) - first
    room = max_degree - np.diff(ptr)
    ok = by_v[rank < room[v]]
    return pairs_to_csr(n, np.concatenate([src, dst[ok]]), np.concatenate([dst, src[ok]]))


def pairs_to_csr(n: int, owners: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CSR with sorted, distinct lists from ``(owner, id)`` edge pairs.

    Works a block of owners at a time, so no int64 key per pair (and no sorted copy of the
    keys) exists for all pairs at once: at a million nodes that was the build's peak."""
    indptr = np.zeros(n + 1, dtype=np.int64)
    if n == 0:
        return indptr, np.zeros(0, dtype=np.int32)
    owners, ids = np.asarray(owners), np.asarray(ids)
    by_owner = np.argsort(owners, kind="stable")
    starts = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(owners, minlength=n), out=starts[1:])
    parts: list[np.ndarray] = []
    for s in range(0, n, _PAIR_BLOCK):
        e = min(n, s + _PAIR_BLOCK)
        sel = by_owner[starts[s] : starts[e]]
        keys = np.unique((owners[sel].astype(np.int64) - s) * n + ids[sel].astype(np.int64))
        indptr[s + 1 : e + 1] = np.bincount(keys // n, minlength=e - s)
        parts.append((keys % n).astype(np.int32))
    np.cumsum(indptr, out=indptr)
    return indptr, np.concatenate(parts)


def _rng_select(u: int, order: np.ndarray, vectors: np.ndarray, budget: int) -> np.ndarray:
    """Relative-neighbourhood selection over ``order`` (candidates, most similar first)."""
    return order[rng_select_vectors(vectors[u], vectors[order], budget)]


def rng_select_vectors(x: np.ndarray, cand: np.ndarray, budget: int) -> np.ndarray:
    """Positions of the candidates kept for a node with vector ``x``: drop a candidate that a
    kept neighbour already covers (more similar to it than to ``x``).

    ``cand`` holds the candidates' vectors, most similar first. If fewer than ``budget`` pass,
    the nearest discarded ones fill the list, so a node's budget is always used. The graph
    insert (graph/insert.py) uses the same rule on approximate vectors.
    """
    to_u = cand @ x
    pair = cand @ cand.T
    chosen: list[int] = []
    rejected: list[int] = []
    for i in range(cand.shape[0]):
        if len(chosen) >= budget:
            break
        if any(pair[i, j] > to_u[i] for j in chosen):
            rejected.append(i)
        else:
            chosen.append(i)
    for i in rejected:
        if len(chosen) >= budget:
            break
        chosen.append(i)
    return np.array(chosen, dtype=np.int64)


def ensure_connected(graph: Graph, original: Graph | None = None) -> Graph:
    """Add edges until every node is reachable from the entry point.

    An unreachable node is linked from one of its reachable in-neighbours in ``original``
    (the unpruned graph) when there is one, otherwise from the entry point's component via the
    first reachable node; this keeps the fix local and cheap.
    """
    seen = reachable(graph, graph.entry_point)
    if seen.all():
        return graph
    src_graph = original or graph
    lost = np.flatnonzero(~seen)
    # In-neighbours (ascending) in the unpruned graph of the nodes not reached.
    pos = np.flatnonzero(~seen[src_graph.indices])
    owners = np.searchsorted(src_graph.indptr, pos, side="right") - 1
    rev: dict[int, list[int]] = {}
    for o, t in zip(owners.tolist(), src_graph.indices[pos].tolist()):
        rev.setdefault(t, []).append(o)
    extra: dict[int, set[int]] = {}
    for orphan in lost.tolist():
        if seen[orphan]:
            continue
        parents = [p for p in rev.get(orphan, []) if seen[p]]
        parent = parents[0] if parents else int(np.flatnonzero(seen)[0])
        extra.setdefault(parent, set()).add(orphan)
        extra.setdefault(orphan, set()).add(parent)
        # Walk from the orphan to mark everything it now brings in.
        queue = deque([orphan])
        seen[orphan] = True
        while queue:
            u = queue.popleft()
            for w in [*graph.neighbors(u).tolist(), *extra.get(u, ())]:
                if not seen[w]:
                    seen[w] = True
                    queue.append(w)
    add_src = [u for u, vs in extra.items() for _ in vs]
    add_dst = [w for vs in extra.values() for w in vs]
    src = np.repeat(np.arange(graph.n, dtype=np.int64), graph.degrees)
    indptr, indices = pairs_to_csr(
        graph.n, np.concatenate([src, np.asarray(add_src, np.int64)]), np.concatenate([graph.indices, add_dst])
    )
    return Graph(n=graph.n, indptr=indptr, indices=indices, entry_point=graph.entry_point, upper=graph.upper)
