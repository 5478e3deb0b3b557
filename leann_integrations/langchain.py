"""LangChain ``VectorStore`` backed by a LEANN index: :class:`LeannVectorStore`.

A drop-in replacement for ``InMemoryVectorStore``, ``FAISS`` or ``Chroma`` in a chain::

    from leann_integrations.langchain import LeannVectorStore

    store = LeannVectorStore(embedding=embeddings, index_path="notes.leann")
    store.add_documents(docs)                        # on disk when the call returns
    retriever = store.as_retriever(search_kwargs={"k": 4, "filter": {"source": "a.md"}})

The store keeps a pruned graph and the text, not the embeddings: a search re-embeds the few
passages it visits with ``embeddings.embed_documents`` (queries use ``embed_query``).
``store_embeddings=True`` keeps the vectors instead, for paid embedding APIs.
"""

from __future__ import annotations

import copy
import inspect
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

try:
    from langchain_core.documents import Document
    from langchain_core.embeddings import Embeddings
    from langchain_core.runnables.config import run_in_executor
    from langchain_core.vectorstores import VectorStore
    from langchain_core.vectorstores.utils import maximal_marginal_relevance
except ImportError as e:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        'leann_integrations.langchain needs langchain-core: pip install "leann-graph-index[langchain]"'
    ) from e

from leann_engine import FunctionEmbedder, LeannBuilder, LeannIndex, SearchResult
from leann_engine.graph import normalize_rows
from leann_engine.searcher import LeannSearcher
from leann_engine.storage import MANIFEST, read_manifest, referenced_files

__all__ = ["LangChainEmbedder", "LeannEmbeddings", "LeannVectorStore", "to_engine_filter"]

#: LangChain comparison operators and the engine operator each maps to.
FILTER_OPERATORS: dict[str, str] = {
    "$eq": "==",
    "$ne": "!=",
    "$gt": ">",
    "$gte": ">=",
    "$lt": "<",
    "$lte": "<=",
    "$in": "in",
    "$nin": "not_in",
    "$exists": "exists",
}
#: Logical operators: a list of filters that must all / any hold.
FILTER_LOGIC: tuple[str, ...] = ("$and", "$or")

_INDEX_OPTIONS: tuple[str, ...] = (
    "alpha",
    "auto_compact",
    "compact_ratio",
    "compact_min_rows",
    "enable_warmup",
    "fusion",
    "lock_timeout",
    "mode",
    "rerank",
    "show_progress",
)
# LeannBuilder's keyword options (graph_degree, metric, stopwords, ...), read from its signature.
_BUILD_OPTIONS: tuple[str, ...] = tuple(
    name
    for name, p in inspect.signature(LeannBuilder.__init__).parameters.items()
    if p.kind is inspect.Parameter.KEYWORD_ONLY and name not in _INDEX_OPTIONS
)
# Arguments of the store's own methods; the engine's search takes the rest of its keywords.
_HANDLED_SEARCH_ARGS = ("self", "query", "top_k", "metadata_filters", "query_embedding")


def _embeddings_name(embeddings: Embeddings) -> str:
    """A stable name for the manifest, so reopening with another model warns."""
    model = getattr(embeddings, "model", None) or getattr(embeddings, "model_name", None)
    name = f"langchain:{type(embeddings).__name__}"
    return f"{name}:{model}" if isinstance(model, str) and model else name


def _as_matrix(vectors: Any, n: int, what: str) -> np.ndarray:
    arr = np.asarray(vectors, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[0] != n:
        raise ValueError(f"{what} returned {arr.shape[0] if arr.ndim else 0} vectors for {n} texts")
    return arr


class LangChainEmbedder:
    """A LangChain ``Embeddings`` seen as a :class:`leann_engine.Embedder`.

    ``embed`` calls ``embed_documents``: the engine uses it for passages, at build time and when
    a search recomputes them. Vectors computed moments earlier for the same texts (a store's
    first write learns the dimension from them) are served once from a memo instead of asking
    the model again.
    """

    def __init__(self, embeddings: Embeddings, dimension: int | None = None) -> None:
        self.embeddings = embeddings
        self.name = _embeddings_name(embeddings)
        self._dimension = dimension
        self._memo: dict[str, np.ndarray] = {}

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._dimension = len(self.embeddings.embed_query("dimension"))
        return self._dimension

    def remember(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        self._memo.update(zip(texts, vectors))
        if self._dimension is None and len(vectors):
            self._dimension = int(vectors.shape[1])

    def forget(self) -> None:
        self._memo.clear()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if texts and all(t in self._memo for t in texts):
            return np.stack([self._memo[t] for t in texts])
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return _as_matrix(self.embeddings.embed_documents(texts), len(texts), "embed_documents")


class LeannEmbeddings(Embeddings):
    """LangChain ``Embeddings`` over the engine's sentence-transformers model (offline default).

    ``LeannEmbeddings()`` is all-MiniLM-L6-v2 from the packaged copy; pass a model name or a
    local folder for another. The model is loaded once per process and shared with the engine.
    """

    def __init__(self, model: str | None = None, *, batch_size: int = 32) -> None:
        from leann_engine.embedding import DEFAULT_MODEL, SentenceTransformerEmbedder

        self._embedder = SentenceTransformerEmbedder(model or DEFAULT_MODEL, batch_size=batch_size)
        self.model = self._embedder.name

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._embedder.embed(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self._embedder.embed([text])[0].tolist()


def _translate(flt: Any, where: str) -> dict[str, Any]:
    if not isinstance(flt, Mapping) or not flt:
        raise ValueError(f"{where} must be a non-empty dict like {{'source': 'a.md'}}, got {flt!r}")
    out: dict[str, Any] = {}
    logic: list[dict[str, Any]] = []
    for key, spec in flt.items():
        if not isinstance(key, str):
            raise ValueError(f"{where} keys must be strings, got {key!r}")
        if key in FILTER_LOGIC:
            if isinstance(spec, (str, bytes, Mapping)) or not isinstance(spec, Sequence) or not spec:
                raise ValueError(f"{where}[{key!r}] must be a non-empty list of filters, got {spec!r}")
            logic.append({key: [_translate(f, f"{where}[{key!r}][{i}]") for i, f in enumerate(spec)]})
        elif key.startswith("$"):
            raise ValueError(
                f"{where} uses unsupported operator {key!r} at the top level; expected a metadata "
                f"key or one of {', '.join(FILTER_LOGIC)}"
            )
        elif isinstance(spec, Mapping):
            if not spec:
                raise ValueError(f"{where}[{key!r}] is an empty condition; give an operator such as '$eq'")
            cond: dict[str, Any] = {}
            for op, value in spec.items():
                if op not in FILTER_OPERATORS:
                    raise ValueError(
                        f"{where}[{key!r}] uses unsupported operator {op!r}; "
                        f"supported: {', '.join(FILTER_OPERATORS)}"
                    )
                if op in ("$in", "$nin") and (
                    isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable)
                ):
                    raise ValueError(f"{where}[{key!r}][{op!r}] needs a list of values, got {value!r}")
                if op == "$exists" and not isinstance(value, bool):
                    raise ValueError(f"{where}[{key!r}]['$exists'] needs true or false, got {value!r}")
                cond[FILTER_OPERATORS[op]] = list(value) if op in ("$in", "$nin") else value
            out[key] = cond
        else:
            out[key] = {"==": spec}
    if not logic:
        return out
    parts = ([out] if out else []) + logic
    return parts[0] if len(parts) == 1 else {"$and": parts}


def to_engine_filter(filter: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Translate a LangChain metadata filter into the engine's ``metadata_filters``.

    ``{"key": value}`` is equality; ``{"key": {"$gte": 2, "$lt": 5}}`` uses the operators in
    :data:`FILTER_OPERATORS`; ``{"$and": [f, ...]}`` and ``{"$or": [f, ...]}`` combine filters.
    Conditions on several keys must all hold. Anything else raises ``ValueError``.
    """
    if filter is None:
        return None
    if callable(filter) and not isinstance(filter, Mapping):
        raise ValueError(
            "filter must be a dict such as {'source': 'a.md'} or {'year': {'$gte': 2020}}; "
            "a function cannot be applied inside the index"
        )
    return _translate(filter, "filter")


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
            and builds the graph once it holds this many.
        **engine_options: :class:`~leann_engine.LeannBuilder` options (``graph_degree``,
            ``pruned_degree``, ``metric``, ...) and :class:`~leann_engine.LeannIndex` options
            (``auto_compact``, ``compact_ratio``, ...).

    Search keywords beyond LangChain's (``complexity``, ``mode="hybrid"``, ``alpha``,
    ``fusion``, ``rerank``, ...) go to the engine's search, from a method call or a retriever's
    ``search_kwargs``; ``mode``, ``alpha``, ``fusion`` and ``rerank`` given to the constructor
    are this store's defaults.

    Scores from ``similarity_search_with_score`` are the engine's, higher is better: cosine
    similarity in [-1, 1] in dense mode (inner product with ``metric="mips"``), BM25 in
    ``mode="bm25"``, the fused score in ``mode="hybrid"``. Relevance scores are
    ``(1 + cosine) / 2`` of query and document in every mode, within [0, 1] (a logistic of
    the inner product with ``metric="mips"``).
    """

    def __init__(
        self,
        embedding: Embeddings,
        index_path: str | Path | None = None,
        *,
        store_embeddings: bool = False,
        build_min_rows: int = 32,
        **engine_options: Any,
    ) -> None:
        if not isinstance(embedding, Embeddings):
            raise ValueError(f"embedding must be a langchain_core Embeddings, got {type(embedding).__name__}")
        unknown = sorted(set(engine_options) - set(_INDEX_OPTIONS) - set(_BUILD_OPTIONS))
        if unknown:
            raise ValueError(
                f"unknown LeannVectorStore option(s) {', '.join(unknown)}; known: "
                f"{', '.join(_BUILD_OPTIONS + _INDEX_OPTIONS)}, store_embeddings, build_min_rows"
            )
        self._build = {k: v for k, v in engine_options.items() if k in _BUILD_OPTIONS}
        self._index_options = {k: v for k, v in engine_options.items() if k in _INDEX_OPTIONS}
        if "is_recompute" in self._build and bool(self._build["is_recompute"]) == bool(store_embeddings):
            raise ValueError(
                "is_recompute and store_embeddings contradict each other; pass only store_embeddings"
            )
        self._build.setdefault("is_recompute", not store_embeddings)
        # Validate the build options now rather than at the first write.
        LeannBuilder(embedding_model=FunctionEmbedder(lambda t: np.zeros((len(t), 1)), 1), **self._build)
        self.build_min_rows = _check_k("build_min_rows", build_min_rows)
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
            if self._index is None and (self.index_path / MANIFEST).exists():
                manifest = read_manifest(self.index_path)
                self._embedder = LangChainEmbedder(self._embedding, int(manifest["dimensions"]))
                self._index = LeannIndex(self.index_path, self._embedder, **self._index_options)
            return self._index

    def _first_write(
        self, texts: list[str], metadatas: Sequence[dict[str, Any] | None] | None, ids: list[str]
    ) -> None:
        """Create the index with its first passages; the dimension comes from their vectors."""
        vectors = self._embedder.embed(texts)
        self._embedder.remember(texts, vectors)
        last = sorted({pid: i for i, pid in enumerate(ids)}.values())  # a repeated id: last one wins
        if len(last) >= self.build_min_rows:
            # Enough for a graph: build it directly, so no generation with stored vectors precedes it.
            builder = LeannBuilder(embedding_model=self._embedder, **self._build)
            metas = list(metadatas) if metadatas is not None else [None] * len(texts)
            builder.add_texts([texts[i] for i in last], [metas[i] for i in last], [ids[i] for i in last])
            builder.build_index(self.index_path)
            self._open_existing()
        else:
            self._index = LeannIndex.create(
                self.index_path,
                self._embedder,
                exist_ok=True,
                build_options=self._build,
                **self._index_options,
            )
            self._index.add_texts(texts, metadatas, ids)

    @property
    def metric(self) -> str:
        index = self._open_existing()
        return (
            str(index.manifest["metric"]) if index is not None else str(self._build.get("metric", "cosine"))
        )

    def storage_bytes(self) -> dict[str, int]:
        """Bytes the index takes on disk, by part.

        ``graph`` (neighbour lists and manifest), ``keywords`` (the BM25 index), ``embeddings``
        (stored vectors: the recent passages' segment, and every passage with
        ``store_embeddings``), ``text`` (passages, metadata, ids and their offsets),
        ``previous`` (the previous generation's files, kept for readers until the next write)
        and ``total``, everything the folder holds.
        """
        parts = {"graph": 0, "keywords": 0, "embeddings": 0, "text": 0, "previous": 0}
        with self._lock:
            index = self._open_existing()
            if index is None:
                return {**parts, "total": 0}
            index.refresh()
            current = {MANIFEST, *referenced_files(index.manifest)}
            for path in self.index_path.iterdir():
                name = path.name
                if not path.is_file():
                    continue
                if name not in current:
                    part = "previous"
                elif name.endswith(".f32"):
                    part = "embeddings"
                elif name.endswith(".bm25"):
                    part = "keywords"
                elif name.endswith((".jsonl", ".lens", ".ids.json")):
                    part = "text"
                else:
                    part = "graph"
                parts[part] += path.stat().st_size
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
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
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
                try:
                    self._first_write(texts, metadatas, out_ids)
                finally:
                    self._embedder.forget()
                return out_ids
            index.add_texts(texts, metadatas, out_ids)
            counts = index.manifest["counts"]
            if counts["base"] == 0 and counts["passages"] >= self.build_min_rows:
                # The graph is built from the vectors the new segment holds: no re-embedding.
                index.compact()
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

    def _engine_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        allowed = set(inspect.signature(LeannSearcher.search).parameters) - set(_HANDLED_SEARCH_ARGS)
        unknown = sorted(set(kwargs) - allowed)
        if unknown:
            raise ValueError(
                f"unexpected search keyword(s) {', '.join(unknown)}; besides k and filter the "
                f"store accepts {', '.join(sorted(allowed))}"
            )
        return kwargs

    def _search(
        self,
        query: str | None,
        vector: Sequence[float] | np.ndarray | None,
        k: int,
        filter: Mapping[str, Any] | None,
        kwargs: dict[str, Any],
    ) -> list[SearchResult]:
        """Search by text (``vector`` None: embedded here if the mode needs it) or by vector."""
        k = _check_k("k", k)
        engine_filter = to_engine_filter(filter)
        options = dict(self._engine_kwargs(kwargs))
        if query is None:
            if options.get("mode") not in (None, "dense"):
                raise ValueError(
                    f"mode={options['mode']!r} needs the query text; search by text, not by vector"
                )
            options["mode"] = "dense"  # whatever the store's default mode
        elif not isinstance(query, str):
            raise ValueError(f"query must be a string, got {type(query).__name__}")
        with self._lock:
            index = self._open_existing()
            if index is None:
                return []
            mode = options.get("mode") or index.default_mode
            if vector is None:
                if mode == "bm25" or options.get("use_grep"):
                    # Keyword search needs no query vector (nor a paid embedding call).
                    return list(index.search(query, top_k=k, metadata_filters=engine_filter, **options))
                vector = self._query_vector(query)
            dim = int(index.manifest["dimensions"])
            try:
                vector = np.asarray(vector, dtype=np.float32).reshape(-1)
            except (TypeError, ValueError) as e:
                raise ValueError(f"embedding must be a list of {dim} floats: {e}") from e
            if vector.size != dim or not np.isfinite(vector).all():
                raise ValueError(
                    f"embedding has {vector.size} values, expected {dim} finite floats (the index's dimension)"
                )
            if index.manifest["metric"] == "cosine":
                vector = normalize_rows(vector[None, :])[0]
            hits = index.search(
                query, top_k=k, metadata_filters=engine_filter, query_embedding=vector, **options
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
        """``(document, score)`` pairs, best first; the score is the cosine similarity."""
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
        """``(document, score)`` pairs for a query vector, best first."""
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
            if index.last_stats.mode == "dense" and not kwargs.get("rerank", index.default_rerank):
                sims = [h.score for h in hits]
            else:
                # Keyword, fused and reranker scores have no fixed range: the relevance of a
                # document is its similarity to the query, whichever mode ranked it.
                q = np.asarray(vector, dtype=np.float32)
                if index.manifest["metric"] == "cosine":
                    q = normalize_rows(q[None, :])[0]
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
        self,
        query: str,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        """Diverse results: ``fetch_k`` matches of ``filter``, then ``k`` picked by MMR."""
        return self._mmr(query, self._query_vector(query), k, fetch_k, lambda_mult, filter, kwargs)

    def max_marginal_relevance_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        """MMR for a query vector (see :meth:`max_marginal_relevance_search`)."""
        return self._mmr(None, embedding, k, fetch_k, lambda_mult, filter, kwargs)

    def _mmr(
        self,
        query: str | None,
        vector: Sequence[float] | np.ndarray,
        k: int,
        fetch_k: int,
        lambda_mult: float,
        filter: Mapping[str, Any] | None,
        kwargs: dict[str, Any],
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
        cls,
        texts: list[str],
        embedding: Embeddings,
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        index_path: str | Path | None = None,
        **kwargs: Any,
    ) -> LeannVectorStore:
        """A store at ``index_path`` (temporary if ``None``) holding ``texts``.

        ``kwargs`` are the constructor's options. An index already at ``index_path`` is opened
        and the texts are added to it.
        """
        store = cls(embedding, index_path=index_path, **kwargs)
        store.add_texts(texts, metadatas, ids=ids)
        return store
