"""LeannVectorStore (LlamaIndex) with real LlamaIndex objects and a fake embedding: pipelines, indexes, retrievers, modes."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

pytest.importorskip("llama_index.core")

from llama_index.core import Document, Settings, StorageContext, VectorStoreIndex  # noqa: E402
from llama_index.core.indices.vector_store.retrievers import VectorIndexRetriever  # noqa: E402
from llama_index.core.ingestion import DocstoreStrategy  # noqa: E402
from llama_index.core.llms import MockLLM  # noqa: E402
from llama_index.core.node_parser import SentenceSplitter  # noqa: E402
from llama_index.core.schema import MetadataMode, NodeRelationship, RelatedNodeInfo, TextNode  # noqa: E402
from llama_index.core.storage.docstore import SimpleDocumentStore  # noqa: E402
from llama_index.core.vector_stores.types import (  # noqa: E402
    BasePydanticVectorStore,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)
from llama_index_fakes import WordHashEmbedding, built, dump, emb, hash_model, make_documents, pipeline_nodes  # noqa: E402,F401

from leann_engine import LeannIndex  # noqa: E402
from leann_integrations.llama_index import LeannVectorStore  # noqa: E402

# ---------------------------------------------------------------------- contract


def test_is_a_llama_index_vector_store(tmp_path, emb):
    store = LeannVectorStore(tmp_path / "a.leann", embed_model=emb)
    assert isinstance(store, BasePydanticVectorStore)
    assert store.stores_text is True
    assert isinstance(store.client, LeannIndex)
    assert store.client.count() == 0


def test_pipeline_stores_the_embedded_string_and_nodes_round_trip(built):
    store, nodes, _ = built
    assert len(nodes) >= 30 and store.client.count() == len(nodes)
    by_id = {r.id: r for r in store.client.get([n.node_id for n in nodes])}
    for node in nodes:
        assert by_id[node.node_id].text == node.get_content(metadata_mode=MetadataMode.EMBED)
        assert "docs/" not in by_id[node.node_id].text  # excluded from the embed string
    back = store.get_nodes(node_ids=[n.node_id for n in nodes])
    assert [dump(n) for n in back] == [dump(n) for n in nodes]
    assert all(n.ref_doc_id and n.ref_doc_id.startswith("doc-") for n in back)
    # the graph was built from the first batch: nothing but graph and text on disk
    assert store.client.manifest["counts"]["delta"] == 0


def test_first_graph_comes_at_the_engine_policy_threshold(tmp_path, emb):
    store = LeannVectorStore(tmp_path / "li.leann", embed_model=emb)
    pipeline_nodes(emb, make_documents(30), vector_store=store)
    # The engine's policy, the same for both adapters: 30 nodes stay in the exactly scanned
    # delta segment; the graph comes once 32 passages are there (CompactionPolicy.first_graph_at),
    # built from the vectors the delta holds, without asking the model again.
    assert store.client.manifest["counts"] == {"base": 0, "delta": 30, "deleted": 0, "passages": 30}
    extra = [TextNode(id_=f"x{i}", text=f"extra note {i}") for i in range(2)]
    for n in extra:
        n.embedding = emb.get_text_embedding(n.get_content(metadata_mode=MetadataMode.EMBED))
    emb._seen.clear()
    store.add(extra)
    assert store.client.manifest["counts"] == {"base": 32, "delta": 0, "deleted": 0, "passages": 32}
    assert len(emb._seen) == 1  # the spot check of one node's vector, nothing else


def test_round_trip_of_text_that_is_not_inside_the_embedded_string(tmp_path, emb):
    # strip() in get_content drops the trailing spaces, so the text is stored on its own.
    node = TextNode(id_="n1", text="  padded text  ", metadata={"k": "v"}, start_char_idx=3, end_char_idx=18)
    node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id="src")
    node.relationships[NodeRelationship.CHILD] = [
        RelatedNodeInfo(node_id="c1", metadata={"k": "v"}),  # same as the node's: stored as a marker
        RelatedNodeInfo(node_id="c2", metadata={"k": "w"}),
    ]
    store = LeannVectorStore(tmp_path / "a.leann", embed_model=emb)
    store.add([node])
    (back,) = store.get_nodes(["n1"])
    assert dump(back) == dump(node) and back.ref_doc_id == "src"
    with pytest.raises(ValueError, match="reserved key"):
        store.add([TextNode(text="x", metadata={"_leann_node": 1})])


def test_recompute_embeds_exactly_the_stored_strings_and_scores_equal_simple_store(tmp_path, emb):
    docs = make_documents()
    _, nodes = pipeline_nodes(emb, docs)
    simple = VectorStoreIndex(nodes, embed_model=emb)
    store = LeannVectorStore(tmp_path / "li.leann", embed_model=emb)
    leann = VectorStoreIndex(
        nodes, storage_context=StorageContext.from_defaults(vector_store=store), embed_model=emb
    )
    embedded = {n.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes}
    for q in ["graph neighbours on disk", "garlic and onion", "patch review by the maintainer"]:
        want = simple.as_retriever(similarity_top_k=5).retrieve(q)
        emb._seen.clear()
        got = leann.as_retriever(similarity_top_k=5).retrieve(q)
        assert [r.node.node_id for r in got] == [r.node.node_id for r in want]
        np.testing.assert_allclose([r.score for r in got], [r.score for r in want], rtol=0, atol=1e-5)
        assert [dump(r.node) for r in got] == [dump(r.node) for r in want]
        # the query was embedded once by the retriever; every other text is a stored passage
        assert emb._seen[0] == q and set(emb._seen[1:]) <= embedded


def test_query_engine_with_mock_llm(built):
    _, _, index = built
    engine = index.as_query_engine(llm=MockLLM(max_tokens=8), similarity_top_k=3)
    response = engine.query("which notes compresses neighbour lists with varints?")
    assert isinstance(response.response, str) and response.response
    assert len(response.source_nodes) == 3
    assert response.source_nodes[0].node.metadata["topic"] == "storage"


def test_node_ids_doc_ids_and_vector_store_kwargs(built):
    store, nodes, index = built
    # VectorStoreIndex.as_retriever passes node_ids=[] for a text-storing store: no restriction
    assert len(index.as_retriever(similarity_top_k=len(nodes)).retrieve("notes")) == len(nodes)
    some = [nodes[1].node_id, nodes[7].node_id]
    got = VectorIndexRetriever(index, similarity_top_k=10, node_ids=some).retrieve("notes")
    assert sorted(r.node.node_id for r in got) == sorted(some)
    got = index.as_retriever(similarity_top_k=10, doc_ids=["doc-3"]).retrieve("notes")
    assert got and {r.node.ref_doc_id for r in got} == {"doc-3"}
    with pytest.raises(ValueError, match="complexity"):
        index.as_retriever(vector_store_kwargs={"complexity": 0}).retrieve("notes")
    index.as_retriever(vector_store_kwargs={"complexity": 1}).retrieve("notes")
    narrow = store.client.last_stats.visited
    index.as_retriever(vector_store_kwargs={"complexity": 200}).retrieve("notes")
    assert store.client.last_stats.visited > narrow


# ---------------------------------------------------------------------- modes


def test_unsupported_mode_and_bad_queries_are_clear_errors(built):
    store, _, index = built
    with pytest.raises(ValueError, match="'svm' is not supported.*default, sparse, hybrid, text_search, mmr"):
        index.as_retriever(vector_store_query_mode="svm").retrieve("notes")
    with pytest.raises(ValueError, match="query_str"):
        store.query(VectorStoreQuery(mode=VectorStoreQueryMode.SPARSE, similarity_top_k=2))
    with pytest.raises(ValueError, match="query_embedding or query_str"):
        store.query(VectorStoreQuery(similarity_top_k=2))
    with pytest.raises(ValueError, match="mmr_threshold"):
        index.as_retriever(vector_store_query_mode="mmr", vector_store_kwargs={"mmr_threshold": 2}).retrieve(
            "x"
        )
    with pytest.raises(ValueError, match="filters must be"):
        store.get_nodes(filters={"topic": "kernel"})


def ids_of(results) -> list[str]:
    return [r.node.node_id for r in results]


def test_sparse_text_search_and_hybrid_modes(built):
    store, nodes, index = built

    def retrieve(q, mode, k=5, **kw):
        return index.as_retriever(similarity_top_k=k, vector_store_query_mode=mode, **kw).retrieve(q)

    sparse = retrieve("varints", "sparse", k=3)
    assert len(sparse) == 3 and all("varints" in r.node.text and r.score > 0 for r in sparse)
    kernel_only = MetadataFilters(filters=[MetadataFilter(key="topic", value="kernel")])
    assert retrieve("varints", "sparse", filters=kernel_only) == []  # filters hold in every mode

    phrase = "Entry number 12 of"
    want = {n.node_id for n in nodes if phrase in n.get_content(metadata_mode=MetadataMode.EMBED)}
    assert len(want) == 1 and {r.node.node_id for r in retrieve(phrase, "text_search")} == want
    assert retrieve("entry NUMBER 12 of", "text_search") == []
    assert (
        len(retrieve("entry NUMBER 12 of", "text_search", vector_store_kwargs={"grep_ignore_case": True}))
        == 1
    )

    q = "maintainer reviews the patch on disk"
    dense, keyword = retrieve(q, "default"), retrieve(q, "sparse")
    assert ids_of(dense) != ids_of(keyword)
    assert ids_of(retrieve(q, "hybrid", alpha=1.0)) == ids_of(dense)
    assert ids_of(retrieve(q, "hybrid", alpha=0.0)) == ids_of(keyword)
    mixed = retrieve(q, "hybrid", alpha=0.5)
    assert len(mixed) == 5 and [r.score for r in mixed] == sorted((r.score for r in mixed), reverse=True)
    assert len(retrieve(q, "hybrid", hybrid_top_k=2)) == 2


def test_mmr_equals_simple_vector_store_mmr(tmp_path, emb):
    _, nodes = pipeline_nodes(emb, make_documents())
    simple = VectorStoreIndex(nodes, embed_model=emb)
    store = LeannVectorStore(tmp_path / "li.leann", embed_model=emb)
    leann = VectorStoreIndex(
        nodes, storage_context=StorageContext.from_defaults(vector_store=store), embed_model=emb
    )
    for threshold in (0.2, 0.7):
        kw = {"mmr_threshold": threshold}
        want = simple.as_retriever(
            similarity_top_k=4, vector_store_query_mode="mmr", vector_store_kwargs=kw
        ).retrieve("graph disk")
        # a candidate pool holding every node makes the result exactly SimpleVectorStore's
        kw = {**kw, "mmr_prefetch_k": len(nodes)}
        got = leann.as_retriever(
            similarity_top_k=4, vector_store_query_mode="mmr", vector_store_kwargs=kw
        ).retrieve("graph disk")
        assert [r.node.node_id for r in got] == [r.node.node_id for r in want]
        np.testing.assert_allclose([r.score for r in got], [r.score for r in want], atol=1e-5)
    plain = [r.node.node_id for r in leann.as_retriever(similarity_top_k=4).retrieve("graph disk")]
    diverse = leann.as_retriever(
        similarity_top_k=4, vector_store_query_mode="mmr", vector_store_kwargs={"mmr_threshold": 0.1}
    ).retrieve("graph disk")
    assert [r.node.node_id for r in diverse] != plain and diverse[0].node.node_id == plain[0]


# ---------------------------------------------------------------------- changes


def test_delete_ref_doc_delete_nodes_and_clear(built, tmp_path):
    store, nodes, index = built
    doc3 = [n.node_id for n in nodes if n.ref_doc_id == "doc-3"]
    index.delete_ref_doc("doc-3")
    assert store.get_nodes(node_ids=doc3) == []
    assert not any(
        r.node.ref_doc_id == "doc-3"
        for r in index.as_retriever(similarity_top_k=50).retrieve("model notes 3")
    )
    assert LeannIndex(store.index_path).count() == len(nodes) - len(doc3)  # on disk already

    store.delete_nodes(
        node_ids=[nodes[0].node_id, nodes[1].node_id],
        filters=MetadataFilters(filters=[MetadataFilter(key="n", value=0)]),
    )
    left = {n.node_id for n in store.get_nodes()}
    assert nodes[0].node_id not in left and nodes[1].node_id in left
    store.delete_nodes(filters=MetadataFilters(filters=[MetadataFilter(key="topic", value="cooking")]))
    assert all(n.metadata["topic"] != "cooking" for n in store.get_nodes())
    store.delete_nodes(node_ids=[])
    with pytest.raises(ValueError, match="clear"):
        store.delete_nodes()
    store.clear()
    assert store.get_nodes() == [] and store.client.count() == 0
    assert index.as_retriever().retrieve("notes") == []
    store.add(nodes[:3])
    assert {n.node_id for n in store.get_nodes()} == {n.node_id for n in nodes[:3]}


def test_refresh_ref_docs_reembeds_only_the_changed_document(tmp_path, emb):
    docs = make_documents(12)
    store = LeannVectorStore(tmp_path / "li.leann", embed_model=emb)
    splitter = SentenceSplitter(chunk_size=96, chunk_overlap=0)
    index = VectorStoreIndex.from_documents(
        docs,
        storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=emb,
        transformations=[splitter],
    )
    before = store.client.count()
    changed = [
        Document(id_=d.id_, text=d.text, metadata=d.metadata, excluded_embed_metadata_keys=["path"])
        for d in docs
    ]
    changed[5] = Document(
        id_="doc-5", text="Completely new text about lighthouses.", metadata={"topic": "sea", "n": 5}
    )
    emb._seen.clear()
    assert index.refresh_ref_docs(changed) == [i == 5 for i in range(12)]
    # embedded by the index, and once more by the store's spot check of the node's vector
    assert emb._seen == ["topic: sea\nn: 5\n\nCompletely new text about lighthouses."] * 2
    doc5 = [n for n in store.get_nodes() if n.ref_doc_id == "doc-5"]
    assert [n.text for n in doc5] == ["Completely new text about lighthouses."]
    assert store.client.count() == before
    top = index.as_retriever(similarity_top_k=1).retrieve("lighthouses")[0]
    assert top.node.ref_doc_id == "doc-5"


def test_ingestion_pipeline_upserts_with_a_docstore(tmp_path, emb):
    store = LeannVectorStore(tmp_path / "li.leann", embed_model=emb)
    docstore = SimpleDocumentStore()
    docs = make_documents(10)
    pipeline_nodes(
        emb, docs, vector_store=store, docstore=docstore, docstore_strategy=DocstoreStrategy.UPSERTS
    )
    count = store.client.count()
    docs[2] = Document(id_="doc-2", text="Rewritten entry about tides.", metadata={"n": 2})
    _, again = pipeline_nodes(
        emb, docs, vector_store=store, docstore=docstore, docstore_strategy=DocstoreStrategy.UPSERTS
    )
    assert len(again) == 1 and store.client.count() == count
    assert [n.text for n in store.get_nodes() if n.ref_doc_id == "doc-2"] == ["Rewritten entry about tides."]


def test_async_api(built, emb):
    store, nodes, index = built

    async def run():
        got = await index.as_retriever(similarity_top_k=3).aretrieve("garlic onion pan")
        assert got[0].node.metadata["topic"] == "cooking"
        assert (
            len(
                await store.aget_nodes(
                    filters=MetadataFilters(filters=[MetadataFilter(key="topic", value="kernel")])
                )
            )
            > 0
        )
        await store.adelete("doc-0")
        await store.adelete_nodes(
            filters=MetadataFilters(filters=[MetadataFilter(key="topic", value="kernel")])
        )
        left = await store.aget_nodes()
        assert all(n.ref_doc_id != "doc-0" and n.metadata["topic"] != "kernel" for n in left)
        text = "An asynchronous addition about kites."
        extra = TextNode(id_="extra", text=text, embedding=emb.get_text_embedding(text))
        await store.async_add([extra])
        await index.ainsert(Document(id_="doc-kite", text="Kites fly in the wind."))
        top = await index.as_retriever(similarity_top_k=1).aretrieve("kites fly in the wind")
        assert top[0].node.ref_doc_id == "doc-kite"
        await store.aclear()
        assert await store.aget_nodes() == []

    asyncio.run(run())


# ---------------------------------------------------------------------- models


def test_settings_embed_model_and_model_mismatch(tmp_path):
    path = tmp_path / "li.leann"
    saved = Settings._embed_model
    try:
        Settings.embed_model = hash_model("settings-model")
        store = LeannVectorStore(path)
        store.add([TextNode(id_="a", text="alpha beta")])
        assert store.client.manifest["embedding_model"] == "settings-model"
    finally:
        Settings._embed_model = saved
    with pytest.raises(
        ValueError, match="embed_model 'other' does not fit.*built with 'settings-model'.*strict_model=False"
    ):
        LeannVectorStore(path, embed_model=hash_model("other"))
    with pytest.raises(ValueError, match="gives 16-d vectors.*32-d"):
        LeannVectorStore(path, embed_model=hash_model("settings-model", dim=16))
    with pytest.warns(UserWarning, match="built with 'settings-model'"):
        LeannVectorStore(path, embed_model=hash_model("other"), strict_model=False)
    # nodes embedded by another model than the store's (same name and size) are refused
    other = WordHashEmbedding(model_name="settings-model", salt="x")
    with pytest.raises(ValueError, match="embedding does not match the store's model 'settings-model'"):
        VectorStoreIndex(
            [TextNode(text="gamma delta")],
            storage_context=StorageContext.from_defaults(
                vector_store=LeannVectorStore(path, hash_model("settings-model"))
            ),
            embed_model=other,
        )
    with pytest.raises(ValueError, match="build options"):
        LeannVectorStore(path, embed_model=hash_model("settings-model"), graph_degree=8)
    with pytest.raises(ValueError, match="index_path"):
        LeannVectorStore(None)


# ---------------------------------------------------------------------- options


def test_search_defaults_mode_alpha_fusion_rerank_on_new_and_existing_index(tmp_path, emb):
    path = tmp_path / "opts.leann"
    store = LeannVectorStore(path, embed_model=emb, mode="hybrid", alpha=0.5, fusion="rrf", rerank=None)
    VectorStoreIndex(pipeline_nodes(emb, make_documents())[1], storage_context=StorageContext.from_defaults(vector_store=store), embed_model=emb)
    store.query(VectorStoreQuery(query_str="garlic pan", query_embedding=emb.get_query_embedding("garlic pan"), similarity_top_k=3))
    assert store.client.last_stats.mode == "hybrid" and store.client.last_stats.alpha == 0.5
    again = LeannVectorStore(path, embed_model=emb, mode="bm25", rerank=True, complexity=32)
    got = again.query(VectorStoreQuery(query_str="garlic pan", similarity_top_k=3))
    assert len(got.ids) == 3 and again.client.last_stats.mode == "bm25"
    with pytest.raises(ValueError, match="mode must be one of"):
        LeannVectorStore(path, embed_model=emb, mode="sparse")
    with pytest.raises(ValueError, match="unknown LeannVectorStore option.*graph_degre"):
        LeannVectorStore(path, embed_model=emb, graph_degre=8)


def test_build_options_on_an_existing_index_must_match_how_it_was_built(tmp_path, emb):
    path = tmp_path / "b.leann"
    LeannVectorStore(path, embed_model=emb, graph_degree=16, is_recompute=False).add(
        [TextNode(id_="a", text="alpha beta")]
    )
    LeannVectorStore(path, embed_model=emb, graph_degree=16, is_recompute=False)  # the stored values
    with pytest.raises(ValueError, match=r"option graph_degree=8 differs .* built with graph_degree=16"):
        LeannVectorStore(path, embed_model=emb, graph_degree=8)
    with pytest.raises(ValueError, match=r"option is_recompute=True differs"):
        LeannVectorStore(path, embed_model=emb, is_recompute=True)


def test_get_and_delete_by_filter_use_the_engine_selection(built, monkeypatch):
    store, nodes, _ = built
    calls = []
    select = store.client.select
    monkeypatch.setattr(store.client, "select", lambda where: calls.append(where) or select(where))
    monkeypatch.setattr(store.client, "ids", lambda: pytest.fail("no full scan of ids"))
    kernel = MetadataFilters(filters=[MetadataFilter(key="topic", value="kernel")])
    got = store.get_nodes(filters=kernel)
    assert got and {n.metadata["topic"] for n in got} == {"kernel"} and calls[-1] == {"topic": {"==": "kernel"}}
    some = [nodes[0].node_id, "missing", nodes[3].node_id]
    assert [n.node_id for n in store.get_nodes(node_ids=some, filters=MetadataFilters(filters=[]))] == some[::2]
    store.delete("doc-3")
    assert calls[-1] == {"_leann_ref_doc_id": {"==": "doc-3"}}
    assert all(n.ref_doc_id != "doc-3" for n in store.get_nodes())


def test_leann_build_option_names_still_work(tmp_path, emb):
    path = tmp_path / "alias.leann"
    store = LeannVectorStore(path, embed_model=emb, M=8, efConstruction=50)
    store.add([TextNode(id_="a", text="alpha beta")])
    assert store.client.manifest["build"]["graph_degree"] == 16
    LeannVectorStore(path, embed_model=emb, M=8)
    with pytest.raises(ValueError, match=r"option M=4 differs .* built with graph_degree=16"):
        LeannVectorStore(path, embed_model=emb, M=4)
