"""The LlamaIndex vector store: LlamaIndex's calls translated onto a :class:`leann_engine.LeannIndex`."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.indices.query.embedding_utils import get_top_k_mmr_embeddings
from llama_index.core.schema import BaseNode
from llama_index.core.settings import Settings
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
    VectorStoreQueryResult,
)

from leann_engine import LeannIndex, LeannSearcher, SearchParams, SearchResult, atomic_write

from .._options import check_build_options, existing_index, split_options
from .embeddings import LlamaIndexEmbedder, check_node_vectors
from .filters import all_of, translate_filters
from .nodes import ID_KEY, REF_KEY, node_to_passage, passage_to_node

SUPPORTED_MODES: tuple[VectorStoreQueryMode, ...] = (
    VectorStoreQueryMode.DEFAULT,
    VectorStoreQueryMode.SPARSE,
    VectorStoreQueryMode.HYBRID,
    VectorStoreQueryMode.TEXT_SEARCH,
    VectorStoreQueryMode.MMR,
)
_MMR_PREFETCH_FACTOR = 4.0


class LeannVectorStore(BasePydanticVectorStore):
    """A LlamaIndex vector store that keeps a pruned graph and the text, and no embeddings.

    Args:
        index_path: the index folder; created (empty) when it holds no index yet.
        embed_model: the LlamaIndex embedding used to recompute passage embeddings at query
            time; ``None`` takes ``Settings.embed_model`` when one is set, else the model the
            index names (all-MiniLM-L6-v2 for a new index). It must be the model the index was
            built with: a different one is refused with an explanation.
        strict_model: ``False`` turns a model-name mismatch into a warning (a different
            dimension is always an error).
        **engine_options: search defaults (:class:`~leann_engine.SearchParams`: ``mode``,
            ``alpha``, ``fusion``, ``rerank``, ``complexity``, ``batch_size``, ...), build
            options (:class:`~leann_engine.BuildParams`: ``metric``, ``graph_degree``,
            ``is_recompute``, ...) and :class:`~leann_engine.LeannIndex` options
            (``auto_compact``, ``lock_timeout``, ...). On a folder that already holds an index
            a build option must equal the value it was built with, or ``ValueError`` names it
            (the LangChain store follows the same rule).

    Query modes: ``DEFAULT`` (the store's default search mode, dense unless ``mode`` says
    otherwise), ``SPARSE`` (BM25), ``HYBRID`` (``alpha``: 1 dense, 0 BM25), ``TEXT_SEARCH``
    (exact substring of the query), ``MMR`` (``mmr_threshold``, from the query or
    ``vector_store_kwargs``). Keyword arguments of ``query`` (a retriever's
    ``vector_store_kwargs``) override the search defaults.
    """

    stores_text: bool = True
    is_embedding_query: bool = True
    flat_metadata: bool = False
    index_path: str

    _index: LeannIndex = PrivateAttr()
    _embedder: LlamaIndexEmbedder | None = PrivateAttr(default=None)
    _lock: Any = PrivateAttr(default_factory=threading.RLock)

    def __init__(
        self,
        index_path: str | Path,
        embed_model: BaseEmbedding | None = None,
        *,
        strict_model: bool = True,
        **engine_options: Any,
    ) -> None:
        if not isinstance(index_path, (str, Path)) or not str(index_path):
            raise ValueError(f"index_path must be a folder path, got {index_path!r}")
        path = Path(index_path)
        super().__init__(index_path=str(path))
        build, search, index_opts = split_options(engine_options, "LeannVectorStore")
        index_opts["params"] = SearchParams(**search)
        model = embed_model if embed_model is not None else Settings._embed_model
        self._embedder = LlamaIndexEmbedder(model) if model is not None else None
        info = existing_index(path)
        if info is None:
            self._index = LeannIndex.create(path, self._embedder, build_options=build, **index_opts)
            return
        check_build_options(info, build, "LeannVectorStore")
        if self._embedder is not None and strict_model:
            source = "embed_model" if embed_model is not None else "Settings.embed_model"
            self._check_model_strictly(path, source, info.embedding_model)
        # Not strict: the engine warns about a model-name mismatch itself.
        self._index = LeannIndex(path, self._embedder, **index_opts)

    def _check_model_strictly(self, path: Path, source: str, built: str) -> None:
        assert self._embedder is not None
        with LeannSearcher(path) as searcher:
            try:
                searcher.check_embedder(self._embedder, strict=True)
            except ValueError as e:
                hint = " (or strict_model=False to use this one anyway)" if self._embedder.name != built else ""
                raise ValueError(
                    f"{source} {self._embedder.name!r} does not fit this index: {e}. Recomputed "
                    f"embeddings must come from the model that built the graph: pass {built!r} as "
                    f"embed_model{hint}"
                ) from e

    @classmethod
    def class_name(cls) -> str:
        return "LeannVectorStore"

    @property
    def client(self) -> LeannIndex:
        """The engine's :class:`~leann_engine.LeannIndex` under this store."""
        return self._index

    # ------------------------------------------------------------------ writes

    def add(self, nodes: Sequence[BaseNode], **add_kwargs: Any) -> list[str]:
        """Add (or replace, by node id) nodes; durable when the call returns."""
        if not nodes:
            return []
        texts, metas, ids = [], [], []
        known: dict[str, np.ndarray] = {}
        for node in nodes:
            text, meta = node_to_passage(node)
            texts.append(text)
            metas.append(meta)
            ids.append(node.node_id)
            if node.embedding is not None:
                known[text] = np.asarray(node.embedding, dtype=np.float32)
        with self._lock:
            if known:
                model = self._embedder.model if self._embedder is not None else None
                check_node_vectors(nodes, texts, known, model or self._index.embedder)
            if self._embedder is None:
                self._index.add_texts(texts, metas, ids)
            else:
                # The nodes' vectors serve the engine's embedding of them, and a first graph
                # the engine's compaction policy may build right away.
                with self._embedder.known(known):
                    self._index.add_texts(texts, metas, ids)
        return ids

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """Delete every node whose source document is ``ref_doc_id``."""
        with self._lock:
            ids = self._index.select({REF_KEY: {"==": str(ref_doc_id)}})
            if ids:
                self._index.delete(ids)

    def delete_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
        **delete_kwargs: Any,
    ) -> None:
        """Delete the nodes with these ids that also match ``filters`` (either may be omitted)."""
        if node_ids is None and filters is None:
            raise ValueError("delete_nodes needs node_ids or filters; use clear() to delete every node")
        with self._lock:
            ids = self._matching_ids(node_ids, filters)
            if ids:
                self._index.delete(ids)

    def clear(self) -> None:
        """Delete every node, and drop their data from disk now."""
        with self._lock:
            ids = self._index.ids()
            if ids:
                self._index.delete(ids)
                self._index.compact()

    # ------------------------------------------------------------------ reads

    def get_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
    ) -> list[BaseNode]:
        """Nodes by id (in that order) and/or matching ``filters``; every node when both are None."""
        with self._lock:
            ids = self._matching_ids(node_ids, filters)
            return [passage_to_node(r) for r in self._index.get(ids)]

    def _matching_ids(self, node_ids: Sequence[str] | None, filters: MetadataFilters | None) -> list[str]:
        """Live ids among ``node_ids`` (in that order; all when ``None``) that match ``filters``."""
        if isinstance(node_ids, str):
            raise ValueError("node_ids must be a list of node ids, got a single string")
        where = translate_filters(filters)
        if node_ids is None:
            return self._index.select(where)
        wanted = [str(i) for i in node_ids]
        if where is None:
            return wanted
        matching = set(self._index.select(all_of([{ID_KEY: {"in": wanted}}, where])))
        return [i for i in wanted if i in matching]

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        """Run ``query`` in its mode; ``kwargs`` (``vector_store_kwargs``) tune the search."""
        mode = VectorStoreQueryMode(query.mode)
        if mode not in SUPPORTED_MODES:
            raise ValueError(
                f"query mode {mode.value!r} is not supported by LeannVectorStore; "
                f"use one of {', '.join(m.value for m in SUPPORTED_MODES)}"
            )
        top_k = query.similarity_top_k
        if mode == VectorStoreQueryMode.HYBRID and query.hybrid_top_k:
            top_k = query.hybrid_top_k
        elif mode == VectorStoreQueryMode.SPARSE and query.sparse_top_k:
            top_k = query.sparse_top_k
        mmr = (
            kwargs.pop("mmr_threshold", query.mmr_threshold),
            kwargs.pop("mmr_prefetch_k", None),
            kwargs.pop("mmr_prefetch_factor", _MMR_PREFETCH_FACTOR),
        )
        options = dict(kwargs)
        where = all_of([self._restriction(query.node_ids, query.doc_ids) or {}, translate_filters(query.filters) or {}])
        qvec = None if query.query_embedding is None else np.asarray(query.query_embedding, dtype=np.float32)
        text = query.query_str
        if mode in (VectorStoreQueryMode.SPARSE, VectorStoreQueryMode.TEXT_SEARCH, VectorStoreQueryMode.HYBRID):
            if not text:
                raise ValueError(f"query mode {mode.value!r} needs query.query_str (the query text)")
        elif qvec is None and not text:
            raise ValueError("query needs query_embedding or query_str")
        if mode == VectorStoreQueryMode.SPARSE:
            options["mode"] = "bm25"
        elif mode == VectorStoreQueryMode.HYBRID:
            options["mode"] = "hybrid"
            if query.alpha is not None:
                options["alpha"] = float(query.alpha)
        elif mode == VectorStoreQueryMode.TEXT_SEARCH:
            options["use_grep"] = True
        with self._lock:
            if mode == VectorStoreQueryMode.MMR:
                return self._mmr(qvec, text, top_k, where, options, *mmr)
            return self._result(self._search(text, qvec, top_k, where, options))

    # ------------------------------------------------------------------ helpers

    def _restriction(
        self, node_ids: Sequence[str] | None, doc_ids: Sequence[str] | None
    ) -> dict[str, Any] | None:
        # A retriever over an index without a docstore passes node_ids=[]: no restriction.
        parts = []
        if node_ids:
            parts.append({ID_KEY: {"in": [str(i) for i in node_ids]}})
        if doc_ids:
            parts.append({REF_KEY: {"in": [str(i) for i in doc_ids]}})
        return all_of(parts)

    def _search(
        self,
        text: str | None,
        qvec: np.ndarray | None,
        top_k: int,
        where: Mapping[str, Any] | None,
        options: dict[str, Any],
    ) -> list[SearchResult]:
        # Keyword searches need no query vector; the engine merges options with the defaults.
        vector = None if options.get("mode") == "bm25" or options.get("use_grep") else qvec
        return list(self._index.search(text, top_k, metadata_filters=where, query_embedding=vector, **options))

    def _mmr(
        self,
        qvec: np.ndarray | None,
        text: str | None,
        top_k: int,
        where: Mapping[str, Any] | None,
        options: dict[str, Any],
        threshold: float | None,
        prefetch_k: int | None,
        prefetch_factor: float,
    ) -> VectorStoreQueryResult:
        if threshold is not None and not 0.0 <= float(threshold) <= 1.0:
            raise ValueError(f"mmr_threshold must be between 0 and 1, got {threshold!r}")
        fetch = int(prefetch_k) if prefetch_k is not None else max(top_k, int(top_k * float(prefetch_factor)))
        if fetch < top_k:
            raise ValueError(f"mmr_prefetch_k must be >= similarity_top_k ({top_k}), got {prefetch_k!r}")
        pool = self._search(text, qvec, fetch, where, options)
        if not pool:
            return VectorStoreQueryResult(nodes=[], similarities=[], ids=[])
        vecs = self._index.passage_embeddings([r.id for r in pool])
        if qvec is None:
            assert text is not None
            qvec = self._index.embed_query(text)
        sims, ids = get_top_k_mmr_embeddings(
            qvec.tolist(),
            vecs.tolist(),
            similarity_top_k=top_k,
            embedding_ids=[r.id for r in pool],
            mmr_threshold=threshold,
        )
        by_id = {r.id: r for r in pool}
        picked = [by_id[i] for i in ids]
        return VectorStoreQueryResult(
            nodes=[passage_to_node(r) for r in picked], similarities=[float(s) for s in sims], ids=list(ids)
        )

    @staticmethod
    def _result(results: Sequence[SearchResult]) -> VectorStoreQueryResult:
        return VectorStoreQueryResult(
            nodes=[passage_to_node(r) for r in results],
            similarities=[float(r.score) for r in results],
            ids=[r.id for r in results],
        )

    # ------------------------------------------------------------------ persistence

    def persist(self, persist_path: str, fs: Any = None) -> None:
        """Write a pointer to the index beside ``persist_path``; the index is always on disk.

        ``StorageContext.persist(dir)`` calls this with ``dir/<namespace>__vector_store.json``;
        the pointer goes to ``dir/<namespace>__leann.json`` (a name ``SimpleVectorStore`` does not
        try to load), and :meth:`from_persist_dir` reopens the store from it.
        """
        target = _pointer_path(persist_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, json.dumps({"index_path": str(Path(self.index_path).resolve())}).encode())

    @classmethod
    def from_persist_dir(
        cls,
        persist_dir: str | Path,
        embed_model: BaseEmbedding | None = None,
        namespace: str = "default",
        **options: Any,
    ) -> LeannVectorStore:
        """Reopen the store whose pointer :meth:`persist` wrote into ``persist_dir``."""
        pointer = Path(persist_dir) / f"{namespace}__leann.json"
        if not pointer.exists():
            raise ValueError(
                f"persist_dir {persist_dir} holds no {pointer.name}; was the StorageContext persisted?"
            )
        index_path = json.loads(pointer.read_text(encoding="utf-8"))["index_path"]
        return cls(index_path, embed_model, **options)

    # ------------------------------------------------------------------ async

    async def async_add(self, nodes: Sequence[BaseNode], **kwargs: Any) -> list[str]:
        return await asyncio.to_thread(self.add, nodes, **kwargs)

    async def adelete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        await asyncio.to_thread(self.delete, ref_doc_id, **delete_kwargs)

    async def adelete_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
        **delete_kwargs: Any,
    ) -> None:
        await asyncio.to_thread(self.delete_nodes, node_ids, filters, **delete_kwargs)

    async def aclear(self) -> None:
        await asyncio.to_thread(self.clear)

    async def aget_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
    ) -> list[BaseNode]:
        return await asyncio.to_thread(self.get_nodes, node_ids, filters)

    async def aquery(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        return await asyncio.to_thread(self.query, query, **kwargs)


def _pointer_path(persist_path: str | Path) -> Path:
    p = Path(persist_path)
    name = p.name
    namespace = name.split("__", 1)[0] if "__" in name else "default"
    return p.parent / f"{namespace}__leann.json"
