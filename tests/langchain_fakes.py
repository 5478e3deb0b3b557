"""LangChain ``Embeddings`` over the tests' deterministic bag-of-words embedder (no model)."""

from __future__ import annotations

from conftest import WordHashEmbedder
from langchain_core.embeddings import Embeddings


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
