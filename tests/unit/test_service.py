"""service: search requests validated once, the searcher pool, results over the daemon's wire,
source labels."""

from __future__ import annotations

import json
import shutil

import pytest

from leann_cli.service import (
    MAX_COMPLEXITY,
    MAX_TOP_K,
    SearcherPool,
    SearchRequest,
    parse_filters,
    results_from_message,
    results_to_message,
    run_search,
    source_label,
)
from leann_engine import LeannBuilder, LeannSearcher, SearchParams, SearchResults


def build(path, embedder, texts):
    b = LeannBuilder(embedding_model=embedder)
    for i, t in enumerate(texts):
        b.add_text(t, {"source": f"doc{i}.md", "start_line": 1, "end_line": 2}, id=f"d{i}")
    b.build_index(path)
    return path


def test_request_defaults_are_the_engines_except_the_cli_mode():
    engine, request = SearchParams(), SearchRequest("q")
    assert (request.top_k, request.complexity) == (engine.top_k, engine.complexity)
    assert request.mode == "hybrid"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"query": "  "}, "query must be a non-empty string"),
        ({"top_k": 0}, f"top_k must be an integer from 1 to {MAX_TOP_K}, got 0"),
        ({"top_k": True}, "top_k must be an integer"),
        ({"complexity": MAX_COMPLEXITY + 1}, f"complexity must be an integer from 1 to {MAX_COMPLEXITY}"),
        ({"mode": "fuzzy"}, "mode must be one of dense, bm25, hybrid, got 'fuzzy'"),
        ({"filters": ["a"]}, "filters must be an object"),
        ({"filters": {"n": {"~~": 1}}}, "unknown operator"),
        ({"rerank": 3}, "rerank must be"),
    ],
)
def test_bad_requests_name_the_option(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SearchRequest(**{"query": "q", **kwargs})


def test_request_survives_the_wire():
    request = SearchRequest("q", 3, 20, "bm25", {"source": {"==": "a.md"}}, "exact", True)
    assert SearchRequest.from_message(json.loads(json.dumps(request.to_message()))) == request
    assert SearchRequest.from_message({"query": "q", "top_k": None, "other": 1}) == SearchRequest("q")


def test_parse_filters():
    assert parse_filters(["source=a.md", "start_line>=10", "n<3", "text~graph", "flag=true"]) == {
        "source": {"==": "a.md"},
        "start_line": {">=": 10},
        "n": {"<": 3},
        "text": {"contains": "graph"},
        "flag": {"==": True},
    }
    assert parse_filters(None) is None
    with pytest.raises(ValueError, match="is not KEY=VALUE"):
        parse_filters(["nothing"])


def test_source_label_is_one_format():
    assert source_label({"source": "a.md", "start_line": 3, "end_line": 5}) == "a.md:3-5"
    assert source_label({"source": "a.md", "start_line": 3, "end_line": 3}) == "a.md:3"
    assert source_label({"source": "s.pptx", "start_line": 9, "end_line": 9, "slide": 2}) == "s.pptx:9 (slide 2)"
    assert source_label({"source": "r.pdf", "page": 4}) == "r.pdf (page 4)"
    assert source_label({}) == "unknown source"


def test_run_search_passes_every_option(tmp_path, embedder):
    path = build(tmp_path / "i", embedder, ["graph walk beam", "onion garlic pan", "graph file size"])
    with LeannSearcher(path, embedder) as s:
        results = run_search(s, SearchRequest("graph", top_k=2, mode="bm25", filters={"source": "doc2.md"}))
        assert [r.id for r in results] == ["d2"] and results.stats.mode == "bm25"
        grep = run_search(s, SearchRequest("onion", mode="dense", grep=True))
        assert [r.id for r in grep] == ["d1"]


def test_results_round_trip_keeps_stats(tmp_path, embedder):
    path = build(tmp_path / "i", embedder, ["graph walk beam", "onion garlic pan", "graph file size"])
    with LeannSearcher(path, embedder) as s:
        direct = run_search(s, SearchRequest("graph walk", top_k=2, mode="dense"))
    back = results_from_message(json.loads(json.dumps(results_to_message(direct))))
    assert isinstance(back, SearchResults)
    assert back == direct and back.stats == direct.stats and back.stats.visited > 0


def test_pool_reuses_and_reopens_a_rebuilt_index(tmp_path, embedder):
    opened = []

    def opener(path):
        opened.append(path)
        return LeannSearcher(path, embedder)

    pool = SearcherPool(opener)
    path = build(tmp_path / "i", embedder, ["graph walk beam", "onion garlic pan"])
    first = pool.get(path)
    assert pool.get(path) is first and len(opened) == 1
    assert [r.id for r in pool.search(path, SearchRequest("onion", top_k=1, mode="dense"))] == ["d1"]

    shutil.rmtree(path)
    with pytest.raises(FileNotFoundError, match="no index at"):
        pool.get(path)
    assert pool.paths() == []
    build(path, embedder, ["bees dance", "hive flowers"])
    assert [r.id for r in pool.search(path, SearchRequest("bees", top_k=1, mode="dense"))] == ["d0"]
    assert len(opened) == 2 and pool.paths() == [str(path)]
    pool.close()
    assert pool.paths() == []
