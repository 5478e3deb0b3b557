"""LangChain's $-operator filters: translation, errors, and applied before the top k in the store."""

from __future__ import annotations

import pytest

pytest.importorskip("langchain_core", reason='needs the langchain extra: pip install -e ".[langchain]"')

from langchain_fakes import WordHashEmbeddings, corpus, ids_of, store  # noqa: E402,F401

from leann_integrations.langchain import to_engine_filter  # noqa: E402


@pytest.mark.parametrize(
    ("flt", "expect"),
    [
        ({"topic": "kernel"}, lambda m: m["topic"] == "kernel"),
        ({"topic": {"$eq": "kernel"}}, lambda m: m["topic"] == "kernel"),
        ({"topic": {"$ne": "kernel"}}, lambda m: m["topic"] != "kernel"),
        ({"n": {"$gt": 290}}, lambda m: m["n"] > 290),
        ({"n": {"$gte": 290}}, lambda m: m["n"] >= 290),
        ({"n": {"$lt": 7}}, lambda m: m["n"] < 7),
        ({"n": {"$lte": 7}}, lambda m: m["n"] <= 7),
        ({"n": {"$gte": 10, "$lt": 20}}, lambda m: 10 <= m["n"] < 20),
        ({"topic": {"$in": ["kernel", "model"]}}, lambda m: m["topic"] in ("kernel", "model")),
        ({"topic": {"$nin": ["kernel", "model"]}}, lambda m: m["topic"] not in ("kernel", "model")),
        ({"even": True, "topic": "search"}, lambda m: m["even"] and m["topic"] == "search"),
        (
            {"n": {"$exists": True}, "nokey": {"$exists": False}, "topic": "model"},
            lambda m: m["topic"] == "model",
        ),
        (
            {"$and": [{"topic": "search"}, {"n": {"$lt": 100}}]},
            lambda m: m["topic"] == "search" and m["n"] < 100,
        ),
        (
            {"$or": [{"topic": "search"}, {"n": {"$lt": 5}}]},
            lambda m: m["topic"] == "search" or m["n"] < 5,
        ),
        (
            {"even": False, "$or": [{"n": {"$lt": 30}}, {"$and": [{"topic": "model"}, {"n": {"$gt": 250}}]}]},
            lambda m: not m["even"] and (m["n"] < 30 or (m["topic"] == "model" and m["n"] > 250)),
        ),
    ],
)
def test_filters_are_applied_before_the_top_k(store, corpus, flt, expect):
    _, metas, ids = corpus
    matching = {i for i, m in zip(ids, metas) if expect(m)}
    assert matching, "the case must match something"
    k = 8
    got = store.similarity_search("graph index query score", k=k, filter=flt)
    assert set(ids_of(got)) <= matching
    assert len(got) == min(k, len(matching))  # a full page whenever that many match
    mmr = store.max_marginal_relevance_search("graph index query score", k=k, fetch_k=20, filter=flt)
    assert set(ids_of(mmr)) <= matching and len(mmr) == min(k, len(matching))


def test_filter_translation_and_errors():
    assert to_engine_filter({"a": 1, "b": {"$in": (1, 2)}}) == {"a": {"==": 1}, "b": {"in": [1, 2]}}
    assert to_engine_filter(None) is None
    with pytest.raises(ValueError, match=r"unsupported operator '\$regex'.*\$eq"):
        to_engine_filter({"a": {"$regex": "x"}})
    with pytest.raises(ValueError, match=r"unsupported operator '\$not'"):
        to_engine_filter({"$not": {"a": 1}})
    with pytest.raises(ValueError, match=r"\$in.*needs a list"):
        to_engine_filter({"a": {"$in": "abc"}})
    with pytest.raises(ValueError, match=r"\$or.*non-empty list"):
        to_engine_filter({"$or": []})
    with pytest.raises(ValueError, match=r"\$exists.*true or false"):
        to_engine_filter({"a": {"$exists": 1}})
    with pytest.raises(ValueError, match="empty condition"):
        to_engine_filter({"a": {}})
    with pytest.raises(ValueError, match="function cannot be applied"):
        to_engine_filter(lambda doc: True)


def test_bad_filter_through_the_store_and_retriever_raises(store):
    with pytest.raises(ValueError, match="unsupported operator"):
        store.similarity_search("x", filter={"n": {"$between": [1, 2]}})
    with pytest.raises(ValueError, match="unsupported operator"):
        store.as_retriever(search_kwargs={"filter": {"n": {"$like": "1%"}}}).invoke("x")
