"""LlamaIndex vector store backed by a LEANN index: ``LeannVectorStore``.

Swap it into ``VectorStoreIndex`` (and its retrievers and query engines) in place of the default
in-memory store::

    from llama_index.core import StorageContext, VectorStoreIndex
    from leann_integrations.llama_index import LeannVectorStore

    store = LeannVectorStore("notes.leann", embed_model=embed_model)
    index = VectorStoreIndex.from_documents(
        documents, storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=embed_model,
    )
    index.as_retriever(similarity_top_k=3).retrieve("how is storage saved?")

The store keeps the passage text and the node, not its embedding: each passage's text is the
string LlamaIndex embedded (``node.get_content(MetadataMode.EMBED)``, metadata lines included), so
the embeddings recomputed at query time equal the ones LlamaIndex computed and scores match
LlamaIndex's own ``SimpleVectorStore``. Every write is on disk when the call returns.
"""

try:
    import llama_index.core.vector_stores.types  # noqa: F401
except ImportError as e:  # pragma: no cover - exercised by a test that hides llama_index
    raise ImportError(
        'leann_integrations.llama_index needs LlamaIndex: pip install "leann-graph-index[llama-index]"'
    ) from e

from .embeddings import LeannEmbedding, LlamaIndexEmbedder
from .filters import OPERATOR_MAP, translate_filters
from .nodes import (
    ID_KEY,
    NODE_KEY,
    REF_KEY,
    RESERVED_KEYS,
    SAME_METADATA,
    SPAN_KEY,
    node_to_passage,
    passage_to_node,
)
from .vectorstore import SUPPORTED_MODES, LeannVectorStore

__all__ = [
    "ID_KEY",
    "NODE_KEY",
    "OPERATOR_MAP",
    "REF_KEY",
    "RESERVED_KEYS",
    "SAME_METADATA",
    "SPAN_KEY",
    "SUPPORTED_MODES",
    "LeannEmbedding",
    "LeannVectorStore",
    "LlamaIndexEmbedder",
    "node_to_passage",
    "passage_to_node",
    "translate_filters",
]
