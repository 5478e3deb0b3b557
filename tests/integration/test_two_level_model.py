"""Two-level search and bfloat16 embedding with the real all-MiniLM-L6-v2 model."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import WordHashEmbedder, make_corpus

from leann_engine import (
    FunctionEmbedder,
    IndexFormatError,
    LeannBuilder,
    LeannIndex,
    LeannSearcher,
    SentenceTransformerEmbedder,
)
from leann_engine.build.passages import embed_all
from leann_engine.embed.base import normalize_rows
from leann_engine.embed.lru import EmbeddingLRU
from leann_engine.quant.pq import adc_scores, codebook_size, train_pq
from leann_engine.store.files.pq import decode_pq_file, encode_pq_file


def manifest(path):
    return json.loads((path / "manifest.json").read_text())


def exact_top(emb, texts, query, k):
    vecs = normalize_rows(emb.embed(texts))
    q = normalize_rows(emb.embed([query]))[0]
    return [f"p{i}" for i in np.argsort(-(vecs @ q))[:k]]


@pytest.mark.model
def test_bfloat16_embeddings_stay_close_to_float32_and_keep_rankings(real_model, sample_chunks):
    texts = sample_chunks[0][:40]
    bf = SentenceTransformerEmbedder(precision="bfloat16")
    a = normalize_rows(real_model.embed(texts))
    b = normalize_rows(bf.embed(texts))
    assert (a * b).sum(axis=1).min() > 0.999
    queries = ["reboot with the SysRq key", "tabs for indentation", "send a patch", "kernel mailing list"]
    qa, qb = normalize_rows(real_model.embed(queries)), normalize_rows(bf.embed(queries))
    for i in range(len(queries)):
        assert set(np.argsort(-(a @ qa[i]))[:3]) == set(np.argsort(-(b @ qb[i]))[:3])
    with pytest.raises(ValueError, match="precision must be one of"):
        SentenceTransformerEmbedder(precision="int8")


@pytest.mark.model
def test_two_level_search_with_the_real_model(tmp_path, sample_chunks, real_model):
    texts, metas = sample_chunks
    # Codes start at 1,024 passages: every chunk twice (ids differ, texts and vectors match).
    texts2, metas2 = texts + texts, metas + metas
    path = tmp_path / "real.leann"
    raw = real_model.embed(texts)
    vecs = normalize_rows(raw)
    row = {t: i for i, t in enumerate(texts)}
    # Built from the vectors just computed (same model); the searches below re-embed for real.
    # Texts not in the table (the build's calibration probe) go to the real model.
    lookup = FunctionEmbedder(
        lambda ts: raw[[row[t] for t in ts]] if all(t in row for t in ts) else real_model.embed(ts),
        real_model.dimension,
        name=real_model.name,
    )
    b = LeannBuilder(embedding_model=lookup)
    b.add_texts(texts2, metas2, [f"c{i}" for i in range(len(texts2))])
    b.build_index(path)
    assert "pq" in manifest(path)["files"]
    s = LeannSearcher(path, real_model, embedding_cache_mb=0)
    agree = []
    for q in [
        "magic SysRq key combination to reboot",
        "indentation should use tabs",
        "how to submit patches",
    ]:
        res = s.search(q, top_k=3, complexity=32)
        assert res.stats.strategy == "two-level/scan" and 3 <= res.stats.recomputed <= 32
        qv = normalize_rows(real_model.embed([q]))[0]
        want = {texts[i] for i in np.argsort(-(vecs @ qv))[:2]}  # the best two texts fill the top 3+
        agree.append(len(want & {r.text for r in res}) / 2)
        np.testing.assert_allclose(
            [r.score for r in res], [float(vecs[row[r.text]] @ qv) for r in res], atol=2e-3
        )
    assert np.mean(agree) >= 0.65
