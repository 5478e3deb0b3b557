"""Dense retrieval over one snapshot: score rows (stored vectors, hub cache, LRU or the model),
then walk the graph, walk it in two levels, or score a filter's few matches directly."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from leann_engine.embed.base import Embedder, embed_checked, to_metric_space
from leann_engine.embed.lru import EmbeddingLRU
from leann_engine.graph.walk import beam_search, rerank_in_order
from leann_engine.quant.pq import adc_scores
from leann_engine.store.snapshot import Snapshot
from leann_engine.types import SearchStats

# Two-level search: share of the approximate (PQ) queue that is not re-embedded. With 32-byte
# codes on 20,000 MiniLM chunks, 0.8 at complexity 32 gave recall@3 0.955 with 32 passages
# re-embedded per query (benchmarks/bench_speed.py; README "Search parameters").
DEFAULT_PRUNE_RATIO = 0.8
_SCORE_BATCH = 256
# At the default settings a query re-embeds at most this many passages (or top_k, if more):
# the codes' error bound usually stops it sooner.
RECOMPUTE_CAP = 32
# Scanning every code costs one table look-up per code byte; below this many code bytes a scan
# is cheaper than a walk on the codes (a numpy gather of 8 MB is ~10 ms; the walk's Python loop
# over its ~3,000 visited nodes took longer) and finds every candidate the codes rank high.
SCAN_BYTES = 8 << 20


class Scorer:
    """Similarity of base rows to the query: from stored vectors, or by re-embedding their text.

    Recomputation first looks in the index's hub cache and the searcher's LRU of embeddings
    from earlier queries, and embeds only what neither holds.
    """

    def __init__(
        self,
        snap: Snapshot,
        query: np.ndarray,
        embedder: Embedder,
        stored: np.ndarray | None,
        stats: SearchStats,
        lru: EmbeddingLRU | None = None,
    ) -> None:
        self.snap, self.query, self.embedder, self.stored, self.stats = snap, query, embedder, stored, stats
        if lru is not None and getattr(lru, "owner", None) is not snap.base:
            lru.clear()  # rows are numbered per base segment: a compaction renumbers them
            lru.owner = snap.base  # type: ignore[attr-defined]
        self.lru = lru

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        return self.vectors(rows) @ self.query

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        """Metric-space embeddings of base ``rows``."""
        if self.stored is not None:
            return np.asarray(self.stored[rows], dtype=np.float32)
        vecs = np.empty((rows.size, self.snap.dimension), dtype=np.float32)
        todo = np.ones(rows.size, dtype=bool)
        hubs = self.snap.hubs
        if hubs is not None and hubs[0].size:
            pos = np.minimum(np.searchsorted(hubs[0], rows), hubs[0].size - 1)
            hit = hubs[0][pos] == rows
            vecs[hit] = hubs[1][pos[hit]]
            todo &= ~hit
        if self.lru is not None:
            for i in np.flatnonzero(todo).tolist():
                v = self.lru.get(int(rows[i]))
                if v is not None:
                    vecs[i] = v
                    todo[i] = False
        self.stats.cached += int(rows.size - todo.sum())
        if todo.any():
            need = rows[todo]
            t = time.perf_counter()
            fresh = embed_checked(self.embedder, self.snap.texts(need.tolist()), self.snap.dimension)
            if self.snap.metric == "cosine":
                fresh = to_metric_space(fresh, "cosine")
            self.stats.model_s += time.perf_counter() - t
            self.stats.recomputed += int(need.size)
            vecs[todo] = fresh
            if self.lru is not None:
                self.lru.put(need, fresh)
        return vecs

    def approx(self) -> Callable[[np.ndarray], np.ndarray] | None:
        """ADC similarities from the index's PQ codes, or ``None`` when it has no codes."""
        if self.snap.pq is None:
            return None
        pq, codes = self.snap.pq
        table = pq.table(self.query)
        return lambda rows: adc_scores(table, codes[rows])


def search_base(
    snap: Snapshot,
    score: Scorer,
    mask: np.ndarray,
    walk: dict[str, int],
    stats: SearchStats,
    prune: tuple[float | None, str] = (0.0, "global"),
) -> list[tuple[float, int]]:
    """Walk the graph, or score the matches directly when a filter leaves few of them; a base
    stored without a graph is scanned (its codes, or its stored vectors exactly).

    With PQ codes and recomputation, the walk is two-level: ``prune_ratio`` (default
    :data:`DEFAULT_PRUNE_RATIO`) of the approximate queue is not re-embedded.
    """
    n_base = snap.base.n
    if not n_base:
        return []
    ratio, strategy = prune
    approx = score.approx() if score.stored is None else None
    if ratio is None:
        ratio = DEFAULT_PRUNE_RATIO if approx is not None else 0.0
    two_level = approx is not None and ratio > 0.0
    base_mask = mask[:n_base]
    n_match = int(base_mask.sum())
    filtered = n_match < n_base
    # An unfiltered walk scores about 16*ef nodes (measured 925 at ef 64 on 20,000), and
    # under half of a small graph; a filter multiplies that by 1/selectivity, since the walk
    # passes through rows it rejects. Scoring the matches directly costs n_match. A
    # two-level walk re-embeds about ef nodes, whatever it passes through.
    walk_cost = walk["ef"] if two_level else min(n_base / 2, 16 * walk["ef"])
    direct = filtered and n_match * n_match <= walk_cost * n_base
    if not direct and not snap.has_graph and approx is not None:
        return _scan_codes(snap, score, approx, base_mask if filtered else None, walk, stats)
    # Without a graph and without codes (stored vectors), every match is scored exactly.
    if direct or not snap.has_graph:
        stats.strategy = "direct"
        rows = np.flatnonzero(base_mask)
        hits: list[tuple[float, int]] = []
        for s in range(0, rows.size, _SCORE_BATCH):
            part = rows[s : s + _SCORE_BATCH]
            hits.extend(zip(score(part).tolist(), part.tolist()))
        stats.visited = int(rows.size)
        return hits
    accept = base_mask.__getitem__ if filtered else None
    ef = walk["ef"]
    if two_level and prune[0] is None:
        return _two_level_default(snap, score, approx, base_mask if filtered else None, walk, stats)
    two_level_args: dict[str, Any] = {}
    if two_level:
        keep = 1.0 - ratio
        stats.strategy = f"two-level/{strategy}"
        if strategy == "global":
            # The approximate queue is 1/keep times longer; its best ef are re-embedded.
            ef = math.ceil(ef / keep - 1e-9)
        two_level_args = {"approx": approx, "keep_ratio": keep, "strategy": strategy}
    found, stats.visited = beam_search(
        snap.graph,
        score,
        ef=ef,
        batch_size=walk["batch_size"],
        beam_width=walk["beam_width"],
        accept=accept,
        **two_level_args,
    )
    return found


def _two_level_default(
    snap: Snapshot,
    score: Scorer,
    approx: Callable[[np.ndarray], np.ndarray],
    mask: np.ndarray | None,
    walk: dict[str, int],
    stats: SearchStats,
) -> list[tuple[float, int]]:
    """Default two-level search: candidates from every code (scan) or a walk on the codes,
    re-embedded in order of promise until the codes' error bound says the top k is final."""
    quant, codes = snap.pq
    if codes.size <= SCAN_BYTES:
        return _scan_codes(snap, score, approx, mask, walk, stats)
    top_k, budget, margin = _rerank_limits(snap, walk)
    stats.strategy = "two-level/global"
    keep = 1.0 - DEFAULT_PRUNE_RATIO
    found, stats.visited = beam_search(
        snap.graph,
        score,
        ef=math.ceil(walk["ef"] / keep - 1e-9),
        batch_size=walk["batch_size"],
        beam_width=walk["beam_width"],
        accept=None if mask is None else mask.__getitem__,
        approx=approx,
        top_k=top_k,
        margin=margin,
        budget=budget,
    )
    return found


def _rerank_limits(snap: Snapshot, walk: dict[str, int]) -> tuple[int, int, float | None]:
    """``(top_k, most passages re-embedded, the codes' error margin)`` of a default search."""
    top_k = int(walk.get("top_k", 10))
    return top_k, max(top_k, min(walk["ef"], RECOMPUTE_CAP)), getattr(snap.pq[0], "margin", None)


def _scan_codes(
    snap: Snapshot,
    score: Scorer,
    approx: Callable[[np.ndarray], np.ndarray],
    mask: np.ndarray | None,
    walk: dict[str, int],
    stats: SearchStats,
) -> list[tuple[float, int]]:
    """Estimate every row from its code, re-embed the most promising in order (see
    :func:`~leann_engine.graph.walk.rerank_in_order`)."""
    top_k, budget, margin = _rerank_limits(snap, walk)
    stats.strategy = "two-level/scan"
    est = np.asarray(approx(np.arange(snap.base.n)), dtype=np.float64)
    if mask is not None:
        est[~mask] = -np.inf
    n_live = est.size if mask is None else int(mask.sum())
    take = min(budget, n_live)
    if take == 0:
        return []
    cand = np.argpartition(-est, take - 1)[:take] if take < est.size else np.arange(est.size)
    found = rerank_in_order(cand, est[cand], score, budget=take, top_k=top_k, margin=margin)
    stats.visited = len(found)
    return found


def search_delta(
    snap: Snapshot, q: np.ndarray, mask: np.ndarray, stats: SearchStats
) -> list[tuple[float, int]]:
    """Score the delta segment exactly from its stored embeddings."""
    n_base = snap.base.n
    rows = np.flatnonzero(mask[n_base:])
    stats.delta_scanned = int(rows.size)
    if not rows.size:
        return []
    sims = snap.delta.embeddings[rows] @ q
    return list(zip(sims.tolist(), (rows + n_base).tolist()))


def vectors_for(snap: Snapshot, rows: list[int], embedder: Embedder) -> np.ndarray:
    """Metric-space embeddings of global ``rows``: stored (delta, or base built with
    ``is_recompute=False``) or recomputed with ``embedder``."""
    out = np.zeros((len(rows), snap.dimension), dtype=np.float32)
    n_base = snap.base.n
    base_pos = [j for j, r in enumerate(rows) if r < n_base]
    for j, r in enumerate(rows):
        if r >= n_base:
            out[j] = snap.delta.embeddings[r - n_base]
    if base_pos:
        base_rows = [rows[j] for j in base_pos]
        if snap.base_embeddings is not None:
            out[base_pos] = np.asarray(snap.base_embeddings[base_rows], dtype=np.float32)
        else:
            raw = embed_checked(embedder, snap.texts(base_rows), snap.dimension)
            out[base_pos] = to_metric_space(raw, snap.metric)
    return out


def rows_vectors(snap: Snapshot, score: Scorer, rows: Sequence[int]) -> np.ndarray:
    """Metric-space embeddings of global ``rows``: base rows through ``score`` (stored, hub cache,
    LRU of what the walk re-embedded, recomputing only the rest), delta rows from the delta."""
    n_base = snap.base.n
    out = np.empty((len(rows), snap.dimension), dtype=np.float32)
    idx = np.asarray(rows, dtype=np.int64)
    in_base = idx < n_base
    if in_base.any():
        out[in_base] = score.vectors(idx[in_base])
    if (~in_base).any():
        out[~in_base] = snap.delta.embeddings[idx[~in_base] - n_base]
    return out
