"""Build, persist, search, filters, stats and errors, with the deterministic embedder."""

import json
import math
import shutil

import numpy as np
import pytest
from conftest import WordHashEmbedder, make_corpus

from leann_engine import (
    IndexFormatError,
    IndexNotFoundError,
    LeannBuilder,
    LeannSearcher,
    SearchResult,
)
from leann_engine.build import pipeline
from leann_engine.embed.base import normalize_rows


def build(path, embedder, n=600, **kw):
    texts, metas = make_corpus(n)
    b = LeannBuilder(embedding_model=embedder, **kw)
    for i, (t, m) in enumerate(zip(texts, metas)):
        b.add_text(t, m, id=f"p{i}")
    b.build_index(path)
    return texts, metas


def exact_top(embedder, texts, query, k, keep=None):
    x = normalize_rows(embedder.embed(texts))
    q = normalize_rows(embedder.embed([query]))[0]
    sims = x @ q
    order = [i for i in np.argsort(-sims, kind="stable") if keep is None or keep(i)]
    return [f"p{i}" for i in order[:k]], sims


@pytest.fixture(scope="module")
def _index_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("search") / "demo.leann"
    with pytest.MonkeyPatch.context() as mp:
        # These tests walk the graph and damage its file; by default codes of 600 passages are
        # scanned and no graph is stored (test_two_level.py covers that).
        mp.setattr(pipeline, "SCAN_BYTES", 0)
        texts, metas = build(path, WordHashEmbedder())
    return path, texts, metas


@pytest.fixture
def index(tmp_path, _index_template):
    # A copy of one build per test: tests may corrupt or extend it; the embedder is deterministic.
    src, texts, metas = _index_template
    path = tmp_path / "demo.leann"
    shutil.copytree(src, path)
    return path, texts, metas


def test_search_returns_exact_scores_and_records(index, embedder):
    path, texts, metas = index
    s = LeannSearcher(path, embedder)
    res = s.search("storage graph compress bytes", top_k=5)
    assert len(res) == 5 and all(isinstance(r, SearchResult) for r in res)
    want, sims = exact_top(embedder, texts, "storage graph compress bytes", 5)
    assert [r.id for r in res] == want
    for r in res:
        i = int(r.id[1:])
        assert r.text == texts[i] and r.metadata == metas[i]
        assert math.isclose(r.score, float(sims[i]), rel_tol=1e-5, abs_tol=1e-6)
    assert [r.score for r in res] == sorted((r.score for r in res), reverse=True)


def test_search_recomputes_only_part_of_the_index(index):
    path, texts, _ = index
    counting = WordHashEmbedder()
    s = LeannSearcher(path, counting)
    res = s.search("kernel driver patch review", top_k=3, complexity=16)
    st = s.last_stats
    assert st is res.stats
    assert 0 < st.recomputed < len(texts) // 2
    assert counting.calls == st.recomputed + 1  # plus the query itself
    assert st.visited >= st.recomputed and st.model_s >= 0 and st.graph_s >= 0


def test_each_passage_is_embedded_once_per_query_in_step_batches(index):
    path, _, _ = index
    counting = WordHashEmbedder()
    s = LeannSearcher(path, counting, embedding_cache_mb=0)  # every repeat query re-embeds
    # prune_ratio=0.0: the exact walk, whose step batches these options shape
    s.search("driver module patch", top_k=5, complexity=32, prune_ratio=0.0)
    passages = counting.seen[1:]  # the first text is the query
    assert len(passages) == len(set(passages)) == s.last_stats.recomputed
    one_step = counting.batches
    counting.batches, counting.seen = 0, []
    res = s.search("driver module patch", top_k=5, complexity=32, batch_size=48, prune_ratio=0.0)
    assert counting.batches < one_step / 2  # bigger batches, fewer model calls
    assert len(counting.seen[1:]) == len(set(counting.seen[1:]))
    assert res[0].id == s.search("driver module patch", top_k=5, complexity=32, prune_ratio=0.0)[0].id
    counting.batches = 0
    wide = s.search("driver module patch", top_k=5, complexity=32, beam_width=4, prune_ratio=0.0)
    assert counting.batches < one_step / 2 and wide[0].id == res[0].id


def test_results_survive_reopen_and_match_brute_force(index, embedder):
    path, texts, _ = index
    queries = ["onion garlic", "query recall beam", "embedding batch token", "number 42", "module commit"]
    first = [[r.id for r in LeannSearcher(path, embedder).search(q, top_k=10)] for q in queries]
    again = [[r.id for r in LeannSearcher(path, embedder).search(q, top_k=10)] for q in queries]
    assert first == again
    hits = sum(len(set(f) & set(exact_top(embedder, texts, q, 10)[0])) for f, q in zip(first, queries))
    assert hits / (10 * len(queries)) >= 0.9


def test_default_model_name_is_recorded(index, embedder):
    path, _, _ = index
    m = json.loads((path / "manifest.json").read_text())
    assert m["embedding_model"] == "word-hash" and m["dimensions"] == 32
    assert m["format_version"] == 3 and m["counts"]["passages"] == 600
    assert m["build"]["graph_degree"] == 32 and m["is_recompute"] is True
    assert not any(name.endswith(".f32") for name in m["files"].values())


def test_top_k_larger_than_index(tmp_path, embedder):
    b = LeannBuilder(embedding_model=embedder)
    b.add_text("only one passage")
    b.build_index(tmp_path / "one.leann")
    res = LeannSearcher(tmp_path / "one.leann", embedder).search("passage", top_k=10)
    assert [r.id for r in res] == ["0"]


def test_ids_from_metadata_and_position(tmp_path, embedder):
    b = LeannBuilder(embedding_model=embedder)
    b.add_text("alpha", {"id": "a-1"})
    b.add_text("beta")
    b.build_index(tmp_path / "x.leann")
    s = LeannSearcher(tmp_path / "x.leann", embedder)
    assert sorted(s.ids()) == ["1", "a-1"]
    assert s.get(["a-1"])[0].text == "alpha"


def test_stored_embeddings_mode_gives_same_results_without_recompute(tmp_path, embedder):
    texts, _ = build(tmp_path / "stored.leann", embedder, is_recompute=False)
    build(tmp_path / "lean.leann", embedder)
    counting = WordHashEmbedder()
    stored = LeannSearcher(tmp_path / "stored.leann", counting)
    lean = LeannSearcher(tmp_path / "lean.leann", embedder)
    for q in ["garlic pan", "varint file size"]:
        a = stored.search(q, top_k=5)
        assert a.stats.recomputed == 0
        assert [r.id for r in a] == [r.id for r in lean.search(q, top_k=5)]
    assert counting.calls == 2  # the two queries only
    with pytest.raises(ValueError, match="stores no embeddings"):
        lean.search("x", recompute_embeddings=False)
    size = lambda p: sum(f.stat().st_size for f in p.iterdir())  # noqa: E731
    assert size(tmp_path / "stored.leann") > size(tmp_path / "lean.leann") + len(texts) * 32 * 4 * 0.9


# ---------------------------------------------------------------- filters

FILTER_CASES = [
    ({"topic": {"==": "cooking"}}, lambda m: m["topic"] == "cooking"),
    ({"topic": "kernel"}, lambda m: m["topic"] == "kernel"),
    ({"topic": {"!=": "cooking"}}, lambda m: m["topic"] != "cooking"),
    ({"n": {"<": 50}}, lambda m: m["n"] < 50),
    ({"n": {"<=": 50}}, lambda m: m["n"] <= 50),
    ({"n": {">": 500}}, lambda m: m["n"] > 500),
    ({"n": {">=": 500}}, lambda m: m["n"] >= 500),
    ({"topic": {"in": ["model", "search"]}}, lambda m: m["topic"] in ("model", "search")),
    ({"topic": {"not_in": ["model", "search"]}}, lambda m: m["topic"] not in ("model", "search")),
    ({"tags": {"contains": "t1"}}, lambda m: "t1" in m["tags"]),
    ({"path": {"contains": "storage/"}}, lambda m: "storage/" in m["path"]),
    ({"path": {"starts_with": "docs/k"}}, lambda m: m["path"].startswith("docs/k")),
    ({"path": {"ends_with": "7.md"}}, lambda m: m["path"].endswith("7.md")),
    ({"even": {"==": True}, "n": {">=": 100, "<": 200}}, lambda m: m["even"] and 100 <= m["n"] < 200),
    ({"missing_key": {"==": 1}}, lambda m: False),
]


@pytest.mark.parametrize("filters,keep", FILTER_CASES)
def test_filters_are_applied_during_search(index, embedder, filters, keep):
    path, texts, metas = index
    s = LeannSearcher(path, embedder)
    res = s.search("graph index query", top_k=8, metadata_filters=filters)
    matching = [i for i, m in enumerate(metas) if keep(m)]
    assert len(res) == min(8, len(matching))
    assert all(keep(r.metadata) for r in res)
    want, _ = exact_top(embedder, texts, "graph index query", 8, keep=lambda i: keep(metas[i]))
    assert len(set(r.id for r in res) & set(want)) >= 0.75 * len(want)


def test_filtered_graph_walk_fills_top_k(tmp_path, embedder):
    # 3000 passages, 3 in 5 pass the filter: the walk is cheaper than scoring every match.
    path = tmp_path / "big.leann"
    texts, metas = build(path, embedder, n=3000)
    s = LeannSearcher(path, embedder)
    res = s.search("recipe onion oven", top_k=20, complexity=32, metadata_filters={"topic": {"not_in": ["cooking", "kernel"]}})
    assert res.stats.strategy == "two-level/scan"  # 3000 passages: codes were written
    assert len(res) == 20 and all(r.metadata["topic"] not in ("cooking", "kernel") for r in res)
    assert res.stats.recomputed < len(texts)


@pytest.mark.parametrize(
    "filters,match",
    [
        ({"n": {"~=": 3}}, "unknown operator '~='"),
        ({"n": {"<": [1, 2]}}, r"metadata_filters\['n'\]\['<'\] needs a number or a string"),
        ({"topic": {"in": "cooking"}}, "needs a list"),
        ({"path": {"starts_with": 3}}, "needs a string"),
        ({"n": {}}, "empty condition"),
        ([("n", 3)], "must be a dict"),
        ({3: {"==": 1}}, "keys must be strings"),
    ],
)
def test_bad_filters_are_value_errors(index, embedder, filters, match):
    path, _, _ = index
    with pytest.raises(ValueError, match=match):
        LeannSearcher(path, embedder).search("x", metadata_filters=filters)


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize("kw,match", [
        ({"top_k": 0}, "top_k must be an integer >= 1"),
        ({"top_k": 2.5}, "top_k"),
        ({"complexity": 0}, "complexity"),
        ({"beam_width": 0}, "beam_width"),
        ({"batch_size": -1}, "batch_size"),
        ({"prune_ratio": 1.0}, "prune_ratio must be a number in"),
        ({"pruning_strategy": "proportional"}, "pruning_strategy must be one of"),
        ({"query": 3}, "query must be a string"),
    ])
def test_bad_search_arguments(index, embedder, kw, match):
    path, _, _ = index
    args = {"query": "x", **kw}
    with pytest.raises(ValueError, match=match):
        LeannSearcher(path, embedder).search(**args)


def test_builder_errors(tmp_path, embedder):
    with pytest.raises(ValueError, match="backend_name must be one of hnsw, diskann, got 'faiss'"):
        LeannBuilder(backend_name="faiss", embedding_model=embedder)
    with pytest.raises(ValueError, match="no passages to index"):
        LeannBuilder(embedding_model=embedder).build_index(tmp_path / "empty.leann")
    with pytest.raises(ValueError, match="unknown LeannBuilder option 'grph_degree'"):
        LeannBuilder(embedding_model=embedder, grph_degree=3)
    with pytest.raises(ValueError, match="dimensions=64"):
        b = LeannBuilder(embedding_model=embedder, dimensions=64)
        b.add_text("x")
        b.build_index(tmp_path / "d.leann")
    with pytest.raises(ValueError, match="texts\\[0\\] must be a string"):
        LeannBuilder(embedding_model=embedder).add_text(None)  # type: ignore[arg-type]
    b = LeannBuilder(embedding_model=embedder)
    b.add_text("a", id="same")
    b.add_text("b", id="same")
    with pytest.raises(ValueError, match="'same' is used by passages 0 and 1"):
        b.build_index(tmp_path / "dup.leann")
    (tmp_path / "stuff").mkdir()
    (tmp_path / "stuff" / "notes.txt").write_text("mine")
    b = LeannBuilder(embedding_model=embedder)
    b.add_text("a")
    with pytest.raises(ValueError, match="folder with other files"):
        b.build_index(tmp_path / "stuff")
    assert (tmp_path / "stuff" / "notes.txt").read_text() == "mine"


def test_open_errors(tmp_path, index, embedder):
    path, _, _ = index
    with pytest.raises(IndexNotFoundError, match="no index at"):
        LeannSearcher(tmp_path / "nope.leann", embedder)
    (tmp_path / "file.leann").write_text("hello")
    with pytest.raises(IndexFormatError, match="is a file"):
        LeannSearcher(tmp_path / "file.leann", embedder)
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexNotFoundError, match="holds no manifest.json"):
        LeannSearcher(tmp_path / "empty", embedder)
    (tmp_path / "theirs.leann.meta.json").write_text('{"version": "1.0", "backend_name": "hnsw"}')
    (tmp_path / "theirs.leann.passages.jsonl").write_text("")
    with pytest.raises(IndexFormatError, match="written by LEANN"):
        LeannSearcher(tmp_path / "theirs.leann", embedder)
    with pytest.raises(ValueError, match=r"gives 16-d vectors but the index .* \(32-d\)"):
        LeannSearcher(path, WordHashEmbedder(16))


def _edit_manifest(path, fn):
    m = json.loads((path / "manifest.json").read_text())
    fn(m)
    (path / "manifest.json").write_text(json.dumps(m))


def test_foreign_newer_and_corrupt_manifests(index, embedder):
    path, _, _ = index
    good = (path / "manifest.json").read_text()
    _edit_manifest(path, lambda m: m.update(format_version=99))
    with pytest.raises(IndexFormatError, match="format 99, newer than this leann_engine reads"):
        LeannSearcher(path, embedder)
    _edit_manifest(path, lambda m: m.update(format="something-else"))
    with pytest.raises(IndexFormatError, match="not a leann_engine manifest"):
        LeannSearcher(path, embedder)
    (path / "manifest.json").write_text(good[: len(good) // 2])
    with pytest.raises(IndexFormatError, match="not valid JSON"):
        LeannSearcher(path, embedder)
    (path / "manifest.json").write_text(good)
    assert LeannSearcher(path, embedder).count() == 600


@pytest.mark.parametrize("suffix", [".graph", ".pzt", ".pz"])
def test_truncated_or_corrupt_files_are_refused(index, embedder, suffix):
    path, _, _ = index
    target = next(p for p in path.iterdir() if p.name.endswith(suffix))
    data = target.read_bytes()
    target.write_bytes(data[: len(data) - 7])
    with pytest.raises(IndexFormatError, match=str(target.name).replace(".", r"\.")):
        LeannSearcher(path, embedder)
    flipped = bytearray(data)
    flipped[len(data) // 3] ^= 0x55
    target.write_bytes(bytes(flipped))
    if suffix == ".pz":
        # Blocks are read lazily: the damaged one is named when a search reads it.
        flipped = bytearray(data)
        flipped[len(data) - 20] ^= 0x55  # in the last block (the dictionary is checked at open)
        target.write_bytes(bytes(flipped))
        s = LeannSearcher(path, embedder)
        with pytest.raises(IndexFormatError, match=r"block \d+ .*fails its checksum"):
            list(s._snap.base.all_records())
        return
    with pytest.raises(IndexFormatError):
        LeannSearcher(path, embedder)


def test_missing_file_is_refused(index, embedder):
    path, _, _ = index
    next(p for p in path.iterdir() if p.name.endswith(".graph")).unlink()
    with pytest.raises(IndexFormatError, match="missing"):
        LeannSearcher(path, embedder)


def test_results_container(index, embedder):
    path, _, _ = index
    res = LeannSearcher(path, embedder).search("garlic", top_k=3)
    rows = res.to_list()
    assert [r["id"] for r in rows] == [r.id for r in res]
    assert set(rows[0]) == {"id", "score", "text", "metadata"}
    assert "SearchResults([" in repr(res) and "recomputed=" in repr(res)


def test_mips_metric_scores_raw_inner_products(tmp_path, embedder):
    texts, metas = make_corpus(300)
    b = LeannBuilder(embedding_model=embedder, metric="mips")
    b.add_texts(texts, metas, [f"p{i}" for i in range(300)])
    b.build_index(tmp_path / "m.leann")
    s = LeannSearcher(tmp_path / "m.leann", embedder)
    x = embedder.embed(texts)
    q = embedder.embed(["storage graph bytes"])[0]
    res = s.search("storage graph bytes", top_k=5)
    for r in res:
        assert math.isclose(r.score, float(x[int(r.id[1:])] @ q), rel_tol=1e-4)
    truth = [f"p{i}" for i in np.argsort(-(x @ q))[:5]]
    assert len({r.id for r in res} & set(truth)) >= 4
    with pytest.raises(ValueError, match="metric must be one of cosine, mips"):
        LeannBuilder(embedding_model=embedder, metric="l2")


def test_stored_index_can_still_recompute(tmp_path, embedder):
    build(tmp_path / "s.leann", embedder, n=300, is_recompute=False)
    counting = WordHashEmbedder()
    s = LeannSearcher(tmp_path / "s.leann", counting)
    a = s.search("garlic oven", top_k=5, recompute_embeddings=True)
    b = s.search("garlic oven", top_k=5)
    assert a.stats.recomputed > 0 and b.stats.recomputed == 0
    assert [r.id for r in a] == [r.id for r in b]
