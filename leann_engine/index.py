"""``LeannIndex``: a searcher that also adds, replaces, deletes and compacts passages in place."""

from __future__ import annotations

import copy
import os
import uuid
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from leann_engine.build.commit import GenerationChanged
from leann_engine.build.merge import can_merge, merge_generation
from leann_engine.build.passages import embed_all, prepare_passages
from leann_engine.build.pipeline import Passages, build_generation, prepare_target
from leann_engine.embed.base import Embedder, to_metric_space
from leann_engine.embed.providers import resolve_embedder, split_templates
from leann_engine.filters import MetadataFilters
from leann_engine.hybrid.calibrate import MIN_PASSAGES, probe_dense
from leann_engine.params import BuildParams, CompactionPolicy, check_number
from leann_engine.search.dense import vectors_for
from leann_engine.search.searcher import LeannSearcher
from leann_engine.store.io import EMBEDDING_DTYPE, crc_of, gen_name, write_file
from leann_engine.store.lock import write_lock
from leann_engine.store.manifest import MANIFEST, commit_manifest
from leann_engine.store.records import encode_records
from leann_engine.store.snapshot import Snapshot
from leann_engine.store.usage import DiskUsage
from leann_engine.types import SearchResult, SearchResults, SearchStats


def _append_committed(path: Path, committed: int, data: bytes) -> None:
    """Append ``data`` after the first ``committed`` bytes of an append-only file.

    Bytes past ``committed`` are what an interrupted writer left; no manifest names them, so
    they are cut off first.
    """
    with open(path, "ab") as f:
        f.truncate(committed)
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


class LeannIndex:
    """A read-write index: add, upsert, delete, get, count, compact — and search.

    Example::

        index = LeannIndex.create("notes.leann")          # empty, default model
        index.add_texts(["first note", "second note"], ids=["n1", "n2"])
        index.add_texts(["first note, edited"], ids=["n1"])  # same id: replaced
        index.delete(["n2"])
        print(index.count(), index.search("edited", top_k=1)[0].id)

    New passages go to a delta segment that keeps their embeddings and is scored exactly next to
    the graph; deletes and replacements are tombstones. ``policy`` (a
    :class:`~leann_engine.CompactionPolicy`) decides when the index is compacted: a new graph
    over the live passages replaces the old one and the delta's embeddings are dropped.
    ``compact()`` does it on demand. Writes are atomic: a killed writer leaves the previous
    state readable. Reads and searches go through :attr:`searcher`, a
    :class:`~leann_engine.LeannSearcher` on the same folder. A sharded index opens as a
    :class:`~leann_engine.shard.index.ShardedIndex`, which routes each id to its shard.
    """

    def __new__(cls, index_path: str | Path | None = None, *args: Any, **kwargs: Any) -> LeannIndex:
        from leann_engine.shard.layout import class_for

        return super().__new__(class_for(cls, index_path, "index"))

    def __init__(
        self,
        index_path: str | Path,
        embedding: Embedder | str | None = None,
        *,
        enable_warmup: bool = False,
        policy: CompactionPolicy | None = None,
        auto_compact: bool | None = None,
        compact_ratio: float | None = None,
        compact_min_rows: int | None = None,
        show_progress: bool = False,
        lock_timeout: float = 60.0,
        **search_defaults: Any,
    ) -> None:
        """``search_defaults`` (``mode``, ``alpha``, ``fusion``, ``rerank``, ``params``,
        ``embedding_cache_mb``, ``embedding_options``) go to :class:`~leann_engine.LeannSearcher`. ``auto_compact``,
        ``compact_ratio`` and ``compact_min_rows`` are the older names of ``policy``'s fields."""
        check_number("lock_timeout", lock_timeout, 0.0)
        old = {"enabled": auto_compact, "ratio": compact_ratio, "min_rows": compact_min_rows}
        self.policy: CompactionPolicy = (policy or CompactionPolicy()).replace(
            **{k: v for k, v in old.items() if v is not None}
        )
        self.searcher = LeannSearcher(index_path, embedding, enable_warmup=enable_warmup, **search_defaults)
        self.path = self.searcher.path
        self.lock_timeout = float(lock_timeout)
        self.show_progress = show_progress

    @classmethod
    def create(
        cls,
        index_path: str | Path,
        embedding_model: str | Embedder | None = None,
        *,
        exist_ok: bool = False,
        build_options: dict[str, Any] | BuildParams | None = None,
        embedding_mode: str = "sentence-transformers",
        embedding_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> LeannIndex:
        """Create an empty index at ``index_path`` and open it.

        ``build_options`` (:class:`~leann_engine.BuildParams` or a dict of its fields) are used
        now and by every compaction; ``embedding_mode``/``embedding_options`` are
        :class:`~leann_engine.LeannBuilder`'s (templates included); ``kwargs`` go to
        :class:`LeannIndex`. An existing index is opened when ``exist_ok`` is true.
        """
        path = Path(index_path)
        if (path / MANIFEST).exists():
            if not exist_ok:
                raise ValueError(f"index_path {path} already holds an index; pass exist_ok=True to open it")
            return cls(path, None if isinstance(embedding_model, str) else embedding_model, **kwargs)
        opts = build_options.to_dict() if isinstance(build_options, BuildParams) else dict(build_options or {})
        params = BuildParams.from_options(**opts)
        provider_opts, passage_t, query_t = split_templates(embedding_options)
        embedder, section = resolve_embedder(embedding_mode, embedding_model, provider_opts, passage_t, query_t)
        dim = int(embedder.dimension)
        prepare_target(path)
        build_generation(
            Passages([], []),
            None,
            params,
            path=path,
            vectors=np.zeros((0, dim), dtype=np.float32),
            embedding_model=embedder.name,
            dimension=dim,
            embedding=section,
        )
        return cls(path, embedder, **kwargs)

    # ------------------------------------------------------------------ reads (the searcher's)

    @property
    def manifest(self) -> dict[str, Any]:
        return self.searcher.manifest

    @property
    def embedder(self) -> Embedder:
        return self.searcher.embedder

    @property
    def last_stats(self) -> SearchStats:
        return self.searcher.last_stats

    @property
    def default_mode(self) -> str:
        return self.searcher.default_mode

    @property
    def auto_compact(self) -> bool:
        return self.policy.enabled

    def search(self, query: str | None, *args: Any, **kwargs: Any) -> SearchResults:
        """Search the index; see :meth:`LeannSearcher.search`."""
        return self.searcher.search(query, *args, **kwargs)

    def get(self, ids: Iterable[str]) -> list[SearchResult]:
        return self.searcher.get(ids)

    def ids(self) -> list[str]:
        return self.searcher.ids()

    def count(self) -> int:
        return self.searcher.count()

    def select(self, metadata_filters: MetadataFilters | None) -> list[str]:
        return self.searcher.select(metadata_filters)

    def disk_usage(self) -> DiskUsage:
        return self.searcher.disk_usage()

    def check_embedder(self, embedder: Embedder, *, strict: bool = False) -> None:
        self.searcher.check_embedder(embedder, strict=strict)

    def passage_embeddings(self, ids: Iterable[str]) -> np.ndarray:
        return self.searcher.passage_embeddings(ids)

    def embed_query(self, query: str) -> np.ndarray:
        return self.searcher.embed_query(query)

    def refresh(self) -> None:
        self.searcher.refresh()

    def close(self) -> None:
        self.searcher.close()

    def __enter__(self) -> LeannIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ helpers

    @property
    def _snap(self) -> Snapshot:
        return self.searcher._snap

    def _latest(self) -> Snapshot:
        """The newest committed snapshot (call under the write lock)."""
        self.refresh()
        return self._snap

    def _vectors(self, texts: Sequence[str]) -> np.ndarray:
        dim = int(self._snap.manifest["dimensions"])
        vecs = embed_all(self.embedder, texts, dim, show_progress=self.show_progress, desc="embedding")
        return to_metric_space(vecs, self._snap.metric)

    def _commit(self, snap: Snapshot, manifest: dict[str, Any]) -> None:
        commit_manifest(self.path, manifest, snap.manifest)
        self.refresh()

    def _next_manifest(self, snap: Snapshot) -> dict[str, Any]:
        m = copy.deepcopy(snap.manifest)
        m["generation"] = int(m["generation"]) + 1
        m.pop("previous_files", None)
        return m

    def _write_tombstones(self, manifest: dict[str, Any], dead: np.ndarray) -> None:
        rows = np.flatnonzero(dead).astype("<u8")
        name = gen_name("tomb", int(manifest["generation"]), "u64")
        write_file(self.path / name, rows.tobytes())
        manifest["files"]["tombstones"] = name
        manifest.setdefault("checksums", {})[name] = crc_of(self.path / name)

    def _set_counts(self, manifest: dict[str, Any], dead: np.ndarray) -> None:
        """Counts from the row totals and the tombstone mask (every live row has its own id)."""
        deleted = int(dead.sum())
        manifest["counts"] = {
            "passages": int(dead.size) - deleted,
            "base": int(manifest["base"]["rows"]),
            "delta": int(manifest["delta"]["rows"]),
            "deleted": deleted,
        }

    def _needs_compaction(self) -> bool:
        return self.policy.due(self._snap.manifest["counts"])

    # ------------------------------------------------------------------ writes

    def add_texts(
        self,
        texts: Sequence[str],
        metadatas: Sequence[dict[str, Any] | None] | None = None,
        ids: Sequence[Any] | None = None,
    ) -> list[str]:
        """Add passages; an id already in the index is replaced. Returns the ids used.

        Without ``ids``, new unique ids are generated. Durable when the call returns.
        """
        texts, metas, given = prepare_passages(texts, metadatas, ids)
        if not texts:
            return []
        if given is None:
            given = [uuid.uuid4().hex for _ in texts]
        # A repeated id within one call: the last occurrence wins, as with sequential calls.
        last = {pid: i for i, pid in enumerate(given)}
        keep = sorted(last.values())
        ids_k = [given[i] for i in keep]
        texts_k = [texts[i] for i in keep]
        metas_k = [metas[i] for i in keep]
        vectors = self._vectors(texts_k)
        with write_lock(self.path, self.lock_timeout):
            snap = self._latest()
            m = self._next_manifest(snap)
            delta = m["delta"]
            data, _ = encode_records(ids_k, texts_k, metas_k)
            emb = np.ascontiguousarray(vectors, dtype=EMBEDDING_DTYPE).tobytes()
            _append_committed(self.path / delta["data"], int(delta["data_bytes"]), data)
            _append_committed(self.path / delta["embeddings"], int(delta["rows"]) * vectors.shape[1] * 4, emb)
            delta["rows"] = int(delta["rows"]) + len(ids_k)
            delta["data_bytes"] = int(delta["data_bytes"]) + len(data)
            delta["data_crc"] = zlib.crc32(data, int(delta.get("data_crc") or 0))
            dead = np.concatenate([snap.dead, np.zeros(len(ids_k), dtype=bool)])
            replaced = [snap.row_of[i] for i in ids_k if i in snap.row_of]
            if replaced:
                dead[replaced] = True
                self._write_tombstones(m, dead)
            self._set_counts(m, dead)
            calibrate = (m.get("hybrid") or {}).get("calibrate", True)
            if calibrate and not m.get("calibration") and snap.base.n + int(delta["rows"]) >= MIN_PASSAGES:
                # An index grown from empty gets its hybrid calibration once it is big enough.
                delta_texts = [r["text"] for r in snap.delta.records] + texts_k
                delta_vecs = np.concatenate([snap.delta.embeddings, vectors])
                if len(delta_texts) >= MIN_PASSAGES:
                    m["calibration"] = probe_dense(self.embedder, delta_texts, delta_vecs, snap.metric)
            self._commit(snap, m)
        if self._needs_compaction():
            self.compact()
        return list(given)

    def delete(self, ids: Iterable[Any]) -> int:
        """Delete passages by id; unknown ids are ignored. Returns how many were deleted."""
        if isinstance(ids, str):
            raise ValueError("ids must be a list of ids, got a single string")
        wanted = {str(i) for i in ids}
        with write_lock(self.path, self.lock_timeout):
            snap = self._latest()
            rows = [snap.row_of[i] for i in wanted if i in snap.row_of]
            if not rows:
                return 0
            m = self._next_manifest(snap)
            dead = snap.dead.copy()
            dead[rows] = True
            self._write_tombstones(m, dead)
            self._set_counts(m, dead)
            self._commit(snap, m)
        if self._needs_compaction():
            self.compact()
        return len(rows)

    def compact(self, *, is_recompute: bool | None = None) -> bool:
        """Fold the delta and the tombstones into the graph; returns whether it committed.

        With PQ codes or stored embeddings, the delta's passages are linked into the existing
        graph and deleted ones unlinked, and nothing of the base is re-embedded (at most 2,048
        sampled passages when the codebooks drift). A graph-only recompute index, an index
        without a graph yet, or ``is_recompute`` changing the storage (``True`` converts an
        index that stores embeddings into a recompute-only one, LEANN's ``reindex``) gets a new
        graph over the live passages, with vectors from :func:`vectors_for` (stored, or
        recomputed for a graph-only base).

        The work runs without the write lock and commits only if no other writer committed
        meanwhile; after two such conflicts the last try holds the lock throughout. ``False``:
        nothing was pending, or the lock could not be had.
        """
        for attempt in range(3):
            snap = self._latest()
            if not self._pending(snap) and is_recompute in (None, snap.manifest.get("is_recompute", True)):
                return False
            try:
                if attempt < 2:
                    self._compact_from(snap, is_recompute)
                else:
                    with write_lock(self.path, self.lock_timeout):
                        self._compact_from(self._latest(), is_recompute, locked=True)
            except GenerationChanged:
                continue
            self.refresh()
            return True
        return False

    @staticmethod
    def _pending(snap: Snapshot) -> bool:
        c = snap.manifest["counts"]
        return bool(int(c["delta"]) or int(c["deleted"]))

    def _compact_from(self, snap: Snapshot, is_recompute: bool | None, *, locked: bool = False) -> None:
        m = snap.manifest
        recompute = bool(m.get("is_recompute", True)) if is_recompute is None else bool(is_recompute)
        params = BuildParams.from_manifest(m).replace(is_recompute=recompute)
        # Under the lock already (the last try): the commit must not wait for it again.
        timeout = 0.0 if locked else self.lock_timeout
        if can_merge(snap) and recompute == bool(m.get("is_recompute", True)):
            merge_generation(snap, self.embedder, params, lock_timeout=timeout, locked=locked)
            return
        live = np.flatnonzero(~snap.dead).tolist()
        recs = snap.records(live)
        vectors = vectors_for(snap, live, self.embedder)
        build_generation(
            Passages([r["id"] for r in recs], [r["text"] for r in recs], [r.get("metadata") or {} for r in recs]),
            self.embedder,
            params,
            path=self.path,
            vectors=vectors,
            calibration=m.get("calibration"),
            embedding_model=m["embedding_model"],
            dimension=int(m["dimensions"]),
            expect=int(m["generation"]),
            lock_timeout=timeout,
            locked=locked,
        )
