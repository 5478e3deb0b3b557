"""LangChain ``VectorStore`` backed by a LEANN index: :class:`LeannVectorStore`.

A drop-in replacement for ``InMemoryVectorStore``, ``FAISS`` or ``Chroma`` in a chain::

    from leann_integrations.langchain import LeannVectorStore

    store = LeannVectorStore(embedding=embeddings, index_path="notes.leann")
    store.add_documents(docs)                        # on disk when the call returns
    retriever = store.as_retriever(search_kwargs={"k": 4, "filter": {"source": "a.md"}})

The store keeps a pruned graph and the text, not the embeddings: a search re-embeds the few
passages it visits with ``embeddings.embed_documents`` (queries use ``embed_query``).
``store_embeddings=True`` keeps the vectors instead, for paid embedding APIs.
"""

try:
    import langchain_core.vectorstores  # noqa: F401
except ImportError as e:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        'leann_integrations.langchain needs langchain-core: pip install "leann-graph-index[langchain]"'
    ) from e

from .embeddings import LangChainEmbedder, LeannEmbeddings
from .filters import FILTER_LOGIC, FILTER_OPERATORS, to_engine_filter
from .vectorstore import LeannVectorStore

__all__ = [
    "FILTER_LOGIC",
    "FILTER_OPERATORS",
    "LangChainEmbedder",
    "LeannEmbeddings",
    "LeannVectorStore",
    "to_engine_filter",
]
