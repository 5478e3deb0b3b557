"""Rerankers: exact rerank and custom reranker objects."""

from __future__ import annotations

import numpy as np
import pytest

from leann_engine import LeannSearcher
from leann_engine.hybrid.rerank import Candidates, ExactReranker, Reranker, make_reranker


def test_exact_rerank_orders_by_cosine(small_index):
    path, emb, _, _ = small_index
    s = LeannSearcher(path, emb)
    got = s.search("recipe onion garlic", mode="bm25", rerank=True, top_k=5, rerank_top_n=15)
    assert got.stats.recomputed > 0
    ids = [r.id for r in got]
    q = emb.embed(["recipe onion garlic"])[0]
    q /= np.linalg.norm(q)
    vecs = s.passage_embeddings(ids)
    np.testing.assert_allclose([r.score for r in got], vecs @ q, rtol=1e-5)
    assert [r.score for r in got] == sorted([r.score for r in got], reverse=True)


def test_custom_reranker_object(small_index):
    path, emb, _, _ = small_index

    class ShortestFirst:
        def score(self, query, texts):
            return [-len(t) for t in texts]

    s = LeannSearcher(path, emb, rerank=ShortestFirst())
    got = s.search("kernel", mode="bm25", rerank=True, top_k=4)
    assert [len(r.text) for r in got] == sorted(len(r.text) for r in got)
    with pytest.raises(ValueError, match="rerank must be True"):
        s.search("kernel", rerank=3.5)


def test_exact_reranker_scores_rows_through_its_callbacks():
    vecs = np.eye(4, dtype=np.float32)
    asked = []

    def vectors_for(rows):
        asked.append(list(rows))
        return vecs[rows]

    rr = ExactReranker(lambda: np.array([0.1, 0.9, 0.0, 0.5], dtype=np.float32), vectors_for)
    assert isinstance(rr, Reranker)
    got = rr.score("ignored", Candidates(["a", "b", "c"], [3, 1, 0]))
    np.testing.assert_allclose(got, [0.5, 0.9, 0.1])
    assert asked == [[3, 1, 0]]
    assert rr.score("q", Candidates([], [])) == []
    with pytest.raises(ValueError, match="pass Candidates"):
        rr.score("q", ["a", "b"])
    with pytest.raises(ValueError, match="2 texts but 1 rows"):
        Candidates(["a", "b"], [1])
    with pytest.raises(ValueError, match="rerank='exact' needs"):
        make_reranker("exact")


def test_exact_rerank_reuses_the_embeddings_the_walk_computed(small_index):
    path, emb, _, _ = small_index
    plain = LeannSearcher(path, emb).search("kernel module patch", top_k=20)
    reranked = LeannSearcher(path, emb).search("kernel module patch", top_k=20, rerank=True, rerank_top_n=20)
    assert plain.stats.recomputed > 0
    assert reranked.stats.recomputed == plain.stats.recomputed
    assert sorted(r.id for r in reranked) == sorted(r.id for r in plain)
    np.testing.assert_allclose(sorted(r.score for r in reranked), sorted(r.score for r in plain), rtol=1e-5)


def test_every_reranker_gets_the_candidate_rows(small_index):
    path, emb, _, _ = small_index

    class RowEcho:
        def score(self, query, texts):
            return [-float(r) for r in texts.rows]

    s = LeannSearcher(path, emb)
    got = s.search("kernel", mode="bm25", rerank=RowEcho(), top_k=5)
    rows = [int(-r.score) for r in got]
    assert len(rows) == 5 and rows == sorted(rows)
    assert [s._snap.row_of[r.id] for r in got] == rows  # the rows are those of the passages
