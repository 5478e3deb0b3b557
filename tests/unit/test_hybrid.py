"""Hybrid retrieval: tokenizer, BM25 index and its upkeep, fusion, grep, rerankers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import WordHashEmbedder, make_corpus

from leann_engine import IndexFormatError, LeannBuilder, LeannIndex, LeannSearcher
from leann_engine.keyword.bm25 import MemoryPostings, bm25_scores
from leann_engine.store.files.bm25 import FilePostings, encode_bm25
from leann_engine.hybrid.calibrate import ALPHA_MAX, DEFAULT_ALPHA, prior_alpha, probe_dense
from leann_engine.hybrid.fusion import blend, rrf
from leann_engine.keyword.grep import grep_rows
from leann_engine.hybrid.rerank import CrossEncoderReranker
from leann_engine.keyword.tokenize import Tokenizer

# ---------------------------------------------------------------------------- tokenizer


def test_cjk_runs_become_unigrams_and_bigrams():
    tok = Tokenizer()
    assert tok("機械学習") == ["機", "械", "学", "習", "機械", "械学", "学習"]
    assert "编程" in tok("Python 是一种编程语言。") and "python" in tok("Python 是一种编程语言。")
    # Half-width katakana and full-width Latin are normalised first.
    assert tok("ｶﾀｶﾅ ＡＢＣ") == tok("カタカナ abc")


def test_identifiers_are_split_and_kept_whole():
    tok = Tokenizer()
    assert tok("os.path.join") == ["os.path.join", "os", "path", "join"]
    assert tok("getElementById") == ["getelementbyid", "get", "element", "by", "id"]
    assert tok("snake_case_name") == ["snake_case_name", "snake", "case", "name"]
    assert tok("HTTPServer") == ["httpserver", "http", "server"]
    assert tok("ValueError: shapes not aligned")[:3] == ["valueerror", "value", "error"]
    # A sentence end is not a dotted name; a decimal number is two numbers.
    assert tok("end. Next 3.14") == ["end", "next", "3", "14"]


def test_latin_is_folded_but_other_scripts_keep_their_marks():
    tok = Tokenizer()
    assert tok("Café NAÏVE Résumé") == ["cafe", "naive", "resume"]
    assert tok("がぎ") == ["が", "ぎ", "がぎ"]  # dakuten are not accents to strip


def test_stopwords_per_language_and_config_round_trip():
    assert Tokenizer("en")("the cat is on the mat") == ["cat", "mat"]
    assert "の" not in Tokenizer("ja")("機械の研究")
    t = Tokenizer("en,zh")
    assert Tokenizer.from_config(t.config())("the 的 cat") == t("the 的 cat") == ["cat"]
    custom = Tokenizer(["Foo"])
    assert custom("foo bar") == ["bar"] and Tokenizer.from_config(custom.config())("foo bar") == ["bar"]
    with pytest.raises(ValueError, match="stopwords: no list for language 'xx'"):
        Tokenizer("xx")


# ---------------------------------------------------------------------------- BM25 scoring


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


# ---------------------------------------------------------------------------- index upkeep


@pytest.fixture
def small_index(tmp_path):
    texts, metas = make_corpus(60)
    texts[10] = "kernel ValueError: shapes (3,4) and (5,6) not aligned in numpy.dot"
    texts[20] = "storage 機械学習の研究をする ことが 好きです"
    texts[30] = "search Python 是一种编程语言 banana-crocodile"
    emb = WordHashEmbedder()
    b = LeannBuilder(embedding_model=emb)
    b.add_texts(texts, metas, ids=[f"d{i}" for i in range(len(texts))])
    path = tmp_path / "idx"
    b.build_index(path)
    return path, emb, texts, metas


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


# ---------------------------------------------------------------------------- modes, filters, fusion


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
    assert s.last_stats.alpha == pytest.approx(prior_alpha(cal))
    grown = LeannIndex.create(tmp_path / "grown", emb)
    grown.add_texts(texts[:30])
    assert not grown.manifest.get("calibration")
    grown.add_texts(texts[30:120])
    assert grown.manifest["calibration"]["probes"] > 0


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


# ---------------------------------------------------------------------------- grep


def test_grep_rows_literal_case_and_regex():
    texts = ["Banana-Crocodile here", "no match", "the banana-crocodile again", "ÉCOLE normale", "x\x00y"]
    assert grep_rows(texts, "banana-crocodile").tolist() == [2]
    assert grep_rows(texts, "banana-crocodile", ignore_case=True).tolist() == [0, 2]
    assert grep_rows(texts, "école", ignore_case=True).tolist() == [3]
    assert grep_rows(texts, r"[Cc]ro\w+le\s+(here|again)", regex=True).tolist() == [0, 2]
    # A match never spans two passages.
    assert grep_rows(["abc", "def"], "cd").tolist() == []
    with pytest.raises(ValueError, match="not a valid regular expression"):
        grep_rows(texts, "(unclosed", regex=True)
    with pytest.raises(ValueError, match="non-empty query"):
        grep_rows(texts, "")


def test_grep_search_with_filters(small_index):
    path, emb, _, _ = small_index
    s = LeannSearcher(path, emb)
    assert [r.id for r in s.search("banana-crocodile", use_grep=True)] == ["d30"]
    assert s.search("BANANA-crocodile", use_grep=True) == []
    assert [r.id for r in s.search("BANANA-crocodile", use_grep=True, grep_ignore_case=True)] == ["d30"]
    assert [r.id for r in s.search(r"shapes \(\d,\d\)", use_grep=True, grep_regex=True)] == ["d10"]
    hits = s.search("number 1", use_grep=True, top_k=100, metadata_filters={"topic": "model"})
    assert hits and all("number 1" in r.text and r.metadata["topic"] == "model" for r in hits)


# ---------------------------------------------------------------------------- rerank


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


def _tiny_cross_encoder(path):
    """A 2-layer BERT cross-encoder with random weights and a 60-word vocabulary, saved locally."""
    torch = pytest.importorskip("torch")
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    words = "kernel driver recipe onion garlic module patch storage graph query the a of".split()
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words, *[f"w{i}" for i in range(50)]]
    path.mkdir()
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizer(str(path / "vocab.txt")).save_pretrained(path)
    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        num_labels=1,
    )
    BertForSequenceClassification(cfg).eval().save_pretrained(path)
    return path


def test_cross_encoder_loads_from_a_local_folder_and_scores(tmp_path, small_index):
    torch = pytest.importorskip("torch")
    from transformers import AutoTokenizer, BertForSequenceClassification

    model_dir = _tiny_cross_encoder(tmp_path / "tiny-ce")
    ce = CrossEncoderReranker(model_dir)
    texts = ["kernel driver module", "recipe onion garlic", "the graph of a query"]
    got = np.array(ce.score("kernel patch", texts))
    # Reference: the same weights called through transformers directly (raw logits).
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = BertForSequenceClassification.from_pretrained(model_dir).eval()
    with torch.no_grad():
        enc = tok(["kernel patch"] * 3, texts, padding=True, truncation=True, return_tensors="pt")
        logits = model(**enc).logits[:, 0].numpy()
    # sentence-transformers applies a sigmoid to single-label cross-encoders by default.
    assert np.allclose(got, logits, atol=1e-4) or np.allclose(got, 1 / (1 + np.exp(-logits)), atol=1e-4)
    path, emb, _, _ = small_index
    s = LeannSearcher(path, emb)
    res = s.search("kernel driver", mode="bm25", rerank=str(model_dir), top_k=3, rerank_top_n=10)
    scores = [r.score for r in res]
    assert scores == sorted(scores, reverse=True)
    np.testing.assert_allclose(scores, ce.score("kernel driver", [r.text for r in res]), rtol=1e-5)
    with pytest.raises(ValueError, match="cannot load cross-encoder"):
        CrossEncoderReranker(tmp_path / "missing-model-dir").score("q", ["t"])


# ---------------------------------------------------------------------------- real model






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
