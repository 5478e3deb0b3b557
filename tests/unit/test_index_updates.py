"""Adds, upserts, deletes, compaction and readers following a writer, with the fake embedder."""

import json
import shutil

import numpy as np
import pytest
from conftest import WordHashEmbedder, make_corpus

from leann_engine import CompactionPolicy, LeannBuilder, LeannIndex, LeannSearcher


@pytest.fixture(scope="module")
def _built_template(tmp_path_factory):
    texts, metas = make_corpus(800)
    b = LeannBuilder(embedding_model=WordHashEmbedder())
    b.add_texts(texts, metas, [f"p{i}" for i in range(len(texts))])
    path = tmp_path_factory.mktemp("built") / "u.leann"
    b.build_index(path)
    return path, texts, metas


@pytest.fixture
def built(tmp_path, _built_template):
    # Each test writes to its own copy of one build (same deterministic embedder, same files).
    src, texts, metas = _built_template
    path = tmp_path / "u.leann"
    shutil.copytree(src, path)
    return path, texts, metas


def manifest(path):
    return json.loads((path / "manifest.json").read_text())


def test_add_get_count_and_search_new_passages(built, embedder):
    path, texts, _ = built
    ix = LeannIndex(path, embedder, auto_compact=False)
    new = ["zebra giraffe savanna safari", "penguin iceberg antarctic"]
    assert ix.add_texts(new, [{"topic": "animals"}, {"topic": "animals"}], ids=["z1", "z2"]) == ["z1", "z2"]
    assert ix.count() == len(texts) + 2
    got = ix.get(["z2", "missing", "p3"])
    assert [g.id for g in got] == ["z2", "p3"] and got[0].text == new[1] and got[1].text == texts[3]
    res = ix.search("zebra safari", top_k=1)
    assert res[0].id == "z1" and res.stats.delta_scanned == 2
    assert ix.search("animals please", top_k=5, metadata_filters={"topic": "animals"})[0].metadata == {"topic": "animals"}
    assert manifest(path)["counts"] == {"passages": 802, "base": 800, "delta": 2, "deleted": 0}


def test_generated_ids_are_unique(built, embedder):
    path, _, _ = built
    ix = LeannIndex(path, embedder, auto_compact=False)
    ids = ix.add_texts(["one", "two"]) + ix.add_texts(["three"])
    assert len(set(ids)) == 3 and all(ix.get([i]) for i in ids)


def test_same_id_replaces_in_base_and_delta(built, embedder):
    path, texts, _ = built
    ix = LeannIndex(path, embedder, auto_compact=False)
    ix.add_texts(["replaced base passage about volcanoes"], [{"v": 2}], ids=["p5"])
    assert ix.count() == len(texts)
    assert ix.get(["p5"])[0].text.startswith("replaced")
    res = ix.search(texts[5], top_k=3)
    assert all(r.text != texts[5] for r in res)
    ix.add_texts(["second version volcanoes"], ids=["p5"])
    ix.add_texts(["dup a", "dup b"], ids=["d", "d"])  # last one wins inside a call
    assert ix.get(["p5"])[0].text == "second version volcanoes"
    assert ix.get(["d"])[0].text == "dup b"
    assert ix.count() == len(texts) + 1
    assert [r.id for r in ix.search("second version volcanoes", top_k=2)].count("p5") == 1


def test_deleted_passages_never_come_back(built, embedder):
    path, texts, _ = built
    ix = LeannIndex(path, embedder, auto_compact=False)
    gone = [f"p{i}" for i in range(0, 800, 3)]
    assert ix.delete(gone + ["not-there"]) == len(gone)
    assert ix.delete(gone) == 0
    assert ix.count() == len(texts) - len(gone)
    assert ix.get(gone) == []
    for q in ["storage graph", "garlic onion", texts[0], texts[3]]:
        res = ix.search(q, top_k=20)
        assert len(res) == 20 and not set(r.id for r in res) & set(gone)
    ix.compact()
    assert ix.count() == len(texts) - len(gone)
    assert not set(ix.ids()) & set(gone)
    # The deleted text is gone from disk after compaction (old generation files aside).
    m = manifest(path)
    from leann_engine.store.records import BaseSegment

    seg = BaseSegment(path, m)
    stored = [r["text"] for r in seg.all_records()]
    seg.close()
    assert texts[0] not in stored and texts[1] in stored


def test_compaction_merges_delta_and_keeps_recall(built, embedder):
    path, texts, metas = built
    ix = LeannIndex(path, embedder, auto_compact=False)
    more, more_m = make_corpus(300, seed=5)
    ix.add_texts(more, more_m, ids=[f"q{i}" for i in range(300)])
    ix.delete([f"p{i}" for i in range(40)])
    queries = ["kernel patch review", "oven salt", "token batch encode", "recall beam"]
    before = [[r.id for r in ix.search(q, top_k=10)] for q in queries]
    ix.compact()
    m = manifest(path)
    assert m["counts"] == {"passages": 1060, "base": 1060, "delta": 0, "deleted": 0}
    assert m["is_recompute"] and "embeddings" not in m["files"]
    after = [[r.id for r in ix.search(q, top_k=10)] for q in queries]
    overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(before, after)])
    assert overlap >= 0.9
    assert all(r.startswith(("p", "q")) for row in after for r in row)


def test_a_scanned_index_stays_graphless_until_a_merge_outgrows_the_scan(built, embedder, monkeypatch):
    import leann_engine.build.pipeline as pipeline

    path, texts, _ = built
    m = manifest(path)
    assert "graph" not in m["files"] and m["format_version"] == 3  # 800 coded rows: scanned
    ix = LeannIndex(path, embedder, auto_compact=False)
    more, more_m = make_corpus(300, seed=5)
    ix.add_texts(more[:100], more_m[:100], ids=[f"q{i}" for i in range(100)])
    ix.compact()
    assert "graph" not in manifest(path)["files"] and manifest(path)["counts"]["base"] == 900
    # Past the scan threshold, the merge builds a graph over the codes' vectors.
    monkeypatch.setattr(pipeline, "SCAN_BYTES", 950 * m["build"]["pq_bytes"])
    ix.add_texts(more[100:], more_m[100:], ids=[f"q{i}" for i in range(100, 300)])
    ix.delete(["p0"])
    ix.compact()
    m = manifest(path)
    assert "graph" in m["files"] and m["format_version"] == 3 and m["counts"]["base"] == 1099
    assert m["graph"]["edges"] > 0 and not m["graph"].get("scan")
    for i in (3, 150, 299):
        res = ix.search(more[i], top_k=3, prune_ratio=0.8)  # a walk on the codes over the new graph
        assert res.stats.strategy == "two-level/global" and res[0].id == f"q{i}"
    assert "p0" not in {r.id for r in ix.search(texts[0], top_k=5)}


def test_auto_compaction_past_threshold(built, embedder):
    path, _, _ = built
    ix = LeannIndex(path, embedder, compact_ratio=0.1, compact_min_rows=50)
    ix.add_texts([f"extra passage {i}" for i in range(60)])
    assert ix.count() == 860 and manifest(path)["counts"]["delta"] == 60
    ix.add_texts([f"extra passage {i}" for i in range(60, 90)])
    m = manifest(path)
    assert m["counts"]["delta"] == 0 and m["counts"]["base"] == 890


def test_empty_index_grows_from_first_document(tmp_path, embedder):
    path = tmp_path / "fresh.leann"
    ix = LeannIndex.create(path, embedder, policy=CompactionPolicy(first_graph_at=20, min_rows=20, ratio=0.5))
    assert ix.count() == 0 and ix.search("anything", top_k=3) == []
    ix.add_texts(["the only document"], ids=["a"])
    assert [r.id for r in ix.search("document", top_k=3)] == ["a"]
    ix.add_texts([f"note number {i}" for i in range(30)])
    assert manifest(path)["counts"]["base"] == 31
    assert ix.search("note number 7", top_k=1)[0].text == "note number 7"
    with pytest.raises(ValueError, match="already holds an index"):
        LeannIndex.create(path, embedder)
    assert LeannIndex.create(path, embedder, exist_ok=True).count() == 31


def test_empty_index_that_stores_embeddings_opens_and_grows(tmp_path, embedder):
    path = tmp_path / "fresh-stored.leann"
    ix = LeannIndex.create(path, embedder, build_options={"is_recompute": False})
    assert ix.count() == 0 and ix.search("anything", top_k=3) == []
    ix.add_texts(["the first stored document"], ids=["a"])
    assert [r.id for r in LeannSearcher(path, embedder).search("first", top_k=3)] == ["a"]


def test_other_handles_see_commits(built, embedder):
    path, texts, _ = built
    reader = LeannSearcher(path, embedder)
    writer = LeannIndex(path, embedder, auto_compact=False)
    writer.add_texts(["brand new fact about comets"], ids=["comet"])
    assert reader.count() == len(texts) + 1
    assert reader.search("brand new fact about comets", top_k=1)[0].id == "comet"
    writer.delete(["comet"])
    assert reader.get(["comet"]) == []


def test_stored_embeddings_index_updates_and_converts(tmp_path, embedder):
    texts, metas = make_corpus(400)
    b = LeannBuilder(embedding_model=embedder, is_recompute=False)
    b.add_texts(texts, metas)
    path = tmp_path / "s.leann"
    b.build_index(path)
    counting = WordHashEmbedder()
    ix = LeannIndex(path, counting, auto_compact=False)
    ix.add_texts(["late addition about rivers"], ids=["r"])
    ix.compact()  # embeddings are on disk: no re-embedding of the base
    assert counting.calls == 1
    assert "embeddings" in manifest(path)["files"]
    ix.compact(is_recompute=True)  # LEANN's "reindex": drop stored embeddings
    m = manifest(path)
    assert m["is_recompute"] is True and "embeddings" not in m["files"]
    assert ix.search("late addition about rivers", top_k=1)[0].id == "r"
    st = ix.search("late addition about rivers", top_k=1).stats
    assert st.recomputed + st.cached > 0  # the repeat query may reuse the in-process LRU


def test_update_index_via_builder(built, embedder):
    path, texts, _ = built
    b = LeannBuilder(embedding_model=embedder)
    b.add_text("appended through the builder", {"id": "b1"})
    b.update_index(path)
    s = LeannSearcher(path, embedder)
    assert s.count() == len(texts) + 1 and s.get(["b1"])[0].text == "appended through the builder"


def test_update_argument_errors(built, embedder):
    path, _, _ = built
    ix = LeannIndex(path, embedder)
    with pytest.raises(ValueError, match="ids has 1 entries for 2 texts"):
        ix.add_texts(["a", "b"], ids=["x"])
    with pytest.raises(ValueError, match="metadatas has 1 entries for 2 texts"):
        ix.add_texts(["a", "b"], [{}])
    with pytest.raises(ValueError, match="single string"):
        ix.add_texts("abc")
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        ix.add_texts(["a"], [{"obj": object()}])
    with pytest.raises(ValueError, match="single string"):
        ix.delete("p1")
    assert ix.count() == 800


def test_second_writer_waits_then_reports_the_lock(built, embedder):
    from leann_engine import IndexLockedError
    from leann_engine.store.lock import write_lock

    path, texts, _ = built
    ix = LeannIndex(path, embedder, lock_timeout=0.2)
    with write_lock(path):
        with pytest.raises(IndexLockedError, match="being written by another process"):
            ix.add_texts(["blocked"], ids=["b"])
        assert LeannSearcher(path, embedder).count() == len(texts)  # readers are not blocked
    assert ix.add_texts(["free again"], ids=["b"]) == ["b"]


def test_reader_reuses_base_and_reads_only_new_delta_rows(built, embedder):
    path, texts, _ = built
    reader = LeannSearcher(path, embedder)
    writer = LeannIndex(path, embedder, auto_compact=False)
    base_before = reader._snap.base
    writer.add_texts(["first added"], ids=["a1"])
    reader.refresh()
    assert reader._snap.base is base_before and reader._snap.delta.rows == 1
    writer.add_texts(["second added", "third added"], ids=["a2", "a3"])
    writer.delete(["a1", "p0"])
    reader.refresh()
    assert reader._snap.base is base_before
    assert [r["id"] for r in reader._snap.delta.records] == ["a1", "a2", "a3"]
    assert reader._snap.delta.embeddings.shape == (3, embedder.dimension)
    assert sorted(i for i in reader.ids() if i.startswith("a")) == ["a2", "a3"]
    assert reader.search("third added", top_k=1)[0].id == "a3"
    writer.compact()
    reader.refresh()
    assert reader._snap.base is not base_before and reader._snap.delta.rows == 0
    assert reader.count() == len(texts) + 1


def test_corrupt_delta_is_refused(built, embedder):
    path, _, _ = built
    ix = LeannIndex(path, embedder, auto_compact=False)
    ix.add_texts(["a delta passage"], ids=["x"])
    delta = path / manifest(path)["delta"]["data"]
    raw = bytearray(delta.read_bytes())
    raw[5] ^= 0x20
    delta.write_bytes(bytes(raw))
    from leann_engine import IndexFormatError

    with pytest.raises(IndexFormatError, match="checksum mismatch"):
        LeannSearcher(path, embedder)


def test_a_few_tombstones_keep_the_graph_walk(built, embedder):
    path, texts, _ = built
    ix = LeannIndex(path, embedder, auto_compact=False)
    ix.delete([f"p{i}" for i in range(0, 800, 20)])
    res = ix.search("recipe onion pan", top_k=5)
    assert res.stats.strategy in ("graph", "two-level/global", "two-level/scan") and res.stats.recomputed < 0.9 * len(texts)
    narrow = ix.search("recipe onion pan", top_k=5, metadata_filters={"n": {"<": 40}})
    assert narrow.stats.strategy == "direct" and narrow.stats.recomputed <= 40


def test_update_index_keeps_given_ids_when_one_passage_has_none(tmp_path, embedder):
    path = tmp_path / "mixed.leann"
    b = LeannBuilder(embedding_model=embedder)
    b.add_texts(["alpha one", "beta two"], ids=["a", "b"])
    b.build_index(path)
    b.add_text("alpha one, edited", id="a")
    b.add_text("gamma three")  # no id
    b.update_index(path)
    with LeannSearcher(path, embedder) as s:
        assert s.count() == 3  # "a" replaced, not duplicated
        assert [r.text for r in s.get(["a"])] == ["alpha one, edited"]
        assert len([i for i in s.ids() if i not in ("a", "b")]) == 1


def test_update_index_closes_the_index_when_adding_fails(tmp_path, embedder, monkeypatch):
    from leann_engine import LeannIndex as _Index

    path = tmp_path / "fail.leann"
    b = LeannBuilder(embedding_model=embedder)
    b.add_texts(["alpha"], ids=["a"])
    b.build_index(path)
    closed = []
    monkeypatch.setattr(_Index, "add_texts", lambda self, *a, **k: (_ for _ in ()).throw(RuntimeError("disk full")))
    monkeypatch.setattr(_Index, "close", lambda self: closed.append(True))
    b.add_text("beta")
    with pytest.raises(RuntimeError, match="disk full"):
        b.update_index(path)
    assert closed == [True]


def test_a_build_checks_connectivity_once(tmp_path, embedder, monkeypatch):
    import leann_engine.build.pipeline as pipeline
    import leann_engine.graph.prune as prune

    calls = []
    real = prune.ensure_connected
    counted = lambda g, *a, **k: calls.append(1) or real(g, *a, **k)  # noqa: E731
    monkeypatch.setattr(prune, "ensure_connected", counted)
    monkeypatch.setattr(pipeline, "ensure_connected", counted)
    monkeypatch.setattr(pipeline, "SCAN_BYTES", 0)  # keep the graph: 60 coded rows are scanned
    texts, metas = make_corpus(60)
    b = LeannBuilder(embedding_model=embedder)
    b.add_texts(texts, metas)
    b.build_index(tmp_path / "once.leann")
    assert len(calls) == 1
