"""A LlamaIndex StorageContext persisted with the store reopens in a new process with the same answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("llama_index.core")

from conftest import ROOT  # noqa: E402
from llama_index.core import StorageContext, VectorStoreIndex  # noqa: E402
from llama_index.core.node_parser import SentenceSplitter  # noqa: E402
from llama_index_fakes import WordHashEmbedding, dump, hash_model, make_documents  # noqa: E402

from leann_integrations.llama_index import LeannVectorStore  # noqa: E402


@pytest.fixture
def emb() -> WordHashEmbedding:
    return hash_model()


# ---------------------------------------------------------------------- persistence


CHILD = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, {tests!r})
    from llama_index_fakes import hash_model, make_documents, dump
    from llama_index.core import StorageContext, VectorStoreIndex, load_index_from_storage
    from leann_integrations.llama_index import LeannVectorStore

    emb = hash_model()
    store = LeannVectorStore.from_persist_dir({persist!r}, embed_model=emb)
    ctx = StorageContext.from_defaults(persist_dir={persist!r}, vector_store=store)
    index = load_index_from_storage(ctx, embed_model=emb)
    out = {{"hash": ctx.docstore.get_document_hash("doc-0"), "refreshed": index.refresh_ref_docs(make_documents())}}
    direct = VectorStoreIndex.from_vector_store(LeannVectorStore({path!r}, embed_model=emb), embed_model=emb)
    for q in {queries!r}:
        a = index.as_retriever(similarity_top_k=4).retrieve(q)
        b = direct.as_retriever(similarity_top_k=4).retrieve(q)
        out[q] = [[r.score, dump(r.node)] for r in a]
        assert [r.node.node_id for r in a] == [r.node.node_id for r in b]
    out["count"] = store.client.count()
    print(json.dumps(out))
    """
)


def test_reopen_from_disk_in_a_new_process(tmp_path, emb):
    path, persist = tmp_path / "li.leann", tmp_path / "storage"
    store = LeannVectorStore(path, embed_model=emb)
    ctx = StorageContext.from_defaults(vector_store=store)
    index = VectorStoreIndex.from_documents(
        make_documents(),
        storage_context=ctx,
        embed_model=emb,
        transformations=[SentenceSplitter(chunk_size=96, chunk_overlap=0)],
    )
    ctx.persist(persist_dir=str(persist))
    assert (persist / "default__leann.json").exists() and not (
        persist / "default__vector_store.json"
    ).exists()
    queries = ["graph on disk", "garlic pan", "maintainer patch"]
    here = {
        q: [[r.score, dump(r.node)] for r in index.as_retriever(similarity_top_k=4).retrieve(q)]
        for q in queries
    }
    code = CHILD.format(tests=str(ROOT / "tests"), persist=str(persist), path=str(path), queries=queries)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300
    )
    assert out.returncode == 0, out.stderr
    there = json.loads(out.stdout.strip().splitlines()[-1])
    assert there["hash"] == make_documents()[0].hash
    assert there["refreshed"] == [False] * len(make_documents())  # hashes persisted: nothing re-added
    assert there["count"] == store.client.count()
    for q in queries:
        assert [n for _, n in there[q]] == [n for _, n in here[q]]
        np.testing.assert_allclose([s for s, _ in there[q]], [s for s, _ in here[q]], atol=1e-6)
