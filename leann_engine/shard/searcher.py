"""Search a sharded index: embed the query once, ask every shard, merge exact scores.

``LeannSearcher(path)`` returns a :class:`ShardedSearcher` when ``path`` holds a sharded index
(:func:`~leann_engine.shard.layout.is_sharded`). Each shard is a normal index searched by a
:class:`~leann_engine.shard.work.ShardWorker`: in a thread of this process (default, the model
shared), or in a Ray actor that keeps its shard and model loaded (``executor="ray"``).

Why the merge equals one index's results: dense scores are exact (every shard re-ranks its
candidates with full embeddings), so the global top ``k`` is the top ``k`` of the shards' top
``k``; BM25 uses the whole index's statistics (document count, average length and document
frequencies summed over shards, :class:`~leann_engine.keyword.bm25.CorpusStats`), so a
passage scores as it would in one index; hybrid fuses the two merged rankings here, as one
index fuses its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import reduce
from pathlib import Path
from typing import Any

import numpy as np

from leann_engine.embed.base import Embedder, query_embedding_vector
from leann_engine.embed.language import readable_share
from leann_engine.embed.providers import embedder_for_index
from leann_engine.filters import MetadataFilters, compile_filter
from leann_engine.hybrid.adaptive import query_alpha
from leann_engine.hybrid.calibrate import prior_alpha
from leann_engine.hybrid.fusion import resolve_fusion
from leann_engine.hybrid.rerank import Candidates
from leann_engine.params import SearchParams
from leann_engine.search.searcher import FUSION_DEPTH, LeannSearcher, _check_query
from leann_engine.shard.layout import shard_of, shard_paths, sharded_section, sharded_usage
from leann_engine.shard.work import Hit, ShardWorker
from leann_engine.store.manifest import manifest_stamp, read_manifest
from leann_engine.store.usage import DiskUsage
from leann_engine.types import SearchResult, SearchResults, SearchStats

SEARCH_EXECUTORS: tuple[str, ...] = ("threads", "ray")


def merge_hits(lists: Iterable[list[Hit]], k: int) -> list[Hit]:
    """The ``k`` best hits of several shards' lists, best first (ties: earlier shard first)."""
    allhits = [h for hits in lists for h in hits]
    return sorted(allhits, key=lambda h: -h[1])[:k]


class ThreadFanout:
    """Shard workers in this process, called from a thread pool."""

    def __init__(self, paths: list[Path], embedding: Embedder | None, cache_mb: float, options: dict[str, Any]):
        self.workers = [ShardWorker(str(p), embedding, cache_mb, options) for p in paths]
        self.pool = ThreadPoolExecutor(max_workers=max(1, len(paths)), thread_name_prefix="leann-shard")

    def run(self, method: str, args: Sequence[tuple[Any, ...]]) -> list[Any]:
        futures = [self.pool.submit(w.call, method, *a) for w, a in zip(self.workers, args)]
        return [f.result() for f in futures]

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        for w in self.workers:
            w.close()


class ShardedSearcher(LeannSearcher):
    """A :class:`~leann_engine.LeannSearcher` over a sharded index (see the module's docstring).

    ``executor``: ``"threads"`` (default) or ``"ray"`` (one actor per shard; connects to a
    running Ray cluster, or starts a local one). Everything else is as for LeannSearcher.
    """

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
        fusion: Any = None,
        rerank: Any = None,
        params: SearchParams | None = None,
        executor: str | None = None,
    ) -> None:
        base = params if params is not None else SearchParams()
        given = {"mode": mode, "alpha": alpha, "fusion": fusion, "rerank": rerank}
        self.defaults = base.replace(**{k: v for k, v in given.items() if v is not None})
        self.executor = executor or "threads"
        if self.executor not in SEARCH_EXECUTORS:
            raise ValueError(f"executor must be one of {', '.join(SEARCH_EXECUTORS)}, got {executor!r}")
        self.path = Path(index_path)
        self._manifest = read_manifest(self.path)
        self._stamp = manifest_stamp(self.path)
        self._embedding_arg = embedding
        self._embedding_options = dict(embedding_options or {})
        self._cache_mb = float(embedding_cache_mb)
        self._embedder: Embedder | None = None
        self._fanout: Any = None
        self.last_stats = SearchStats()
        if embedding is not None and not isinstance(embedding, str):
            self._use_embedder(embedder_for_index(self._manifest, embedding))
        if enable_warmup:
            self.embedder.embed(["warm up"])

    # ------------------------------------------------------------------ state

    @property
    def manifest(self) -> dict[str, Any]:
        return self._manifest

    @property
    def num_shards(self) -> int:
        return int(self._manifest["shards"]["count"])

    @property
    def shard_paths(self) -> list[Path]:
        return shard_paths(self.path, self._manifest)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._use_embedder(embedder_for_index(self._manifest, self._embedding_arg, self._embedding_options))
        assert self._embedder is not None
        return self._embedder

    def check_embedder(self, embedder: Embedder, *, strict: bool = False) -> None:
        want, dim = int(self._manifest["dimensions"]), int(embedder.dimension)
        if dim != want:
            raise ValueError(
                f"embedding {embedder.name!r} gives {dim}-d vectors but the index at {self.path} was "
                f"built with {self._manifest['embedding_model']!r} ({want}-d): pass the same model"
            )

    def _fan(self) -> Any:
        if self._fanout is None:
            # Threads share this process's embedder object; actors load the shard's model once.
            obj = self._embedding_arg if not isinstance(self._embedding_arg, (str, type(None))) else None
            if self.executor == "ray":
                from leann_engine.shard.ray_exec import RayFanout

                self._fanout = RayFanout(self.shard_paths, obj, self._cache_mb, self._embedding_options)
            else:
                self._fanout = ThreadFanout(self.shard_paths, obj, self._cache_mb, self._embedding_options)
        return self._fanout

    def _all(self, method: str, *args: Any) -> list[Any]:
        return self._fan().run(method, [args] * self.num_shards)

    def refresh(self) -> None:
        """Follow a new commit: reopen the shards when a rebuild replaced them."""
        stamp = manifest_stamp(self.path)
        if stamp == self._stamp:
            return
        old = sharded_section(self._manifest)
        self._manifest = read_manifest(self.path)
        self._stamp = stamp
        if sharded_section(self._manifest) is None or (old or {}).get("dir") != self._manifest["shards"]["dir"]:
            self._close_fanout()
            if sharded_section(self._manifest) is None:
                raise ValueError(f"{self.path} was rebuilt as a single index: open it again")

    def _close_fanout(self) -> None:
        if self._fanout is not None:
            self._fanout.close()
            self._fanout = None

    def close(self) -> None:
        self._close_fanout()

    # ------------------------------------------------------------------ reads

    def count(self) -> int:
        self.refresh()
        return int(sum(self._all("count")))

    def ids(self) -> list[str]:
        self.refresh()
        return [i for part in self._all("ids") for i in part]

    def select(self, metadata_filters: MetadataFilters | None) -> list[str]:
        compile_filter(metadata_filters)
        self.refresh()
        return [i for part in self._all("select", metadata_filters) for i in part]

    def _route(self, ids: Sequence[str]) -> list[list[str]]:
        groups: list[list[str]] = [[] for _ in range(self.num_shards)]
        for i in ids:
            groups[shard_of(i, self.num_shards)].append(i)
        return groups

    def get(self, ids: Iterable[str]) -> list[SearchResult]:
        self.refresh()
        wanted = [str(i) for i in ids]
        groups = self._route(wanted)
        found = {r.id: r for part in self._fan().run("get", [(g,) for g in groups]) for r in part}
        return [found[i] for i in wanted if i in found]

    def passage_embeddings(self, ids: Iterable[str]) -> np.ndarray:
        self.refresh()
        wanted = [str(i) for i in ids]
        groups = self._route(wanted)
        parts = self._fan().run("vectors", [(g,) for g in groups])
        rows = {i: v for g, vecs in zip(groups, parts) for i, v in zip(g, vecs)}
        dim = int(self._manifest["dimensions"])
        return np.stack([rows[i] for i in wanted]) if wanted else np.zeros((0, dim), dtype=np.float32)

    def disk_usage(self) -> DiskUsage:
        self.refresh()
        return sharded_usage(self.path, self._manifest)

    # ------------------------------------------------------------------ search

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
        """As :meth:`LeannSearcher.search`, over every shard; ``stats.per_shard`` says each
        shard's work."""
        given = dict(overrides, top_k=top_k, complexity=complexity)
        p = (params if params is not None else self.defaults).replace(
            **{k: v for k, v in given.items() if v is not None}
        )
        _check_query(query, query_embedding, p)
        compile_filter(metadata_filters)
        rerank = p.rerank not in (None, False)
        n_first = max(p.top_k, p.rerank_top_n or 20) if rerank else p.top_k
        self.refresh()
        stats = SearchStats(mode="grep" if p.use_grep else p.mode, shards=self.num_shards)
        stats.per_shard = [{"shard": i, "visited": 0, "recomputed": 0, "hits": 0, "seconds": 0.0} for i in range(self.num_shards)]
        t_start = time.perf_counter()
        qvec: list[np.ndarray] = []

        def query_vector() -> np.ndarray:
            if not qvec:
                qvec.append(self._query_vector(query, query_embedding, stats))
            return qvec[0]

        hits = self._first_stage(query, query_vector, n_first, p, metadata_filters, stats)
        if rerank and hits:
            hits = self._rerank_hits(p, hits, query or "", query_vector, stats)
        results = [SearchResult(id=h[0], score=float(h[1]), text=h[2], metadata=h[3]) for h in hits[: p.top_k]]
        stats.graph_s = time.perf_counter() - t_start - stats.model_s
        self.last_stats = stats
        return SearchResults(results, stats)

    def _query_vector(self, query: Any, query_embedding: Any, stats: SearchStats) -> np.ndarray:
        if query_embedding is None:
            t = time.perf_counter()
            q = self.embed_query(query)
            stats.model_s += time.perf_counter() - t
            return q
        return query_embedding_vector(query_embedding, int(self._manifest["dimensions"]), str(self._manifest["metric"]))

    def embed_query(self, query: str) -> np.ndarray:
        from leann_engine.embed.base import embed_checked, to_metric_space

        vec = embed_checked(self.embedder, [query], int(self._manifest["dimensions"]), query=True)
        return to_metric_space(vec, str(self._manifest["metric"]))[0]

    def _gather(self, method: str, args: tuple[Any, ...], k: int, stats: SearchStats) -> list[Hit]:
        """Ask every shard, add up their work in ``stats``, merge their hits."""
        parts = self._all(method, *args)
        for i, (hits, s) in enumerate(parts):
            row = stats.per_shard[i]
            row["visited"] += s.visited
            row["recomputed"] += s.recomputed
            row["hits"] += len(hits)
            row["seconds"] = round(row["seconds"] + s.total_s + s.keyword_s, 6)
            stats.visited += s.visited
            stats.recomputed += s.recomputed
            stats.cached += s.cached
            stats.delta_scanned += s.delta_scanned
            stats.keyword_matches += s.keyword_matches
            stats.keyword_s = max(stats.keyword_s, s.keyword_s)
            stats.strategy = s.strategy
        return merge_hits((hits for hits, _ in parts), k)

    def _corpus(self, query: str) -> Any:
        return reduce(lambda a, b: a + b, self._all("keyword_stats", query))

    def _first_stage(
        self,
        query: str | None,
        query_vector: Callable[[], np.ndarray],
        n: int,
        p: SearchParams,
        filters: MetadataFilters | None,
        stats: SearchStats,
    ) -> list[Hit]:
        text = query or ""
        if p.use_grep:
            return self._gather("grep", (text, n, p, self._corpus(text), filters), n, stats)
        if p.mode == "dense":
            return self._gather("dense", (query, query_vector(), n, p, filters), n, stats)
        if p.mode == "bm25":
            return self._gather("keyword", (text, n, self._corpus(text), filters), n, stats)
        depth = max(n, FUSION_DEPTH)
        d_hits = self._gather("dense", (query, query_vector(), depth, p, filters), depth, stats)
        k_hits = self._gather("keyword", (text, depth, self._corpus(text), filters), depth, stats)
        return self._fuse(text, d_hits, k_hits, n, p, stats)

    def _fuse(self, query: str, d_hits: list[Hit], k_hits: list[Hit], n: int, p: SearchParams, stats: SearchStats) -> list[Hit]:
        """One index's fusion (``LeannSearcher._first_stage``) on the merged rankings."""
        key = {pid: i for i, pid in enumerate(dict.fromkeys(h[0] for h in d_hits + k_hits))}
        by_key = {key[h[0]]: h for h in k_hits + d_hits}
        dense = [(key[h[0]], h[1]) for h in d_hits]
        keyword = [(key[h[0]], h[1]) for h in k_hits]
        if not keyword or not dense:
            a = 1.0 if not keyword else 0.0
        elif p.alpha is None:
            calibration = self._manifest.get("calibration")
            stats.alpha_prior = prior_alpha(calibration) * readable_share(self._manifest["embedding_model"], query)
            a = query_alpha(stats.alpha_prior, dense, keyword) if calibration else stats.alpha_prior
        else:
            a = float(p.alpha)
        stats.alpha = a
        fused = resolve_fusion(p.fusion)(dense, keyword, a)[:n]
        return [(by_key[r][0], float(s), by_key[r][2], by_key[r][3]) for r, s in fused]

    def _rerank_hits(
        self, p: SearchParams, hits: list[Hit], query: str, query_vector: Callable[[], np.ndarray], stats: SearchStats
    ) -> list[Hit]:
        t = time.perf_counter()
        ids = [h[0] for h in hits]
        reranker = self._reranker(p.rerank, query_vector, lambda rows: self.passage_embeddings([ids[r] for r in rows]))
        scores = [float(x) for x in reranker.score(query, Candidates([h[2] for h in hits], range(len(hits))))]
        stats.rerank_s = time.perf_counter() - t
        order = sorted(range(len(hits)), key=lambda i: (-scores[i], i))
        return [(hits[i][0], scores[i], hits[i][2], hits[i][3]) for i in order]
