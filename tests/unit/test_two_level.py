"""Query speed: PQ codes, the two-level search, embedding caches, bfloat16 inference."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import WordHashEmbedder, make_corpus

from leann_engine import (
    IndexFormatError,
    LeannBuilder,
    LeannIndex,
    LeannSearcher,
)
from leann_engine.build import pipeline
from leann_engine.build.passages import embed_all
from leann_engine.embed.base import normalize_rows
from leann_engine.embed.lru import EmbeddingLRU
from leann_engine.quant.pq import adc_scores, codebook_size, train_pq
from leann_engine.store.files.pq import decode_pq_file, encode_pq_file


def clustered(n: int, dim: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((20, dim))
    x = centers[rng.integers(0, 20, n)] + 0.3 * rng.standard_normal((n, dim))
    return normalize_rows(x.astype(np.float32))


def manifest(path):
    return json.loads((path / "manifest.json").read_text())


def exact_top(emb, texts, query, k):
    vecs = normalize_rows(emb.embed(texts))
    q = normalize_rows(emb.embed([query]))[0]
    return [f"p{i}" for i in np.argsort(-(vecs @ q))[:k]]


# The smallest index that gets PQ codes by default (codebook_size(1024) is the first > 0), with
# some room so its codebooks are not the minimum size.
N_BIG = 1200


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """N_BIG word-hash passages with PQ codes and a graph, without codes (graph only), with hubs,
    and with the defaults (codes this small are scanned: no graph is stored)."""
    emb = WordHashEmbedder()
    texts, metas = make_corpus(N_BIG, seed=3)
    ids = [f"p{i}" for i in range(len(texts))]
    root = tmp_path_factory.mktemp("speed")
    for name, opts in (("pq", {}), ("plain", {"pq_bytes": None}), ("hubs", {"hub_cache_mb": 0.05}), ("scan", {})):
        b = LeannBuilder(embedding_model=emb, **opts)
        b.add_texts(texts, metas, ids)
        with pytest.MonkeyPatch.context() as mp:
            if name == "pq":  # keep the graph, to test the walks on the codes
                mp.setattr(pipeline, "SCAN_BYTES", 0)
            b.build_index(root / f"{name}.leann")
    return root, texts


# ---------------------------------------------------------------- PQ


def test_pq_codes_approximate_the_vectors_and_adc_matches_decoding():
    x = clustered(2000, 48)
    pq = train_pq(x, 12)
    codes = pq.encode(x)
    assert codes.shape == (2000, 12) and codes.dtype == np.uint8
    approx = pq.decode(codes)
    err = np.linalg.norm(approx - x, axis=1).mean()
    assert err < 0.5 * np.linalg.norm(x - x.mean(0), axis=1).mean()  # far better than the mean vector
    q = x[7]
    table = pq.table(q)
    np.testing.assert_allclose(adc_scores(table, codes), approx @ q, rtol=1e-4, atol=1e-4)
    # The approximate ranking finds the exact nearest neighbours within a short list (5%).
    for qi in (7, 100, 555, 1234):
        q = x[qi]
        exact = set(np.argsort(-(x @ q))[:10].tolist())
        short = set(np.argsort(-adc_scores(pq.table(q), codes))[:100].tolist())
        assert len(short & exact) >= 9


def test_pq_pads_a_dimension_the_code_size_does_not_divide_and_checks_input():
    x = clustered(600, 30)
    pq = train_pq(x, 8, ksub=16)  # 30 = 8 x 4 - 2
    assert pq.codebooks.shape == (8, 16, 4)
    assert pq.decode(pq.encode(x)).shape == (600, 30)
    with pytest.raises(ValueError, match="pq_bytes must be an integer"):
        train_pq(x, 31)
    with pytest.raises(ValueError, match=r"shape \(n, 30\)"):
        pq.encode(np.zeros((3, 29), dtype=np.float32))
    assert codebook_size(1023) == 0 and codebook_size(1024) == 16 and codebook_size(20000) == 256


def test_pq_file_round_trips_and_detects_damage(tmp_path):
    x = clustered(700, 16)
    pq = train_pq(x, 4, ksub=16)
    codes = pq.encode(x)
    data = encode_pq_file(pq, codes)
    pq2, codes2 = decode_pq_file(data, tmp_path / "f.pq", n=700, dim=16)
    assert np.array_equal(codes2, codes)
    np.testing.assert_array_equal(pq2.codebooks, pq.codebooks)
    bad = bytearray(data)
    bad[-20] ^= 1
    with pytest.raises(IndexFormatError, match="checksum mismatch"):
        decode_pq_file(bytes(bad), tmp_path / "f.pq", n=700, dim=16)
    with pytest.raises(IndexFormatError, match="the index has 701"):
        decode_pq_file(data, tmp_path / "f.pq", n=701, dim=16)


def test_4bit_codebooks_are_stored_as_int8_and_float16_files_still_read(tmp_path):
    import struct

    from leann_engine.quant.pq4 import PackedPQ, train_packed

    x = clustered(900, 32)
    quant = train_packed(x, 8, seed=None)
    codes = quant.encode(x)
    data = encode_pq_file(quant, codes)
    assert struct.unpack("<I", data[8:12])[0] == 3
    back, codes2 = decode_pq_file(data, tmp_path / "f.pq", n=900, dim=32)
    np.testing.assert_array_equal(back.pq.codebooks, quant.pq.codebooks)
    assert np.array_equal(codes2, codes) and np.array_equal(back.encode(x), codes)
    # Codebooks off the int8 grid (trained before version 3) keep their float16 file.
    old = PackedPQ(train_pq(x, 16, ksub=16), None, margin=0.1)
    data = encode_pq_file(old, codes)
    assert struct.unpack("<I", data[8:12])[0] == 2 and len(data) > len(encode_pq_file(quant, codes))
    back, _ = decode_pq_file(data, tmp_path / "f.pq", n=900, dim=32)
    np.testing.assert_array_equal(back.pq.codebooks, old.pq.codebooks)
    bad = bytearray(encode_pq_file(quant, codes))
    bad[-1] ^= 1
    with pytest.raises(IndexFormatError, match="checksum mismatch"):
        decode_pq_file(bytes(bad), tmp_path / "f.pq", n=900, dim=32)


# ---------------------------------------------------------------- two-level search


def test_two_level_search_keeps_recall_with_a_fraction_of_the_recomputations(big):
    root, texts = big
    emb = WordHashEmbedder()
    two = LeannSearcher(root / "pq.leann", emb, embedding_cache_mb=0)
    plain = LeannSearcher(root / "plain.leann", emb, embedding_cache_mb=0)
    queries = [
        "recipe onion oven salt",
        "graph walk recall beam",
        "driver module patch review",
        "disk bytes varint",
    ]
    hits_two = hits_plain = 0
    rec_two, rec_plain = [], []
    for q in queries:
        want = set(exact_top(emb, texts, q, 5))
        r2 = two.search(q, top_k=5, complexity=32)
        r1 = plain.search(q, top_k=5, complexity=32)
        # The default scans every code and stops re-embedding once the codes' error bound
        # says the top 5 is final; an explicit prune ratio walks on the codes instead.
        assert r2.stats.strategy == "two-level/scan" and r1.stats.strategy == "graph"
        assert 5 <= r2.stats.recomputed <= 32
        walked = two.search(q, top_k=5, complexity=32, prune_ratio=0.8)
        assert walked.stats.strategy == "two-level/global" and walked.stats.recomputed == 32
        hits_two += len(want & {r.id for r in r2})
        hits_plain += len(want & {r.id for r in r1})
        rec_two.append(r2.stats.recomputed)
        rec_plain.append(r1.stats.recomputed)
        # Results carry exact scores, best first.
        q_vec = normalize_rows(emb.embed([q]))[0]
        got = normalize_rows(emb.embed([r.text for r in r2])) @ q_vec
        np.testing.assert_allclose([r.score for r in r2], got, rtol=1e-5, atol=1e-5)
    assert hits_two >= 0.9 * hits_plain
    assert sum(rec_two) < 0.25 * sum(rec_plain)
    # An exact walk on the same index (prune_ratio=0) and the local strategy also work.
    exact_walk = two.search(queries[0], top_k=5, complexity=32, prune_ratio=0.0)
    assert exact_walk.stats.strategy == "graph"
    local = two.search(queries[0], top_k=5, complexity=32, pruning_strategy="local", prune_ratio=0.5)
    assert local.stats.strategy == "two-level/local"
    assert 0 < local.stats.recomputed < exact_walk.stats.recomputed
    # A higher complexity re-embeds more and does not lose recall.
    wide = two.search(queries[0], top_k=5, complexity=96, prune_ratio=0.8)
    assert wide.stats.recomputed == 96
    assert len({r.id for r in wide} & set(exact_top(emb, texts, queries[0], 5))) >= 4


def test_index_whose_codes_are_scanned_stores_no_graph_and_keeps_recall(big):
    root, texts = big
    m = manifest(root / "scan.leann")
    assert "graph" not in m["files"] and m["graph"]["scan"] and m["format_version"] == 3
    assert "graph" in manifest(root / "pq.leann")["files"] and manifest(root / "pq.leann")["format_version"] == 3
    emb = WordHashEmbedder()
    scan = LeannSearcher(root / "scan.leann", emb, embedding_cache_mb=0)
    hits = total = 0
    for q in ("recipe onion oven salt", "graph walk recall beam", "driver module patch review"):
        want = set(exact_top(emb, texts, q, 5))
        # Without a graph every option scans the codes: the default, a prune ratio, the local
        # strategy; prune_ratio=0 re-embeds the best `complexity` estimates.
        for opts in ({}, {"prune_ratio": 0.8}, {"pruning_strategy": "local", "prune_ratio": 0.5}, {"prune_ratio": 0.0}):
            res = scan.search(q, top_k=5, complexity=32, **opts)
            assert res.stats.strategy == "two-level/scan" and 5 <= res.stats.recomputed <= 32
            hits += len(want & {r.id for r in res})
            total += 5
    assert hits >= 0.9 * total
    res = scan.search("recipe onion", top_k=10, metadata_filters={"topic": {"==": "kernel"}})
    assert len(res) == 10 and all(r.metadata["topic"] == "kernel" for r in res)


def test_two_level_search_honours_filters(big):
    root, _ = big
    s = LeannSearcher(root / "pq.leann", WordHashEmbedder())
    res = s.search("recipe onion", top_k=10, complexity=32, metadata_filters={"topic": {"==": "kernel"}})
    assert len(res) == 10 and all(r.metadata["topic"] == "kernel" for r in res)


def test_graph_only_index_ignores_prune_ratio_and_small_index_has_no_codes(tmp_path, big):
    root, _ = big
    assert "pq" not in manifest(root / "plain.leann")["files"]
    res = LeannSearcher(root / "plain.leann", WordHashEmbedder()).search("onion", top_k=3, prune_ratio=0.8)
    assert res.stats.strategy == "graph" and len(res) == 3
    texts, _ = make_corpus(20)
    b = LeannBuilder(embedding_model=WordHashEmbedder())
    b.add_texts(texts)
    b.build_index(tmp_path / "small.leann")
    assert "pq" not in manifest(tmp_path / "small.leann")["files"]  # 20 rows: scored exactly
    with pytest.raises(ValueError, match="pq_bytes must be an integer"):
        LeannBuilder(embedding_model=WordHashEmbedder(), pq_bytes=-1)


# ---------------------------------------------------------------- index format


def test_codes_file_is_listed_checked_and_rewritten_by_compaction(tmp_path, big):
    root, texts = big
    m = manifest(root / "pq.leann")
    name = m["files"]["pq"]
    assert m["build"]["pq_bytes"] == 48
    size = (root / "pq.leann" / name).stat().st_size
    chosen = m["graph"]["codes"]
    assert chosen["bytes"] <= 48
    # Packed 4-bit codes and float16 codebooks of 16 centroids per subspace.
    assert N_BIG * chosen["bytes"] <= size < N_BIG * chosen["bytes"] + 16 * 32 * 2 + 2000
    # A damaged codes file is refused at open.
    copy = tmp_path / "copy.leann"
    import shutil

    shutil.copytree(root / "pq.leann", copy)
    raw = bytearray((copy / name).read_bytes())
    raw[len(raw) // 2] ^= 0x40
    (copy / name).write_bytes(bytes(raw))
    with pytest.raises(IndexFormatError, match="checksum mismatch"):
        LeannSearcher(copy, WordHashEmbedder())
    # Compaction writes codes for the new base; an index from before codes stays graph-only.
    ix = LeannIndex(root / "pq.leann", WordHashEmbedder(), auto_compact=False)
    ix.add_texts(["a new passage about onions"], ids=["new"])
    ix.compact()
    m2 = manifest(root / "pq.leann")
    assert m2["files"]["pq"] != name and (root / "pq.leann" / m2["files"]["pq"]).exists()
    assert ix.search("new passage about onions", top_k=1)[0].id == "new"


def test_index_written_before_codes_still_searches(tmp_path, monkeypatch):
    emb = WordHashEmbedder()
    texts, metas = make_corpus(1100)
    monkeypatch.setattr(pipeline, "SCAN_BYTES", 0)  # the previous release always wrote a graph
    b = LeannBuilder(embedding_model=emb)
    b.add_texts(texts, metas, [f"p{i}" for i in range(1100)])
    path = tmp_path / "old.leann"
    b.build_index(path)
    # Rewrite the manifest as the previous release wrote it: no codes, no new build keys.
    m = manifest(path)
    (path / m["files"].pop("pq")).unlink()
    del m["build"]["pq_bytes"], m["build"]["hub_cache_mb"]
    (path / "manifest.json").write_text(json.dumps(m))
    ix = LeannIndex(path, emb, auto_compact=False)
    res = ix.search("recipe onion oven", top_k=5)
    assert res.stats.strategy == "graph" and len(res) == 5
    ix.compact()
    assert "pq" not in manifest(path)["files"]  # compaction keeps the index's own choice


# ---------------------------------------------------------------- caches


def test_lru_is_bounded_and_evicts_least_recently_used():
    lru = EmbeddingLRU(max_mb=10 * 64 * 4 / (1 << 20))  # room for ten 64-d vectors
    vecs = np.arange(12 * 64, dtype=np.float32).reshape(12, 64)
    lru.put(np.arange(10), vecs[:10])
    assert len(lru) == 10 and lru.nbytes == 10 * 64 * 4
    assert lru.get(0) is not None  # 0 is now the most recent
    lru.put(np.array([10, 11]), vecs[10:])
    assert len(lru) == 10 and lru.nbytes <= lru.max_bytes
    assert lru.get(1) is None and lru.get(2) is None  # the two oldest went
    np.testing.assert_array_equal(lru.get(0), vecs[0])
    assert lru.hits == 2 and lru.misses == 2
    off = EmbeddingLRU(0)
    off.put(np.arange(3), vecs[:3])
    assert len(off) == 0
    with pytest.raises(ValueError, match="embedding_cache_mb"):
        EmbeddingLRU(-1)


def test_lru_reuses_embeddings_across_queries(big):
    root, _ = big
    emb = WordHashEmbedder()
    s = LeannSearcher(root / "pq.leann", emb)
    first = s.search("graph walk recall", top_k=5)
    again = s.search("graph walk recall", top_k=5)
    assert first.stats.recomputed > 0 and again.stats.recomputed == 0
    assert again.stats.cached == first.stats.recomputed
    assert [r.id for r in again] == [r.id for r in first]
    near = s.search("graph walk recall beam", top_k=5)  # a related query shares much of the walk
    # (Its own stopping point may re-embed more than the first query did: only reuse is checked.)
    assert near.stats.cached > 0


def test_hub_cache_spares_recomputation_and_keeps_results(big):
    root, _ = big
    m = manifest(root / "hubs.leann")
    assert (
        m["files"]["hubs"]
        and (root / "hubs.leann" / m["files"]["hubs"]).stat().st_size <= 0.05 * (1 << 20) + 64
    )
    emb = WordHashEmbedder()
    with_hubs = LeannSearcher(root / "hubs.leann", emb, embedding_cache_mb=0)
    without = LeannSearcher(root / "pq.leann", emb, embedding_cache_mb=0)
    a = with_hubs.search("driver module patch", top_k=5, complexity=32, prune_ratio=0.0)
    b = without.search("driver module patch", top_k=5, complexity=32, prune_ratio=0.0)
    assert a.stats.cached > 0 and a.stats.recomputed + a.stats.cached == a.stats.visited
    assert a.stats.recomputed < b.stats.recomputed
    assert [r.id for r in a][:3] == [r.id for r in b][:3]


# ---------------------------------------------------------------- embeddings


def test_embed_all_sorts_by_length_and_returns_input_order():
    emb = WordHashEmbedder()
    texts = ["a", "three word text", "a much longer text with many more words in it", "two words"]
    out = embed_all(emb, texts, 32, batch=2)
    np.testing.assert_array_equal(out, WordHashEmbedder().embed(texts))
    assert emb.seen[0] == texts[2]  # longest first
