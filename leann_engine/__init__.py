"""leann_engine: a graph-only vector index that recomputes embeddings at search time."""

from ._version import __version__
from .builder import LeannBuilder
from .embedding import Embedder, FunctionEmbedder, SentenceTransformerEmbedder
from .errors import IndexFormatError, IndexLockedError, IndexNotFoundError, LeannError
from .index import LeannIndex
from .results import SearchResult, SearchResults, SearchStats
from .searcher import LeannSearcher

__all__ = [
    "Embedder",
    "FunctionEmbedder",
    "IndexFormatError",
    "IndexLockedError",
    "IndexNotFoundError",
    "LeannBuilder",
    "LeannError",
    "LeannIndex",
    "LeannSearcher",
    "SearchResult",
    "SearchResults",
    "SearchStats",
    "SentenceTransformerEmbedder",
    "__version__",
]
