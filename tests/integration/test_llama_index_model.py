"""The LlamaIndex store with the real all-MiniLM-L6-v2 (LeannEmbedding) on the sample documents."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("llama_index.core")

from conftest import ROOT  # noqa: E402
from llama_index.core import StorageContext, VectorStoreIndex  # noqa: E402
from llama_index.core.ingestion import IngestionPipeline  # noqa: E402
from llama_index.core.node_parser import SentenceSplitter  # noqa: E402
from llama_index.core.schema import MetadataMode  # noqa: E402

from leann_integrations.llama_index import LeannEmbedding, LeannVectorStore  # noqa: E402

# ---------------------------------------------------------------------- real model


@pytest.mark.model
def test_real_model_on_the_sample_documents_matches_simple_vector_store(tmp_path, real_model):
    from llama_index.core import SimpleDirectoryReader

    emb = LeannEmbedding()
    files = [str(ROOT / "examples" / "data" / f) for f in ("sysrq.rst", "admin-guide-readme.rst")]
    docs = SimpleDirectoryReader(input_files=files).load_data()
    pipe = IngestionPipeline(transformations=[SentenceSplitter(chunk_size=128, chunk_overlap=0), emb])
    nodes = pipe.run(documents=docs)
    assert 40 <= len(nodes) <= 200
    simple = VectorStoreIndex(nodes, embed_model=emb)
    store = LeannVectorStore(tmp_path / "docs.leann", embed_model=emb)
    leann = VectorStoreIndex(
        nodes, storage_context=StorageContext.from_defaults(vector_store=store), embed_model=emb
    )
    assert store.client.manifest["embedding_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    for q in ["magic SysRq key to reboot the machine", "how many spaces should indentation use?"]:
        want = simple.as_retriever(similarity_top_k=3).retrieve(q)
        got = leann.as_retriever(similarity_top_k=3).retrieve(q)
        assert [r.node.node_id for r in got] == [r.node.node_id for r in want]
        np.testing.assert_allclose([r.score for r in got], [r.score for r in want], atol=1e-4)
    top = leann.as_retriever(similarity_top_k=1).retrieve("magic SysRq key to reboot the machine")[0]
    assert top.node.metadata["file_name"] == "sysrq.rst"
    # keyword modes on the same store (no recomputation needed)
    sparse = leann.as_retriever(similarity_top_k=3, vector_store_query_mode="sparse").retrieve("remount")
    assert sparse and all("remount" in r.node.get_content().lower() for r in sparse)
    exact = {n.node_id for n in nodes if "read-only" in n.get_content(metadata_mode=MetadataMode.EMBED)}
    grep = leann.as_retriever(similarity_top_k=50, vector_store_query_mode="text_search").retrieve(
        "read-only"
    )
    assert exact and {r.node.node_id for r in grep} == exact
    # an index built by the engine's own model opens with the LlamaIndex wrapper of it, and back
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = LeannVectorStore(tmp_path / "docs.leann", embed_model=LeannEmbedding("all-MiniLM-L6-v2"))
    assert again.client.count() == len(nodes)
