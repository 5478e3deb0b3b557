"""Per-query fusion weights from the agreement of the dense and keyword rankings."""

from __future__ import annotations

import math

import pytest
from conftest import WordHashEmbedder, make_corpus

from leann_engine import LeannBuilder, LeannSearcher
from leann_engine.embed.language import readable_share
from leann_engine.hybrid.adaptive import agreement, query_alpha, standout
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


def peaked(rows, top=1.0):
    """A ranking with one clear best candidate, then a slow tail (50 candidates)."""
    return [(rows[0], top)] + [(r, top * (0.5 - 0.004 * i)) for i, r in enumerate(rows[1:])]


def flat(rows, top=1.0):
    """A ranking whose top ten are nearly tied (common words only; a model guessing)."""
    return [(r, top * (1.0 - (0.002 * i if i < 10 else 0.02 + 0.01 * i))) for i, r in enumerate(rows)]


def test_standout():
    assert standout(peaked(list(range(50)))) > 0.7
    assert standout(flat(list(range(50)))) < 0.1
    assert standout(ranked(range(5))) == 0.0  # too few candidates
    assert standout([(i, 1.0) for i in range(20)]) == 0.0


def test_query_alpha_follows_agreement_then_standout():
    a = peaked(list(range(50)))
    assert query_alpha(0.7, a, a) == pytest.approx(0.7)  # full agreement: the prior
    other_flat = flat(list(range(100, 150)), top=9.0)
    other_peaked = peaked(list(range(100, 150)), top=9.0)
    assert query_alpha(0.7, a, other_flat) > 0.95  # disagreement: the clear ranking wins
    assert query_alpha(0.7, flat(list(range(50))), other_peaked) < 0.1
    assert query_alpha(0.7, a, other_peaked) == pytest.approx(0.7, abs=0.05)  # both clear: prior
    assert query_alpha(0.8, a, []) == 1.0 and query_alpha(0.8, [], a) == 0.0
    assert query_alpha(0.0, a, other_flat) == 0.0 and query_alpha(1.0, flat(list(range(50))), other_peaked) == 1.0


def test_disagreeing_keyword_noise_cannot_demote_the_trusted_ranking():
    """Dense has the answer (7) third; keyword search, matching only common words, ranks
    unrelated passages with nearly tied scores. With a prior that leans to keywords (0.4), a
    fixed-weight blend puts the keyword noise above the answer; the per-query weight sees the
    disagreement and the flat keyword top, and keeps the answer in place."""
    dense = ranked([10, 11, 7, *range(30, 77)], step=0.004)
    keyword = flat(list(range(500, 550)), top=12.0)
    fixed = blend(dense, keyword, 0.4)
    adaptive = blend(dense, keyword, query_alpha(0.4, dense, keyword))
    assert ndcg_one(fixed, 7) < ndcg_one(dense, 7)
    assert ndcg_one(adaptive, 7) == ndcg_one(dense, 7)


def test_never_loses_over_a_mixed_query_set():
    """Constructed queries of three kinds: dense clear and right while keywords match common
    words only; keywords clear and right (a rare identifier) while dense guesses; both hold
    the answer in the middle of rankings that agree in part. The adaptive hybrid is at least
    the better single ranking and beats both."""
    queries = []
    for i in range(30):
        rel, base = 10_000 + i, i * 100
        if i % 3 == 0:
            d = peaked([rel, *range(base, base + 49)])
            k = flat(list(range(base + 50, base + 100)), top=8.0)
        elif i % 3 == 1:
            d = flat(list(range(base, base + 50)))
            k = peaked([rel, *range(base + 50, base + 99)], top=15.0)
        else:
            d = ranked([base, base + 1, base + 2, rel, *range(base + 3, base + 49)], step=0.01)
            k = ranked([base + 1, rel, base + 2, *range(base + 50, base + 97)], top=9.0, step=0.15)
        queries.append((d, k, rel))

    def mean(f):
        return sum(ndcg_one(f(d, k), rel) for d, k, rel in queries) / len(queries)

    dense = mean(lambda d, k: d)
    keyword = mean(lambda d, k: k)
    adaptive = mean(lambda d, k: blend(d, k, query_alpha(0.7, d, k)))
    fixed = mean(lambda d, k: blend(d, k, 0.7))
    assert adaptive >= max(dense, keyword) - 0.005
    assert adaptive > max(dense, keyword) and adaptive > fixed


def test_english_only_model_reads_only_latin_queries():
    assert readable_share("sentence-transformers/all-MiniLM-L6-v2", "how to copy files") == 1.0
    assert readable_share("sentence-transformers/all-MiniLM-L6-v2", "ファイルをコピーする") == 0.0
    assert 0.0 < readable_share("sentence-transformers/all-MiniLM-L6-v2", "cp でファイルをコピー") < 0.5
    assert readable_share("intfloat/multilingual-e5-small", "ファイルをコピーする") == 1.0
    assert readable_share("sentence-transformers/all-MiniLM-L6-v2", "1234") == 1.0


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
