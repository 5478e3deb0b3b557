"""Search modes and fusion: filters in every mode, RRF and blend, hybrid alpha, defaults."""

from __future__ import annotations

import pytest

from leann_engine import LeannIndex, LeannSearcher
from leann_engine.hybrid.fusion import blend, rrf


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_filters_apply_in_every_mode(small_index, mode):
    path, emb, _, metas = small_index
    s = LeannSearcher(path, emb)
    got = s.search(
        "kernel driver module", mode=mode, top_k=8, metadata_filters={"topic": "kernel", "n": {">": 20}}
    )
    assert got and all(r.metadata["topic"] == "kernel" and r.metadata["n"] > 20 for r in got)
    either = s.search(
        "storage kernel",
        mode=mode,
        top_k=50,
        metadata_filters={"$or": [{"topic": "kernel"}, {"topic": "storage"}]},
    )
    assert {r.metadata["topic"] for r in either} == {"kernel", "storage"}
    assert len(either) == sum(m["topic"] in ("kernel", "storage") for m in metas) or mode != "dense"


def test_rrf_and_blend_formulas():
    dense = [(1, 0.9), (2, 0.8), (3, 0.1)]
    kw = [(3, 12.0), (1, 2.0)]
    fused = dict(rrf(dense, kw, 0.5))
    assert fused[1] == pytest.approx(0.5 / 61 + 0.5 / 62)
    assert fused[2] == pytest.approx(0.5 / 62)
    assert [r for r, _ in rrf(dense, kw, 1.0)][:3] == [1, 2, 3]
    b = dict(blend(dense, kw, 0.25))
    assert b[3] == pytest.approx(0.25 * 0.0 + 0.75 * 1.0)
    assert b[1] == pytest.approx(0.25 * 1.0 + 0.75 * 0.0)


def test_hybrid_alpha_extremes_and_custom_fusion(small_index):
    path, emb, _, _ = small_index
    s = LeannSearcher(path, emb)
    q = "kernel ValueError aligned"
    dense = [r.id for r in s.search(q, mode="dense", top_k=5)]
    kw = [r.id for r in s.search(q, mode="bm25", top_k=5)]
    for fusion in ("rrf", "blend"):
        assert [r.id for r in s.search(q, mode="hybrid", alpha=1.0, top_k=5, fusion=fusion)] == dense
    assert [r.id for r in s.search(q, mode="hybrid", alpha=0.0, top_k=len(kw), fusion="rrf")] == kw
    seen = {}

    def keyword_only(d, k, alpha):
        seen["alpha"] = alpha
        return list(k)

    assert [r.id for r in s.search(q, mode="hybrid", fusion=keyword_only, alpha=0.3, top_k=len(kw))] == kw
    assert seen["alpha"] == 0.3
    with pytest.raises(ValueError, match="fusion must be one of"):
        s.search(q, mode="hybrid", fusion="max")
    with pytest.raises(ValueError, match=r"alpha must be a number in \[0, 1\]"):
        s.search(q, mode="hybrid", alpha=1.5)
    with pytest.raises(ValueError, match="mode must be one of"):
        s.search(q, mode="sparse")


def test_searcher_defaults(small_index):
    path, emb, _, _ = small_index
    s = LeannSearcher(path, emb, mode="bm25")
    s.search("numpy.dot", top_k=1)
    assert s.last_stats.mode == "bm25"
    h = LeannIndex(path, emb, mode="hybrid", alpha=0.25, fusion="rrf")
    h.search("numpy.dot", top_k=1)
    assert h.last_stats.mode == "hybrid" and h.last_stats.alpha == 0.25
    with pytest.raises(ValueError, match="mode must be one of"):
        LeannSearcher(path, emb, mode="fuzzy")
