"""Result types: one passage hit, a list of them, and what a search cost."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class SearchResult:
    """One passage: its id, similarity to the query (higher is closer), text and metadata."""

    id: str
    score: float
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SearchStats:
    """Cost of the last search: nodes scored, passages re-embedded, seconds in model and graph.

    Also the mode used, the dense weight a hybrid fusion chose (``alpha``; with no ``alpha``
    given, ``alpha_prior`` is the index's calibrated weight it started from), the keyword stage's time and
    number of matching passages, and the reranker's time (``graph_s`` includes these two).
    ``cached``: embeddings taken from the hub cache or the in-process LRU instead of the model.
    ``provider_requests`` and ``bytes_sent``: HTTP requests and request-body bytes this search
    sent to an embedding server (``embedding_mode`` ``"openai"``/``"ollama"``; 0 in-process).
    A sharded index's search says how many ``shards`` it asked and, in ``per_shard``, each one's
    work (``visited``, ``recomputed``, ``hits``, ``seconds``); the other counts are their sums.
    """

    visited: int = 0
    recomputed: int = 0
    model_s: float = 0.0
    graph_s: float = 0.0
    delta_scanned: int = 0
    cached: int = 0
    strategy: str = "graph"
    mode: str = "dense"
    alpha: float | None = None
    alpha_prior: float | None = None
    keyword_s: float = 0.0
    keyword_matches: int = 0
    rerank_s: float = 0.0
    provider_requests: int = 0
    bytes_sent: int = 0
    shards: int = 0
    per_shard: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total_s(self) -> float:
        return self.model_s + self.graph_s


class SearchResults(list[SearchResult]):
    """A ``list[SearchResult]`` best first, with the search's :class:`SearchStats`.

    ``len(results)`` can be below ``top_k`` only when fewer passages match.
    """

    def __init__(self, items: Iterable[SearchResult] = (), stats: SearchStats | None = None) -> None:
        super().__init__(items)
        self.stats = stats if stats is not None else SearchStats()

    def to_list(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self]

    def __repr__(self) -> str:
        head = ", ".join(f"{r.id!r}: {r.score:.3f}" for r in self[:5])
        more = f", ... {len(self) - 5} more" if len(self) > 5 else ""
        return f"SearchResults([{head}{more}], recomputed={self.stats.recomputed})"
