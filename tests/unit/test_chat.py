"""LeannChat with a fake Ollama client object: prompts, sources, per-question model options."""

from __future__ import annotations

import sys

import pytest

from leann_cli.chat import LeannChat, build_messages
from leann_engine import LeannBuilder, LeannSearcher

PASSAGES = [
    ("The index stores no embeddings, only a pruned graph and the text.", {"source": "docs/design.md", "start_line": 3, "end_line": 4}),
    ("Onions and garlic go in the pan before the tomatoes.", {"source": "recipes/sauce.md", "start_line": 1, "end_line": 1}),
]


class FakeClient:
    """Stands in for ``ollama.Client``: records each chat call and streams a fixed answer."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def chat(self, **kwargs):
        self.calls.append(kwargs)
        return iter([{"message": {"content": "Graph "}}, {"message": {"content": "only [1]."}}])


@pytest.fixture
def chat(tmp_path, embedder):
    b = LeannBuilder(embedding_model=embedder)
    for text, meta in PASSAGES:
        b.add_text(text, meta)
    b.build_index(tmp_path / "chat.leann")
    searcher = LeannSearcher(tmp_path / "chat.leann", embedder)
    c = LeannChat(
        tmp_path / "chat.leann",
        {"type": "ollama", "model": "tiny:1b", "host": "http://127.0.0.1:9", "options": {"num_ctx": 2048}},
        searcher=searcher,
    )
    c.llm._client = FakeClient()
    yield c
    searcher.close()


def test_llm_kwargs_apply_to_one_question_only(chat):
    assert chat.ask("what does the index store?", top_k=1, llm_kwargs={"temperature": 0}) == "Graph only [1]."
    chat.ask("what does the index store?", top_k=1)
    first, second = chat.llm._client.calls
    assert first["options"] == {"num_ctx": 2048, "temperature": 0}
    assert second["options"] == {"num_ctx": 2048}
    assert chat.llm.options == {"num_ctx": 2048}


def test_prompt_numbers_the_passages_with_their_sources(chat):
    assert list(chat.stream("what does the index store, a pruned graph?", top_k=1, mode="dense")) == ["Graph ", "only [1]."]
    call = chat.llm._client.calls[-1]
    assert call["model"] == "tiny:1b" and call["stream"] is True
    system, user = call["messages"]
    assert "[1]" in system["content"]
    assert "[1] docs/design.md:3-4\nThe index stores no embeddings" in user["content"]
    assert user["content"].endswith("Question: what does the index store, a pruned graph?")
    assert chat.last_results[0].metadata["source"] == "docs/design.md"


def test_search_options_are_checked(chat):
    with pytest.raises(ValueError, match="question must be a non-empty string"):
        chat.ask(" ")
    with pytest.raises(ValueError, match="top_k must be an integer from 1 to 100"):
        chat.ask("q", top_k=0)


def test_prompt_without_passages_says_so():
    assert "(no passages were found)" in build_messages("q?", [])[1]["content"]


def test_bad_llm_config_is_rejected(tmp_path):
    with pytest.raises(ValueError, match=r"llm_config\['type'\] must be one of ollama"):
        LeannChat(tmp_path, {"type": "gpt"}, searcher=object())
    with pytest.raises(ValueError, match="unknown llm_config keys"):
        LeannChat(tmp_path, {"type": "ollama", "temperature": 0}, searcher=object())


def test_missing_ollama_client_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ollama", None)
    with pytest.raises(ImportError, match=r"leann-graph-index\[ollama\]"):
        LeannChat(tmp_path, {"type": "ollama"}, searcher=object())
