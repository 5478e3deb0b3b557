"""Fold the delta and the tombstones into the graph without re-embedding the base.

The delta's passages were embedded once when they were added (their vectors are in the delta
file); here they get codes from the existing codebooks and are linked into the graph
(:mod:`leann_engine.graph.insert`). Deleted passages are unlinked, their neighbours repaired from
the codes, and their text, keyword postings, codes and ids are dropped while the new base files
are written by copying bytes. The codebooks are retrained only when a drift check on the new
passages says they no longer fit; the retrain re-embeds at most :data:`DRIFT_SAMPLE` passages.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from leann_engine.build.commit import Stage, base_manifest, commit_stage
from leann_engine.build.pipeline import (
    build_graph,
    quantization_error,
    scan_suffices,
    stage_segment,
)
from leann_engine.build.stream import DICT_SAMPLE
from leann_engine.embed.base import Embedder
from leann_engine.graph.csr import Graph
from leann_engine.graph.insert import GraphEditor
from leann_engine.graph.prune import ensure_connected
from leann_engine.keyword.tokenize import index_tokenizer
from leann_engine.params import GRAPH_SEED, BuildParams
from leann_engine.quant.pq import ProductQuantizer, adc_scores, codebook_size, train_pq
from leann_engine.quant.pq4 import PackedPQ, train_packed
from leann_engine.search.dense import vectors_for
from leann_engine.store.files.bm25 import FilePostings, encode_bm25
from leann_engine.store.files.bm25_merge import merge_bm25
from leann_engine.store.files.passage_merge import merge_passages
from leann_engine.store.files.passages import PassageWriter, record_line, train_dict
from leann_engine.store.snapshot import Snapshot

# Most passages a codebook retrain re-embeds (a sample of the live base).
DRIFT_SAMPLE = 2048
# Retrain when the passages coded since the last training (at least DRIFT_MIN_ROWS of them) have
# a mean quantization error above the codebooks' own on their training set by this factor, or
# when the index has grown enough for twice as many centroids per subspace. Held-out rows score
# somewhat worse than training rows even without drift, hence the margin.
DRIFT_RATIO = 1.5
DRIFT_MIN_ROWS = 256


def can_merge(snap: Snapshot) -> bool:
    """Whether the base's vectors are known without re-embedding it (stored or coded)."""
    return snap.base.n > 0 and (snap.base_embeddings is not None or snap.pq is not None)


class _Approx:
    """Base rows' vectors: stored, or rebuilt from the codes one row at a time and kept.

    A code's vector is read through the quantizer's ADC tables of the unit vectors (coordinate
    ``d`` of a row is its ADC score against ``e_d``), so any quantizer with ``table`` and
    ``adc_scores`` works, whatever its code layout.
    """

    def __init__(self, snap: Snapshot) -> None:
        self.stored = snap.base_embeddings
        self.dim = snap.dimension
        if self.stored is None:
            pq, self.codes = snap.pq
            self.unit = np.stack([pq.table(e) for e in np.eye(self.dim, dtype=np.float32)])
            self.cache = np.zeros((snap.base.n, self.dim), dtype=np.float32)
            self.have = np.zeros(snap.base.n, dtype=bool)

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        if self.stored is not None:
            return np.asarray(self.stored[rows], dtype=np.float32)
        need = np.unique(rows[~self.have[rows]])
        if need.size:
            c = self.codes[need].astype(np.intp)  # (r, m)
            m = np.arange(c.shape[1])
            self.cache[need] = self.unit[:, m[None, :], c].sum(axis=2).T
            self.have[need] = True
        return self.cache[rows]


def _retrain(
    snap: Snapshot, pq: ProductQuantizer, approx: _Approx, live: np.ndarray, new: np.ndarray, embedder: Embedder
) -> tuple[ProductQuantizer, np.ndarray, float, int]:
    """New codebooks from a sample of at most DRIFT_SAMPLE live base rows (their exact vectors)
    plus the new passages; returns them, the live base rows' new codes, the new baseline error
    and how many passages were re-embedded."""
    rng = np.random.default_rng(GRAPH_SEED)
    sample = np.sort(rng.choice(live, size=min(DRIFT_SAMPLE, live.size), replace=False))
    exact = vectors_for(snap, sample.tolist(), embedder)
    train = np.concatenate([exact, new]) if new.size else exact
    ksub = max(pq.ksub, codebook_size(live.size + new.shape[0]))
    if isinstance(pq, PackedPQ):  # same code size, rotation and error margin, new centroids
        fresh = train_packed(train, pq.m, seed=pq.seed)
        fresh.margin = pq.margin
    else:
        fresh = train_pq(train, pq.m, ksub=ksub, seed=GRAPH_SEED)
    # Rows outside the sample are re-coded from their old codes' vectors (no embedding).
    base = approx(live)
    pos = np.searchsorted(live, sample)
    base[pos] = exact
    codes = fresh.encode(base)
    re_embedded = 0 if snap.base_embeddings is not None else int(sample.size)
    return fresh, codes, quantization_error(fresh, train, fresh.encode(train)), re_embedded


def merge_generation(
    snap: Snapshot, embedder: Embedder, params: BuildParams, *, lock_timeout: float = 60.0, locked: bool = False
) -> dict[str, Any]:
    """Write and commit the next generation of ``snap`` with the delta linked into the graph and
    deleted passages removed; commits only if the index is still at ``snap``'s generation."""
    m = snap.manifest
    n_base = snap.base.n
    dead = snap.dead[:n_base]
    live = np.flatnonzero(~dead)
    new_rows = np.flatnonzero(~snap.dead[n_base:])
    new = np.ascontiguousarray(snap.delta.embeddings[new_rows], dtype=np.float32)
    approx = _Approx(snap)
    info = dict(m.get("quantizer") or {})
    pq_codes = snap.pq
    stats: dict[str, Any] = {"inserted": int(new_rows.size), "deleted": int(dead.sum()), "re_embedded": 0}
    if pq_codes is not None:
        pq, codes = pq_codes
        new_codes = pq.encode(new) if new.size else np.zeros((0, pq.m), dtype=np.uint8)
        err = quantization_error(pq, new, new_codes) if new.size else 0.0
        base_err = float(info.get("error") or err)  # an older index: the first merge sets it
        seen = int(info.get("coded_since", 0)) + int(new.shape[0])
        err_sum = float(info.get("error_sum_since", 0.0)) + err * new.shape[0]
        grown = codebook_size(live.size + new.shape[0]) >= 2 * pq.ksub
        drifted = seen >= DRIFT_MIN_ROWS and err_sum / seen > DRIFT_RATIO * base_err
        info.update(coded_since=seen, error_sum_since=round(err_sum, 6))
        if grown or drifted:
            pq, live_codes, base_err, stats["re_embedded"] = _retrain(snap, pq, approx, live, new, embedder)
            new_codes = pq.encode(new) if new.size else new_codes[:, :0]
            stats["retrained"] = True
            info.update(coded_since=0, error_sum_since=0.0)
        else:
            live_codes = codes[live]
        info["error"] = round(base_err, 6)

    def score_fn(x: np.ndarray):
        table = pq_codes[0].table(x) if (snap.base_embeddings is None and pq_codes is not None) else None

        def score(rows: np.ndarray) -> np.ndarray:
            out = np.empty(rows.size, dtype=np.float32)
            old = rows < n_base
            if old.any():
                r = rows[old]
                out[old] = adc_scores(table, pq_codes[1][r]) if table is not None else approx(r) @ x
            if (~old).any():
                out[~old] = new[rows[~old] - n_base] @ x
            return out

        return score

    def vectors(rows: np.ndarray) -> np.ndarray:
        out = np.empty((rows.size, snap.dimension), dtype=np.float32)
        old = rows < n_base
        if old.any():
            out[old] = approx(rows[old])
        if (~old).any():
            out[~old] = new[rows[~old] - n_base]
        return out

    keep = np.concatenate([~dead, np.ones(new.shape[0], dtype=bool)])
    if not snap.has_graph:
        graph, new_id = _scan_base(snap, params, approx, live, new, keep)
        return _stage_and_commit(snap, params, graph, new_id, live, new_rows, new, stats, info, (lock_timeout, locked),
                                 (pq, np.concatenate([live_codes, new_codes])) if pq_codes is not None else None)
    editor = GraphEditor(
        snap.graph,
        vectors,
        max_degree=params.graph_degree,
        pruned_degree=params.pruned_degree or params.graph_degree,
        hub_fraction=params.hub_fraction,
    )
    editor.delete(dead)
    for x in new:
        editor.insert(x, score_fn(x))
    graph, new_id = editor.to_graph(keep)
    graph = ensure_connected(graph)
    return _stage_and_commit(snap, params, graph, new_id, live, new_rows, new, stats, info, (lock_timeout, locked),
                             (pq, np.concatenate([live_codes, new_codes])) if pq_codes is not None else None)


def _scan_base(
    snap: Snapshot, params: BuildParams, approx: _Approx, live: np.ndarray, new: np.ndarray, keep: np.ndarray
) -> tuple[Graph | None, np.ndarray]:
    """The merged base of an index stored without a graph: still none while a scan suffices,
    else a graph built on the codes' vectors (and the new passages' own); and ``new_id``."""
    new_id = np.full(keep.size, -1, dtype=np.int64)
    new_id[keep] = np.arange(int(keep.sum()))
    if scan_suffices(int(keep.sum()), params):
        return None, new_id
    vectors = np.concatenate([approx(live), new]) if new.size else approx(live)
    return build_graph(vectors, params), new_id


def _stage_passages(stage: Stage, snap: Snapshot, live: np.ndarray, recs: list[dict[str, Any]]) -> None:
    """The merged passage blocks and table: the kept base rows in order, then ``recs``; untouched
    blocks are copied as bytes (:func:`merge_passages`)."""
    new_lines = [record_line(r["text"], r.get("metadata") or {}) for r in recs]
    new_ids = [r["id"] for r in recs]
    with stage.stream("base_blocks", "pz") as f:
        if snap.base.blocks is not None:
            keep = np.zeros(snap.base.n, dtype=bool)
            keep[live] = True
            table = merge_passages(snap.base.blocks, keep, new_lines, new_ids, f)
        else:  # an index of format 1 (JSON lines): its passages go into blocks once
            old = snap.base.records(live.tolist())
            lines = [record_line(r["text"], r.get("metadata") or {}) for r in old] + new_lines
            writer = PassageWriter(f, train_dict(lines[:: max(1, len(lines) // DICT_SAMPLE)]))
            writer.add(lines)
            table = writer.finish([r["id"] for r in old] + new_ids)
    stage.write("base_table", "pzt", table)


def _stage_and_commit(snap, params, graph, new_id, live, new_rows, new, stats, info, lock, pq):
    m = snap.manifest
    n_base = snap.base.n
    recs = [snap.delta.records[j] for j in new_rows.tolist()]
    n_rows = int(live.size) + len(recs)
    bm25 = None
    if params.keyword_index:
        tok = index_tokenizer(m)
        new_docs = tok.tokenize_many([r["text"] for r in recs])
        name = m["files"].get("bm25")
        if name:
            bm25 = merge_bm25(FilePostings(snap.path / name), new_id[:n_base], new_docs)
        else:  # made before keyword indexes: tokenize the kept base once
            bm25 = encode_bm25(tok.tokenize_many(snap.texts(live.tolist())) + new_docs)
    stored = None
    if not params.is_recompute and snap.base_embeddings is not None:
        stored = np.concatenate([np.asarray(snap.base_embeddings[live], dtype=np.float32), new])
    hubs = None
    if snap.hubs is not None:
        rows, vecs = snap.hubs
        keep = new_id[rows] >= 0
        hubs = (new_id[rows[keep]], vecs[keep])
    stage = Stage(snap.path)
    try:
        _stage_passages(stage, snap, live, recs)
        gstats = stage_segment(stage, n_rows, graph, params=params, vectors=stored, pq=pq, bm25=bm25, hubs=hubs)
    except BaseException:
        stage.discard()
        raise
    carry = {k: m.get(k) for k in ("keyword", "calibration", "hybrid")}

    def make(gen, previous, files, checksums):
        out = base_manifest(gen=gen, previous=previous, params=params, embedding_model=m["embedding_model"],
                            dimension=snap.dimension, rows=n_rows, files=files, checksums=checksums,
                            extra={**carry, "graph": gstats, "quantizer": info or None})
        out["last_merge"] = stats
        return out

    return commit_stage(stage, expect=int(m["generation"]), lock_timeout=lock[0], make_manifest=make, locked=lock[1])
