"""Keyword stages of a search over one snapshot: BM25 and literal grep, each ``-> [(row, score)]``."""

from __future__ import annotations

import time

import numpy as np

from leann_engine.keyword.bm25 import CorpusStats, bm25_scores
from leann_engine.store.snapshot import Snapshot
from leann_engine.types import SearchStats


def top_positive(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The ``k`` best rows with a positive score, best first (ties: lower row first)."""
    rows = np.flatnonzero(scores > 0)
    if rows.size > k:
        part = np.argpartition(-scores[rows], k - 1)[:k]
        rows = rows[part]
    order = np.lexsort((rows, -scores[rows]))
    return [(int(rows[i]), float(scores[rows[i]])) for i in order]



def keyword_stage(
    snap: Snapshot, query: str, mask: np.ndarray, k: int, stats: SearchStats, corpus: CorpusStats | None = None
) -> list[tuple[int, float]]:
    """``corpus``: a sharded index's global BM25 statistics (default: this snapshot's own)."""
    t = time.perf_counter()
    scores = bm25_scores(
        snap.keyword_segments(), snap.tokenizer(query), ~snap.dead, k1=snap.k1, b=snap.b, corpus=corpus
    )
    scores[~mask] = 0.0
    hits = top_positive(scores, k)
    stats.keyword_s += time.perf_counter() - t
    stats.keyword_matches = int(np.count_nonzero(scores))
    return hits

def grep_stage(
    snap: Snapshot,
    query: str,
    mask: np.ndarray,
    k: int,
    ignore_case: bool,
    regex: bool,
    stats: SearchStats,
    corpus: CorpusStats | None = None,
) -> list[tuple[int, float]]:
    t = time.perf_counter()
    rows = snap.grep_corpus().rows(query, ignore_case=ignore_case, regex=regex)
    rows = rows[mask[rows]]
    stats.keyword_matches = int(rows.size)
    if not rows.size:
        stats.keyword_s += time.perf_counter() - t
        return []
    segments, terms = snap.keyword_segments(), snap.tokenizer(query)
    scores = bm25_scores(segments, terms, ~snap.dead, k1=snap.k1, b=snap.b, corpus=corpus)[rows]
    order = np.lexsort((rows, -scores))[:k]
    stats.keyword_s += time.perf_counter() - t
    return [(int(rows[i]), float(scores[i])) for i in order]

