"""What one worker does for a sharded index, the same in a local process, a thread or a Ray actor.

* :class:`EmbedderSpec`: how a worker gets the build's embedder (a model name is loaded in the
  worker, once; an embedder object is shipped as it is).
* :func:`build_shard`: embed (unless vectors are given) and build one shard as a normal index.
* :class:`ShardWorker`: one shard's searches, returning ids with exact scores so the caller
  can merge shards.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from leann_engine.build.pipeline import Passages, build_generation, prepare_target
from leann_engine.embed.base import Embedder
from leann_engine.embed.providers import EMBEDDING_MODES, resolve_embedder
from leann_engine.filters import MetadataFilters, compile_filter, filter_key
from leann_engine.keyword.bm25 import CorpusStats, corpus_stats
from leann_engine.params import BuildParams, SearchParams
from leann_engine.search.stages import grep_stage, keyword_stage
from leann_engine.types import SearchStats

# One hit of a shard: (id, score, text, metadata).
Hit = tuple[str, float, str, dict[str, Any]]


@dataclass
class EmbedderSpec:
    """A picklable recipe for the build's embedder. ``obj``: an embedder object (tests, custom
    embedders), shipped as it is; otherwise the provider ``mode`` and ``model`` name with its
    options and templates, resolved in the worker (the model is loaded there, once)."""

    mode: str = "sentence-transformers"
    model: str | None = None
    options: dict[str, Any] | None = None
    passage_template: str | None = None
    query_template: str | None = None
    obj: Any = None

    def make(self) -> Embedder:
        if self.obj is not None:
            return self.obj
        return resolve_embedder(self.mode, self.model, self.options, self.passage_template, self.query_template)[0]

    @classmethod
    def of_builder(cls, builder: Any) -> EmbedderSpec:
        """The spec of a :class:`~leann_engine.LeannBuilder`'s (already chosen) embedder."""
        section = builder.embedding_section
        mode, options, passage_t, query_t = builder._resolve
        if section.get("mode") in EMBEDDING_MODES:
            return cls(mode, str(section["model"]), options, passage_t, query_t)
        return cls(obj=builder.embedder)


_EMBEDDERS: dict[int, Embedder] = {}


def worker_embedder(spec: EmbedderSpec) -> Embedder:
    """The spec's embedder, made once per worker process (the model stays loaded)."""
    key = id(spec) if spec.obj is not None else hash(json.dumps(asdict(spec) | {"obj": None}, sort_keys=True, default=str))
    emb = _EMBEDDERS.get(key)
    if emb is None:
        emb = _EMBEDDERS[key] = spec.make()
    return emb


def build_shard(
    path: str,
    passages: Passages,
    params: BuildParams,
    *,
    dimension: int,
    embedding_model: str,
    embedding: dict[str, Any],
    spec: EmbedderSpec | None = None,
    vectors: np.ndarray | None = None,
) -> dict[str, Any]:
    """Build one shard as a normal index at ``path``; returns its manifest.

    ``vectors`` (metric space) skip embedding; otherwise the worker's embedder from ``spec``
    embeds the passages. The embedder also calibrates the shard's hybrid weight.
    """
    target = Path(path)
    prepare_target(target)
    emb = worker_embedder(spec) if spec is not None else None
    if vectors is None and len(passages) == 0:
        vectors = np.zeros((0, dimension), dtype=np.float32)
    if vectors is None and emb is None:
        raise ValueError("a shard without vectors needs an embedder")
    # without vectors, build_generation embeds the passages itself (streamed)
    return build_generation(
        passages, emb, params, path=target, vectors=vectors,
        embedding_model=embedding_model, dimension=dimension, embedding=embedding,
    )


def _hits(snap: Any, found: list[tuple[int, float]]) -> list[Hit]:
    recs = snap.records([r for r, _ in found])
    return [(r["id"], float(s), r["text"], r.get("metadata") or {}) for (_, s), r in zip(found, recs)]


class ShardWorker:
    """Searches of one shard (a normal index), for a thread or a Ray actor.

    ``embedding``: the embedder object to share (threads), or ``None`` to load the shard's
    recorded model here (an actor keeps it warm).
    """

    def __init__(
        self,
        path: str,
        embedding: Embedder | None = None,
        cache_mb: float = 16.0,
        embedding_options: dict[str, Any] | None = None,
    ) -> None:
        from leann_engine.search.searcher import LeannSearcher

        self.path = path
        self.searcher = LeannSearcher(
            path, embedding, embedding_cache_mb=cache_mb, embedding_options=embedding_options
        )

    def _snap_mask(self, filters: MetadataFilters | None) -> tuple[Any, np.ndarray]:
        predicate = compile_filter(filters)
        self.searcher.refresh()
        snap = self.searcher._snap
        return snap, snap.live_mask(filter_key(filters) if predicate else None, predicate)

    def keyword_stats(self, query: str) -> CorpusStats:
        """This shard's BM25 statistics for ``query``'s terms (unfiltered, as in one index)."""
        self.searcher.refresh()
        snap = self.searcher._snap
        return corpus_stats(snap.keyword_segments(), snap.tokenizer(query), ~snap.dead)

    def dense(
        self, query: str | None, qvec: np.ndarray, k: int, params: SearchParams, filters: MetadataFilters | None
    ) -> tuple[list[Hit], SearchStats]:
        """The shard's ``k`` nearest passages to the query vector, with exact scores."""
        p = params.replace(top_k=k, mode="dense", rerank=False, use_grep=False)
        res = self.searcher.search(query, metadata_filters=filters, query_embedding=qvec, params=p)
        return [(r.id, r.score, r.text, r.metadata) for r in res], res.stats

    def keyword(
        self, query: str, k: int, corpus: CorpusStats, filters: MetadataFilters | None
    ) -> tuple[list[Hit], SearchStats]:
        """The shard's ``k`` best BM25 passages, scored with the whole index's statistics."""
        snap, mask = self._snap_mask(filters)
        stats = SearchStats(mode="bm25")
        return _hits(snap, keyword_stage(snap, query, mask, k, stats, corpus)), stats

    def grep(
        self, query: str, k: int, params: SearchParams, corpus: CorpusStats, filters: MetadataFilters | None
    ) -> tuple[list[Hit], SearchStats]:
        snap, mask = self._snap_mask(filters)
        stats = SearchStats(mode="grep")
        found = grep_stage(snap, query, mask, k, params.grep_ignore_case, params.grep_regex, stats, corpus)
        return _hits(snap, found), stats

    def vectors(self, ids: list[str]) -> np.ndarray:
        return self.searcher.passage_embeddings(ids)

    def call(self, method: str, *args: Any) -> Any:
        """One entry point (for Ray actors): this worker's ``method``, else the shard searcher's
        (``count``, ``ids``, ``get``, ``select``, ``disk_usage``, ``warm``)."""
        target = getattr(self, method, None)
        if target is None:
            target = getattr(self.searcher, method)
        return target(*args)

    def warm(self) -> bool:
        """Load the shard's model now (an actor's first query then pays no model load)."""
        self.searcher.embedder.embed(["warm up"])
        return True

    def close(self) -> None:
        self.searcher.close()
