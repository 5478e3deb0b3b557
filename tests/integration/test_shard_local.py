"""Sharded builds in local worker processes (executor="local", workers=2) with the real model:
equal to one index, and a worker process killed mid-build fails the build cleanly."""

from __future__ import annotations

import json

from conftest import ExitingEmbedder, WordHashEmbedder, make_corpus

from leann_engine import LeannBuilder, LeannSearcher
from leann_engine.shard.build import ShardBuildError

EXACT = {"pq_bytes": None, "pruned_degree": None, "calibrate": False}


def test_two_worker_processes_with_real_model_equal_one_index(real_model, sample_chunks, tmp_path):
    texts, metas = sample_chunks[0][:100], sample_chunks[1][:100]
    for name, shards in (("one", 1), ("two", 2)):
        b = LeannBuilder(embedding_model=real_model if shards == 1 else None, num_shards=shards, **EXACT)
        b.add_texts(texts, metas, ids=[f"c{i}" for i in range(len(texts))])
        b.build_index(tmp_path / name, **({"workers": 2} if shards > 1 else {}))
    one, two = LeannSearcher(tmp_path / "one", real_model), LeannSearcher(tmp_path / "two", real_model)
    for q in ("how do I install it?", "what is stored on disk?"):
        assert [r.id for r in one.search(q, top_k=5, complexity=200)] == [r.id for r in two.search(q, top_k=5, complexity=200)]


def test_killed_worker_process_fails_build_cleanly(tmp_path):
    texts, metas = make_corpus(80)
    path = tmp_path / "idx"
    b = LeannBuilder(embedding_model=WordHashEmbedder(), num_shards=2, **EXACT)
    b.add_texts(texts, metas)
    b.build_index(path, workers=2)
    before = sorted(p.name for p in path.iterdir())
    manifest = (path / "manifest.json").read_bytes()
    b = LeannBuilder(embedding_model=ExitingEmbedder(texts[9]), num_shards=2, **EXACT)
    b.add_texts(texts, metas)
    try:
        b.build_index(path, workers=2)
        raise AssertionError("the build should have failed")
    except ShardBuildError as e:
        assert "worker process died" in str(e)
    assert sorted(p.name for p in path.iterdir()) == before
    assert (path / "manifest.json").read_bytes() == manifest
    assert LeannSearcher(path, WordHashEmbedder()).count() == 80


def test_cli_rebuild_without_shards_flag_keeps_the_shard_count(tmp_path):
    from leann_cli.ingest.pipeline import build_from_docs

    docs = tmp_path / "docs"
    docs.mkdir()
    texts, _ = make_corpus(60)
    for i in range(6):
        (docs / f"note{i}.txt").write_text("\n\n".join(texts[i * 10 : i * 10 + 10]), encoding="utf-8")
    folder = tmp_path / ".leann" / "indexes" / "notes"
    build_from_docs(folder, [docs], embedding=WordHashEmbedder(), base=tmp_path, sharding={"num_shards": 2})
    manifest = folder / "documents.leann" / "manifest.json"
    first = json.loads(manifest.read_text())
    assert first["shards"]["count"] == 2
    build_from_docs(folder, [docs], embedding=WordHashEmbedder(), base=tmp_path, force=True)
    again = json.loads(manifest.read_text())
    assert again["shards"]["count"] == 2 and again["generation"] > first["generation"]
    assert again["counts"]["passages"] == first["counts"]["passages"]
