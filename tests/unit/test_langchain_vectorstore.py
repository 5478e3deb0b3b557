"""LeannVectorStore (LangChain) with fake embeddings: contract, embeddings use, MMR, retrievers, modes, options."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

pytest.importorskip("langchain_core", reason='needs the langchain extra: pip install -e ".[langchain]"')

from conftest import make_corpus  # noqa: E402
from langchain_core.documents import Document  # noqa: E402
from langchain_core.embeddings import DeterministicFakeEmbedding  # noqa: E402
from langchain_core.vectorstores import VectorStore  # noqa: E402
from langchain_fakes import WordHashEmbeddings, corpus, ids_of, store  # noqa: E402,F401

from leann_integrations.langchain import LeannVectorStore  # noqa: E402

# ---------------------------------------------------------------------- contract basics


def test_is_a_langchain_vector_store_and_builds_a_graph(store, tmp_path):
    assert isinstance(store, VectorStore)
    manifest = json.loads((tmp_path / "lc.leann" / "manifest.json").read_text())
    assert manifest["counts"]["base"] == 300 and manifest["counts"]["delta"] == 0
    assert "embeddings" not in manifest["files"]  # recompute-only
    hits = store.similarity_search("recipe onion garlic pan", k=5)
    assert len(hits) == 5 and all(d.metadata["topic"] == "cooking" for d in hits)
    assert store.index.last_stats.recomputed > 0


def test_storage_bytes_account_for_the_whole_folder(store, tmp_path):
    folder = tmp_path / "lc.leann"
    on_disk = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    parts = store.storage_bytes()
    assert parts["total"] == on_disk
    # The engine's policy built the graph from the first batch: no stored vectors are left, and
    # the generation that held the batch before stays on disk for readers until the next write.
    assert parts["embeddings"] == 0 and parts["previous"] > 0
    # Compressed passages can weigh less than graph + codes (issue 12): both are counted.
    assert parts["text"] > 0 and parts["graph"] > 0 and parts["keywords"] > 0
    store.add_texts(["one more passage"], ids=["more"])
    after = store.storage_bytes()
    assert after["embeddings"] == 32 * 4  # the new passage's vector, until compaction
    assert after["previous"] == 0
    assert after["total"] == sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def test_empty_and_never_built_store_returns_nothing(tmp_path):
    emb = WordHashEmbeddings()
    store = LeannVectorStore(emb, index_path=tmp_path / "never")
    assert not (tmp_path / "never").exists() or not any((tmp_path / "never").iterdir())
    assert store.similarity_search("anything") == []
    assert store.similarity_search_with_relevance_scores("anything") == []
    assert store.similarity_search_by_vector([0.1] * 32) == []
    assert store.max_marginal_relevance_search("anything") == []
    assert store.get_by_ids(["x"]) == []
    assert store.delete(["x"]) is True
    assert store.as_retriever().invoke("anything") == []
    store.add_texts(["only one"], ids=["a"])
    store.delete(["a"])
    assert store.similarity_search("only one", k=3) == []


def test_one_and_two_documents_and_k_larger_than_the_store():
    store = LeannVectorStore(DeterministicFakeEmbedding(size=6))
    store.add_texts(["alpha"], ids=["a"])
    assert ids_of(store.similarity_search("anything", k=10)) == ["a"]
    store.add_texts(["beta"], ids=["b"])
    assert sorted(ids_of(store.similarity_search("beta", k=100))) == ["a", "b"]
    assert ids_of(store.similarity_search("beta", k=1)) == ["b"]
    assert len(store.max_marginal_relevance_search("beta", k=5, fetch_k=1)) == 2


def test_unnormalised_tiny_vectors_score_as_cosine():
    emb = DeterministicFakeEmbedding(size=6)
    texts = ["foo", "bar", "baz", "qux"]
    store = LeannVectorStore.from_texts(texts, emb)
    got = store.similarity_search_with_score("baz", k=4)
    q = np.asarray(emb.embed_query("baz"))
    for doc, score in got:
        v = np.asarray(emb.embed_documents([doc.page_content])[0])
        assert score == pytest.approx(float(q @ v / np.linalg.norm(q) / np.linalg.norm(v)), abs=1e-5)
    assert got[0][0].page_content == "baz" and got[0][1] == pytest.approx(1.0, abs=1e-5)
    rel = store.similarity_search_with_relevance_scores("baz", k=4)
    assert all(0.0 <= r <= 1.0 for _, r in rel)
    assert [r for _, r in rel] == pytest.approx([(1 + s) / 2 for _, s in got], abs=1e-6)


def test_metadata_comes_back_exactly_as_given():
    meta = {
        "int": 3,
        "float": 2.5,
        "bool": False,
        "none": None,
        "text": "naïve ✓",
        "list": [1, "two", 3.0],
        "nested": {"a": {"b": [True]}},
    }
    store = LeannVectorStore(DeterministicFakeEmbedding(size=6))
    store.add_texts(["with metadata", "without"], [meta, {}], ids=["m", "e"])
    got = {d.id: d for d in store.similarity_search("with metadata", k=2)}
    assert got["m"].metadata == meta and got["e"].metadata == {}
    assert type(got["m"].metadata["float"]) is float and type(got["m"].metadata["int"]) is int
    got["m"].metadata["nested"]["a"]["b"].append("mutated")  # the caller's copy only
    assert store.get_by_ids(["m"])[0].metadata == meta


def test_add_with_ids_replaces_and_mixed_missing_ids_are_generated(store):
    ids = store.add_documents(
        [Document(page_content="a fresh note about comets", id="new"), Document(page_content="no id")]
    )
    assert ids[0] == "new" and ids[1] and ids[1] != "None"
    store.add_texts(["edited note about comets"], [{"v": 2}], ids=["new"])
    (doc,) = store.get_by_ids(["new"])
    assert doc.page_content == "edited note about comets" and doc.metadata == {"v": 2}
    assert store.index.count() == 302
    hits = store.similarity_search("note about comets", k=10)
    assert ids_of(hits).count("new") == 1


def test_get_by_ids_keeps_order_and_skips_unknown(store):
    assert ids_of(store.get_by_ids(["d7", "nope", "d3"])) == ["d7", "d3"]


def test_delete_requires_ids_and_removes_from_search(store):
    with pytest.raises(ValueError, match="ids is required"):
        store.delete()
    first = store.similarity_search("recipe onion garlic pan", k=3)
    store.delete(ids_of(first))
    assert not set(ids_of(first)) & set(ids_of(store.similarity_search("recipe onion garlic pan", k=20)))
    assert store.get_by_ids(ids_of(first)) == []


# ---------------------------------------------------------------------- embeddings usage


def test_passages_use_embed_documents_and_queries_embed_query(tmp_path, corpus):
    texts, metas, ids = corpus
    emb = WordHashEmbeddings(query_prefix="question about ")
    store = LeannVectorStore.from_texts(texts, emb, metadatas=metas, ids=ids, index_path=tmp_path / "r")
    # Each passage once (no second pass to build the graph), plus the openings of at most 128
    # passages the engine embeds to calibrate hybrid fusion.
    built = emb.documents_embedded
    assert len(texts) <= built <= len(texts) + 128
    assert emb.queries_embedded == 0
    store.similarity_search("disk bytes index", k=3)
    assert emb.queries_embedded == 1
    assert emb.documents_embedded > built  # recompute: visited passages re-embedded
    # The query vector is embed_query's, not embed_documents' of the same text.
    q = np.asarray(emb.embed_query("disk bytes index"))
    top, score = store.similarity_search_with_score("disk bytes index", k=1)[0]
    v = np.asarray(emb.embed_documents([top.page_content])[0])
    assert score == pytest.approx(float(q @ v / np.linalg.norm(q) / np.linalg.norm(v)), abs=1e-5)


def test_store_embeddings_mode_never_re_embeds_passages(tmp_path, corpus):
    texts, metas, ids = corpus
    emb = WordHashEmbeddings()
    store = LeannVectorStore.from_texts(
        texts, emb, metadatas=metas, ids=ids, index_path=tmp_path / "s", store_embeddings=True
    )
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["is_recompute"] is False and "embeddings" in manifest["files"]
    before = emb.documents_embedded
    store.similarity_search("disk bytes index", k=3, filter={"topic": "storage"})
    store.max_marginal_relevance_search("disk bytes index", k=3)
    assert emb.documents_embedded == before
    assert store.index.last_stats.recomputed == 0
    with pytest.raises(ValueError, match="contradict"):
        LeannVectorStore(emb, store_embeddings=True, is_recompute=True)


# ---------------------------------------------------------------------- MMR and retrievers


def test_mmr_prefers_diverse_results():
    emb = WordHashEmbeddings()
    texts = ["disk bytes index graph"] * 1 + [
        "disk bytes index graph file",
        "disk bytes index graph size",
        "disk bytes index graph compress",
        "query neighbour recall walk",
        "recipe onion garlic pan",
    ]
    store = LeannVectorStore.from_texts(texts, emb, ids=[f"t{i}" for i in range(len(texts))])
    plain = ids_of(store.similarity_search("disk bytes index graph", k=3))
    diverse = ids_of(
        store.max_marginal_relevance_search("disk bytes index graph", k=3, fetch_k=6, lambda_mult=0.1)
    )
    assert plain[0] == diverse[0] == "t0"
    assert set(plain) <= {"t0", "t1", "t2", "t3"}
    assert {"t4", "t5"} & set(diverse)
    vec = emb.embed_query("disk bytes index graph")
    assert (
        ids_of(store.max_marginal_relevance_search_by_vector(vec, k=3, fetch_k=6, lambda_mult=0.1)) == diverse
    )
    with pytest.raises(ValueError, match="lambda_mult"):
        store.max_marginal_relevance_search("x", lambda_mult=1.5)
    with pytest.raises(ValueError, match="fetch_k"):
        store.max_marginal_relevance_search("x", fetch_k=0)


def test_retriever_search_types_and_engine_kwargs(store):
    q = "recipe onion garlic pan"
    sim = store.as_retriever(search_kwargs={"k": 3}).invoke(q)
    assert ids_of(sim) == ids_of(store.similarity_search(q, k=3))
    mmr = store.as_retriever(search_type="mmr", search_kwargs={"k": 3, "fetch_k": 15}).invoke(q)
    assert len(mmr) == 3 and mmr[0].id == sim[0].id
    rel = store.similarity_search_with_relevance_scores(q, k=10)
    cut = (rel[2][1] + rel[3][1]) / 2
    thr = store.as_retriever(
        search_type="similarity_score_threshold", search_kwargs={"k": 10, "score_threshold": cut}
    ).invoke(q)
    assert ids_of(thr) == [d.id for d, r in rel if r >= cut] and len(thr) >= 3
    filtered = store.as_retriever(search_kwargs={"k": 4, "filter": {"topic": "kernel"}}).invoke(q)
    assert len(filtered) == 4 and all(d.metadata["topic"] == "kernel" for d in filtered)
    # Engine search options pass through search_kwargs.
    wide = store.as_retriever(search_kwargs={"k": 3, "complexity": 200}).invoke(q)
    assert len(wide) == 3 and store.index.last_stats.visited > 0
    with pytest.raises(ValueError, match="unexpected search keyword.*nonsense"):
        store.similarity_search(q, nonsense=1)
    with pytest.raises(ValueError, match="k must be an integer"):
        store.similarity_search(q, k=0)


def test_by_vector_search_checks_the_dimension(store):
    emb = WordHashEmbeddings()
    vec = emb.embed_query("recipe onion garlic pan")
    assert ids_of(store.similarity_search_by_vector(vec, k=3)) == ids_of(
        store.similarity_search("recipe onion garlic pan", k=3)
    )
    # The engine checks the vector (once): the message names its size.
    with pytest.raises(ValueError, match="query_embedding must be 32 finite numbers"):
        store.similarity_search_by_vector([1.0, 2.0], k=3)
    with pytest.raises(ValueError, match="query_embedding must be 32 finite numbers"):
        store.similarity_search_by_vector([float("nan")] * 32, k=3)
    with pytest.raises(ValueError, match="query_embedding must be a sequence of 32 numbers"):
        store.max_marginal_relevance_search_by_vector(["a", "b"], k=3)


async def test_async_variants(tmp_path):
    emb = WordHashEmbeddings()
    texts, metas = make_corpus(40)
    store = await LeannVectorStore.afrom_texts(texts, emb, metadatas=metas, index_path=tmp_path / "a")
    assert await store.aadd_texts(["async comet note"], ids=["c"]) == ["c"]
    got = await store.asimilarity_search("async comet note", k=2)
    assert got[0].id == "c"
    scored = await store.asimilarity_search_with_relevance_scores("async comet note", k=2)
    assert all(0 <= r <= 1 for _, r in scored)
    assert (
        len(await store.amax_marginal_relevance_search("recipe onion", k=3, filter={"topic": "cooking"})) == 3
    )
    assert (await store.aget_by_ids(["c"]))[0].page_content == "async comet note"
    await store.adelete(["c"])
    assert await store.aget_by_ids(["c"]) == []
    many = await asyncio.gather(*(store.asimilarity_search(t, k=1) for t in texts[:8]))
    assert [m[0].page_content for m in many] == texts[:8]
    assert len(await store.as_retriever(search_type="mmr").ainvoke("graph")) == 4


# ---------------------------------------------------------------------- persistence


def test_from_documents_persists_and_reopens_in_this_process(tmp_path):
    emb = DeterministicFakeEmbedding(size=6)
    docs = [Document(page_content=f"doc {i}", metadata={"i": i}, id=f"x{i}") for i in range(5)]
    path = tmp_path / "p.leann"
    first = LeannVectorStore.from_documents(docs, emb, index_path=path)
    second = LeannVectorStore(emb, index_path=path)
    assert ids_of(second.similarity_search("doc 3", k=1)) == ["x3"]
    first.add_texts(["doc 99"], [{"i": 99}], ids=["x99"])
    first.delete(["x0"])
    assert ids_of(second.similarity_search("doc 99", k=1)) == ["x99"]
    assert second.get_by_ids(["x0"]) == []


def test_temporary_store_is_removed_on_close():
    store = LeannVectorStore(DeterministicFakeEmbedding(size=6))
    store.add_texts(["temp"])
    folder = store.index_path.parent
    assert folder.exists()
    store.close()
    assert not folder.exists()


def test_bad_options_are_rejected():
    emb = DeterministicFakeEmbedding(size=6)
    with pytest.raises(ValueError, match="unknown LeannVectorStore option.*graph_degre.*stopwords"):
        LeannVectorStore(emb, graph_degre=8)
    with pytest.raises(ValueError, match="graph_degree must be"):
        LeannVectorStore(emb, graph_degree=1)
    with pytest.raises(ValueError, match="embedding must be a langchain_core Embeddings"):
        LeannVectorStore(object())
    with pytest.raises(ValueError, match="metadatas has 1 entries for 2 texts"):
        LeannVectorStore(emb).add_texts(["a", "b"], [{}])


# ---------------------------------------------------------------------- hybrid search and reranking


def test_hybrid_bm25_and_rerank_through_kwargs_and_retriever(store, corpus):
    texts, metas, ids = corpus
    q = "maintainer review w7"
    hybrid = store.similarity_search_with_score(q, k=5, mode="hybrid", alpha=0.5)
    assert len(hybrid) == 5 and store.index.last_stats.mode == "hybrid"
    asked = store.embeddings.queries_embedded
    keyword = store.similarity_search("141", k=5, mode="bm25", filter={"topic": "kernel"})
    assert store.index.last_stats.mode == "bm25"
    assert store.embeddings.queries_embedded == asked  # keyword search: no query embedding
    assert keyword[0].id == "d141" and all(d.metadata["topic"] == "kernel" for d in keyword)
    rel = store.similarity_search_with_relevance_scores(q, k=5, mode="hybrid")
    assert len(rel) == 5 and all(0.0 <= r <= 1.0 for _, r in rel)
    # Relevance is the document's cosine to the query whatever mode ranked it.
    dense_rel = dict((d.id, r) for d, r in store.similarity_search_with_relevance_scores(q, k=300))
    assert [r for _, r in rel] == pytest.approx([dense_rel[d.id] for d, _ in rel], abs=1e-5)
    via_retriever = store.as_retriever(search_kwargs={"k": 5, "mode": "hybrid", "alpha": 0.5}).invoke(q)
    assert ids_of(via_retriever) == [d.id for d, _ in hybrid]
    reranked = store.as_retriever(search_type="mmr", search_kwargs={"k": 3, "rerank": True}).invoke(q)
    assert len(reranked) == 3
    with pytest.raises(ValueError, match="needs the query text"):
        store.similarity_search_by_vector(WordHashEmbeddings().embed_query(q), k=3, mode="hybrid")
    with pytest.raises(ValueError, match="mode must be one of"):
        store.similarity_search(q, mode="sparse")


def test_store_wide_default_mode(tmp_path, corpus):
    texts, metas, ids = corpus
    store = LeannVectorStore.from_texts(
        texts[:100],
        WordHashEmbeddings(),
        metadatas=metas[:100],
        ids=ids[:100],
        index_path=tmp_path / "h",
        mode="hybrid",
    )
    store.similarity_search("recipe onion", k=3)
    assert store.index.last_stats.mode == "hybrid"
    store.similarity_search("recipe onion", k=3, mode="dense")
    assert store.index.last_stats.mode == "dense"
    by_vector = store.similarity_search_by_vector(WordHashEmbeddings().embed_query(texts[5]), k=1)
    assert by_vector[0].id == ids[5] and store.index.last_stats.mode == "dense"
    reopened = LeannVectorStore(WordHashEmbeddings(), index_path=tmp_path / "h")
    reopened.similarity_search("recipe onion", k=3)
    assert reopened.index.last_stats.mode == "dense"  # a search default, not stored in the index


# ---------------------------------------------------------------------- options on an existing index


def test_build_options_on_an_existing_index_must_match_how_it_was_built(tmp_path, corpus):
    texts, metas, ids = corpus
    path = tmp_path / "b.leann"
    LeannVectorStore.from_texts(texts[:40], WordHashEmbeddings(), ids=ids[:40], index_path=path, graph_degree=16)
    # The stored value (or no build option) reopens; another value is refused, naming it.
    LeannVectorStore(WordHashEmbeddings(), index_path=path, graph_degree=16, metric="cosine")
    with pytest.raises(ValueError, match=r"option graph_degree=8 differs .* built with graph_degree=16"):
        LeannVectorStore(WordHashEmbeddings(), index_path=path, graph_degree=8)
    with pytest.raises(ValueError, match=r"option metric='mips' differs"):
        LeannVectorStore(WordHashEmbeddings(), index_path=path, metric="mips")
    with pytest.raises(ValueError, match=r"option is_recompute=False differs .* is_recompute=True"):
        LeannVectorStore(WordHashEmbeddings(), index_path=path, store_embeddings=True)
    # Search defaults and index options are not build options: any value is fine.
    store = LeannVectorStore(WordHashEmbeddings(), index_path=path, mode="hybrid", complexity=128, lock_timeout=5)
    store.similarity_search("recipe onion", k=2)
    assert store.index.last_stats.mode == "hybrid"


def test_search_defaults_are_validated_when_the_store_is_made():
    emb = DeterministicFakeEmbedding(size=6)
    with pytest.raises(ValueError, match="mode must be one of"):
        LeannVectorStore(emb, mode="sparse")
    with pytest.raises(ValueError, match=r"alpha must be a number in \[0, 1\]"):
        LeannVectorStore(emb, alpha=2)
    with pytest.raises(ValueError, match="complexity must be an integer >= 1"):
        LeannVectorStore(emb, complexity=0)
    with pytest.raises(ValueError, match="build_min_rows must be an integer >= 1"):
        LeannVectorStore(emb, build_min_rows=0)


def test_build_min_rows_is_the_engine_policy_first_graph(tmp_path):
    emb = WordHashEmbeddings()
    texts, _ = make_corpus(12)
    store = LeannVectorStore.from_texts(texts[:9], emb, index_path=tmp_path / "m", build_min_rows=10)
    assert store.index.manifest["counts"]["base"] == 0 and store.index.policy.first_graph_at == 10
    store.add_texts(texts[9:])
    assert store.index.manifest["counts"]["base"] == 12 and store.index.manifest["counts"]["delta"] == 0
