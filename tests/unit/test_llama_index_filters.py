"""LlamaIndex MetadataFilters: every operator and AND/OR/NOT nesting match LlamaIndex's own semantics."""

from __future__ import annotations

import pytest

pytest.importorskip("llama_index.core")

from llama_index.core.vector_stores.types import (  # noqa: E402
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
)
from llama_index.core.vector_stores.utils import build_metadata_filter_fn  # noqa: E402
from llama_index_fakes import WordHashEmbedding, built, emb, hash_model, make_documents, pipeline_nodes  # noqa: E402,F401

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
