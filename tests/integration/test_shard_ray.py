"""Sharded indexes on a real local Ray cluster (started and stopped here): Ray Data build with
the real model equals one index, a killed worker fails the build cleanly, searches through warm
shard actors with filters and hybrid mode, and `leann build --shards 2 --ray ADDRESS`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ExitingEmbedder, WordHashEmbedder, make_corpus

from leann_engine import LeannBuilder, LeannError, LeannSearcher, index_info

ray = pytest.importorskip("ray")

ROOT = Path(__file__).resolve().parents[2]
EXACT = {"pq_bytes": None, "pruned_degree": None}
QUERIES = ["how do I install the package?", "what does the index store on disk?", "search a folder of notes"]


@pytest.fixture(scope="module")
def cluster():
    path = os.pathsep.join([str(ROOT), str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])
    ray.init(
        num_cpus=2, include_dashboard=False, log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": path, "HF_HUB_OFFLINE": "1"}},
    )
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def _ids(results):
    return [r.id for r in results]


def test_ray_build_with_real_model_equals_single_index(cluster, real_model, sample_chunks, tmp_path):
    texts, metas = sample_chunks[0][:120], sample_chunks[1][:120]
    ids = [f"c{i}" for i in range(len(texts))]
    single = LeannBuilder(embedding_model=real_model, calibrate=False, **EXACT)
    single.add_texts(texts, metas, ids)
    single.build_index(tmp_path / "one")
    sharded = LeannBuilder(num_shards=2, calibrate=False, **EXACT)  # actors load the model by name
    sharded.add_texts(texts, metas, ids)
    sharded.build_index(tmp_path / "two", executor="ray", workers=2)
    manifest = json.loads((tmp_path / "two" / "manifest.json").read_text())
    assert manifest["shards"]["count"] == 2 and manifest["build_executor"]["name"] == "ray"
    assert index_info(tmp_path / "two").passages == len(texts)
    one, two = LeannSearcher(tmp_path / "one", real_model), LeannSearcher(tmp_path / "two", real_model)
    for q in QUERIES:
        a, b = one.search(q, top_k=5, complexity=256), two.search(q, top_k=5, complexity=256)
        assert _ids(a) == _ids(b)
        assert [round(r.score, 4) for r in a] == [round(r.score, 4) for r in b]
    assert two.last_stats.shards == 2


@pytest.fixture(scope="module")
def small_ray_index(cluster, tmp_path_factory):
    texts, metas = make_corpus(200)
    path = tmp_path_factory.mktemp("ray") / "idx"
    b = LeannBuilder(embedding_model=WordHashEmbedder(), num_shards=2, **EXACT)
    b.add_texts(texts, metas, ids=[f"p{i}" for i in range(200)])
    b.build_index(path, executor="ray", workers=2)
    return path, texts, metas


def test_killed_worker_fails_the_build_cleanly(small_ray_index):
    path, texts, metas = small_ray_index
    before = (path / "manifest.json").read_bytes()
    shards_before = sorted(p.name for p in path.iterdir())
    b = LeannBuilder(embedding_model=ExitingEmbedder(texts[77]), num_shards=2, calibrate=False)
    b.add_texts(texts, metas, ids=[f"p{i}" for i in range(200)])
    with pytest.raises(LeannError, match="sharded build on Ray failed.*nothing was written"):
        b.build_index(path, executor="ray", workers=2)
    assert (path / "manifest.json").read_bytes() == before
    assert sorted(p.name for p in path.iterdir()) == shards_before  # no stage, no new shards
    assert LeannSearcher(path, WordHashEmbedder()).count() == 200


def test_ray_actor_search_with_filters_and_hybrid(small_ray_index):
    path, _, _ = small_ray_index
    threads = LeannSearcher(path, WordHashEmbedder())
    actors = LeannSearcher(path, WordHashEmbedder(), executor="ray")
    try:
        f = {"topic": {"in": ["storage", "search"]}, "even": {"==": True}}
        for mode in ("dense", "bm25", "hybrid"):
            a = threads.search("graph disk recall", top_k=6, mode=mode, alpha=0.4, metadata_filters=f)
            b = actors.search("graph disk recall", top_k=6, mode=mode, alpha=0.4, metadata_filters=f)
            assert _ids(a) == _ids(b) and b
            assert all(r.metadata["topic"] in ("storage", "search") and r.metadata["even"] for r in b)
        assert actors.count() == 200 and actors.last_stats.shards == 2
    finally:
        actors.close()


def test_cli_build_shards_on_ray_then_list_and_search(cluster, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "kernel.md").write_text("# Kernel\n\nA loadable kernel module adds a device driver without a reboot.\n")
    (docs / "cooking.md").write_text("# Sauce\n\nFry onions and garlic in olive oil, add tomatoes.\n")
    (docs / "travel.txt").write_text("Trains from Zurich to Milan cross the Alps through the Gotthard tunnel.\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", LEANN_DAEMON_DIR=str(tmp_path / "run"))
    env.pop("LEANN_BASE_DIR", None)

    def leann(*args):
        proc = subprocess.run([sys.executable, "-m", "leann_cli.cli", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return proc.stdout

    leann("build", "notes", "--docs", str(docs), "--shards", "2", "--ray", cluster, "--no-daemon")
    engine = tmp_path / ".leann" / "indexes" / "notes" / "documents.leann"
    assert json.loads((engine / "manifest.json").read_text())["shards"]["count"] == 2
    assert "notes" in leann("list")
    out = json.loads(leann("search", "notes", "how do I load a device driver?", "--top-k", "1", "--json"))
    assert "kernel" in json.dumps(out).lower()
