"""Calibration of the hybrid weight: its prior and where it is stored."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import WordHashEmbedder, make_corpus

from leann_engine import LeannBuilder, LeannIndex, LeannSearcher
from leann_engine.hybrid.calibrate import ALPHA_MAX, DEFAULT_ALPHA, prior_alpha, probe_dense


class BlindEmbedder:
    """Vectors that depend on the whole text only, like a model that does not read the language."""

    name, dimension = "blind", 32

    def embed(self, texts):
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i] = np.random.default_rng(abs(hash(t)) % 2**32).standard_normal(self.dimension)
        return out


def test_calibration_gives_a_model_that_reads_the_text_more_weight():
    rng = np.random.default_rng(0)
    texts = [" ".join(f"word{j}" for j in rng.integers(0, 3000, size=10)) for _ in range(300)]
    seeing, blind = WordHashEmbedder(dimension=256), BlindEmbedder()
    cal_seeing = probe_dense(seeing, texts, seeing.embed(texts), "cosine")
    cal_blind = probe_dense(blind, texts, blind.embed(texts), "cosine")
    assert cal_seeing["dense_excess"] > 1.0 > cal_blind["dense_excess"]
    assert prior_alpha(cal_seeing) > DEFAULT_ALPHA > prior_alpha(cal_blind)
    assert prior_alpha(None) == DEFAULT_ALPHA and prior_alpha(cal_seeing) <= ALPHA_MAX
    assert probe_dense(seeing, texts[:10], seeing.embed(texts[:10]), "cosine") is None  # too small


def test_calibration_is_stored_at_build_and_when_an_index_grows(tmp_path):
    texts, _ = make_corpus(200)
    emb = WordHashEmbedder()
    b = LeannBuilder(embedding_model=emb)
    b.add_texts(texts)
    b.build_index(tmp_path / "built")
    s = LeannSearcher(tmp_path / "built", emb)
    cal = s.manifest["calibration"]
    assert cal["probes"] > 0
    s.search("kernel driver", mode="hybrid", top_k=3)
    assert s.last_stats.alpha_prior == pytest.approx(prior_alpha(cal))
    prior, side = s.last_stats.alpha_prior, float(s.last_stats.alpha_prior > 0.5)
    assert min(prior, side) <= s.last_stats.alpha <= max(prior, side)  # moved by agreement
    grown = LeannIndex.create(tmp_path / "grown", emb)
    grown.add_texts(texts[:30])
    assert not grown.manifest.get("calibration")
    grown.add_texts(texts[30:120])
    assert grown.manifest["calibration"]["probes"] > 0
