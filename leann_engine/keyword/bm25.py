"""BM25 scoring over inverted lists, with numpy per query term.

Scores follow BM25 with the non-negative idf ``ln(1 + (N - df + 0.5) / (df + 0.5))`` used by
Lucene, where ``N``, ``df`` and the average length count live passages only. ``k1``, ``b`` and the
tokenizer live in the manifest's ``keyword`` section, their one home.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from leann_engine.keyword.tokenize import Tokenizer

DEFAULT_K1 = 1.2


DEFAULT_B = 0.75


EMPTY_ROWS = np.zeros(0, dtype=np.int64)


class Postings:
    """Inverted lists over a set of rows: ``lookup(term) -> (rows, term frequencies)``."""

    doc_len: np.ndarray

    def lookup(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError


class MemoryPostings(Postings):
    """Inverted lists built in memory from token lists (used for passages added since a build)."""

    def __init__(self, docs: Sequence[Sequence[str]] = ()) -> None:
        self._lists: dict[str, tuple[list[int], list[int]]] = {}
        self._frozen: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.doc_len = np.zeros(0, dtype=np.int64)
        self.extend(docs)

    def extend(self, docs: Sequence[Sequence[str]]) -> None:
        start = int(self.doc_len.size)
        lens = np.empty(len(docs), dtype=np.int64)
        for j, toks in enumerate(docs):
            lens[j] = len(toks)
            for term, tf in Counter(toks).items():
                rows, tfs = self._lists.setdefault(term, ([], []))
                rows.append(start + j)
                tfs.append(tf)
        self.doc_len = np.concatenate([self.doc_len, lens])
        self._frozen.clear()

    def lookup(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        hit = self._frozen.get(term)
        if hit is None:
            lists = self._lists.get(term)
            if lists is None:
                return EMPTY_ROWS, EMPTY_ROWS
            hit = (np.asarray(lists[0], dtype=np.int64), np.asarray(lists[1], dtype=np.int64))
            self._frozen[term] = hit
        return hit


def keyword_settings(tokenizer: Tokenizer, k1: float = DEFAULT_K1, b: float = DEFAULT_B) -> dict[str, object]:
    """The manifest's ``keyword`` section: how passages and queries are tokenized and scored."""
    return {"tokenizer": tokenizer.config(), "k1": k1, "b": b}


def scoring_params(manifest: dict[str, object]) -> tuple[float, float]:
    """``(k1, b)`` of an index (the defaults for indexes that recorded none)."""
    keyword = manifest.get("keyword") or {}
    assert isinstance(keyword, dict)
    return float(keyword.get("k1", DEFAULT_K1)), float(keyword.get("b", DEFAULT_B))


@dataclass
class CorpusStats:
    """What BM25's idf and length normalisation count: live passages, their summed lengths and
    each query term's document frequency. Shards of one index add theirs up
    (:mod:`leann_engine.shard`) so every shard scores with the whole corpus's statistics."""

    docs: int = 0
    total_len: float = 0.0
    df: dict[str, int] = field(default_factory=dict)

    def __add__(self, other: CorpusStats) -> CorpusStats:
        df = dict(self.df)
        for term, n in other.df.items():
            df[term] = df.get(term, 0) + n
        return CorpusStats(self.docs + other.docs, self.total_len + other.total_len, df)


def _doc_lengths(segments: Sequence[tuple[Postings, int]], total: int) -> np.ndarray:
    doc_len = np.zeros(total, dtype=np.float32)
    for seg, first in segments:
        part = seg.doc_len[: total - first]
        doc_len[first : first + part.size] = part
    return doc_len


def _term_rows(
    segments: Sequence[tuple[Postings, int]], term: str, live: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Live rows holding ``term`` and the term's frequency in each."""
    total = live.size
    parts = []
    for seg, first in segments:
        rows, tfs = seg.lookup(term)
        if rows.size:
            parts.append((rows + first, tfs))
    if not parts:
        return EMPTY_ROWS, EMPTY_ROWS
    rows = np.concatenate([p[0] for p in parts])
    tfs = np.concatenate([p[1] for p in parts])
    # A shared in-memory list can hold rows a newer snapshot added: they are not ours.
    keep = rows < total
    keep[keep] = live[rows[keep]]
    return rows[keep], tfs[keep]


def corpus_stats(
    segments: Sequence[tuple[Postings, int]], query_terms: Sequence[str], live: np.ndarray
) -> CorpusStats:
    """This corpus's BM25 statistics for ``query_terms`` (live rows only)."""
    doc_len = _doc_lengths(segments, live.size)
    df = {term: int(_term_rows(segments, term, live)[0].size) for term in set(query_terms)}
    return CorpusStats(int(live.sum()), float(doc_len[live].sum(dtype=np.float64)), df)


def bm25_scores(
    segments: Sequence[tuple[Postings, int]],
    query_terms: Sequence[str],
    live: np.ndarray,
    *,
    k1: float = DEFAULT_K1,
    b: float = DEFAULT_B,
    corpus: CorpusStats | None = None,
) -> np.ndarray:
    """BM25 score of every row for ``query_terms`` (repeats count, as in the query's bag of words).

    ``segments`` are ``(postings, first_row)`` pairs covering the rows; ``live`` marks the rows
    that exist (not deleted), which alone count in the statistics and get a score.
    ``corpus``: statistics of a larger corpus these rows are part of (a sharded index's), used
    instead of their own for idf and the average length.
    """
    total = live.size
    scores = np.zeros(total, dtype=np.float32)
    if not query_terms or not total:
        return scores
    doc_len = _doc_lengths(segments, total)
    n_live = int(live.sum()) if corpus is None else corpus.docs
    if not n_live:
        return scores
    sum_len = float(doc_len[live].sum(dtype=np.float64)) if corpus is None else corpus.total_len
    avgdl = sum_len / n_live or 1.0
    for term, qtf in Counter(query_terms).items():
        rows, tfs = _term_rows(segments, term, live)
        if not rows.size:
            continue
        tfs = tfs.astype(np.float32)
        df = rows.size if corpus is None else corpus.df.get(term, rows.size)
        idf = np.log1p((n_live - df + 0.5) / (df + 0.5))
        norm = k1 * (1.0 - b + b * doc_len[rows] / avgdl)
        scores[rows] += np.float32(qtf * idf) * tfs * np.float32(k1 + 1.0) / (tfs + norm)
    return scores
