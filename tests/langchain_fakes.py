"""LangChain ``Embeddings`` over the tests' deterministic bag-of-words embedder (no model)."""

from __future__ import annotations

import pytest
from conftest import WordHashEmbedder, make_corpus
from langchain_core.embeddings import Embeddings

from leann_integrations.langchain import LeannVectorStore


class WordHashEmbeddings(Embeddings):
    """LangChain ``Embeddings`` over the tests' bag-of-words embedder, counting its calls.

    Queries get a different vector from documents when ``query_prefix`` is set, as with
    asymmetric models, so tests can tell which method the store used.
    """

    def __init__(self, dimension: int = 32, query_prefix: str = "") -> None:
        self._emb = WordHashEmbedder(dimension)
        self.query_prefix = query_prefix
        self.documents_embedded = 0
        self.queries_embedded = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.documents_embedded += len(texts)
        return self._emb.embed(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        self.queries_embedded += 1
        return self._emb.embed([self.query_prefix + text])[0].tolist()


# Fixtures shared by the LangChain test files (imported there by name).


@pytest.fixture
def corpus():
    texts, metas = make_corpus(300)
    return texts, metas, [f"d{i}" for i in range(len(texts))]


@pytest.fixture
def store(tmp_path, corpus):
    """300 passages: past the engine's first-graph size, so searches walk a graph and recompute."""
    texts, metas, ids = corpus
    return LeannVectorStore.from_texts(
        texts, WordHashEmbeddings(), metadatas=metas, ids=ids, index_path=tmp_path / "lc.leann"
    )


def ids_of(docs):
    return [d.id for d in docs]
