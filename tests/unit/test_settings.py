"""BuildOptions: validation, defaults taken from the engine, and resolving a rebuild's options."""

from __future__ import annotations

import json

import pytest

from leann_cli.settings import BuildOptions
from leann_engine import BuildParams

STORED = {
    "chunking": {"chunk_size": 300, "chunk_overlap": 30, "code_chunk_size": 500},
    "embedding_model": "word-hash",
    "file_types": [".md"],
    "include_hidden": True,
    "graph_degree": 12,
    "build_complexity": 48,
    "is_recompute": False,
}


def test_graph_defaults_are_the_engines():
    engine, options = BuildParams(), BuildOptions()
    assert (options.graph_degree, options.build_complexity, options.is_recompute) == (
        engine.graph_degree,
        engine.build_complexity,
        engine.is_recompute,
    )


def test_resolve_keeps_every_stored_option_when_nothing_is_given():
    options = BuildOptions.resolve(STORED, {"chunk_size": None, "is_recompute": None})
    assert options.to_record() == STORED
    assert options.file_types == (".md",) and options.include_hidden and not options.is_recompute


def test_resolve_applies_only_the_given_overrides():
    options = BuildOptions.resolve(STORED, {"graph_degree": 20, "file_types": ".py,md"})
    assert options.graph_degree == 20 and options.file_types == (".md", ".py")
    assert options.build_complexity == 48 and options.chunk_size == 300 and not options.is_recompute


def test_resolve_without_a_record_gives_the_defaults():
    assert BuildOptions.resolve(None) == BuildOptions()
    assert BuildOptions.resolve(None, {"is_recompute": False}).is_recompute is False


def test_version_1_records_kept_the_model_among_the_chunking_settings():
    legacy = {
        "chunking": {"chunk_size": 256, "chunk_overlap": 25, "code_chunk_size": 768, "embedding_model": "m1"},
        "include_hidden": False,
        "graph_degree": 32,
        "build_complexity": 200,
        "is_recompute": True,
    }
    options = BuildOptions.resolve(legacy)
    assert options.embedding_model == "m1"
    assert options.rebuild_key() == BuildOptions(embedding_model="m1").rebuild_key()
    assert "embedding_model" not in options.to_record()["chunking"]


def test_unknown_override_lists_the_known_options():
    with pytest.raises(ValueError, match=r"unknown build option\(s\) chunksize; known: chunk_size, chunk_overlap"):
        BuildOptions.resolve(None, {"chunksize": 100})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"chunk_size": 8}, "chunk_size must be an integer >= 16"),
        ({"code_chunk_size": True}, "code_chunk_size must be an integer >= 16"),
        ({"chunk_size": 100, "chunk_overlap": 100}, r"chunk_overlap must be an integer in \[0, chunk_size=100\)"),
        ({"file_types": ","}, "file_types is empty"),
        ({"graph_degree": 0}, "graph_degree"),
        ({"build_complexity": -1}, "build_complexity"),
    ],
)
def test_bad_options_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BuildOptions(**kwargs)


def test_provider_options_are_recorded_without_a_key_and_kept_by_resolve():
    given = {
        "embedding_mode": "openai",
        "embedding_api_base": "http://127.0.0.1:9/v1",
        "query_prompt_template": "q: ",
    }
    options = BuildOptions.resolve(STORED, given)
    record = options.to_record()
    assert {k: record[k] for k in given} == given and "embedding_host" not in record
    again = BuildOptions.resolve(record, {"graph_degree": 20})
    assert again.embedding_options("sk-x") == {
        "base_url": "http://127.0.0.1:9/v1",
        "api_key": "sk-x",
        "query_prompt_template": "q: ",
    }
    assert "sk-x" not in json.dumps(again.to_record())
    assert again.rebuild_key() != BuildOptions.resolve(STORED).rebuild_key()
    with pytest.raises(ValueError, match="embedding_mode must be one of"):
        BuildOptions(embedding_mode="cohere")
