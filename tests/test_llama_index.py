"""LeannVectorStore with real LlamaIndex objects: pipelines, indexes, retrievers, query engines."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("llama_index.core")

from llama_index.core import (  # noqa: E402
    Document,
    Settings,
    StorageContext,
    VectorStoreIndex,
)
from llama_index.core.base.embeddings.base import BaseEmbedding  # noqa: E402
from llama_index.core.bridge.pydantic import PrivateAttr  # noqa: E402
from llama_index.core.indices.vector_store.retrievers import VectorIndexRetriever  # noqa: E402
from llama_index.core.ingestion import DocstoreStrategy, IngestionPipeline  # noqa: E402
from llama_index.core.llms import MockLLM  # noqa: E402
from llama_index.core.node_parser import SentenceSplitter  # noqa: E402
from llama_index.core.schema import MetadataMode, NodeRelationship, RelatedNodeInfo, TextNode  # noqa: E402
from llama_index.core.storage.docstore import SimpleDocumentStore  # noqa: E402
from llama_index.core.vector_stores.types import (  # noqa: E402
    BasePydanticVectorStore,
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)
from llama_index.core.vector_stores.utils import build_metadata_filter_fn  # noqa: E402

from leann_engine import LeannIndex  # noqa: E402
from leann_integrations.llama_index import LeannEmbedding, LeannVectorStore  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


class WordHashEmbedding(BaseEmbedding):
    """Deterministic bag-of-words LlamaIndex embedding; records every text it embeds."""

    dim: int = 32
    salt: str = ""
    _seen: list = PrivateAttr(default_factory=list)

    @classmethod
    def class_name(cls) -> str:
        return "WordHashEmbedding"

    def _vec(self, text: str) -> list[float]:
        self._seen.append(text)
        out = np.zeros(self.dim)
        for w in re.findall(r"\w+", text.lower()) or ["<empty>"]:
            seed = int.from_bytes(hashlib.sha256((self.salt + w).encode()).digest()[:8], "little")
            out += np.random.default_rng(seed).standard_normal(self.dim)
        return out.tolist()

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._vec(text)

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._vec(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._vec(query)


def hash_model(name: str = "word-hash-32", dim: int = 32) -> WordHashEmbedding:
    return WordHashEmbedding(model_name=name, dim=dim)


TOPICS = {
    "storage": "The index keeps the graph on disk and compresses neighbour lists with varints.",
    "search": "A query walks the graph best first and scores the neighbours it visits.",
    "model": "The transformer encodes each passage into a vector in batches of tokens.",
    "kernel": "A maintainer reviews each patch before the driver module is merged.",
    "cooking": "Fry the onion and garlic in a pan, then season with salt and pepper.",
}


def make_documents(n: int = 30) -> list[Document]:
    names = sorted(TOPICS)
    docs = []
    for i in range(n):
        topic = names[i % len(names)]
        meta = {
            "topic": topic,
            "n": i,
            "score": round(i / 7, 3),
            "tags": [topic, f"t{i % 3}"],
            "path": f"docs/{topic}/{i}.md",
        }
        if i % 4 == 0:
            meta["note"] = "" if i % 8 == 0 else f"Reviewed by Alice #{i}"
        docs.append(
            Document(
                id_=f"doc-{i}",
                text=f"{TOPICS[topic]} Entry number {i} of the {topic} notes.",
                metadata=meta,
                excluded_embed_metadata_keys=["path"],
            )
        )
    return docs


def pipeline_nodes(emb, docs, vector_store=None, **kwargs):
    pipe = IngestionPipeline(
        transformations=[SentenceSplitter(chunk_size=96, chunk_overlap=0), emb],
        vector_store=vector_store,
        **kwargs,
    )
    return pipe, pipe.run(documents=docs)


def dump(node) -> dict:
    d = node.model_dump(mode="json")
    d.pop("embedding", None)
    return d


@pytest.fixture
def emb() -> WordHashEmbedding:
    return hash_model()


@pytest.fixture
def built(tmp_path, emb):
    """A store filled through an IngestionPipeline, the nodes it got, and an index over it."""
    store = LeannVectorStore(tmp_path / "li.leann", embed_model=emb)
    _, nodes = pipeline_nodes(emb, make_documents(), vector_store=store)
    index = VectorStoreIndex.from_vector_store(store, embed_model=emb)
    return store, nodes, index


# ---------------------------------------------------------------------- contract


def test_is_a_llama_index_vector_store(tmp_path, emb):
    store = LeannVectorStore(tmp_path / "a.leann", embed_model=emb)
    assert isinstance(store, BasePydanticVectorStore)
    assert store.stores_text is True
    assert isinstance(store.client, LeannIndex)
    assert store.client.count() == 0


def test_missing_llama_index_names_the_extra():
    code = "import sys; sys.modules['llama_index'] = None; import leann_integrations.llama_index"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode != 0
    assert 'pip install "leann-graph-index[llama-index]"' in out.stderr


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


# ---------------------------------------------------------------------- filters


LEAVES = [
    MetadataFilter(key="topic", value="kernel", operator=FilterOperator.EQ),
    MetadataFilter(key="topic", value="kernel", operator=FilterOperator.NE),
    MetadataFilter(key="n", value=20, operator=FilterOperator.GT),
    MetadataFilter(key="n", value=20, operator=FilterOperator.GTE),
    MetadataFilter(key="score", value=1.5, operator=FilterOperator.LT),
    MetadataFilter(key="score", value=1.571, operator=FilterOperator.LTE),
    MetadataFilter(key="topic", value=["kernel", "model"], operator=FilterOperator.IN),
    MetadataFilter(key="topic", value=["kernel", "model"], operator=FilterOperator.NIN),
    MetadataFilter(key="tags", value="t1", operator=FilterOperator.CONTAINS),
    MetadataFilter(key="tags", value=["t1", "cooking"], operator=FilterOperator.ANY),
    MetadataFilter(key="tags", value=["t1", "cooking"], operator=FilterOperator.ALL),
    MetadataFilter(key="path", value="search/", operator=FilterOperator.TEXT_MATCH),
    MetadataFilter(key="path", value="SEARCH/", operator=FilterOperator.TEXT_MATCH_INSENSITIVE),
    MetadataFilter(key="note", value=None, operator=FilterOperator.IS_EMPTY),
    MetadataFilter(key="note", value="Reviewed by Alice #4", operator=FilterOperator.NE),
]


def expected_ids(nodes, filters: MetadataFilters) -> set[str]:
    meta = {n.node_id: n.metadata for n in nodes}
    fn = build_metadata_filter_fn(lambda nid: meta[nid], filters)  # LlamaIndex's own semantics
    return {nid for nid in meta if fn(nid)}


@pytest.mark.parametrize("leaf", LEAVES, ids=lambda f: f"{f.operator.name}-{f.key}")
def test_each_filter_operator_matches_llama_index_semantics(built, leaf):
    store, nodes, index = built
    filters = MetadataFilters(filters=[leaf])
    want = expected_ids(nodes, filters)
    assert 0 < len(want) < len(nodes)
    got = index.as_retriever(similarity_top_k=len(nodes), filters=filters).retrieve("graph notes")
    assert {r.node.node_id for r in got} == want
    assert {n.node_id for n in store.get_nodes(filters=filters)} == want


def test_and_or_not_and_nested_filters(built):
    store, nodes, index = built
    f_kernel = MetadataFilter(key="topic", value="kernel")
    f_model = MetadataFilter(key="topic", value="model")
    f_big = MetadataFilter(key="n", value=15, operator=FilterOperator.GTE)
    f_t1 = MetadataFilter(key="tags", value="t1", operator=FilterOperator.CONTAINS)
    m = {n.node_id: n.metadata for n in nodes}
    cases = [
        (MetadataFilters(filters=[f_big, f_t1]), lambda d: d["n"] >= 15 and "t1" in d["tags"]),
        (
            MetadataFilters(filters=[f_kernel, f_model], condition=FilterCondition.OR),
            lambda d: d["topic"] in ("kernel", "model"),
        ),
        (
            MetadataFilters(
                filters=[f_big, MetadataFilters(filters=[f_kernel, f_model], condition=FilterCondition.OR)]
            ),
            lambda d: d["n"] >= 15 and d["topic"] in ("kernel", "model"),
        ),
        (
            MetadataFilters(
                filters=[
                    MetadataFilters(filters=[f_kernel, f_big]),
                    MetadataFilters(filters=[f_model, f_t1]),
                ],
                condition=FilterCondition.OR,
            ),
            lambda d: (
                (d["topic"] == "kernel" and d["n"] >= 15) or (d["topic"] == "model" and "t1" in d["tags"])
            ),
        ),
        (
            MetadataFilters(filters=[f_kernel, f_model], condition=FilterCondition.NOT),
            lambda d: d["topic"] not in ("kernel", "model"),
        ),
    ]
    for filters, pred in cases:
        want = {nid for nid, d in m.items() if pred(d)}
        assert 0 < len(want) < len(nodes)
        got = index.as_retriever(similarity_top_k=len(nodes), filters=filters).retrieve("notes")
        assert {r.node.node_id for r in got} == want, filters
        assert {n.node_id for n in store.get_nodes(filters=filters)} == want


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
        ValueError, match="built with 'settings-model' but embed_model is 'other'.*strict_model=False"
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


# ---------------------------------------------------------------------- persistence


CHILD = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, {tests!r})
    from test_llama_index import hash_model, make_documents, dump
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


# ---------------------------------------------------------------------- examples


@pytest.mark.model
def test_example_script_runs_both_stores_and_agrees(tmp_path, real_model):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "llama_index_rag.py"),
            "--out",
            str(tmp_path),
            "--query",
            "magic SysRq key to reboot the machine",  # one question: the notebook asks both
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    assert "same source nodes for every question: True" in out.stdout
    ratio = float(re.search(r"LEANN / in-memory: ([0-9.]+)", out.stdout).group(1))
    assert 0 < ratio < 1
    assert (tmp_path / "in-memory" / "default__vector_store.json").exists()
    assert (tmp_path / "LEANN" / "default__leann.json").exists()
    assert LeannIndex(tmp_path / "docs.leann").count() > 50


@pytest.mark.model
def test_example_notebook_executes(real_model):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(ROOT / "examples" / "llama_index_rag.ipynb", as_version=4)
    nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "examples")}}
    ).execute()
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "same source nodes for every question: True" in text
    assert float(re.search(r"LEANN / in-memory: ([0-9.]+)", text).group(1)) < 1
