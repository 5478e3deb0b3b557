"""The LangChain store with the real all-MiniLM-L6-v2 through LeannEmbeddings, against InMemoryVectorStore."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("langchain_core", reason='needs the langchain extra: pip install -e ".[langchain]"')

from langchain_core.vectorstores import InMemoryVectorStore  # noqa: E402

from leann_integrations.langchain import LeannEmbeddings, LeannVectorStore  # noqa: E402


@pytest.mark.model
def test_real_model_through_langchain_embeddings(tmp_path, real_model, sample_chunks):
    texts, metas = sample_chunks
    # sysrq.rst and the start of the admin guide: ~76 chunks keep the model time to seconds.
    keep = [
        i
        for i, m in enumerate(metas)
        if m["source"] == "sysrq.rst" or (m["source"] == "admin-guide-readme.rst" and m["chunk"] < 10)
    ]
    texts, metas = [texts[i] for i in keep], [metas[i] for i in keep]
    emb = LeannEmbeddings()
    path = tmp_path / "real.leann"
    store = LeannVectorStore.from_texts(texts, emb, metadatas=metas, index_path=path)
    assert json.loads((path / "manifest.json").read_text())["counts"]["base"] == len(texts)
    memory = InMemoryVectorStore.from_texts(texts, emb, metadatas=metas)
    q = "which key combination reboots the machine immediately?"
    leann_top = store.similarity_search_with_score(q, k=3)
    exact_top = memory.similarity_search_with_score(q, k=3)
    assert [d.page_content for d, _ in leann_top] == [d.page_content for d, _ in exact_top]
    assert [s for _, s in leann_top] == pytest.approx([s for _, s in exact_top], abs=1e-4)
    assert all(d.metadata["source"] == "sysrq.rst" for d, _ in leann_top)
    filtered = store.similarity_search(q, k=2, filter={"source": "admin-guide-readme.rst"})
    assert len(filtered) == 2 and {d.metadata["source"] for d in filtered} == {"admin-guide-readme.rst"}
    # batch_size (engine option, through search_kwargs): fewer, larger model calls.
    mmr = store.as_retriever(
        search_type="mmr", search_kwargs={"k": 3, "fetch_k": 10, "batch_size": 64}
    ).invoke(q)
    assert mmr[0].page_content == leann_top[0][0].page_content and len({d.id for d in mmr}) == 3
