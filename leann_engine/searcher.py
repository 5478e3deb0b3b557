"""``LeannSearcher``: open an index and search it, recomputing embeddings the graph walk needs."""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .bm25 import bm25_scores
from .cache import EmbeddingLRU
from .calibrate import prior_alpha
from .embedding import Embedder, embed_checked, make_embedder
from .filters import MetadataFilters, compile_filter, filter_key
from .fusion import FusionFn, resolve_fusion
from .embedding import to_metric_space
from .info import DiskUsage, usage_of
from .params import SEARCH_MODES, SearchParams
from .pq import adc_scores
from .rerank import ExactReranker, Reranker, make_reranker
from .results import SearchResult, SearchResults, SearchStats
from .search import beam_search
from .snapshot import Snapshot
from .storage import manifest_stamp

DEFAULT_COMPLEXITY = SearchParams.complexity
MODES = SEARCH_MODES
# Candidates each ranking contributes to a hybrid fusion.
FUSION_DEPTH = 50
# Two-level search: share of the approximate (PQ) queue that is not re-embedded. With 32-byte
# codes on 20,000 MiniLM chunks, 0.8 at complexity 32 gave recall@3 0.955 with 32 passages
# re-embedded per query (benchmarks/bench_speed.py; README "Search parameters").
DEFAULT_PRUNE_RATIO = 0.8
_SCORE_BATCH = 256


def _result(rec: dict[str, Any], score: float) -> SearchResult:
    return SearchResult(
        id=rec["id"], score=float(score), text=rec["text"], metadata=rec.get("metadata") or {}
    )


class _Scorer:
    """Similarity of base rows to the query: from stored vectors, or by re-embedding their text.

    Recomputation first looks in the index's hub cache and the searcher's LRU of embeddings
    from earlier queries, and embeds only what neither holds.
    """

    def __init__(
        self,
        snap: Snapshot,
        query: np.ndarray,
        embedder: Embedder,
        stored: np.ndarray | None,
        stats: SearchStats,
        lru: EmbeddingLRU | None = None,
    ) -> None:
        self.snap, self.query, self.embedder, self.stored, self.stats = snap, query, embedder, stored, stats
        if lru is not None and getattr(lru, "owner", None) is not snap.base:
            lru.clear()  # rows are numbered per base segment: a compaction renumbers them
            lru.owner = snap.base  # type: ignore[attr-defined]
        self.lru = lru

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        if self.stored is not None:
            return np.asarray(self.stored[rows], dtype=np.float32) @ self.query
        vecs = np.empty((rows.size, self.snap.dimension), dtype=np.float32)
        todo = np.ones(rows.size, dtype=bool)
        hubs = self.snap.hubs
        if hubs is not None and hubs[0].size:
            pos = np.minimum(np.searchsorted(hubs[0], rows), hubs[0].size - 1)
            hit = hubs[0][pos] == rows
            vecs[hit] = hubs[1][pos[hit]]
            todo &= ~hit
        if self.lru is not None:
            for i in np.flatnonzero(todo).tolist():
                v = self.lru.get(int(rows[i]))
                if v is not None:
                    vecs[i] = v
                    todo[i] = False
        self.stats.cached += int(rows.size - todo.sum())
        if todo.any():
            need = rows[todo]
            t = time.perf_counter()
            fresh = embed_checked(self.embedder, self.snap.texts(need.tolist()), self.snap.dimension)
            if self.snap.metric == "cosine":
                fresh = to_metric_space(fresh, "cosine")
            self.stats.model_s += time.perf_counter() - t
            self.stats.recomputed += int(need.size)
            vecs[todo] = fresh
            if self.lru is not None:
                self.lru.put(need, fresh)
        return vecs @ self.query

    def approx(self) -> Callable[[np.ndarray], np.ndarray] | None:
        """ADC similarities from the index's PQ codes, or ``None`` when it has no codes."""
        if self.snap.pq is None:
            return None
        pq, codes = self.snap.pq
        table = pq.table(self.query)
        return lambda rows: adc_scores(table, codes[rows])


def _top_positive(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The ``k`` best rows with a positive score, best first (ties: lower row first)."""
    rows = np.flatnonzero(scores > 0)
    if rows.size > k:
        part = np.argpartition(-scores[rows], k - 1)[:k]
        rows = rows[part]
    order = np.lexsort((rows, -scores[rows]))
    return [(int(rows[i]), float(scores[rows[i]])) for i in order]


class LeannSearcher:
    """Search an index built by :class:`~leann_engine.LeannBuilder`.

    Example::

        searcher = LeannSearcher("demo.leann")
        for r in searcher.search("how is storage saved?", top_k=3):
            print(r.id, round(r.score, 3), r.text)
        print(searcher.last_stats.recomputed, "passages re-embedded")

    The embedding model named in the index manifest is loaded on first use (once per process);
    ``embedding=`` takes any object with ``name``, ``dimension`` and ``embed(texts)`` instead.
    ``mode``, ``alpha``, ``fusion`` and ``rerank`` set the defaults of :meth:`search`.
    The searcher follows the index: a commit by a writer (another process included) is picked
    up at the next call.
    """

    def __init__(
        self,
        index_path: str | Path,
        embedding: Embedder | str | None = None,
        *,
        enable_warmup: bool = False,
        embedding_cache_mb: float = 16.0,
        mode: str | None = None,
        alpha: float | None = None,
        fusion: str | FusionFn | None = None,
        rerank: bool | str | Reranker | None = None,
        params: SearchParams | None = None,
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
        self._embedder: Embedder | None = None
        self.last_stats = SearchStats()
        if embedding is not None and not isinstance(embedding, str):
            self._use_embedder(make_embedder(embedding))
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
            arg = (
                self._embedding_arg
                if self._embedding_arg is not None
                else self._snap.manifest["embedding_model"]
            )
            self._use_embedder(make_embedder(arg))
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
        vec = embed_checked(self.embedder, [query], int(self._snap.manifest["dimensions"]))
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

        Args:
            query: the question or keywords.
            top_k: how many results; fewer only when fewer passages match.
            complexity: the search queue length (HNSW's ``ef``; at least ``top_k`` is used).
                Higher finds more of the true nearest neighbours and re-embeds more passages.
            metadata_filters: ``{"key": {"op": value}}`` conditions (see
                :mod:`leann_engine.filters`), applied in every mode before the top ``k`` are
                taken, so ``top_k`` matches come back whenever that many exist.
            mode: ``"dense"`` (embedding similarity; the default unless the searcher was
                opened with another), ``"bm25"`` (keywords) or ``"hybrid"`` (both, fused).
            alpha: weight of the dense ranking in a hybrid fusion, in [0, 1]; ``None`` (the
                default) uses the index's calibrated weight (:mod:`leann_engine.calibrate`).
            fusion: ``"blend"`` (default), ``"rrf"``, or a callable, see :mod:`leann_engine.fusion`.
            rerank: re-order the best ``rerank_top_n`` candidates: ``True`` or ``"exact"``
                (cosine with the index's embedding model, no extra model), a cross-encoder
                model name or local path, or a :class:`~leann_engine.rerank.Reranker`.
            rerank_top_n: candidates the reranker sees (default ``max(top_k, 20)``).
            use_grep: return only passages that contain ``query`` literally (LEANN's grep),
                best keyword score first; ``grep_ignore_case`` and ``grep_regex`` (``query``
                is a Python regular expression) widen the match.
            query_embedding: a query vector to use instead of embedding ``query`` (dense and
                hybrid modes); ``query`` may then be ``None`` in dense mode.
            recompute_embeddings: ``None`` uses stored embeddings when the index has them and
                recomputes otherwise; ``True`` always recomputes; ``False`` requires stored ones.
            batch_size: gather at least this many new nodes per model call (dynamic batching);
                0 embeds each search step's new neighbours together.
            beam_width: frontier nodes expanded per step (LEANN's name); their new neighbours
                are embedded in one batch.
            prune_ratio: two-level search (index with PQ codes, recomputing): the share of the
                approximate queue not re-embedded; ``None`` means 0.8 there, 0.0 elsewhere.
                With ``"global"`` the walk follows the codes with a queue of
                ``complexity / (1 - prune_ratio)`` and re-embeds its best ``complexity``; 0.0
                walks on exact scores only. Ignored (exact walk) on an index without codes.
            pruning_strategy: ``"global"`` (above) or ``"local"``: walk on exact scores and
                re-embed only the best ``1 - prune_ratio`` of each step's new neighbours.

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
        mode, use_grep = p.mode, p.use_grep
        if query is None:
            if query_embedding is None or mode != "dense" or use_grep:
                raise ValueError(
                    "query must be a string (it may be None only with query_embedding in dense mode)"
                )
        elif not isinstance(query, str):
            raise ValueError(f"query must be a string, got {type(query).__name__}")
        top_k, complexity, alpha = p.top_k, p.complexity, p.alpha
        batch_size, beam_width, recompute_embeddings = p.batch_size, p.beam_width, p.recompute_embeddings
        grep_ignore_case, grep_regex = p.grep_ignore_case, p.grep_regex
        prune = (None if p.prune_ratio is None else float(p.prune_ratio)), p.pruning_strategy
        fuse = resolve_fusion(p.fusion)
        reranker = self._reranker(p.rerank)
        n_first = top_k
        if reranker is not None:
            n_first = max(top_k, p.rerank_top_n if p.rerank_top_n is not None else 20)
        predicate = compile_filter(metadata_filters)
        self.refresh()
        snap = self._snap
        stats = SearchStats(mode="grep" if use_grep else mode)
        t_start = time.perf_counter()
        mask = snap.live_mask(filter_key(metadata_filters) if predicate else None, predicate)
        exact: dict[int, float] = {}
        qvec: np.ndarray | None = None

        def dense(k: int) -> list[tuple[int, float]]:
            nonlocal qvec
            if qvec is None:
                qvec = self._query_vector(query, query_embedding, stats)
            found = self._dense(
                snap, qvec, k, complexity, mask, recompute_embeddings, batch_size, beam_width, stats, prune
            )
            exact.update(found)
            return found

        if use_grep:
            assert query is not None
            hits = self._grep(snap, query, mask, n_first, grep_ignore_case, grep_regex, stats)
        elif mode == "dense":
            hits = dense(n_first)
        elif mode == "bm25":
            assert query is not None
            hits = self._keyword(snap, query, mask, n_first, stats)
        else:
            assert query is not None
            depth = max(n_first, FUSION_DEPTH)
            d_hits = dense(depth)
            k_hits = self._keyword(snap, query, mask, depth, stats)
            if not k_hits or not d_hits:
                a = 1.0 if not k_hits else 0.0
            else:
                a = prior_alpha(snap.manifest.get("calibration")) if alpha is None else float(alpha)
            stats.alpha = a
            hits = fuse(d_hits, k_hits, a)[:n_first]
        if reranker is not None and hits:
            t = time.perf_counter()
            rows = [r for r, _ in hits]
            if isinstance(reranker, ExactReranker):
                if qvec is None:
                    qvec = self._query_vector(query, query_embedding, stats)
                missing = [r for r in rows if r not in exact]
                if missing:
                    exact.update(zip(missing, self._exact_scores(snap, qvec, missing, stats).tolist()))
                scores = [exact[r] for r in rows]
            else:
                assert query is not None
                scores = [float(x) for x in reranker.score(query, snap.texts(rows))]
            hits = sorted(zip(rows, scores), key=lambda h: (-h[1], h[0]))
            stats.rerank_s = time.perf_counter() - t
        top = hits[:top_k]
        records = snap.records([r for r, _ in top])
        results = [_result(rec, s) for (_, s), rec in zip(top, records)]
        stats.graph_s = time.perf_counter() - t_start - stats.model_s
        self.last_stats = stats
        return SearchResults(results, stats)

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
        dim = int(self._snap.manifest["dimensions"])
        try:
            q = np.asarray(query_embedding, dtype=np.float32)
        except (TypeError, ValueError) as e:
            raise ValueError(f"query_embedding must be a sequence of {dim} numbers: {e}") from None
        if q.shape != (dim,) or not np.isfinite(q).all():
            raise ValueError(f"query_embedding must be {dim} finite numbers, got shape {q.shape}")
        return to_metric_space(q, self._snap.metric)

    def _dense(
        self,
        snap: Snapshot,
        q: np.ndarray,
        k: int,
        complexity: int,
        mask: np.ndarray,
        recompute: bool | None,
        batch_size: int,
        beam_width: int,
        stats: SearchStats,
        prune: tuple[float | None, str] = (None, "global"),
    ) -> list[tuple[int, float]]:
        stored = self._stored_vectors(snap, recompute)
        score = _Scorer(snap, q, self.embedder, stored, stats, self._lru)
        walk = {"ef": max(complexity, k), "batch_size": batch_size, "beam_width": beam_width}
        found = self._search_base(snap, score, mask, walk, stats, prune)
        found += self._search_delta(snap, q, mask, stats)
        found.sort(key=lambda h: -h[0])
        return [(r, s) for s, r in found[:k]]

    def _exact_scores(self, snap: Snapshot, q: np.ndarray, rows: list[int], stats: SearchStats) -> np.ndarray:
        n_base = snap.base.n
        out = np.empty(len(rows), dtype=np.float32)
        idx = np.asarray(rows, dtype=np.int64)
        in_base = idx < n_base
        if in_base.any():
            score = _Scorer(snap, q, self.embedder, self._stored_vectors(snap, None), stats, self._lru)
            out[in_base] = score(idx[in_base])
        if (~in_base).any():
            out[~in_base] = snap.delta.embeddings[idx[~in_base] - n_base] @ q
        return out

    def _keyword(
        self, snap: Snapshot, query: str, mask: np.ndarray, k: int, stats: SearchStats
    ) -> list[tuple[int, float]]:
        t = time.perf_counter()
        scores = bm25_scores(snap.keyword_segments(), snap.tokenizer(query), ~snap.dead)
        scores[~mask] = 0.0
        hits = _top_positive(scores, k)
        stats.keyword_s += time.perf_counter() - t
        stats.keyword_matches = int(np.count_nonzero(scores))
        return hits

    def _grep(
        self,
        snap: Snapshot,
        query: str,
        mask: np.ndarray,
        k: int,
        ignore_case: bool,
        regex: bool,
        stats: SearchStats,
    ) -> list[tuple[int, float]]:
        t = time.perf_counter()
        rows = snap.grep_corpus().rows(query, ignore_case=ignore_case, regex=regex)
        rows = rows[mask[rows]]
        stats.keyword_matches = int(rows.size)
        if not rows.size:
            stats.keyword_s += time.perf_counter() - t
            return []
        scores = bm25_scores(snap.keyword_segments(), snap.tokenizer(query), ~snap.dead)[rows]
        order = np.lexsort((rows, -scores))[:k]
        stats.keyword_s += time.perf_counter() - t
        return [(int(rows[i]), float(scores[i])) for i in order]

    def _reranker(self, choice: bool | str | Reranker | None) -> Reranker | None:
        if choice is None or choice is False:
            return None
        if choice is True:
            default = self.defaults.rerank
            choice = default if isinstance(default, (str, Reranker)) else "exact"
        return make_reranker(choice)

    def passage_embeddings(self, ids: Iterable[str]) -> np.ndarray:
        """Embeddings of the given passages (stored ones, or recomputed), one row per id.

        Rows are unit-normalised for a cosine index, as searches score them. Unknown ids raise
        ``KeyError``.
        """
        self.refresh()
        snap = self._snap
        wanted = [str(i) for i in ids]
        missing = [i for i in wanted if i not in snap.row_of]
        if missing:
            raise KeyError(f"no passage with id {missing[0]!r} in {self.path}")
        rows = [snap.row_of[i] for i in wanted]
        dim = snap.dimension
        out = np.zeros((len(rows), dim), dtype=np.float32)
        n_base = snap.base.n
        base_pos = [j for j, r in enumerate(rows) if r < n_base]
        for j, r in enumerate(rows):
            if r >= n_base:
                out[j] = snap.delta.embeddings[r - n_base]
        if base_pos:
            base_rows = [rows[j] for j in base_pos]
            if snap.base_embeddings is not None:
                vecs = np.asarray(snap.base_embeddings[base_rows], dtype=np.float32)
            else:
                vecs = to_metric_space(embed_checked(self.embedder, snap.texts(base_rows), dim), snap.metric)
            out[base_pos] = vecs
        return out

    def _stored_vectors(self, snap: Snapshot, recompute: bool | None) -> np.ndarray | None:
        """The stored base embeddings to score with, or ``None`` to recompute."""
        stored = snap.base_embeddings
        if recompute is False and stored is None and snap.base.n:
            raise ValueError(
                f"recompute_embeddings=False, but {self.path} stores no embeddings "
                "(built with is_recompute=True): search with recomputation, or rebuild with is_recompute=False"
            )
        return None if recompute is True else stored

    @staticmethod
    def _search_base(
        snap: Snapshot,
        score: _Scorer,
        mask: np.ndarray,
        walk: dict[str, int],
        stats: SearchStats,
        prune: tuple[float | None, str] = (0.0, "global"),
    ) -> list[tuple[float, int]]:
        """Walk the graph, or score the matches directly when a filter leaves few of them.

        With PQ codes and recomputation, the walk is two-level: ``prune_ratio`` (default
        :data:`DEFAULT_PRUNE_RATIO`) of the approximate queue is not re-embedded.
        """
        n_base = snap.base.n
        if not n_base:
            return []
        ratio, strategy = prune
        approx = score.approx() if score.stored is None else None
        if ratio is None:
            ratio = DEFAULT_PRUNE_RATIO if approx is not None else 0.0
        two_level = approx is not None and ratio > 0.0
        base_mask = mask[:n_base]
        n_match = int(base_mask.sum())
        filtered = n_match < n_base
        # An unfiltered walk scores about 16*ef nodes (measured 925 at ef 64 on 20,000), and
        # under half of a small graph; a filter multiplies that by 1/selectivity, since the walk
        # passes through rows it rejects. Scoring the matches directly costs n_match. A
        # two-level walk re-embeds about ef nodes, whatever it passes through.
        walk_cost = walk["ef"] if two_level else min(n_base / 2, 16 * walk["ef"])
        if filtered and n_match * n_match <= walk_cost * n_base:
            stats.strategy = "direct"
            rows = np.flatnonzero(base_mask)
            hits: list[tuple[float, int]] = []
            for s in range(0, rows.size, _SCORE_BATCH):
                part = rows[s : s + _SCORE_BATCH]
                hits.extend(zip(score(part).tolist(), part.tolist()))
            stats.visited = int(rows.size)
            return hits
        accept = base_mask.__getitem__ if filtered else None
        ef = walk["ef"]
        two_level_args: dict[str, Any] = {}
        if two_level:
            keep = 1.0 - ratio
            stats.strategy = f"two-level/{strategy}"
            if strategy == "global":
                # The approximate queue is 1/keep times longer; its best ef are re-embedded.
                ef = math.ceil(ef / keep - 1e-9)
            two_level_args = {"approx": approx, "keep_ratio": keep, "strategy": strategy}
        found, stats.visited = beam_search(
            snap.graph,
            score,
            ef=ef,
            batch_size=walk["batch_size"],
            beam_width=walk["beam_width"],
            accept=accept,
            **two_level_args,
        )
        return found

    @staticmethod
    def _search_delta(
        snap: Snapshot, q: np.ndarray, mask: np.ndarray, stats: SearchStats
    ) -> list[tuple[float, int]]:
        """Score the delta segment exactly from its stored embeddings."""
        n_base = snap.base.n
        rows = np.flatnonzero(mask[n_base:])
        stats.delta_scanned = int(rows.size)
        if not rows.size:
            return []
        sims = snap.delta.embeddings[rows] @ q
        return list(zip(sims.tolist(), (rows + n_base).tolist()))
