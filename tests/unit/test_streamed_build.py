"""The streamed build (issue 17): same index as before, nothing left behind, bounded inputs."""

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import WordHashEmbedder, make_corpus

from leann_engine import LeannBuilder, LeannSearcher
from leann_engine.build import stream
from leann_engine.build.spool import PassageSpool, VectorFile
from leann_engine.graph.csr import Graph
from leann_engine.graph.prune import prune_high_degree_preserving
from leann_engine.store.io import set_fault_hook

QUERIES = ["storage graph compress", "cats and dogs", "python code", "music concert tickets"]


def build(path, n=1500, embedder=None, feed=None, **opts):
    texts, metas = make_corpus(n)
    b = LeannBuilder(embedding_model=embedder or WordHashEmbedder(), num_threads=1, **opts)
    if feed is None:
        b.add_texts(texts, metas)
    else:
        feed(b, texts, metas)
    b.build_index(path)
    return path


def file_hashes(path: Path) -> dict[str, str]:
    return {
        f.suffix: hashlib.sha256(f.read_bytes()).hexdigest()
        for f in sorted(Path(path).iterdir())
        if f.name.startswith("base-")
    }


def top_ids(path, k=5):
    s = LeannSearcher(path, WordHashEmbedder())
    try:
        return [[r.id for r in s.search(q, top_k=k)] for q in QUERIES]
    finally:
        s.close()


def leftovers(path: Path) -> list[str]:
    return sorted(p.name for p in Path(path).iterdir() if p.name.startswith(".stage-") or p.suffix == ".tmp")


def test_small_windows_give_the_same_files(tmp_path, monkeypatch):
    """Embedding windows, text batches and the dictionary sample change no byte when they
    cover the corpus in pieces (the word-hash model embeds each text alone)."""
    whole = file_hashes(build(tmp_path / "whole"))
    monkeypatch.setattr(stream, "EMBED_WINDOW", 97)
    monkeypatch.setattr(stream, "TEXT_BATCH", 50)
    pieces = file_hashes(build(tmp_path / "pieces"))
    assert pieces == whole


def test_spilled_postings_equal_the_in_memory_keyword_file(tmp_path, monkeypatch):
    """The builder's postings go through a temporary file in runs of terms; with runs and
    spill reads far smaller than the corpus the keyword file is byte for byte the in-memory one."""
    from leann_engine.keyword.tokenize import Tokenizer
    from leann_engine.store.files import bm25

    texts, _ = make_corpus(700, seed=4)
    docs = Tokenizer().tokenize_many(texts)
    expected = bm25.encode_bm25(docs)
    monkeypatch.setattr(bm25, "_TERM_CHUNK", 37)
    builder = bm25.PostingsBuilder(tmp_path)
    for s in range(0, len(docs), 64):
        builder.add(docs[s : s + 64])
    assert len(bm25._run_bounds(builder._df)) > 20  # many runs, many spill reads
    assert builder.encode() == expected
    assert list(tmp_path.iterdir()) == []  # anonymous temporary files only


def test_sampled_probe_and_dictionary_keep_results(tmp_path, monkeypatch):
    """A corpus above the probe and dictionary samples: codes chosen on a sample, passages
    compressed with a sampled dictionary; the searches find the same passages."""
    full = top_ids(build(tmp_path / "full", n=2500))
    monkeypatch.setattr(stream, "PROBE_ROWS", 1200)
    monkeypatch.setattr(stream, "DICT_SAMPLE", 300)
    path = build(tmp_path / "sampled", n=2500)
    got = top_ids(path)
    overlap = np.mean([len(set(a) & set(b)) / len(a) for a, b in zip(full, got)])
    assert overlap >= 0.8
    m = json.loads((path / "manifest.json").read_text())
    assert m["graph"]["codes"]["probe_rows"] == 1200
    assert set(m["build_seconds"]) >= {"embed", "graph", "order", "codes", "write"}


def test_generator_input_is_never_materialised(tmp_path):
    """add_texts takes generators; the passages wait on disk, and the index equals a list build."""
    seen = []

    def feed(b, texts, metas):
        def gen():
            for t in texts:
                seen.append(len(b))  # the builder's count grows while the generator runs
                yield t

        b.add_texts(gen(), iter(metas))

    streamed = build(tmp_path / "gen", feed=feed)
    assert seen[:3] == [0, 1, 2]
    assert file_hashes(streamed) == file_hashes(build(tmp_path / "list"))


def test_mismatched_iterables_queue_nothing():
    b = LeannBuilder(embedding_model=WordHashEmbedder())
    b.add_text("kept")
    with pytest.raises(ValueError, match="same length"):
        b.add_texts((t for t in ["a", "b", "c"]), ids=iter(["x", "y"]))
    with pytest.raises(ValueError, match="metadatas has 1 entries for 2 texts"):
        b.add_texts(["a", "b"], [{}])
    assert len(b) == 1


def test_no_temp_files_after_success(tmp_path):
    path = build(tmp_path / "ix")
    assert leftovers(path) == []
    assert not any(p.name.startswith("leann-spool-") for p in Path(os.environ.get("TMPDIR", "/tmp")).iterdir())


class FailingEmbedder(WordHashEmbedder):
    """Raises on its ``fail_at``-th batch, mid-way through the embed arrow."""

    def __init__(self, fail_at: int) -> None:
        super().__init__()
        self.fail_at = fail_at

    def embed(self, texts):
        if self.batches + 1 >= self.fail_at:
            raise RuntimeError("embedding service went away")
        return super().embed(texts)


@pytest.mark.parametrize("where", ["embed", "stream-write"])
def test_failed_rebuild_leaves_the_old_index_untouched(tmp_path, where):
    path = build(tmp_path / "ix", n=800)
    before = {p.name: p.read_bytes() for p in path.iterdir()}
    answer = top_ids(path)
    if where == "embed":
        with pytest.raises(RuntimeError, match="went away"):
            build(path, n=1500, embedder=FailingEmbedder(fail_at=4))
    else:

        def hook(point, p, data):
            if point == "write" and p.name.startswith("base_blocks"):
                raise OSError("disk full")

        set_fault_hook(hook)
        try:
            with pytest.raises(OSError, match="disk full"):
                build(path, n=1500)
        finally:
            set_fault_hook(None)
    assert {p.name: p.read_bytes() for p in path.iterdir()} == before
    assert leftovers(path) == []
    assert top_ids(path) == answer


def test_vector_file_and_spool_roundtrip(tmp_path):
    x = np.random.default_rng(0).standard_normal((1000, 8)).astype(np.float32)
    vf = VectorFile(tmp_path / "v.tmp", 1000, 8)
    vf.write(0, x[:600])
    vf.write(600, x[600:])
    assert np.array_equal(np.concatenate([c for _, c in vf.chunks(333)]), x)
    rows = np.array([999, 3, 500, 3])
    assert np.array_equal(np.concatenate(list(vf.take(rows, size=3))), x[rows])
    # Runs, repeats, any order, empty: plain reads equal the array's fancy indexing.
    for rows in ([5, 6, 7, 100, 101, 0, 999, 6], [], [42], list(range(999, -1, -1))):
        assert np.array_equal(vf.rows(np.array(rows, dtype=np.int64)), x[rows].reshape(-1, 8))
    r = vf.reader()
    assert r.shape == (1000, 8) and len(r) == 1000
    assert np.array_equal(r[10:20], x[10:20]) and np.array_equal(r[990:2000], x[990:])
    assert np.array_equal(r[np.array([9, 1])], x[[9, 1]]) and np.array_equal(r[4], x[4])
    vf.remove()
    assert not (tmp_path / "v.tmp").exists()
    sp = PassageSpool(tmp_path)
    assert list(tmp_path.iterdir()) == []  # anonymous: nothing to clean up after a crash
    for i in range(10):
        sp.append(str(i), f"text {i} é", {"i": i})
    assert sp.rows([7, 2])[1:] == (["text 7 é", "text 2 é"], [{"i": 7}, {"i": 2}])
    assert [t for b in sp.batches(4) for t in b[1]] == [f"text {i} é" for i in range(10)]
    sp.truncate(4)
    assert len(sp) == 4 and sp.ids == ["0", "1", "2", "3"]


def _old_reverse_repair(n, kept, max_degree):
    """The set-based reverse-edge repair the numpy version replaced (reference)."""
    lists = [set(k.tolist()) for k in kept]
    room = np.array([max_degree - len(s) for s in lists])
    for u in range(n):
        for v in kept[u].tolist():
            if u not in lists[v] and room[v] > 0:
                lists[v].add(u)
                room[v] -= 1
    return [sorted(s) for s in lists]


def test_pruning_matches_the_set_based_repair():
    rng = np.random.default_rng(3)
    n, max_degree = 300, 10
    x = rng.standard_normal((n, 16)).astype(np.float32)
    lists = [np.sort(rng.choice(np.delete(np.arange(n), u), size=rng.integers(1, 16), replace=False)) for u in range(n)]
    indptr = np.concatenate([[0], np.cumsum([len(a) for a in lists])])
    g = Graph(n=n, indptr=indptr, indices=np.concatenate(lists).astype(np.int32), entry_point=0)
    pruned = prune_high_degree_preserving(g, x, max_degree=max_degree, pruned_degree=4, hub_fraction=0.1)
    got = [pruned.neighbors(u).tolist() for u in range(n)]
    # Rebuild the kept lists the same way, then apply the reference repair.
    from leann_engine.graph.prune import _rng_select

    deg = np.diff(indptr) + np.bincount(g.indices, minlength=n)
    hubs = set(np.argsort(-deg, kind="stable")[: int(np.ceil(0.1 * n))].tolist())
    kept = []
    for u in range(n):
        nb = g.neighbors(u)
        order = nb[np.argsort(-(x[nb] @ x[u]), kind="stable")]
        budget = max_degree if u in hubs else 4
        kept.append(order if order.size <= budget else _rng_select(u, order, x, budget))
    want = _old_reverse_repair(n, kept, max_degree)
    # ensure_connected may add a few edges on top; every repaired list must be contained.
    assert all(set(w) <= set(h) for w, h in zip(want, got))
    assert sum(len(h) - len(w) for w, h in zip(want, got)) <= 4


def test_diskann_is_an_alias(tmp_path):
    path = build(tmp_path / "d", n=300, backend_name="diskann")
    assert json.loads((path / "manifest.json").read_text())["backend_name"] == "hnsw"
    assert top_ids(path) == top_ids(build(tmp_path / "h", n=300))
    with pytest.raises(ValueError, match="hnsw, diskann"):
        LeannBuilder(backend_name="faiss", embedding_model=WordHashEmbedder())


def test_search_leaves_the_id_table_undecoded(tmp_path):
    path = build(tmp_path / "ix", n=1500, feed=lambda b, t, m: b.add_texts(t, m, [f"doc-{i}" for i in range(len(t))]))
    s = LeannSearcher(path, WordHashEmbedder())
    snap = s._snap
    hits = s.search("storage graph compress", top_k=5)
    assert snap._row_of is None  # no id lookup table for a plain search
    assert [snap.row_of[h.id] for h in hits]  # built on the first lookup by id
    assert s.get([hits[0].id])[0].text == hits[0].text
    s.close()


@pytest.mark.parametrize("kind", ["positions", "uuid_hex"])
def test_ids_of_rows_without_decoding_all(tmp_path, kind):
    import uuid

    ids = None if kind == "positions" else [uuid.UUID(int=i * 7919 + 1).hex for i in range(1500)]
    path = build(tmp_path / "ix", n=1500, feed=lambda b, t, m: b.add_texts(t, m, ids))
    s = LeannSearcher(path, WordHashEmbedder())
    blocks = s._snap.base.blocks
    rows = [0, 7, 1499, 640, 7]
    got = blocks.id_of(rows)
    assert blocks._ids is None  # nothing decoded beyond those rows
    assert got == [blocks.ids[r] for r in rows]
    s.close()


@pytest.mark.parametrize("block", [1, 7, 65536])
def test_pairs_to_csr_in_blocks_equals_one_global_unique(monkeypatch, block):
    from leann_engine.graph import prune

    monkeypatch.setattr(prune, "_PAIR_BLOCK", block)
    rng = np.random.default_rng(5)
    n = 500
    owners, ids = rng.integers(0, n, 8000).astype(np.int32), rng.integers(0, n, 8000).astype(np.int32)
    keys = np.unique(owners.astype(np.int64) * n + ids)
    indptr, indices = prune.pairs_to_csr(n, owners, ids)
    assert np.array_equal(indptr, np.r_[0, np.cumsum(np.bincount(keys // n, minlength=n))])
    assert indices.dtype == np.int32 and np.array_equal(indices, keys % n)
