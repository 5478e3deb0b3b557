"""The LangChain ``VectorStore``: LangChain's calls translated onto a :class:`leann_engine.LeannIndex`."""

from __future__ import annotations

import copy
import math
import shutil
import tempfile
import threading
import uuid
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.runnables.config import run_in_executor
from langchain_core.vectorstores import VectorStore
from langchain_core.vectorstores.utils import maximal_marginal_relevance

from leann_engine import CompactionPolicy, LeannIndex, SearchParams, SearchResult, disk_usage, to_metric_space

from .._options import check_build_options, existing_index, search_option_names, split_options
from .embeddings import LangChainEmbedder
from .filters import to_engine_filter

_OWN_OPTIONS = ("store_embeddings", "build_min_rows")


def _check_k(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def _document(hit: SearchResult) -> Document:
    # Metadata is copied: the engine keeps recent passages' records in memory.
    return Document(id=hit.id, page_content=hit.text, metadata=copy.deepcopy(hit.metadata))


class LeannVectorStore(VectorStore):
    """LangChain vector store over a LEANN index: a pruned graph and the text, no embeddings.

    Example::

        from leann_integrations.langchain import LeannEmbeddings, LeannVectorStore

        store = LeannVectorStore.from_texts(
            ["LEANN stores no embeddings.", "The graph is pruned."],
            LeannEmbeddings(),
            metadatas=[{"source": "a.md"}, {"source": "b.md"}],
            index_path="demo.leann",
        )
        store.similarity_search_with_score("how is storage saved?", k=1, filter={"source": "a.md"})
        store.as_retriever(search_type="mmr", search_kwargs={"k": 2, "fetch_k": 10})

    Args:
        embedding: the LangChain ``Embeddings``. Passages are embedded with
            ``embed_documents`` when added and again when a search visits them (recompute);
            queries with ``embed_query``. It must be deterministic.
        index_path: folder of the index. Every change is on disk when the call returns, and
            another store (or process) on the same folder sees it. ``None`` uses a temporary
            folder removed with the store.
        store_embeddings: keep the passages' vectors in the index (engine ``is_recompute=False``):
            searches then call only ``embed_query``, at the cost of ``4 * dimension`` bytes a
            passage. Meant for paid embedding APIs.
        build_min_rows: a new store keeps its first passages in an exactly scanned segment
            and builds the graph once it holds this many (the engine's
            ``CompactionPolicy.first_graph_at``; a ``policy`` option wins).
        **engine_options: build options (:class:`~leann_engine.BuildParams`: ``graph_degree``,
            ``pruned_degree``, ``metric``, ...), search defaults
            (:class:`~leann_engine.SearchParams`: ``mode``, ``alpha``, ``fusion``, ``rerank``,
            ``complexity``, ...) and :class:`~leann_engine.LeannIndex` options
            (``auto_compact``, ``lock_timeout``, ...).

    On a folder that already holds an index, a build option (``store_embeddings=True``
    included) must equal the value the index was built with, or ``ValueError`` names it (the
    LlamaIndex store's rule too). Search keywords beyond ``k`` and ``filter``, from a call or a
    retriever's ``search_kwargs``, go to the engine's search and override the store's defaults.

    Scores from ``similarity_search_with_score`` are the engine's, higher is better: cosine
    similarity in [-1, 1] in dense mode (inner product with ``metric="mips"``), BM25 in
    ``mode="bm25"``, the fused score in ``mode="hybrid"``, the reranker's after a rerank.
    Relevance scores are ``(1 + cosine) / 2`` of query and document in every mode, within
    [0, 1] (a logistic of the inner product with ``metric="mips"``).
    """

    def __init__(
        self, embedding: Embeddings, index_path: str | Path | None = None, *,
        store_embeddings: bool = False, build_min_rows: int = 32, **engine_options: Any,
    ) -> None:
        if not isinstance(embedding, Embeddings):
            raise ValueError(f"embedding must be a langchain_core Embeddings, got {type(embedding).__name__}")
        build, search, index_options = split_options(engine_options, "LeannVectorStore", _OWN_OPTIONS)
        given_recompute = build.get("is_recompute")
        if given_recompute is not None and bool(given_recompute) == bool(store_embeddings):
            raise ValueError("is_recompute and store_embeddings contradict each other; pass only store_embeddings")
        if store_embeddings:
            build["is_recompute"] = False
        self._build = build
        self._search_defaults = SearchParams(**search)
        self.build_min_rows = _check_k("build_min_rows", build_min_rows)
        index_options.setdefault("policy", CompactionPolicy(first_graph_at=self.build_min_rows))
        self._index_options = index_options
        self._embedding = embedding
        self._embedder = LangChainEmbedder(embedding)
        self._lock = threading.RLock()
        self._index: LeannIndex | None = None
        if index_path is None:
            tmp = tempfile.mkdtemp(prefix="leann-langchain-")
            self._finalizer = weakref.finalize(self, shutil.rmtree, tmp, True)
            self.index_path = Path(tmp) / "index"
        else:
            self.index_path = Path(index_path)
            if self.index_path.exists() and not self.index_path.is_dir():
                raise ValueError(f"index_path {self.index_path} is a file; expected a folder for the index")
        self._open_existing()

    # ------------------------------------------------------------------ index handling

    @property
    def embeddings(self) -> Embeddings:
        return self._embedding

    @property
    def index(self) -> LeannIndex | None:
        """The engine index, or ``None`` until the first document is added."""
        return self._open_existing()

    def _open_existing(self) -> LeannIndex | None:
        with self._lock:
            if self._index is None:
                info = existing_index(self.index_path)
                if info is not None:
                    check_build_options(info, self._build, "LeannVectorStore")
                    self._embedder = LangChainEmbedder(self._embedding, info.dimensions)
                    self._index = self._open(LeannIndex, self.index_path, self._embedder)
            return self._index

    def _open(self, opener: Callable[..., LeannIndex], *args: Any, **kwargs: Any) -> LeannIndex:
        return opener(*args, params=self._search_defaults, **kwargs, **self._index_options)

    def _first_write(
        self, texts: list[str], metadatas: Sequence[dict[str, Any] | None] | None, ids: list[str]
    ) -> None:
        """Create the index with its first passages; the dimension comes from their vectors.

        The vectors are embedded once here: the engine's own embedding of the same texts (and
        the first graph, when the policy builds it now) is served from the embedder's memo.
        """
        vectors = self._embedder.embed(texts)
        with self._embedder.known(dict(zip(texts, vectors))):
            create = LeannIndex.create
            self._index = self._open(create, self.index_path, self._embedder, exist_ok=True, build_options=self._build)
            self._index.add_texts(texts, metadatas, ids)

    @property
    def metric(self) -> str:
        index = self._open_existing()
        return str(index.manifest["metric"] if index is not None else self._build.get("metric", "cosine"))

    def storage_bytes(self) -> dict[str, int]:
        """Bytes the index takes on disk, by part.

        ``graph`` (neighbour lists, PQ codes, hub vectors, manifest and tombstones),
        ``keywords`` (the BM25 index), ``embeddings`` (stored vectors: the recent passages'
        segment, and every passage with ``store_embeddings``), ``text`` (passages, metadata,
        ids and their offsets), ``previous`` (files of earlier generations, kept for readers
        until a later write) and ``total``, everything the folder holds.
        """
        with self._lock:
            if self._open_existing() is None:
                return dict.fromkeys(("graph", "keywords", "embeddings", "text", "previous", "total"), 0)
            use = disk_usage(self.index_path)
            folder = sum(p.stat().st_size for p in self.index_path.iterdir() if p.is_file())
        parts = {"graph": use.graph + use.codes + use.hubs + use.other, "keywords": use.keyword,
                 "embeddings": use.embeddings, "text": use.passages, "previous": max(0, folder - use.total)}
        return {**parts, "total": sum(parts.values())}

    def close(self) -> None:
        """Release the index files (the temporary folder, if any, is removed)."""
        with self._lock:
            if self._index is not None:
                self._index.close()
                self._index = None
            finalizer = getattr(self, "_finalizer", None)
            if finalizer is not None:
                finalizer()

    # ------------------------------------------------------------------ writes

    def add_texts(
        self, texts: Iterable[str], metadatas: list[dict[str, Any]] | None = None, *,
        ids: list[str] | None = None, **kwargs: Any,
    ) -> list[str]:
        """Embed and add texts; an id already in the store is replaced. Returns the ids.

        Missing ids (``None`` entries included) get new unique ones.
        """
        if kwargs:
            raise ValueError(f"add_texts got unexpected keyword(s) {', '.join(sorted(kwargs))}")
        if isinstance(texts, str):
            raise ValueError("texts must be a list of strings, got a single string")
        texts = list(texts)
        if metadatas is not None and len(metadatas) != len(texts):
            raise ValueError(f"metadatas has {len(metadatas)} entries for {len(texts)} texts")
        if ids is not None and len(ids) != len(texts):
            raise ValueError(f"ids has {len(ids)} entries for {len(texts)} texts")
        if not texts:
            return []
        out_ids = [uuid.uuid4().hex if i is None else str(i) for i in (ids or [None] * len(texts))]
        with self._lock:
            index = self._open_existing()
            if index is None:
                self._first_write(texts, metadatas, out_ids)
            else:
                index.add_texts(texts, metadatas, out_ids)
        return out_ids

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool:
        """Delete documents by id; unknown ids are ignored. Returns ``True``."""
        if kwargs:
            raise ValueError(f"delete got unexpected keyword(s) {', '.join(sorted(kwargs))}")
        if ids is None:
            raise ValueError("ids is required: pass the list of document ids to delete")
        with self._lock:
            index = self._open_existing()
            if index is not None:
                index.delete(list(ids))
        return True

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """Documents by id, in the order asked; unknown ids are skipped."""
        with self._lock:
            index = self._open_existing()
            if index is None:
                return []
            return [_document(r) for r in index.get([str(i) for i in ids])]

    # ------------------------------------------------------------------ search

    def _query_vector(self, query: str) -> np.ndarray:
        if not isinstance(query, str):
            raise ValueError(f"query must be a string, got {type(query).__name__}")
        return np.asarray(self._embedding.embed_query(query), dtype=np.float32)

    def _params(self, kwargs: Mapping[str, Any]) -> SearchParams:
        """The store's defaults with this call's search keywords (validated by the engine)."""
        allowed = search_option_names()
        unknown = sorted(set(kwargs) - set(allowed))
        if unknown:
            raise ValueError(
                f"unexpected search keyword(s) {', '.join(unknown)}; besides k and filter the "
                f"store accepts {', '.join(sorted(allowed))}"
            )
        return self._search_defaults.replace(**{k: v for k, v in kwargs.items() if v is not None})

    def _search(
        self, query: str | None, vector: Sequence[float] | np.ndarray | None, k: int,
        filter: Mapping[str, Any] | None, kwargs: dict[str, Any],
    ) -> list[SearchResult]:
        """Search by text (``vector`` None: embedded here if the mode needs it) or by vector."""
        k = _check_k("k", k)
        engine_filter = to_engine_filter(filter)
        params = self._params(kwargs)
        if query is None:
            if "mode" in kwargs and params.mode != "dense":
                raise ValueError(f"mode={params.mode!r} needs the query text; search by text, not by vector")
            params = params.replace(mode="dense")  # whatever the store's default mode
        elif not isinstance(query, str):
            raise ValueError(f"query must be a string, got {type(query).__name__}")
        with self._lock:
            index = self._open_existing()
            if index is None:
                return []
            if vector is None and params.mode != "bm25" and not params.use_grep:
                # Queries use embed_query (asymmetric models), not the passages' embed_documents.
                vector = self._query_vector(query)  # type: ignore[arg-type]
            if params.mode == "bm25" or params.use_grep:
                vector = None  # keyword search needs no query vector (nor a paid embedding call)
            hits = index.search(
                query, top_k=k, metadata_filters=engine_filter, query_embedding=vector, params=params
            )
            return list(hits)

    def similarity_search(
        self, query: str, k: int = 4, filter: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> list[Document]:
        """The ``k`` documents most similar to ``query`` that match ``filter``."""
        return [doc for doc, _ in self.similarity_search_with_score(query, k, filter=filter, **kwargs)]

    def similarity_search_with_score(
        self, query: str, k: int = 4, filter: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """``(document, score)`` pairs, best first, with the engine's score for the mode used:
        cosine (or inner product for ``metric="mips"``) in dense mode, BM25 in ``"bm25"``, the
        fused score in ``"hybrid"``, the reranker's with ``rerank``."""
        hits = self._search(query, None, k, filter, kwargs)
        return [(_document(h), h.score) for h in hits]

    def similarity_search_by_vector(
        self, embedding: list[float], k: int = 4, filter: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> list[Document]:
        """The ``k`` documents most similar to a query vector."""
        pairs = self.similarity_search_with_score_by_vector(embedding, k, filter=filter, **kwargs)
        return [doc for doc, _ in pairs]

    def similarity_search_with_score_by_vector(
        self, embedding: list[float], k: int = 4, filter: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """``(document, score)`` pairs for a query vector, best first (dense scores)."""
        hits = self._search(None, embedding, k, filter, kwargs)
        return [(_document(h), h.score) for h in hits]

    def _similarity_search_with_relevance_scores(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        filter = kwargs.pop("filter", None)
        vector = self._query_vector(query)
        to_relevance = self._select_relevance_score_fn()
        with self._lock:
            hits = self._search(query, vector, k, filter, kwargs)
            if not hits:
                return []
            index = self._open_existing()
            assert index is not None  # hits came from it
            if index.last_stats.mode == "dense" and not self._params(kwargs).rerank:
                sims = [h.score for h in hits]
            else:
                # Keyword, fused and reranker scores have no fixed range: the relevance of a
                # document is its similarity to the query, whichever mode ranked it.
                q = to_metric_space(vector, index.manifest["metric"])
                sims = (index.passage_embeddings([h.id for h in hits]) @ q).tolist()
        return [(_document(h), to_relevance(s)) for h, s in zip(hits, sims)]

    async def _asimilarity_search_with_relevance_scores(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        return await run_in_executor(None, self._similarity_search_with_relevance_scores, query, k, **kwargs)

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        if self.metric == "cosine":
            return lambda s: min(1.0, max(0.0, (1.0 + s) / 2.0))
        # Raw inner products are unbounded; the logistic keeps their order within (0, 1).
        return lambda s: 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, s))))

    def max_marginal_relevance_search(
        self, query: str, k: int = 4, fetch_k: int = 20, lambda_mult: float = 0.5,
        filter: Mapping[str, Any] | None = None, **kwargs: Any,
    ) -> list[Document]:
        """Diverse results: ``fetch_k`` matches of ``filter``, then ``k`` picked by MMR."""
        return self._mmr(query, self._query_vector(query), k, fetch_k, lambda_mult, filter, kwargs)

    def max_marginal_relevance_search_by_vector(
        self, embedding: list[float], k: int = 4, fetch_k: int = 20, lambda_mult: float = 0.5,
        filter: Mapping[str, Any] | None = None, **kwargs: Any,
    ) -> list[Document]:
        """MMR for a query vector (see :meth:`max_marginal_relevance_search`)."""
        return self._mmr(None, embedding, k, fetch_k, lambda_mult, filter, kwargs)

    def _mmr(
        self, query: str | None, vector: Sequence[float] | np.ndarray, k: int, fetch_k: int,
        lambda_mult: float, filter: Mapping[str, Any] | None, kwargs: dict[str, Any],
    ) -> list[Document]:
        k = _check_k("k", k)
        fetch_k = _check_k("fetch_k", fetch_k)
        if not 0.0 <= lambda_mult <= 1.0:
            raise ValueError(f"lambda_mult must be within [0, 1], got {lambda_mult!r}")
        hits = self._search(query, vector, max(k, fetch_k), filter, kwargs)
        if not hits:
            return []
        with self._lock:
            index = self._open_existing()
            assert index is not None  # hits came from it
            candidates = index.passage_embeddings([h.id for h in hits])
        picked = maximal_marginal_relevance(
            np.asarray(vector, dtype=np.float32), candidates.tolist(), lambda_mult=lambda_mult, k=k
        )
        return [_document(hits[i]) for i in picked]

    # ------------------------------------------------------------------ constructors

    @classmethod
    def from_texts(
        cls, texts: list[str], embedding: Embeddings, metadatas: list[dict[str, Any]] | None = None, *,
        ids: list[str] | None = None, index_path: str | Path | None = None, **kwargs: Any,
    ) -> LeannVectorStore:
        """A store at ``index_path`` (temporary if ``None``) holding ``texts``.

        ``kwargs`` are the constructor's options. An index already at ``index_path`` is opened
        and the texts are added to it.
        """
        store = cls(embedding, index_path=index_path, **kwargs)
        store.add_texts(texts, metadatas, ids=ids)
        return store
