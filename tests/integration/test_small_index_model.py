"""The quick start's sample (~515 real chunks) with the real model: small, few re-embeddings,
the exact answers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from leann_engine import FunctionEmbedder, LeannBuilder, LeannSearcher
from leann_engine.embed.base import normalize_rows

QUICKSTART_QUESTIONS = [
    "how do I send a patch to the kernel maintainers?",
    "magic SysRq key to reboot the machine",
    "how many spaces should indentation use?",
]


@pytest.mark.model
def test_quickstart_sample_is_small_and_re_embeds_at_most_32(tmp_path, sample_chunks, real_model):
    texts, metas = sample_chunks
    raw = real_model.embed(texts)
    row = {t: i for i, t in enumerate(texts)}
    # The build takes the vectors just computed; every search below re-embeds for real.
    lookup = FunctionEmbedder(
        lambda ts: raw[[row[t] for t in ts]] if all(t in row for t in ts) else real_model.embed(ts),
        real_model.dimension,
        name=real_model.name,
    )
    path = tmp_path / "sample.leann"
    b = LeannBuilder(embedding_model=lookup)
    b.add_texts(texts, metas)
    b.build_index(path)
    m = json.loads((path / "manifest.json").read_text())
    assert m["files"].get("pq") and m["graph"]["codes"]["bytes"] <= 48
    flat = len(texts) * real_model.dimension * 4
    index_bytes = sum(
        (path / name).stat().st_size
        for key, name in m["files"].items()
        if key in ("graph", "pq", "base_table")
    )
    # The target at 500 passages is 6%; measured 6.06% (graph 1.1%, 48-byte codes with
    # their 12 KB of codebooks 4.8%): the graph on top of codes that keep recall is the excess.
    assert index_bytes <= 0.065 * flat
    vecs = normalize_rows(raw)
    s = LeannSearcher(path, real_model, embedding_cache_mb=0)
    for q in QUICKSTART_QUESTIONS:
        res = s.search(q, top_k=3)
        assert res.stats.recomputed <= 32, (q, res.stats.recomputed)
        qv = normalize_rows(real_model.embed([q]))[0]
        want = {str(i) for i in np.argsort(-(vecs @ qv))[:3]}
        assert len(want & {r.id for r in res}) >= 2, q
        assert res[0].id in want
