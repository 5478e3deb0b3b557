"""Embeddings both ways: a LangChain ``Embeddings`` for the engine, the engine's model for LangChain."""

from __future__ import annotations

from langchain_core.embeddings import Embeddings

from leann_engine import DEFAULT_MODEL, make_embedder

from .._embedder import MemoEmbedder


def embeddings_name(embeddings: Embeddings) -> str:
    """A stable name for the manifest, so reopening with another model warns."""
    model = getattr(embeddings, "model", None) or getattr(embeddings, "model_name", None)
    name = f"langchain:{type(embeddings).__name__}"
    return f"{name}:{model}" if isinstance(model, str) and model else name


class LangChainEmbedder(MemoEmbedder):
    """A LangChain ``Embeddings`` seen as a :class:`leann_engine.Embedder`.

    ``embed`` calls ``embed_documents``: the engine uses it for passages, at build time and when
    a search recomputes them (queries go through ``embed_query`` in the store). Vectors the
    store computed moments earlier for the same texts are served from the memo.
    """

    def __init__(self, embeddings: Embeddings, dimension: int | None = None) -> None:
        super().__init__(embeddings.embed_documents, embeddings_name(embeddings), dimension)
        self.embeddings = embeddings


class LeannEmbeddings(Embeddings):
    """LangChain ``Embeddings`` over the engine's embedding models (offline).

    ``LeannEmbeddings()`` is all-MiniLM-L6-v2 from the packaged copy (English);
    ``LeannEmbeddings("intfloat/multilingual-e5-small")`` the offline multilingual model (the
    ``multilingual`` extra), for text in other languages; any sentence-transformers name or
    local folder works too. The model is loaded once per process and shared with the engine;
    queries use the model's query encoding where it has one (e5's ``"query: "``).
    """

    def __init__(self, model: str | None = None, *, batch_size: int = 32) -> None:
        self._embedder = make_embedder(model or DEFAULT_MODEL, batch_size=batch_size)
        self.model = self._embedder.name

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._embedder.embed(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        encode = getattr(self._embedder, "embed_query", None) or self._embedder.embed
        return encode([text])[0].tolist()
