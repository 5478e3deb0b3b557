"""``LeannSearcher``: open an index and search it, recomputing embeddings the graph walk needs."""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .embedding import Embedder, embed_checked, make_embedder
from .filters import MetadataFilters, compile_filter, filter_key
from .graph import normalize_rows
from .results import SearchResult, SearchResults, SearchStats
from .search import beam_search
from .snapshot import Snapshot
from .storage import manifest_stamp

DEFAULT_COMPLEXITY = 64
_SCORE_BATCH = 256


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


class LeannSearcher:
    """Search an index built by :class:`~leann_engine.LeannBuilder`.

    Example::

        searcher = LeannSearcher("demo.leann")
        for r in searcher.search("how is storage saved?", top_k=3):
            print(r.id, round(r.score, 3), r.text)
        print(searcher.last_stats.recomputed, "passages re-embedded")

    The embedding model named in the index manifest is loaded on first use (once per process);
    ``embedding=`` takes any object with ``name``, ``dimension`` and ``embed(texts)`` instead.
    The searcher follows the index: a commit by a writer (another process included) is picked
    up at the next call.
    """

    def __init__(
        self,
        index_path: str | Path,
        embedding: Embedder | str | None = None,
        *,
        enable_warmup: bool = False,
    ) -> None:
        self.path = Path(index_path)
        self._snap = Snapshot(self.path)
        self._stamp = manifest_stamp(self.path)
        self._embedding_arg = embedding
        self._embedder: Embedder | None = None
        self.last_stats = SearchStats()
        if embedding is not None and not isinstance(embedding, str):
            self._check_embedder(make_embedder(embedding))
        if enable_warmup:
            self.embedder.embed(["warm up"])

    # ------------------------------------------------------------------ state

    @property
    def manifest(self) -> dict[str, Any]:
        """The committed manifest this searcher currently reads."""
        return self._snap.manifest

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            arg = self._embedding_arg if self._embedding_arg is not None else self._snap.manifest["embedding_model"]
            self._check_embedder(make_embedder(arg))
        assert self._embedder is not None
        return self._embedder

    def _check_embedder(self, emb: Embedder) -> None:
        want = int(self._snap.manifest["dimensions"])
        dim = int(emb.dimension)
        if dim != want:
            raise ValueError(
                f"embedding {emb.name!r} gives {dim}-d vectors but the index at {self.path} was "
                f"built with {self._snap.manifest['embedding_model']!r} ({want}-d): pass the same model"
            )
        if emb.name != self._snap.manifest["embedding_model"]:
            warnings.warn(
                f"index {self.path} was built with {self._snap.manifest['embedding_model']!r}, "
                f"searching with {emb.name!r}: scores are only meaningful with the same model",
                stacklevel=3,
            )
        self._embedder = emb

    def refresh(self) -> None:
        """Load the latest committed generation if a writer has published one."""
        stamp = manifest_stamp(self.path)
        if stamp != self._stamp:
            old = self._snap
            self._snap = Snapshot(self.path)
            self._stamp = stamp
            old.close()

    def close(self) -> None:
        self._snap.close()

    def __enter__(self) -> LeannSearcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ reads

    def count(self) -> int:
        """Number of live passages."""
        self.refresh()
        return self._snap.live_count

    def get(self, ids: Iterable[str]) -> list[SearchResult]:
        """Passages by id, in the order asked; unknown ids are skipped. ``score`` is NaN."""
        self.refresh()
        snap = self._snap
        wanted = [str(i) for i in ids]
        rows = [snap.row_of[i] for i in wanted if i in snap.row_of]
        return [
            SearchResult(id=rec["id"], score=math.nan, text=rec["text"], metadata=rec.get("metadata") or {})
            for rec in snap.records(rows)
        ]

    def ids(self) -> list[str]:
        """Every live passage id."""
        self.refresh()
        return list(self._snap.row_of)

    # ------------------------------------------------------------------ search

    def embed_query(self, query: str) -> np.ndarray:
        vec = embed_checked(self.embedder, [query], int(self._snap.manifest["dimensions"]))
        return normalize_rows(vec)[0] if self._snap.metric == "cosine" else vec[0]

    def search(
        self,
        query: str,
        top_k: int = 5,
        complexity: int = DEFAULT_COMPLEXITY,
        metadata_filters: MetadataFilters | None = None,
        *,
        recompute_embeddings: bool | None = None,
        batch_size: int = 0,
    ) -> SearchResults:
        """Return the ``top_k`` passages most similar to ``query``, best first.

        Args:
            query: the question or keywords.
            top_k: how many results; fewer only when fewer passages match.
            complexity: the search queue length (HNSW's ``ef``; at least ``top_k`` is used).
                Higher finds more of the true nearest neighbours and re-embeds more passages.
            metadata_filters: ``{"key": {"op": value}}`` conditions, applied during the search
                so that ``top_k`` matches come back whenever that many exist.
            recompute_embeddings: ``None`` uses stored embeddings when the index has them and
                recomputes otherwise; ``True`` always recomputes; ``False`` requires stored ones.
            batch_size: gather at least this many new nodes per model call (dynamic batching);
                0 embeds each search step's new neighbours together.
        """
        if not isinstance(query, str):
            raise ValueError(f"query must be a string, got {type(query).__name__}")
        top_k = _positive_int("top_k", top_k)
        complexity = _positive_int("complexity", complexity)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 0:
            raise ValueError(f"batch_size must be an integer >= 0, got {batch_size!r}")
        predicate = compile_filter(metadata_filters)
        self.refresh()
        snap = self._snap
        stats = SearchStats()
        t_start = time.perf_counter()

        stored = snap.base_embeddings
        if recompute_embeddings is False and stored is None and snap.base.n:
            raise ValueError(
                f"recompute_embeddings=False, but {self.path} stores no embeddings "
                "(built with is_recompute=True): search with recomputation, or rebuild with is_recompute=False"
            )
        use_stored = stored is not None and recompute_embeddings is not True

        t0 = time.perf_counter()
        q = self.embed_query(query)
        stats.model_s += time.perf_counter() - t0

        key = filter_key(metadata_filters) if predicate is not None else None
        mask = snap.live_mask(key, predicate)
        dim = int(snap.manifest["dimensions"])

        def score(rows: np.ndarray) -> np.ndarray:
            if use_stored:
                return np.asarray(stored[rows], dtype=np.float32) @ q
            t = time.perf_counter()
            vecs = embed_checked(self.embedder, snap.texts(rows.tolist()), dim)
            if snap.metric == "cosine":
                vecs = normalize_rows(vecs)
            stats.model_s += time.perf_counter() - t
            stats.recomputed += len(rows)
            return vecs @ q

        hits: list[tuple[float, int]] = []
        n_base = snap.base.n
        ef = max(complexity, top_k)
        if n_base:
            base_mask = mask[:n_base]
            n_match = int(base_mask.sum())
            filtered = predicate is not None or n_match < n_base
            # A filter that few rows pass makes the walk wander; scoring the matches directly
            # is then cheaper. A walk visits roughly 16*ef nodes at full selectivity and
            # 16*ef/selectivity with a filter; direct scoring costs n_match.
            if filtered and n_match * n_match <= 16 * ef * n_base:
                rows = np.flatnonzero(base_mask)
                stats.strategy = "direct"
                for s in range(0, rows.size, _SCORE_BATCH):
                    part = rows[s : s + _SCORE_BATCH]
                    hits.extend(zip(score(part).tolist(), part.tolist()))
                stats.visited = int(rows.size)
            else:
                accept = base_mask.__getitem__ if filtered else None
                found, visited = beam_search(
                    snap.graph, score, ef=ef, accept=accept, batch_size=batch_size
                )
                hits.extend(found)
                stats.visited = visited
        if snap.delta.rows:
            drows = np.flatnonzero(mask[n_base:])
            if drows.size:
                sims = snap.delta.embeddings[drows] @ q
                hits.extend(zip(sims.tolist(), (drows + n_base).tolist()))
            stats.delta_scanned = int(drows.size)
        hits.sort(key=lambda h: -h[0])
        top = hits[:top_k]
        records = snap.records([r for _, r in top])
        results = [
            SearchResult(id=rec["id"], score=float(s), text=rec["text"], metadata=rec.get("metadata") or {})
            for (s, _), rec in zip(top, records)
        ]
        stats.graph_s = time.perf_counter() - t_start - stats.model_s
        self.last_stats = stats
        return SearchResults(results, stats)

    def search_batch(self, queries: Sequence[str], **kwargs: Any) -> list[SearchResults]:
        """Run :meth:`search` for each query (same keyword arguments)."""
        return [self.search(q, **kwargs) for q in queries]
