"""Best-first graph search that asks for a node's similarity only when it must score it.

The search never holds a vector table: it calls ``score(ids) -> similarities`` once per search
step with every new node that step reached (dynamic batching), and remembers each answer for the
rest of the query. With recomputation on, ``score`` embeds the passages' text; the caller
counts and times those calls.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
import numpy as np
from leann_engine.graph.csr import Graph


ScoreFn = Callable[[np.ndarray], np.ndarray]


class ScoreCache:
    """Per-query memo of node similarities; ``score_new`` calls the scorer once per batch."""

    def __init__(self, score: ScoreFn) -> None:
        self._score = score
        self.sims: dict[int, float] = {}

    def score_new(self, ids: np.ndarray) -> None:
        new = [i for i in ids.tolist() if i not in self.sims]
        if new:
            vals = self._score(np.asarray(new, dtype=np.int64))
            self.sims.update(zip(new, np.asarray(vals, dtype=np.float64).tolist()))

    def __getitem__(self, node: int) -> float:
        return self.sims[node]

    def __len__(self) -> int:
        return len(self.sims)


def greedy_descent(graph: Graph, cache: ScoreCache) -> int:
    """Walk HNSW's upper levels greedily from the entry point; return the level-0 start node."""
    cur = graph.entry_point
    cache.score_new(np.array([cur]))
    for level in reversed(graph.upper):
        improved = True
        while improved:
            improved = False
            nb = level.neighbors(cur)
            if nb.size == 0:
                break
            cache.score_new(nb)
            best = max(nb.tolist(), key=cache.__getitem__)
            if cache[best] > cache[cur]:
                cur, improved = best, True
    return cur


def beam_search(
    graph: Graph,
    score: ScoreFn,
    *,
    ef: int,
    accept: Callable[[int], bool] | None = None,
    batch_size: int = 0,
    beam_width: int = 1,
    approx: ScoreFn | None = None,
    keep_ratio: float = 1.0,
    strategy: str = "global",
) -> tuple[list[tuple[float, int]], int]:
    """Best-first search on level 0 with a result queue of ``ef`` accepted nodes.

    ``accept(node)`` restricts what may enter the result queue (metadata filters, tombstones);
    rejected nodes are still walked through, so a filter never disconnects the graph.
    Each step pops at least ``beam_width`` frontier nodes and keeps popping until ``batch_size``
    new neighbours are gathered; both trade strict best-first order for bigger model batches.
    Returns ``(results sorted by similarity descending, nodes scored)``.

    Two-level search (LEANN paper, section 4.1) with ``approx``, cheap approximate similarities
    (PQ codes): only the most promising ``keep_ratio`` share is scored exactly, so every result
    carries an exact score.

    * ``strategy="global"``: the walk runs on ``approx`` alone (its ``ef`` queue costs table
      look-ups, no model calls), then the best ``ceil(keep_ratio * ef)`` of that queue are
      scored exactly in one batch. Measured on 20,000 MiniLM chunks with 32-byte codes, this
      needs about a fifth of the exact scores of ``"local"`` for the same recall.
    * ``strategy="local"``: the walk follows exact scores; each step's new neighbours are ranked
      by ``approx`` and only ``ceil(keep_ratio * new)`` of them are scored exactly and queued.

    The second count returned is then the number of exactly scored nodes.
    """
    if approx is not None and strategy == "global":
        found, _ = beam_search(
            graph, approx, ef=ef, accept=accept, batch_size=batch_size, beam_width=beam_width
        )
        # The epsilon keeps float noise (1 - 0.8 = 0.19999...) from adding one more node.
        n_take = max(1, math.ceil(keep_ratio * ef - 1e-9))
        take = np.asarray([v for _, v in found[:n_take]], dtype=np.int64)
        if not take.size:
            return [], 0
        exact = np.asarray(score(take), dtype=np.float64)
        order = np.argsort(-exact, kind="stable")
        return [(float(exact[i]), int(take[i])) for i in order], int(take.size)
    if approx is not None and keep_ratio < 1.0:
        return _two_level(
            graph,
            score,
            approx,
            ef=ef,
            accept=accept,
            batch_size=batch_size,
            beam_width=beam_width,
            keep_ratio=keep_ratio,
        )
    if graph.n == 0:
        return [], 0
    cache = ScoreCache(score)
    start = greedy_descent(graph, cache)
    visited = {start}
    frontier = [(-cache[start], start)]  # max-heap by similarity
    results: list[tuple[float, int]] = []  # min-heap of accepted (similarity, node)

    def offer(node: int) -> None:
        s = cache[node]
        if accept is not None and not accept(node):
            return
        if len(results) < ef:
            heapq.heappush(results, (s, node))
        elif s > results[0][0]:
            heapq.heapreplace(results, (s, node))

    offer(start)
    while frontier:
        popped: list[int] = []
        pending: list[int] = []
        while frontier:
            neg, node = frontier[0]
            if len(results) >= ef and -neg < results[0][0]:
                break
            heapq.heappop(frontier)
            popped.append(node)
            for v in graph.neighbors(node).tolist():
                if v not in visited:
                    visited.add(v)
                    pending.append(v)
            if len(popped) >= beam_width and len(pending) >= batch_size:
                break
        if not popped:
            break
        if not pending:
            continue
        cache.score_new(np.asarray(pending, dtype=np.int64))
        bound = results[0][0] if len(results) >= ef else -np.inf
        for v in pending:
            s = cache[v]
            if len(results) < ef or s > bound:
                heapq.heappush(frontier, (-s, v))
                offer(v)
                bound = results[0][0] if len(results) >= ef else -np.inf
    results.sort(reverse=True)
    return results, len(cache)


def _two_level(
    graph: Graph,
    score: ScoreFn,
    approx: ScoreFn,
    *,
    ef: int,
    accept: Callable[[int], bool] | None,
    batch_size: int,
    beam_width: int,
    keep_ratio: float,
) -> tuple[list[tuple[float, int]], int]:
    cache = ScoreCache(score)
    start = greedy_descent(graph, cache)
    seen = set(cache.sims)  # the upper levels were scored exactly; they count as seen
    frontier = [(-cache[start], start)]
    results: list[tuple[float, int]] = []

    def offer(node: int, s: float) -> None:
        if accept is not None and not accept(node):
            return
        if len(results) < ef:
            heapq.heappush(results, (s, node))
        elif s > results[0][0]:
            heapq.heapreplace(results, (s, node))

    offer(start, cache[start])
    for node in seen:
        if node != start:
            heapq.heappush(frontier, (-cache[node], node))
            offer(node, cache[node])
    while frontier:
        popped = 0
        pending: list[int] = []
        while frontier:
            neg, node = frontier[0]
            if len(results) >= ef and -neg < results[0][0]:
                break
            heapq.heappop(frontier)
            popped += 1
            for v in graph.neighbors(node).tolist():
                if v not in seen:
                    seen.add(v)
                    pending.append(v)
            if popped >= beam_width and len(pending) >= batch_size:
                break
        if not popped:
            break
        if not pending:
            continue
        new = np.asarray(pending, dtype=np.int64)
        est = np.asarray(approx(new), dtype=np.float64)
        take = max(1, math.ceil(keep_ratio * new.size))
        chosen = new[np.argsort(-est, kind="stable")[:take]].tolist()
        cache.score_new(np.asarray(chosen, dtype=np.int64))
        bound = results[0][0] if len(results) >= ef else -np.inf
        for v in chosen:
            s = cache[v]
            if len(results) < ef or s > bound:
                heapq.heappush(frontier, (-s, v))
                offer(v, s)
                bound = results[0][0] if len(results) >= ef else -np.inf
    results.sort(reverse=True)
    return results, len(cache)
