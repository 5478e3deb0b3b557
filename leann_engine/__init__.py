"""leann_engine: a graph-only vector index that recomputes embeddings at search time."""

from ._version import __version__
from .builder import LeannBuilder
from .embedding import DEFAULT_MODEL, Embedder, FunctionEmbedder, SentenceTransformerEmbedder, to_metric_space
from .errors import IndexFormatError, IndexLockedError, IndexNotFoundError, LeannError
from .filters import check_filters
from .index import LeannIndex
from .info import DiskUsage, IndexInfo, disk_usage, index_info
from .params import SEARCH_MODES, BuildParams, CompactionPolicy, SearchParams
from .results import SearchResult, SearchResults, SearchStats
from .searcher import LeannSearcher
from .storage import atomic_write

__all__ = [
    "DEFAULT_MODEL",
    "SEARCH_MODES",
    "BuildParams",
    "CompactionPolicy",
    "DiskUsage",
    "Embedder",
    "FunctionEmbedder",
    "IndexFormatError",
    "IndexInfo",
    "IndexLockedError",
    "IndexNotFoundError",
    "LeannBuilder",
    "LeannError",
    "LeannIndex",
    "LeannSearcher",
    "SearchParams",
    "SearchResult",
    "SearchResults",
    "SearchStats",
    "SentenceTransformerEmbedder",
    "__version__",
    "atomic_write",
    "check_filters",
    "disk_usage",
    "index_info",
    "to_metric_space",
]
