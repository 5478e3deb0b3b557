"""``LeannSearcher``: open an index and search it, recomputing embeddings the graph walk needs."""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from leann_engine.embed.base import Embedder, embed_checked, query_embedding_vector, to_metric_space
from leann_engine.embed.language import readable_share
from leann_engine.embed.lru import EmbeddingLRU
from leann_engine.embed.providers import embedder_for_index
from leann_engine.filters import MetadataFilters, compile_filter, filter_key
from leann_engine.hybrid.adaptive import query_alpha
from leann_engine.hybrid.calibrate import prior_alpha
from leann_engine.hybrid.fusion import FusionFn, resolve_fusion
from leann_engine.hybrid.rerank import Candidates, Reranker, make_reranker
from leann_engine.params import SEARCH_MODES, SearchParams
from leann_engine.search.dense import Scorer, rows_vectors, search_base, search_delta, vectors_for
from leann_engine.search.stages import grep_stage, keyword_stage
from leann_engine.shard.layout import class_for
from leann_engine.store.manifest import manifest_stamp
from leann_engine.store.snapshot import Snapshot
from leann_engine.store.usage import DiskUsage, usage_of
from leann_engine.types import SearchResult, SearchResults, SearchStats

DEFAULT_COMPLEXITY = SearchParams.complexity


MODES = SEARCH_MODES


# Candidates each ranking contributes to a hybrid fusion.
FUSION_DEPTH = 50


def _result(rec: dict[str, Any], score: float) -> SearchResult:
    return SearchResult(
        id=rec["id"], score=float(score), text=rec["text"], metadata=rec.get("metadata") or {}
    )


def _check_query(query: str | None, query_embedding: Any, p: SearchParams) -> None:
    if query is None:
        if query_embedding is None or p.mode != "dense" or p.use_grep:
            raise ValueError(
                "query must be a string (it may be None only with query_embedding in dense mode)"
            )
    elif not isinstance(query, str):
        raise ValueError(f"query must be a string, got {type(query).__name__}")


class LeannSearcher:
    """Search an index built by :class:`~leann_engine.LeannBuilder`.

    Example::

        searcher = LeannSearcher("demo.leann")
        for r in searcher.search("how is storage saved?", top_k=3):
            print(r.id, round(r.score, 3), r.text)
        print(searcher.last_stats.recomputed, "passages re-embedded")

    The embedding model named in the index manifest is loaded on first use (once per process),
    or the index's provider (``embedding_mode`` ``"openai"``/``"ollama"``) is reconnected to,
    its key taken from ``embedding_options`` or the environment (indexes never store keys);
    ``embedding=`` takes any object with ``name``, ``dimension`` and ``embed(texts)`` instead.
    The index's prompt templates apply either way.
    ``mode``, ``alpha``, ``fusion`` and ``rerank`` set the defaults of :meth:`search`.
    The searcher follows the index: a commit by a writer (another process included) is picked
    up at the next call. A sharded index opens as a ``ShardedSearcher`` (``executor``: threads or ray).
    """

    def __new__(cls, index_path: str | Path | None = None, *args: Any, **kwargs: Any) -> LeannSearcher:
        return super().__new__(class_for(cls, index_path, "searcher"))

    def __init__(
        self,
        index_path: str | Path,
        embedding: Embedder | str | None = None,
        *,
        enable_warmup: bool = False,
        embedding_cache_mb: float = 16.0,
        embedding_options: dict[str, Any] | None = None,
        mode: str | None = None,
        alpha: float | None = None,
        fusion: str | FusionFn | None = None,
        rerank: bool | str | Reranker | None = None,
        params: SearchParams | None = None,
        executor: str | None = None,
    ) -> None:
        base = params if params is not None else SearchParams()
        given = {"mode": mode, "alpha": alpha, "fusion": fusion, "rerank": rerank}
        self.defaults: SearchParams = base.replace(**{k: v for k, v in given.items() if v is not None})
        self.path = Path(index_path)
        # Embeddings recomputed by earlier queries, reused by later ones (16 MB: ~10,000 x 384-d).
        self._lru = EmbeddingLRU(embedding_cache_mb)
        self._snap = Snapshot(self.path)
        self._stamp = manifest_stamp(self.path)
        self._embedding_arg = embedding
        self._embedding_options = dict(embedding_options or {})
        self._embedder: Embedder | None = None
        self.last_stats = SearchStats()
        if embedding is not None and not isinstance(embedding, str):
            self._use_embedder(embedder_for_index(self._snap.manifest, embedding))
        if enable_warmup:
            self.embedder.embed(["warm up"])

    @property
    def default_mode(self) -> str:
        return self.defaults.mode

    # ------------------------------------------------------------------ state

    @property
    def manifest(self) -> dict[str, Any]:
        """The committed manifest this searcher currently reads."""
        return self._snap.manifest

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._use_embedder(
                embedder_for_index(self._snap.manifest, self._embedding_arg, self._embedding_options)
            )
        assert self._embedder is not None
        return self._embedder

    def check_embedder(self, embedder: Embedder, *, strict: bool = False) -> None:
        """Raise ``ValueError`` if ``embedder``'s dimension differs from the index's; a different
        model name warns (or raises when ``strict``), since scores then mean little."""
        m = self._snap.manifest
        want, dim = int(m["dimensions"]), int(embedder.dimension)
        if dim != want:
            raise ValueError(
                f"embedding {embedder.name!r} gives {dim}-d vectors but the index at {self.path} was "
                f"built with {m['embedding_model']!r} ({want}-d): pass the same model"
            )
        if embedder.name != m["embedding_model"]:
            msg = (
                f"index {self.path} was built with {m['embedding_model']!r}, searching with "
                f"{embedder.name!r}: scores are only meaningful with the same model"
            )
            if strict:
                raise ValueError(msg)
            warnings.warn(msg, stacklevel=3)

    def _use_embedder(self, emb: Embedder) -> None:
        self.check_embedder(emb)
        self._embedder = emb

    def refresh(self) -> None:
        """Load the latest committed generation if a writer has published one."""
        stamp = manifest_stamp(self.path)
        if stamp != self._stamp:
            old = self._snap
            self._snap = Snapshot(self.path, previous=old)
            self._stamp = stamp
            if old.base is not self._snap.base:
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
        return [_result(rec, math.nan) for rec in snap.records(rows)]

    def ids(self) -> list[str]:
        """Every live passage id."""
        self.refresh()
        return list(self._snap.row_of)

    def select(self, metadata_filters: MetadataFilters | None) -> list[str]:
        """Ids of the live passages whose metadata matches ``metadata_filters`` (all for ``None``).

        Uses the snapshot's cached filter masks: passages are parsed once, not per call.
        """
        predicate = compile_filter(metadata_filters)
        self.refresh()
        snap = self._snap
        mask = snap.live_mask(filter_key(metadata_filters) if predicate else None, predicate)
        return snap.ids_of(np.flatnonzero(mask).tolist())

    def disk_usage(self) -> DiskUsage:
        """Bytes per part of the generation this searcher reads."""
        self.refresh()
        return usage_of(self.path, self._snap.manifest)

    # ------------------------------------------------------------------ search

    def embed_query(self, query: str) -> np.ndarray:
        vec = embed_checked(self.embedder, [query], int(self._snap.manifest["dimensions"]), query=True)
        return to_metric_space(vec, self._snap.metric)[0]

    def search(
        self,
        query: str | None,
        top_k: int | None = None,
        complexity: int | None = None,
        metadata_filters: MetadataFilters | None = None,
        *,
        query_embedding: Sequence[float] | np.ndarray | None = None,
        params: SearchParams | None = None,
        **overrides: Any,
    ) -> SearchResults:
        """Return the ``top_k`` passages that best answer ``query``, best first.

        ``query``: the question or keywords (``None`` only with ``query_embedding``, a query
        vector used instead of embedding ``query``, in dense mode). ``metadata_filters``:
        ``{"key": {"op": value}}`` conditions (:mod:`leann_engine.filters`), applied in every mode
        before the top ``k`` are taken. Every other option is a field of
        :class:`~leann_engine.SearchParams`, documented there.

        ``params`` (a :class:`~leann_engine.SearchParams`) replaces the searcher's defaults;
        keyword options override single fields; an unknown keyword raises ``ValueError``.

        Scores: cosine similarity (or inner product for ``metric="mips"``) in dense mode, BM25
        in bm25 mode and for grep, the fused score in hybrid mode, the reranker's score after a
        rerank. Higher is better in every case.
        """
        given = dict(overrides, top_k=top_k, complexity=complexity)
        p = (params if params is not None else self.defaults).replace(
            **{k: v for k, v in given.items() if v is not None}
        )
        _check_query(query, query_embedding, p)
        rerank = p.rerank not in (None, False)
        n_first = max(p.top_k, p.rerank_top_n or 20) if rerank else p.top_k
        predicate = compile_filter(metadata_filters)
        self.refresh()
        snap = self._snap
        stats = SearchStats(mode="grep" if p.use_grep else p.mode)
        sent = self._provider_counters()
        t_start = time.perf_counter()
        mask = snap.live_mask(filter_key(metadata_filters) if predicate else None, predicate)
        qvec: list[np.ndarray] = []

        def query_vector() -> np.ndarray:
            if not qvec:
                qvec.append(self._query_vector(query, query_embedding, stats))
            return qvec[0]

        def dense(k: int) -> list[tuple[int, float]]:
            return self._dense(snap, query_vector(), k, p, mask, stats)

        hits = self._first_stage(snap, query or "", mask, n_first, p, dense, stats)
        if rerank and hits:
            reranker = self._reranker(
                p.rerank, query_vector, lambda rows: self._vectors(snap, query_vector(), rows, stats)
            )
            hits = self._rerank(snap, reranker, hits, query or "", stats)
        top = hits[: p.top_k]
        records = snap.records([r for r, _ in top])
        results = [_result(rec, s) for (_, s), rec in zip(top, records)]
        stats.graph_s = time.perf_counter() - t_start - stats.model_s
        after = self._provider_counters()
        stats.provider_requests, stats.bytes_sent = after[0] - sent[0], after[1] - sent[1]
        self.last_stats = stats
        return SearchResults(results, stats)

    def _provider_counters(self) -> tuple[int, int]:
        """Requests and bytes the embedder has sent so far (0 for in-process models)."""
        emb = self._embedder
        return int(getattr(emb, "requests", 0) or 0), int(getattr(emb, "bytes_sent", 0) or 0)

    def _first_stage(
        self,
        snap: Snapshot,
        query: str,
        mask: np.ndarray,
        n: int,
        p: SearchParams,
        dense: Callable[[int], list[tuple[int, float]]],
        stats: SearchStats,
    ) -> list[tuple[int, float]]:
        """Candidates of the chosen mode (or grep), best first."""
        if p.use_grep:
            return grep_stage(snap, query, mask, n, p.grep_ignore_case, p.grep_regex, stats)
        if p.mode == "dense":
            return dense(n)
        if p.mode == "bm25":
            return keyword_stage(snap, query, mask, n, stats)
        depth = max(n, FUSION_DEPTH)
        d_hits = dense(depth)
        k_hits = keyword_stage(snap, query, mask, depth, stats)
        if not k_hits or not d_hits:
            a = 1.0 if not k_hits else 0.0
        elif p.alpha is None:
            # The index's prior, scaled by how much of the query an English-only model reads,
            # then moved per query by the agreement and standout of the two rankings.
            calibration = snap.manifest.get("calibration")
            stats.alpha_prior = prior_alpha(calibration) * readable_share(snap.manifest["embedding_model"], query)
            # Without a calibration (turned off, or a small index) the weight stays as documented.
            a = query_alpha(stats.alpha_prior, d_hits, k_hits) if calibration else stats.alpha_prior
        else:
            a = float(p.alpha)
        stats.alpha = a
        return resolve_fusion(p.fusion)(d_hits, k_hits, a)[:n]

    def _rerank(
        self,
        snap: Snapshot,
        reranker: Reranker,
        hits: list[tuple[int, float]],
        query: str,
        stats: SearchStats,
    ) -> list[tuple[int, float]]:
        t = time.perf_counter()
        rows = [r for r, _ in hits]
        scores = [float(x) for x in reranker.score(query, Candidates(snap.texts(rows), rows))]
        stats.rerank_s = time.perf_counter() - t
        return sorted(zip(rows, scores), key=lambda h: (-h[1], h[0]))

    # ------------------------------------------------------------------ retrieval stages

    def _query_vector(
        self, query: str | None, query_embedding: Sequence[float] | np.ndarray | None, stats: SearchStats
    ) -> np.ndarray:
        if query_embedding is None:
            assert query is not None
            t = time.perf_counter()
            q = self.embed_query(query)
            stats.model_s += time.perf_counter() - t
            return q
        return query_embedding_vector(query_embedding, int(self._snap.manifest["dimensions"]), self._snap.metric)

    def _dense(
        self, snap: Snapshot, q: np.ndarray, k: int, p: SearchParams, mask: np.ndarray, stats: SearchStats
    ) -> list[tuple[int, float]]:
        stored = self._stored_vectors(snap, p.recompute_embeddings)
        score = Scorer(snap, q, self.embedder, stored, stats, self._lru)
        walk = {"ef": max(p.complexity, k), "top_k": k, "batch_size": p.batch_size, "beam_width": p.beam_width}
        prune = (None if p.prune_ratio is None else float(p.prune_ratio)), p.pruning_strategy
        found = search_base(snap, score, mask, walk, stats, prune)
        found += search_delta(snap, q, mask, stats)
        found.sort(key=lambda h: -h[0])
        return [(r, s) for s, r in found[:k]]

    def _vectors(self, snap: Snapshot, q: np.ndarray, rows: Sequence[int], stats: SearchStats) -> np.ndarray:
        score = Scorer(snap, q, self.embedder, self._stored_vectors(snap, None), stats, self._lru)
        return rows_vectors(snap, score, rows)

    def _reranker(
        self,
        choice: bool | str | Reranker,
        query_vector: Callable[[], np.ndarray],
        vectors_for: Callable[[Sequence[int]], np.ndarray],
    ) -> Reranker:
        if choice is True:
            default = self.defaults.rerank
            choice = default if isinstance(default, (str, Reranker)) else "exact"
        return make_reranker(choice, query_vector=query_vector, vectors_for=vectors_for)

    def passage_embeddings(self, ids: Iterable[str]) -> np.ndarray:
        """Embeddings of the given passages (stored ones, or recomputed), one row per id.

        Rows are in metric space (unit-normalised for a cosine index), as searches score them.
        Unknown ids raise ``KeyError``.
        """
        self.refresh()
        snap = self._snap
        wanted = [str(i) for i in ids]
        missing = [i for i in wanted if i not in snap.row_of]
        if missing:
            raise KeyError(f"no passage with id {missing[0]!r} in {self.path}")
        return vectors_for(snap, [snap.row_of[i] for i in wanted], self.embedder)

    def _stored_vectors(self, snap: Snapshot, recompute: bool | None) -> np.ndarray | None:
        """The stored base embeddings to score with, or ``None`` to recompute."""
        stored = snap.base_embeddings
        if recompute is False and stored is None and snap.base.n:
            raise ValueError(
                f"recompute_embeddings=False, but {self.path} stores no embeddings "
                "(built with is_recompute=True): search with recomputation, or rebuild with is_recompute=False"
            )
        return None if recompute is True else stored
