"""Per-query fusion weights from the agreement of the dense and keyword rankings."""

from __future__ import annotations

import math

import pytest
from conftest import WordHashEmbedder, make_corpus

from leann_engine import LeannBuilder, LeannSearcher
from leann_engine.hybrid.adaptive import agreement, query_alpha
from leann_engine.hybrid.calibrate import prior_alpha
from leann_engine.hybrid.fusion import blend


def ranked(rows, top=1.0, step=0.01):
    return [(r, top - i * step) for i, r in enumerate(rows)]


def ndcg_one(fused, relevant, k=10):
    rows = [r for r, _ in fused][:k]
    return 1 / math.log2(rows.index(relevant) + 2) if relevant in rows else 0.0


def test_agreement_is_average_overlap():
    a = ranked(range(10))
    assert agreement(a, a) == 1.0
    assert agreement(a, ranked(range(100, 110))) == 0.0
    # Reversed: the sets meet only from depth 6 on.
    expected = sum(max(0, 2 * t - 10) / t for t in range(1, 11)) / 10
    assert agreement(a, ranked(reversed(range(10)))) == pytest.approx(expected)
    # Swapping the top two costs only the first depth.
    assert agreement(a, ranked([1, 0, *range(2, 10)])) == pytest.approx(0.9)
    assert agreement([], []) == 0.0
    assert agreement(ranked([1, 2]), ranked([2, 1, 3, 4])) == pytest.approx((0 + 1 + 2 / 3 + 2 / 4) / 4)


def test_query_alpha_moves_from_prior_to_the_trusted_side():
    a = ranked(range(10))
    other = ranked(range(100, 110))
    assert query_alpha(0.8, a, a) == pytest.approx(0.8)  # agreement: keep the prior
    assert query_alpha(0.8, a, other) == 1.0  # nothing shared: dense alone
    assert query_alpha(0.2, a, other) == 0.0  # ...or keywords alone, as the prior says
    half = query_alpha(0.8, a, ranked([0, 1, 2, 3, 4, 105, 106, 107, 108, 109]))
    assert 0.8 < half < 1.0
    assert query_alpha(0.5, a, other) == 0.5  # no calibration: no side to trust
    assert query_alpha(0.8, a, []) == 1.0 and query_alpha(0.8, [], a) == 0.0


def test_disagreeing_keyword_noise_cannot_demote_the_trusted_ranking():
    """Dense (trusted, prior 0.8) has the answer at rank 3; keyword search ranks unrelated
    passages first, two of which dense has just below the answer. A fixed-weight blend lets
    them pass it; the per-query weight keeps the dense order."""
    dense = ranked([10, 11, 7, 20, 21, *range(30, 45)], step=0.005)
    keyword = ranked([20, 21, 50, 51, 52, 53, 54, 55, 56, 57], top=12.0, step=1.0)
    fixed = blend(dense, keyword, 0.8)
    assert ndcg_one(fixed, 7) < ndcg_one(dense, 7)
    adaptive = blend(dense, keyword, query_alpha(0.8, dense, keyword))
    assert ndcg_one(adaptive, 7) == ndcg_one(dense, 7)


def test_agreeing_rankings_still_fuse():
    """Both rankings hold the answer (dense 4th, keyword 2nd): agreement keeps the prior's
    blend, which lifts it above where either ranking alone had it."""
    dense = ranked([1, 2, 3, 7, 4, 5, 6, 8, 9, 10], step=0.02)
    keyword = ranked([2, 7, 1, 3, 5, 4, 11, 12, 13, 14], top=10.0, step=1.0)
    a = query_alpha(0.6, dense, keyword)
    assert 0.6 <= a < 0.8
    fused = blend(dense, keyword, a)
    assert ndcg_one(fused, 7) > max(ndcg_one(dense, 7), ndcg_one(keyword, 7))


def test_never_loses_over_a_mixed_query_set():
    """Over constructed queries where dense is right and keywords are noise, keywords are right
    and dense is noise, or both hold the answer, the adaptive hybrid is at least the better
    single ranking (dense, by the prior) and beats both."""
    queries = []
    for i in range(30):
        rel = 1000 + i
        good = ranked([rel, *range(i * 20, i * 20 + 9)], step=0.01)
        noise = ranked(range(5000 + i * 20, 5010 + i * 20), top=9.0, step=0.5)
        if i % 3 == 0:  # dense right, keyword noise
            queries.append((good, noise, rel))
        elif i % 3 == 1:  # both hold it low, the shared passages differ
            d = ranked([*range(i * 20, i * 20 + 3), rel, *range(i * 20 + 3, i * 20 + 9)], step=0.01)
            k = ranked([i * 20 + 1, rel, *range(7000 + i * 20, 7008 + i * 20)], top=9.0, step=0.5)
            queries.append((d, k, rel))
        else:  # dense slightly off, keyword noise
            d = ranked([*range(i * 20, i * 20 + 2), rel, *range(i * 20 + 2, i * 20 + 9)], step=0.01)
            queries.append((d, noise, rel))

    def mean(f):
        return sum(ndcg_one(f(d, k), rel) for d, k, rel in queries) / len(queries)

    dense = mean(lambda d, k: d)
    keyword = mean(lambda d, k: k)
    adaptive = mean(lambda d, k: blend(d, k, query_alpha(0.8, d, k)))
    assert adaptive >= max(dense, keyword) - 0.005
    assert adaptive > max(dense, keyword)


def test_searcher_reports_prior_and_query_weight(tmp_path):
    texts, metas = make_corpus(200)
    emb = WordHashEmbedder()
    b = LeannBuilder(embedding_model=emb)
    b.add_texts(texts, metas)
    b.build_index(tmp_path / "i")
    s = LeannSearcher(tmp_path / "i", emb)
    s.search("kernel driver module", mode="hybrid", top_k=5)
    st = s.last_stats
    assert st.alpha_prior == pytest.approx(prior_alpha(s.manifest["calibration"]))
    assert st.alpha is not None and 0.0 <= st.alpha <= 1.0
    s.search("kernel driver module", mode="hybrid", top_k=5, alpha=0.3)
    assert s.last_stats.alpha == 0.3 and s.last_stats.alpha_prior is None
