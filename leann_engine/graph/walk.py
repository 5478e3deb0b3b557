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


class StepPolicy:
    """How the beam loop starts and which of a step's new neighbours it scores.

    The exact walk scores every new neighbour; the two-level *local* walk ranks them by the
    approximate scorer and scores only the best ``keep_ratio`` share; the *global* walk is the
    exact loop run on the approximate scorer, followed by :func:`rerank_in_order`.
    """

    def seeds(self, cache: ScoreCache, start: int) -> tuple[set[int], list[int]]:
        """``(seen, frontier seeds)``: the exact walk starts from ``start`` alone."""
        return {start}, [start]

    def choose(self, pending: list[int]) -> list[int]:
        return pending


class LocalPolicy(StepPolicy):
    """Two-level local step: only the most promising share of new neighbours is scored."""

    def __init__(self, approx: ScoreFn, keep_ratio: float) -> None:
        self.approx, self.keep_ratio = approx, keep_ratio

    def seeds(self, cache: ScoreCache, start: int) -> tuple[set[int], list[int]]:
        # The upper levels were scored exactly; they count as seen and seed the frontier.
        seen = set(cache.sims)
        return seen, [start] + [n for n in seen if n != start]

    def choose(self, pending: list[int]) -> list[int]:
        new = np.asarray(pending, dtype=np.int64)
        est = np.asarray(self.approx(new), dtype=np.float64)
        take = max(1, math.ceil(self.keep_ratio * new.size))
        return new[np.argsort(-est, kind="stable")[:take]].tolist()


def _beam(
    graph: Graph,
    cache: ScoreCache,
    policy: StepPolicy,
    *,
    ef: int,
    accept: Callable[[int], bool] | None,
    batch_size: int,
    beam_width: int,
) -> list[tuple[float, int]]:
    """The one frontier loop: pop, gather new neighbours, let ``policy`` pick, score, queue."""
    seen, seeds = policy.seeds(cache, greedy_descent(graph, cache))
    frontier: list[tuple[float, int]] = []  # max-heap by similarity
    results: list[tuple[float, int]] = []  # min-heap of accepted (similarity, node)

    def offer(node: int, s: float) -> None:
        if accept is not None and not accept(node):
            return
        if len(results) < ef:
            heapq.heappush(results, (s, node))
        elif s > results[0][0]:
            heapq.heapreplace(results, (s, node))

    for node in seeds:
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
        chosen = policy.choose(pending)
        cache.score_new(np.asarray(chosen, dtype=np.int64))
        bound = results[0][0] if len(results) >= ef else -np.inf
        for v in chosen:
            s = cache[v]
            if len(results) < ef or s > bound:
                heapq.heappush(frontier, (-s, v))
                offer(v, s)
                bound = results[0][0] if len(results) >= ef else -np.inf
    results.sort(reverse=True)
    return results


def rerank_in_order(
    candidates: np.ndarray,
    estimates: np.ndarray,
    score: ScoreFn,
    *,
    budget: int,
    top_k: int | None = None,
    margin: float | None = None,
    batch: int = 8,
) -> list[tuple[float, int]]:
    """Score ``candidates`` exactly in order of promise (``estimates``, descending).

    Without ``margin`` the best ``budget`` are scored in one batch. With it (the code's error
    bound: an exact similarity exceeds its estimate by at most ``margin``), scoring stops as
    soon as no unscored candidate can still enter the exact top ``top_k``: the k-th best exact
    similarity is at least the next estimate plus ``margin``. ``budget`` caps the scores.
    """
    order = np.argsort(-np.asarray(estimates, dtype=np.float64), kind="stable")[:budget]
    cand = np.asarray(candidates, dtype=np.int64)[order]
    est = np.asarray(estimates, dtype=np.float64)[order]
    if not cand.size:
        return []
    if margin is None or top_k is None:
        steps = [cand.size]
    else:
        first = min(cand.size, max(top_k, batch))
        steps = list(range(first, cand.size, batch)) + [cand.size]
    done, exact = 0, np.empty(0, dtype=np.float64)
    for end in steps:
        exact = np.concatenate([exact, np.asarray(score(cand[done:end]), dtype=np.float64)])
        done = end
        if margin is not None and top_k is not None and done < cand.size and exact.size >= top_k:
            kth = np.partition(exact, exact.size - top_k)[exact.size - top_k]
            if kth >= est[done] + margin:
                break
    top = np.argsort(-exact, kind="stable")
    return [(float(exact[i]), int(cand[i])) for i in top]


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
    top_k: int | None = None,
    margin: float | None = None,
    budget: int | None = None,
) -> tuple[list[tuple[float, int]], int]:
    """Best-first search on level 0 with a result queue of ``ef`` accepted nodes.

    ``accept(node)`` restricts what may enter the result queue (metadata filters, tombstones);
    rejected nodes are still walked through, so a filter never disconnects the graph.
    Each step pops at least ``beam_width`` frontier nodes and keeps popping until ``batch_size``
    new neighbours are gathered; both trade strict best-first order for bigger model batches.
    Returns ``(results sorted by similarity descending, nodes scored)``.

    Two-level search (LEANN paper, section 4.1) with ``approx``, cheap approximate similarities
    (quantized codes): only the most promising share is scored exactly, so every result
    carries an exact score.

    * ``strategy="global"``: the walk runs on ``approx`` alone (its ``ef`` queue costs table
      look-ups, no model calls), then the best ``ceil(keep_ratio * ef)`` (or ``budget``) of
      that queue are scored exactly, in order of promise; with ``margin`` and ``top_k`` the
      scoring stops early (:func:`rerank_in_order`).
    * ``strategy="local"``: the walk follows exact scores; each step's new neighbours are ranked
      by ``approx`` and only ``ceil(keep_ratio * new)`` of them are scored exactly and queued.

    The second count returned is then the number of exactly scored nodes.
    """
    if graph.n == 0:
        return [], 0
    walk = {"ef": ef, "accept": accept, "batch_size": batch_size, "beam_width": beam_width}
    if approx is not None and strategy == "global":
        found = _beam(graph, ScoreCache(approx), StepPolicy(), **walk)
        # The epsilon keeps float noise (1 - 0.8 = 0.19999...) from adding one more node.
        n_take = budget if budget is not None else max(1, math.ceil(keep_ratio * ef - 1e-9))
        counted: list[int] = []

        def counting(ids: np.ndarray) -> np.ndarray:
            counted.append(int(ids.size))
            return score(ids)

        cand = np.asarray([v for _, v in found], dtype=np.int64)
        est = np.asarray([s for s, _ in found], dtype=np.float64)
        ranked = rerank_in_order(cand, est, counting, budget=n_take, top_k=top_k, margin=margin)
        return ranked, sum(counted)
    cache = ScoreCache(score)
    if approx is not None and keep_ratio < 1.0:
        return _beam(graph, cache, LocalPolicy(approx, keep_ratio), **walk), len(cache)
    return _beam(graph, cache, StepPolicy(), **walk), len(cache)
