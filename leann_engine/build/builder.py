"""``LeannBuilder``: collect passages, embed them once, write a graph-only index."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Sequence
from itertools import zip_longest
from pathlib import Path
from typing import Any

from leann_engine.build.passages import prepare_passages
from leann_engine.build.pipeline import build_generation, prepare_target
from leann_engine.build.spool import PassageSpool
from leann_engine.build.stream import LazyTexts
from leann_engine.embed.base import Embedder
from leann_engine.embed.language import LanguageChoice, announce, choose_model
from leann_engine.embed.providers import check_mode, resolve_embedder, split_templates
from leann_engine.index import LeannIndex
from leann_engine.params import BuildParams, check_int
from leann_engine.shard.layout import check_num_shards

# "diskann" is LEANN's name for its large-corpus backend. Here every index is disk-resident
# (streamed build in bounded memory, graph, codes and passages read from files at search), so
# it is an alias of "hnsw", the one graph backend.
BACKENDS: tuple[str, ...] = ("hnsw", "diskann")


class LeannBuilder:
    """Build an index that stores a pruned graph and the text, and no embeddings.

    Example::

        builder = LeannBuilder(backend_name="hnsw")      # all-MiniLM-L6-v2 by default
        builder.add_text("LEANN stores no embeddings.", metadata={"source": "a.md"})
        builder.build_index("demo.leann")

    Args:
        backend_name: graph backend: ``"hnsw"``; ``"diskann"`` (LEANN's large-corpus backend)
            is accepted as an alias, since every index here is built in bounded memory and
            searched from its files (a million passages: see the README's "Large corpora").
        embedding_model: sentence-transformers name or local path, or an :class:`Embedder`; with
            ``embedding_mode`` ``"openai"``/``"ollama"``, the provider's model name.
            ``"intfloat/multilingual-e5-small"`` runs offline through the ``multilingual`` extra.
            When none is named, the build picks by the corpus's script: all-MiniLM-L6-v2, or the
            multilingual model for text mostly in non-Latin scripts (see ``self.language``).
        dimensions: expected vector size; checked against the model when given.
        embedding_mode: ``"sentence-transformers"`` (default, in-process), ``"openai"`` (any
            OpenAI-compatible ``POST {base_url}/embeddings``) or ``"ollama"`` (``POST
            {host}/api/embed``). The index records the mode, model and base URL/host, never a key.
        embedding_options: the provider's options: ``base_url``, ``api_key``, ``dimensions``
            (openai), ``host`` (ollama), ``batch_size``, ``timeout``, ``max_retries`` (both);
            ``device``, ``batch_size``, ``precision`` for sentence-transformers. Keys default to
            ``OPENAI_API_KEY``/``OPENAI_BASE_URL``/``OLLAMA_HOST``.
        embedding_prompt_template: text put before every passage (e5 models: ``"passage: "``,
            the default for e5 model names). Recorded; applied at every recomputation.
        query_prompt_template: text put before every query (e5 models: ``"query: "``).
        is_recompute: drop the embeddings after the build (default) and recompute the few a
            search needs; ``False`` stores them (float32) for faster queries and compaction.
        is_compact: store neighbour lists gap + varint coded (default) or as plain int32.
        graph_degree: most neighbours a hub node keeps (HNSW level-0 ``2*M``), default 32.
        build_complexity: HNSW ``efConstruction``, default 200.
        pruned_degree: neighbour budget of non-hub nodes (high-degree-preserving pruning),
            default 12; ``None`` keeps HNSW's lists as they are.
        hub_fraction: share of nodes, highest degree first, that keep ``graph_degree``.
        metric: ``"cosine"`` (default) or ``"mips"`` (raw inner product).
        stopwords: stop words left out of the BM25 keyword index: ``None`` (default, keep
            all), a language code (``"en"``, ``"ja"``, ``"zh"``, comma-separated for several),
            or a collection of words. Queries are tokenized the same way.
        keyword_index: write the BM25 keyword index with the graph (default). Without it,
            ``mode="bm25"``/``"hybrid"`` still work, tokenizing the passages in memory at first use.
        calibrate: probe the model at build to weigh hybrid fusion (embeds up to 128 short
            pseudo-queries; turn off for paid embedding APIs, hybrid then uses ``alpha=0.5``).
        pq_bytes: the most bytes of 4-bit product-quantization code per passage the build's
            probe may choose for the two-level search (default 48; it picks the smallest code
            that ranks this index's passages well enough); ``None`` or 0: graph only.
        hub_cache_mb: store the float16 embeddings of the most visited (hub) nodes, up to this
            many MB, so searches re-embed fewer passages; 0 (default) keeps the index smallest.
        num_threads: hnswlib build threads (-1, the default: all cores).
        show_progress: progress bars for embedding (off by default in library use).
        num_shards: split the index into this many shards (default 1: one index), each a normal
            index in one folder, built in parallel and searched by fanning out
            (:mod:`leann_engine.shard`); a passage's shard is a hash of its id.
        params: a :class:`~leann_engine.BuildParams` to start from; keyword options override it.

    Build options (all but ``show_progress`` and ``params``) are the fields of
    :class:`~leann_engine.BuildParams`, where their defaults live; LEANN's ``M``,
    ``efConstruction`` and ``complexity`` are accepted too.
    """

    def __init__(
        self,
        backend_name: str = "hnsw",
        embedding_model: str | Embedder | None = None,
        dimensions: int | None = None,
        embedding_mode: str = "sentence-transformers",
        embedding_options: dict[str, Any] | None = None,
        *,
        embedding_prompt_template: str | None = None,
        query_prompt_template: str | None = None,
        show_progress: bool = False,
        params: BuildParams | None = None,
        num_shards: int = 1,
        **options: Any,
    ) -> None:
        if backend_name not in BACKENDS:
            raise ValueError(f"backend_name must be one of {', '.join(BACKENDS)}, got {backend_name!r}")
        check_mode(embedding_mode)
        check_int("dimensions", dimensions, 1, none_ok=True)
        self.num_shards = check_num_shards(num_shards)
        base = params.to_dict() if params is not None else {}
        self.params: BuildParams = BuildParams.from_options(**{**base, **options})
        self.backend_name = "hnsw"  # "diskann" is an alias (see BACKENDS)
        provider_opts, passage_t, query_t = split_templates(embedding_options)
        self.embedding_mode = embedding_mode
        self._resolve = (
            embedding_mode,
            provider_opts,
            embedding_prompt_template if embedding_prompt_template is not None else passage_t,
            query_prompt_template if query_prompt_template is not None else query_t,
        )
        self.embedder, self.embedding_section = resolve_embedder(
            embedding_mode, embedding_model, *self._resolve[1:]
        )
        # No model named (argument or LEANN_EMBEDDING_MODEL): the build picks by the corpus's script.
        self._auto_model = (
            embedding_model is None
            and embedding_mode == "sentence-transformers"
            and not os.environ.get("LEANN_EMBEDDING_MODEL")
        )
        self.language: LanguageChoice | None = None
        self.dimensions = dimensions
        self.show_progress = show_progress
        # Passages wait in an anonymous temporary file, not in lists: a million of them would
        # take gigabytes of Python objects (see build/spool.py).
        self._spool = PassageSpool()

    @property
    def metric(self) -> str:
        return self.params.metric

    @property
    def is_recompute(self) -> bool:
        return self.params.is_recompute

    def add_text(self, text: str, metadata: dict[str, Any] | None = None, *, id: str | None = None) -> None:
        """Queue one passage. Its id is ``id``, else ``metadata["id"]``, else its position."""
        texts, metas, _ = prepare_passages([text], [metadata], None)
        pid = id if id is not None else metas[0].get("id")
        self._spool.append(None if pid is None else str(pid), texts[0], metas[0])

    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: Iterable[dict[str, Any] | None] | None = None,
        ids: Iterable[str] | None = None,
    ) -> None:
        """Queue many passages (same rules as :meth:`add_text`).

        Any iterables work, generators included: they are consumed a batch at a time and
        spooled to disk, never held whole. On bad input nothing of this call stays queued.
        """
        if isinstance(texts, str):
            raise ValueError("texts must be a list of strings, got a single string")
        if isinstance(texts, Sequence):
            # Lists keep their up-front checks (lengths, types) before anything is queued.
            prepare_passages(texts, metadatas if metadatas is None else list(metadatas), ids)  # type: ignore[arg-type]
        start = len(self._spool)
        missing = object()
        rows = zip_longest(
            texts,
            metadatas if metadatas is not None else (),
            ids if ids is not None else (),
            fillvalue=missing,
        )
        try:
            for count, (text, meta, pid) in enumerate(rows):
                if (
                    text is missing
                    or (metadatas is not None and meta is missing)
                    or (ids is not None and pid is missing)
                ):
                    raise ValueError(
                        f"texts, metadatas and ids must have the same length (they differ at entry {count})"
                    )
                if ids is not None and not str(pid):
                    raise ValueError("ids must be non-empty strings")
                self.add_text(
                    text, None if meta is missing else meta, id=None if pid is missing else str(pid)
                )
        except BaseException:
            self._spool.truncate(start)
            raise

    def __len__(self) -> int:
        return len(self._spool)

    def _dimension(self) -> int:
        dim = int(self.embedder.dimension)
        if self.dimensions is not None and self.dimensions != dim:
            raise ValueError(
                f"dimensions={self.dimensions} but embedding model {self.embedder.name!r} gives {dim}-d vectors"
            )
        return dim

    def _resolved_ids(self) -> list[str]:
        ids = [pid if pid is not None else str(i) for i, pid in enumerate(self._spool.ids)]
        if len(set(ids)) != len(ids):
            seen: dict[str, int] = {}
            for i, pid in enumerate(ids):
                if pid in seen:
                    raise ValueError(
                        f"passage id {pid!r} is used by passages {seen[pid]} and {i}; ids must be unique"
                    )
                seen[pid] = i
        return ids

    def build_index(
        self,
        index_path: str | Path,
        *,
        allow_empty: bool = False,
        executor: str | None = None,
        workers: int | None = None,
        ray_address: str | None = None,
    ) -> str:
        """Embed every queued passage, build and prune the graph, write the index atomically.

        An index already at ``index_path`` is replaced as a whole (readers keep seeing the old
        one until the new manifest is in place). ``allow_empty`` writes an index with no
        passages (one that will grow through :class:`LeannIndex`). Returns the path.

        With ``num_shards`` > 1 (or an ``executor``), a sharded index: ``executor="local"``
        (default) builds the shards in ``workers`` local processes (default: one per shard, at
        most one per core); ``"ray"`` embeds with Ray Data and builds each shard as a Ray task on
        the cluster at ``ray_address`` (default: a running one, else a new local one).
        """
        if not len(self._spool) and not allow_empty:
            raise ValueError("no passages to index: call add_text() before build_index()")
        path = Path(index_path)
        if self.num_shards > 1 or executor is not None:
            from leann_engine.shard.build import build_sharded

            build_sharded(self, path, num_shards=self.num_shards, executor=executor or "local",
                          workers=workers, ray_address=ray_address)
            return str(path)
        ids = self._resolved_ids()
        self._choose_model()
        dim = self._dimension()
        prepare_target(path)
        given = self._spool.ids
        self._spool.ids = ids
        try:
            build_generation(
                self._spool,
                self.embedder,
                self.params,
                path=path,
                dimension=dim,
                show_progress=self.show_progress,
                embedding=self.embedding_section,
            )
        finally:
            self._spool.ids = given
        return str(path)

    def _choose_model(self) -> None:
        """Language-aware default: with no model named, a corpus mostly in scripts the English
        default cannot read is embedded with the multilingual model when it is installed
        (said on stderr; recorded in ``self.language`` and the manifest's
        ``embedding.language``); otherwise a :class:`~leann_engine.embed.language.LanguageWarning`
        names the install command."""
        if not self._auto_model or not len(self._spool):
            return
        self.language = choose_model(LazyTexts(self._spool), self.embedder.name)
        announce(self.language)
        if self.language.model is not None:
            self.embedder, self.embedding_section = resolve_embedder(
                self._resolve[0], self.language.model, *self._resolve[1:]
            )
        self.embedding_section = {**self.embedding_section, "language": self.language.record()}

    def update_index(self, index_path: str | Path) -> str:
        """Add the queued passages to an existing index (same id: replaced), then clear the queue.

        A passage queued without an id gets a new unique one; the others keep theirs.
        """
        if not len(self._spool):
            raise ValueError("no passages to add: call add_text() before update_index()")
        # Positional ids would collide with the index's own: a missing id becomes a new uuid.
        ids = [pid if pid is not None else uuid.uuid4().hex for pid in self._spool.ids]
        index = LeannIndex(index_path, self.embedder)
        try:
            for s, (_, texts, metas) in zip(range(0, len(ids), 4096), self._spool.batches(4096)):
                index.add_texts(texts, metas, ids[s : s + 4096])
        finally:
            index.close()
        self._spool.close()
        self._spool = PassageSpool()
        return str(index_path)
