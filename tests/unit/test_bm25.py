"""BM25: scores, the keyword file, and the keyword index kept in step with the index."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import WordHashEmbedder, make_corpus

from leann_engine import IndexFormatError, LeannBuilder, LeannIndex, LeannSearcher
from leann_engine.hybrid.calibrate import DEFAULT_ALPHA
from leann_engine.keyword.bm25 import MemoryPostings, bm25_scores
from leann_engine.keyword.tokenize import Tokenizer
from leann_engine.store.files.bm25 import FilePostings, encode_bm25


def _corpus_tokens(sample_chunks):
    texts, _ = sample_chunks
    tok = Tokenizer()
    return texts, tok, [tok(t) for t in texts]


def test_bm25_scores_match_rank_bm25(sample_chunks):
    """rank-bm25 is the reference: same scores with the same idf, same ranking for one term."""
    rank_bm25 = pytest.importorskip("rank_bm25")

    class LuceneIdf(rank_bm25.BM25Okapi):
        def _calc_idf(self, nd):
            self.idf = {w: math.log1p((self.corpus_size - f + 0.5) / (f + 0.5)) for w, f in nd.items()}

    texts, tok, docs = _corpus_tokens(sample_chunks)
    live = np.ones(len(docs), dtype=bool)
    ref = LuceneIdf(docs, k1=1.2, b=0.75)
    okapi = rank_bm25.BM25Okapi(docs, k1=1.2, b=0.75)
    mem = MemoryPostings(docs)
    for q in ["kernel mailing list", "patch submission email", "tabs indentation eight", "sysrq reboot"]:
        qt = tok(q)
        ours = bm25_scores([(mem, 0)], qt, live)
        np.testing.assert_allclose(ours, ref.get_scores(qt), rtol=1e-4, atol=1e-4)
        assert int(np.argmax(ours)) == int(np.argmax(okapi.get_scores(qt)))
    for term in ["maintainer", "sysrq", "indentation"]:
        a = np.argsort(-bm25_scores([(mem, 0)], [term], live), kind="stable")[:5]
        b = np.argsort(-okapi.get_scores([term]), kind="stable")[:5]
        assert a.tolist() == b.tolist()


def test_bm25_file_matches_memory_lists_and_is_smaller_than_text(tmp_path, sample_chunks):
    texts, tok, docs = _corpus_tokens(sample_chunks)
    p = tmp_path / "k.bm25"
    p.write_bytes(encode_bm25(docs))
    fp, mem = FilePostings(p), MemoryPostings(docs)
    live = np.ones(len(docs), dtype=bool)
    live[::7] = False  # deleted rows neither match nor count
    for q in ["kernel mailing list", "coding style functions", "nothing-matches-this"]:
        a = bm25_scores([(fp, 0)], tok(q), live)
        np.testing.assert_allclose(a, bm25_scores([(mem, 0)], tok(q), live), rtol=1e-6)
        assert not a[~live].any()
    assert p.stat().st_size < sum(len(t.encode()) for t in texts)


def test_damaged_keyword_file_is_refused(tmp_path, sample_chunks):
    _, tok, docs = _corpus_tokens(sample_chunks)
    blob = bytearray(encode_bm25(docs))
    p = tmp_path / "k.bm25"
    blob[len(blob) // 2] ^= 0xFF
    p.write_bytes(bytes(blob))
    with pytest.raises(IndexFormatError, match="checksum"):
        FilePostings(p)
    p.write_bytes(b"not a keyword index at all")
    with pytest.raises(IndexFormatError, match="not a leann keyword index"):
        FilePostings(p)


def test_bm25_finds_identifiers_and_cjk(small_index):
    path, emb, _, _ = small_index
    s = LeannSearcher(path, emb)
    assert s.search("ValueError shapes not aligned", mode="bm25", top_k=1)[0].id == "d10"
    assert s.search("numpy.dot", mode="bm25", top_k=1)[0].id == "d10"
    assert s.search("研究", mode="bm25", top_k=1)[0].id == "d20"
    assert s.search("编程语言", mode="bm25", top_k=1)[0].id == "d30"
    assert s.last_stats.mode == "bm25" and s.last_stats.recomputed == 0
    assert s.search("zzzz qqqq", mode="bm25") == []
    manifest = json.loads((path / "manifest.json").read_text())
    assert (path / manifest["files"]["bm25"]).exists()
    assert manifest["keyword"]["tokenizer"]["name"] == "leann-unicode"


def test_keyword_index_follows_add_upsert_delete_and_compaction(small_index):
    path, emb, _, _ = small_index
    ix = LeannIndex(path, emb, auto_compact=False)
    reader = LeannSearcher(path, emb)
    assert reader.search("crocodile", mode="bm25", top_k=3)[0].id == "d30"
    ix.add_texts(["a zebra-unicorn appears"], ids=["new"])
    assert [r.id for r in reader.search("unicorn", mode="bm25")] == ["new"]
    ix.add_texts(["search nothing special now"], ids=["d30"])  # upsert: the old text is gone
    assert "d30" not in [r.id for r in reader.search("crocodile", mode="bm25")]
    assert reader.search("nothing special", mode="bm25", top_k=1)[0].id == "d30"
    ix.delete(["d10", "new"])
    for mode in ("bm25", "hybrid"):
        got = [r.id for r in reader.search("ValueError numpy unicorn", mode=mode, top_k=60)]
        assert "d10" not in got and "new" not in got
    assert reader.search("aligned", use_grep=True) == []
    ix.compact()
    fresh = LeannSearcher(path, emb)
    assert fresh.manifest["delta"]["rows"] == 0
    assert fresh.search("nothing special", mode="bm25", top_k=1)[0].id == "d30"
    assert "d10" not in [r.id for r in fresh.search("ValueError aligned", mode="bm25", top_k=60)]
    assert fresh.search("研究", mode="bm25", top_k=1)[0].id == "d20"


def test_delta_statistics_match_a_fresh_build(tmp_path):
    """Scores over base + delta equal those of one index built from the same live passages."""
    texts, _ = make_corpus(40)
    emb = WordHashEmbedder()
    ix = LeannIndex.create(tmp_path / "grown", emb)
    ix.add_texts(texts[:25], ids=[str(i) for i in range(25)])
    ix.add_texts(texts[25:], ids=[str(i) for i in range(25, 40)])
    ix.delete(["3", "30"])
    b = LeannBuilder(embedding_model=emb)
    keep = [i for i in range(40) if i not in (3, 30)]
    b.add_texts([texts[i] for i in keep], ids=[str(i) for i in keep])
    b.build_index(tmp_path / "fresh")
    fresh = LeannSearcher(tmp_path / "fresh", emb)
    for q in ["kernel driver patch", "recipe onion", "w7 number"]:
        a = {r.id: r.score for r in ix.search(q, mode="bm25", top_k=40)}
        b_ = {r.id: r.score for r in fresh.search(q, mode="bm25", top_k=40)}
        assert a.keys() == b_.keys()
        for k in a:
            assert a[k] == pytest.approx(b_[k], rel=1e-5)


def test_index_without_keyword_file_still_answers(small_index):
    """Indexes written before keyword search existed get their lists built in memory."""
    path, emb, _, _ = small_index
    m = json.loads((path / "manifest.json").read_text())
    (path / m["files"].pop("bm25")).unlink()
    m.pop("keyword")
    (path / "manifest.json").write_text(json.dumps(m))
    assert LeannSearcher(path, emb).search("numpy.dot", mode="bm25", top_k=1)[0].id == "d10"


def test_corrupt_keyword_file_in_an_index_is_a_clear_error(small_index):
    path, emb, _, _ = small_index
    m = json.loads((path / "manifest.json").read_text())
    f = path / m["files"]["bm25"]
    f.write_bytes(f.read_bytes()[:-10])
    s = LeannSearcher(path, emb)
    assert s.search("kernel", top_k=1)  # dense search does not need it
    with pytest.raises(IndexFormatError, match="rebuild the index"):
        s.search("kernel", mode="bm25")


def test_keyword_index_and_calibration_can_be_turned_off(tmp_path):
    texts, _ = make_corpus(120)
    emb = WordHashEmbedder()
    b = LeannBuilder(embedding_model=emb, keyword_index=False, calibrate=False)
    b.add_texts(texts, ids=[str(i) for i in range(len(texts))])
    b.build_index(tmp_path / "lean")
    calls = emb.calls
    s = LeannSearcher(tmp_path / "lean", emb)
    m = s.manifest
    assert "bm25" not in m["files"] and not m["calibration"]
    assert emb.calls == calls  # no probe embeddings
    assert "cooking" in s.search("recipe onion", mode="bm25", top_k=1)[0].text
    s.search("recipe onion", mode="hybrid", top_k=3)
    assert s.last_stats.alpha == DEFAULT_ALPHA
    ix = LeannIndex(tmp_path / "lean", emb)
    ix.compact()  # the choices survive compaction
    assert "bm25" not in ix.manifest["files"] and not ix.manifest["calibration"]
