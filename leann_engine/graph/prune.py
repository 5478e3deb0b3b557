"""High-degree-preserving pruning and connectivity repair."""

from __future__ import annotations

from collections import deque

import numpy as np

from leann_engine.graph.csr import Graph, reachable, sets_to_csr


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
    n = graph.n
    deg_out = graph.degrees
    deg_in = np.bincount(graph.indices, minlength=n)
    total = deg_out + deg_in
    n_hubs = int(np.ceil(hub_fraction * n)) if hub_fraction > 0 else 0
    is_hub = np.zeros(n, dtype=bool)
    if n_hubs:
        is_hub[np.argsort(-total, kind="stable")[:n_hubs]] = True

    kept: list[np.ndarray] = []
    for u in range(n):
        nb = graph.neighbors(u)
        if nb.size == 0:
            kept.append(nb)
            continue
        sims = vectors[nb] @ vectors[u]
        order = nb[np.argsort(-sims, kind="stable")]
        budget = max_degree if is_hub[u] else pruned_degree
        if order.size <= budget:
            kept.append(order)
            continue
        kept.append(_rng_select(u, order, vectors, budget))

    # Reverse edges, capped at max_degree, so every kept edge can be walked both ways.
    src = np.repeat(np.arange(n), [k.size for k in kept])
    dst = np.concatenate(kept) if kept else np.zeros(0, dtype=np.int64)
    lists = [set(k.tolist()) for k in kept]
    room = np.array([max_degree - len(s) for s in lists])
    for u, v in zip(src.tolist(), dst.tolist()):
        if u not in lists[v] and room[v] > 0:
            lists[v].add(u)
            room[v] -= 1
    indptr, indices = sets_to_csr(lists)
    pruned = Graph(n=n, indptr=indptr, indices=indices, entry_point=graph.entry_point, upper=graph.upper)
    return ensure_connected(pruned, original=graph)


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
    lists = [set(graph.neighbors(u).tolist()) for u in range(graph.n)]
    src_graph = original or graph
    rev: dict[int, list[int]] = {}
    for u in range(src_graph.n):
        for v in src_graph.neighbors(u).tolist():
            rev.setdefault(v, []).append(u)
    while not seen.all():
        orphan = int(np.flatnonzero(~seen)[0])
        parents = [p for p in rev.get(orphan, []) if seen[p]]
        parent = parents[0] if parents else int(np.flatnonzero(seen)[0])
        lists[parent].add(orphan)
        lists[orphan].add(parent)
        # Walk from the orphan to mark everything it now brings in.
        queue = deque([orphan])
        seen[orphan] = True
        while queue:
            u = queue.popleft()
            for v in lists[u]:
                if not seen[v]:
                    seen[v] = True
                    queue.append(v)
    indptr, indices = sets_to_csr(lists)
    return Graph(n=graph.n, indptr=indptr, indices=indices, entry_point=graph.entry_point, upper=graph.upper)
