"""A deterministic LlamaIndex embedding and sample documents for the adapter tests (no model)."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pytest
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.ingestion import IngestionPipeline
from llama_index.core.node_parser import SentenceSplitter

from leann_engine import CompactionPolicy
from leann_integrations.llama_index import LeannVectorStore


class WordHashEmbedding(BaseEmbedding):
    """Deterministic bag-of-words LlamaIndex embedding; records every text it embeds."""

    dim: int = 32
    salt: str = ""
    _seen: list = PrivateAttr(default_factory=list)

    @classmethod
    def class_name(cls) -> str:
        return "WordHashEmbedding"

    def _vec(self, text: str) -> list[float]:
        self._seen.append(text)
        out = np.zeros(self.dim)
        for w in re.findall(r"\w+", text.lower()) or ["<empty>"]:
            seed = int.from_bytes(hashlib.sha256((self.salt + w).encode()).digest()[:8], "little")
            out += np.random.default_rng(seed).standard_normal(self.dim)
        return out.tolist()

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._vec(text)

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._vec(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._vec(query)


def hash_model(name: str = "word-hash-32", dim: int = 32) -> WordHashEmbedding:
    return WordHashEmbedding(model_name=name, dim=dim)


TOPICS = {
    "storage": "The index keeps the graph on disk and compresses neighbour lists with varints.",
    "search": "A query walks the graph best first and scores the neighbours it visits.",
    "model": "The transformer encodes each passage into a vector in batches of tokens.",
    "kernel": "A maintainer reviews each patch before the driver module is merged.",
    "cooking": "Fry the onion and garlic in a pan, then season with salt and pepper.",
}


def make_documents(n: int = 30) -> list[Document]:
    names = sorted(TOPICS)
    docs = []
    for i in range(n):
        topic = names[i % len(names)]
        meta = {
            "topic": topic,
            "n": i,
            "score": round(i / 7, 3),
            "tags": [topic, f"t{i % 3}"],
            "path": f"docs/{topic}/{i}.md",
        }
        if i % 4 == 0:
            meta["note"] = "" if i % 8 == 0 else f"Reviewed by Alice #{i}"
        docs.append(
            Document(
                id_=f"doc-{i}",
                text=f"{TOPICS[topic]} Entry number {i} of the {topic} notes.",
                metadata=meta,
                excluded_embed_metadata_keys=["path"],
            )
        )
    return docs


def pipeline_nodes(emb, docs, vector_store=None, **kwargs):
    pipe = IngestionPipeline(
        transformations=[SentenceSplitter(chunk_size=96, chunk_overlap=0), emb],
        vector_store=vector_store,
        **kwargs,
    )
    return pipe, pipe.run(documents=docs)


def dump(node) -> dict:
    d = node.model_dump(mode="json")
    d.pop("embedding", None)
    return d


# Fixtures shared by the LlamaIndex test files (imported there by name).
@pytest.fixture
def emb() -> WordHashEmbedding:
    return hash_model()


@pytest.fixture
def built(tmp_path, emb):
    """A store filled through an IngestionPipeline, the nodes it got, and an index over it."""
    # The engine's compaction policy, passed through: a graph from 16 passages on, so the 30
    # documents' nodes are searched by walking a graph.
    store = LeannVectorStore(tmp_path / "li.leann", embed_model=emb, policy=CompactionPolicy(first_graph_at=16))
    _, nodes = pipeline_nodes(emb, make_documents(), vector_store=store)
    index = VectorStoreIndex.from_vector_store(store, embed_model=emb)
    return store, nodes, index

