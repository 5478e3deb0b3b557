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

from .calibrate import MIN_PASSAGES, probe_dense
from .embedding import Embedder
from .graph import normalize_rows
from .searcher import LeannSearcher
from .segment import GraphParams
from .snapshot import Snapshot
from .storage import (
    EMBEDDING_DTYPE,
    MANIFEST,
    commit_manifest,
    crc_of,
    encode_records,
    gen_name,
    write_file,
    write_lock,
)
from .tokenize import index_tokenizer
from .writer import embed_all, prepare_passages, write_index


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


class LeannIndex(LeannSearcher):
    """A read-write index: add, upsert, delete, get, count, compact — and search.

    Example::

        index = LeannIndex.create("notes.leann")          # empty, default model
        index.add_texts(["first note", "second note"], ids=["n1", "n2"])
        index.add_texts(["first note, edited"], ids=["n1"])  # same id: replaced
        index.delete(["n2"])
        print(index.count(), index.search("edited", top_k=1)[0].id)

    New passages go to a delta segment that keeps their embeddings and is scored exactly next to
    the graph; deletes and replacements are tombstones. When the delta and tombstones together
    pass ``compact_ratio`` of the graph's size (and at least ``compact_min_rows``), the index is
    compacted: a new graph over the live passages replaces the old one and the delta's
    embeddings are dropped, so the index is recompute-only again. ``compact()`` does it on demand.
    Writes are atomic: a killed writer leaves the previous state readable.
    """

    def __init__(
        self,
        index_path: str | Path,
        embedding: Embedder | str | None = None,
        *,
        enable_warmup: bool = False,
        auto_compact: bool = True,
        compact_ratio: float = 0.25,
        compact_min_rows: int = 1024,
        show_progress: bool = False,
        lock_timeout: float = 60.0,
        **search_defaults: Any,
    ) -> None:
        """``search_defaults`` (``mode``, ``alpha``, ``fusion``, ``rerank``) are the defaults of
        :meth:`search`, as for :class:`~leann_engine.LeannSearcher`."""
        super().__init__(index_path, embedding, enable_warmup=enable_warmup, **search_defaults)
        self.lock_timeout = float(lock_timeout)
        if not 0 < compact_ratio:
            raise ValueError(f"compact_ratio must be > 0, got {compact_ratio!r}")
        self.auto_compact = auto_compact
        self.compact_ratio = compact_ratio
        self.compact_min_rows = int(compact_min_rows)
        self.show_progress = show_progress

    @classmethod
    def create(
        cls,
        index_path: str | Path,
        embedding_model: str | Embedder | None = None,
        *,
        exist_ok: bool = False,
        build_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> LeannIndex:
        """Create an empty index at ``index_path`` and open it.

        ``build_options`` are :class:`~leann_engine.LeannBuilder` options (``metric``,
        ``is_recompute``, ``graph_degree``, ...) used now and by every compaction; ``kwargs``
        go to :class:`LeannIndex`. An existing index is opened when ``exist_ok`` is true.
        """
        from .builder import LeannBuilder

        path = Path(index_path)
        if (path / MANIFEST).exists():
            if not exist_ok:
                raise ValueError(f"index_path {path} already holds an index; pass exist_ok=True to open it")
            return cls(path, None if isinstance(embedding_model, str) else embedding_model, **kwargs)
        builder = LeannBuilder(embedding_model=embedding_model, **(build_options or {}))
        builder.build_index(path, allow_empty=True)
        return cls(path, builder.embedder, **kwargs)

    # ------------------------------------------------------------------ helpers

    def _latest(self) -> Snapshot:
        """The newest committed snapshot (call under the write lock)."""
        self.refresh()
        return self._snap

    def _vectors(self, texts: Sequence[str]) -> np.ndarray:
        dim = int(self._snap.manifest["dimensions"])
        vecs = embed_all(self.embedder, texts, dim, show_progress=self.show_progress, desc="embedding")
        return normalize_rows(vecs) if self._snap.metric == "cosine" else vecs

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
        counts = self._snap.manifest["counts"]
        pending = counts["delta"] + counts["deleted"]
        return bool(
            pending > 0 and pending >= max(self.compact_min_rows, self.compact_ratio * counts["base"])
        )

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
            if not m.get("calibration") and snap.base.n + int(delta["rows"]) >= MIN_PASSAGES:
                # An index grown from empty gets its hybrid calibration once it is big enough.
                delta_texts = [r["text"] for r in snap.delta.records] + texts_k
                delta_vecs = np.concatenate([snap.delta.embeddings, vectors])
                if len(delta_texts) >= MIN_PASSAGES:
                    m["calibration"] = probe_dense(self.embedder, delta_texts, delta_vecs, snap.metric)
            self._commit(snap, m)
        if self.auto_compact and self._needs_compaction():
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
        if self.auto_compact and self._needs_compaction():
            self.compact()
        return len(rows)

    def compact(self, *, is_recompute: bool | None = None) -> None:
        """Rebuild the graph over the live passages; drop tombstones and delta embeddings.

        ``is_recompute=True`` also converts an index that stores embeddings into a
        recompute-only one (LEANN's ``reindex``); ``False`` does the reverse. The base
        passages' embeddings are read from disk when stored, otherwise recomputed in batches.
        """
        with write_lock(self.path, self.lock_timeout):
            snap = self._latest()
            m = snap.manifest
            recompute = bool(m.get("is_recompute", True)) if is_recompute is None else bool(is_recompute)
            n_base = snap.base.n
            live_base = np.flatnonzero(~snap.dead[:n_base])
            live_delta = np.flatnonzero(~snap.dead[n_base:])
            base_recs = snap.base.records(live_base.tolist()) if live_base.size else []
            delta_recs = [snap.delta.records[j] for j in live_delta.tolist()]
            dim = int(m["dimensions"])
            if snap.base_embeddings is not None:
                base_vecs = np.asarray(snap.base_embeddings[live_base], dtype=np.float32)
            elif live_base.size:
                base_vecs = embed_all(
                    self.embedder,
                    [r["text"] for r in base_recs],
                    dim,
                    show_progress=self.show_progress,
                    desc="compaction: re-embedding",
                )
                if snap.metric == "cosine":
                    base_vecs = normalize_rows(base_vecs)
            else:
                base_vecs = np.zeros((0, dim), dtype=np.float32)
            vectors = np.concatenate([base_vecs, snap.delta.embeddings[live_delta]]).astype(np.float32)
            recs = base_recs + delta_recs
            params = GraphParams.from_dict(m["build"])
            write_index(
                self.path,
                ids=[r["id"] for r in recs],
                texts=[r["text"] for r in recs],
                metas=[r.get("metadata") or {} for r in recs],
                vectors=vectors,
                embedding_model=m["embedding_model"],
                dimension=dim,
                metric=m["metric"],
                params=params,
                is_recompute=recompute,
                is_compact=bool(m.get("is_compact", True)),
                previous=m,
                tokenizer=index_tokenizer(m),
                embedder=self.embedder,
            )
            self.refresh()
