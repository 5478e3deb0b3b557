"""Insert nodes into and delete nodes from a built graph without rebuilding it.

FreshDiskANN's rules (Singh et al. 2021) with this index's budgets:

* insert ``p``: a best-first search for ``p`` from the entry point; the nodes it found, most
  similar first, go through the relative-neighbourhood selection (the build's pruning rule)
  down to ``pruned_degree``; then every chosen ``v`` gets the reverse edge ``v -> p`` while it
  has room below ``max_degree`` (the build's reverse-edge repair), else ``v``'s list plus ``p``
  is pruned again to ``max_degree``;
* delete: every live node that pointed at a deleted one replaces it by that node's live
  out-neighbours and prunes the union back to its budget; deleted nodes lose their lists and
  their places in the upper levels.

Similarities come from ``vectors(rows)``: exact for the new nodes (their embeddings are known)
and stored embeddings or the PQ codes' approximation for the others; nothing is re-embedded.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

import numpy as np

from leann_engine.graph.csr import Graph, Level, sets_to_csr
from leann_engine.graph.prune import rng_select_vectors

VectorsFn = Callable[[np.ndarray], np.ndarray]

# Result queue of an insert's search. 64 on 20,000 MiniLM chunks kept recall@3 of a fresh
# build after 10 rounds of +5%/-5% (benchmarks/bench_updates.py); the build's 200 costs 3x.
INSERT_EF = 64


class GraphEditor:
    """A graph as mutable adjacency lists, with the budgets of the build that made it."""

    def __init__(
        self, graph: Graph, vectors: VectorsFn, *, max_degree: int, pruned_degree: int, hub_fraction: float
    ) -> None:
        self.adj: list[np.ndarray] = [graph.neighbors(u).astype(np.int64) for u in range(graph.n)]
        self.upper = graph.upper
        self.entry = graph.entry_point
        self.vectors = vectors
        self.max_degree, self.pruned_degree = max_degree, pruned_degree
        total = graph.degrees + np.bincount(graph.indices, minlength=graph.n)
        n_hubs = int(np.ceil(hub_fraction * graph.n)) if hub_fraction > 0 else 0
        self.is_hub = np.zeros(graph.n, dtype=bool)
        if n_hubs:
            self.is_hub[np.argsort(-total, kind="stable")[:n_hubs]] = True

    @property
    def n(self) -> int:
        return len(self.adj)

    def _budget(self, u: int) -> int:
        return self.max_degree if u < self.is_hub.size and self.is_hub[u] else self.pruned_degree

    def _select(self, x: np.ndarray, cand: np.ndarray, budget: int) -> np.ndarray:
        """The relative-neighbourhood choice among ``cand`` for a node with vector ``x``."""
        if cand.size <= budget:
            return cand
        cv = self.vectors(cand)
        order = np.argsort(-(cv @ x), kind="stable")
        return cand[order][rng_select_vectors(x, cv[order], budget)]

    # ---------------------------------------------------------------- delete

    def delete(self, dead: np.ndarray) -> None:
        """Unlink the nodes where ``dead`` is true and repair the lists that pointed at them."""
        dead_ids = np.flatnonzero(dead)
        if not dead_ids.size:
            return
        touched = [u for u in range(self.n) if not dead[u] and self.adj[u].size and dead[self.adj[u]].any()]
        for u in touched:
            nb = self.adj[u]
            keep = nb[~dead[nb]]
            hop = [self.adj[d] for d in nb[dead[nb]].tolist()]
            cand = np.unique(np.concatenate([keep, *hop]))
            cand = cand[(~dead[cand]) & (cand != u)]
            budget = min(self.max_degree, max(self._budget(u), keep.size))
            self.adj[u] = self._select(self.vectors(np.array([u]))[0], cand, budget)
        for d in dead_ids.tolist():
            self.adj[d] = self.adj[d][:0]
        self._drop_from_upper(dead)

    def _drop_from_upper(self, dead: np.ndarray) -> None:
        levels = []
        for lev in self.upper:
            keep = ~dead[lev.nodes]
            nodes = lev.nodes[keep]
            if not nodes.size:
                continue
            lists = [set(lev.neighbors(int(v)).tolist()) for v in nodes.tolist()]
            lists = [{w for w in s if not dead[w]} for s in lists]
            indptr, indices = sets_to_csr(lists)
            levels.append(Level(nodes=nodes, indptr=indptr, indices=indices))
        self.upper = levels
        if dead[self.entry]:
            if levels:
                top = levels[-1]
                self.entry = int(top.nodes[int(np.argmax(np.diff(top.indptr)))])
            else:
                live = np.flatnonzero(~dead)
                degs = np.array([self.adj[u].size for u in live.tolist()])
                self.entry = int(live[int(np.argmax(degs))]) if live.size else 0

    # ---------------------------------------------------------------- insert

    def search(self, score: Callable[[np.ndarray], np.ndarray], ef: int) -> np.ndarray:
        """Best-first search from the entry point; the ``ef`` best nodes, most similar first."""
        cur = self.entry
        best = float(score(np.array([cur]))[0])
        for lev in reversed(self.upper):
            improved = True
            while improved:
                improved = False
                nb = lev.neighbors(cur)
                if nb.size:
                    s = score(nb)
                    i = int(np.argmax(s))
                    if s[i] > best:
                        cur, best, improved = int(nb[i]), float(s[i]), True
        seen = {cur}
        frontier = [(-best, cur)]
        results = [(best, cur)]
        while frontier:
            neg, u = heapq.heappop(frontier)
            if len(results) >= ef and -neg < results[0][0]:
                break
            new = [v for v in self.adj[u].tolist() if v not in seen]
            if not new:
                continue
            seen.update(new)
            sims = score(np.asarray(new, dtype=np.int64)).tolist()
            for v, s in zip(new, sims):
                if len(results) < ef or s > results[0][0]:
                    heapq.heappush(frontier, (-s, v))
                    heapq.heappush(results, (s, v))
                    if len(results) > ef:
                        heapq.heappop(results)
        results.sort(reverse=True)
        return np.asarray([v for _, v in results], dtype=np.int64)

    def insert(self, x: np.ndarray, score: Callable[[np.ndarray], np.ndarray], ef: int = INSERT_EF) -> int:
        """Add a node with vector ``x``; ``score(rows)`` gives the similarity of rows to ``x``.
        Returns the new node's id."""
        p = self.n
        found = self.search(score, ef) if p else np.zeros(0, dtype=np.int64)
        self.adj.append(self._select(x, found, self.pruned_degree))
        for v in self.adj[p].tolist():
            nb = self.adj[v]
            if nb.size < self.max_degree:
                self.adj[v] = np.append(nb, p)
            else:
                cand = np.append(nb, p)
                self.adj[v] = self._select(self.vectors(np.array([v]))[0], cand, self.max_degree)
        return p

    # ---------------------------------------------------------------- result

    def to_graph(self, keep: np.ndarray) -> tuple[Graph, np.ndarray]:
        """The edited graph over the nodes where ``keep`` is true, renumbered in their order;
        returns it and ``new_id`` (old node -> new id, -1 for dropped nodes)."""
        new_id = np.full(self.n, -1, dtype=np.int64)
        kept = np.flatnonzero(keep)
        new_id[kept] = np.arange(kept.size)
        indptr, indices = _renumbered_csr([self.adj[u] for u in kept.tolist()], new_id)
        upper = []
        for lev in self.upper:
            nodes = new_id[lev.nodes]
            ok = nodes >= 0
            sub = [new_id[lev.neighbors(int(v))] for v in lev.nodes[ok].tolist()]
            ip, ix = sets_to_csr([set(s[s >= 0].tolist()) for s in sub])
            if ok.any():
                upper.append(Level(nodes=nodes[ok], indptr=ip, indices=ix))
        entry = int(new_id[self.entry]) if self.n and new_id[self.entry] >= 0 else 0
        return Graph(n=int(kept.size), indptr=indptr, indices=indices, entry_point=entry, upper=upper), new_id


def _renumbered_csr(lists: list[np.ndarray], new_id: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CSR of ``lists`` (one per kept node, in order) with ids mapped by ``new_id``: dropped ids
    (-1) and repeats removed, each list sorted; numpy passes, not a set per node."""
    deg = np.fromiter((a.size for a in lists), dtype=np.int64, count=len(lists))
    flat = np.concatenate(lists) if lists else np.zeros(0, dtype=np.int64)
    owner = np.repeat(np.arange(len(lists)), deg)
    nb = new_id[flat]
    owner, nb = owner[nb >= 0], nb[nb >= 0]
    order = np.lexsort((nb, owner))
    owner, nb = owner[order], nb[order]
    first = np.ones(nb.size, dtype=bool)
    first[1:] = (owner[1:] != owner[:-1]) | (nb[1:] != nb[:-1])
    owner, nb = owner[first], nb[first]
    indptr = np.zeros(len(lists) + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=len(lists)), out=indptr[1:])
    return indptr, nb.astype(np.int32)
