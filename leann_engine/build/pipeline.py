"""One route to a new generation of an index, for a build, growth from empty and a full compaction:

embed -> graph -> prune -> order -> codes -> keyword -> calibrate -> commit.

Every arrow is one call in :func:`build_generation`. All but the commit run without the write
lock, into a stage folder (:mod:`leann_engine.build.commit`); the commit checks that the index is
still at the generation the work started from. An update that links passages into the existing
graph instead (:mod:`leann_engine.build.merge`) ends in the same commit.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from leann_engine.build.commit import Stage, base_manifest, commit_stage
from leann_engine.build.spool import Batch, VectorFile
from leann_engine.build.stream import (
    MIN_CODED_ROWS,
    LazyTexts,
    PassageSource,
    embed_into,
    stage_texts,
    stage_vectors,
)
from leann_engine.build.stream import codes as stream_codes
from leann_engine.embed.base import Embedder
from leann_engine.graph.csr import Graph, edgeless
from leann_engine.graph.hnsw import build_hnsw
from leann_engine.graph.order import cluster_order, relabel
from leann_engine.graph.prune import (
    ensure_connected,
    finish_pruned,
    prune_high_degree_preserving,
    select_pruned,
)
from leann_engine.hybrid.calibrate import probe_dense
from leann_engine.keyword.bm25 import keyword_settings
from leann_engine.keyword.tokenize import Tokenizer
from leann_engine.params import GRAPH_SEED, BuildParams
from leann_engine.quant.pq import ProductQuantizer
from leann_engine.quant.pq4 import PackedPQ
from leann_engine.search.dense import SCAN_BYTES
from leann_engine.store.files.graph import encode_graph
from leann_engine.store.files.hubs import encode_hub_file, hub_rows
from leann_engine.store.files.passages import encode_passages
from leann_engine.store.files.pq import encode_pq_file
from leann_engine.store.io import EMBEDDING_DTYPE
from leann_engine.store.manifest import MANIFEST, OWN_FILE_PREFIXES


@dataclass
class Passages:
    """The passages of a generation: ids, texts and metadata, one entry per passage."""

    ids: list[str]
    texts: list[str]
    metas: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.metas:
            self.metas = [{} for _ in self.ids]
        if not len(self.ids) == len(self.texts) == len(self.metas):
            raise ValueError(
                f"passages need as many ids as texts and metadata, got {len(self.ids)}, "
                f"{len(self.texts)} and {len(self.metas)}"
            )

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, idx: list[int]) -> Passages:
        return Passages(*self.rows(idx))

    def rows(self, idx: Sequence[int]) -> Batch:
        """``(ids, texts, metas)`` of the given rows, in that order."""
        return [self.ids[i] for i in idx], [self.texts[i] for i in idx], [self.metas[i] for i in idx]

    def batches(self, size: int = 4096) -> Iterator[Batch]:
        """``(ids, texts, metas)`` of consecutive rows, ``size`` at a time."""
        for s in range(0, len(self), size):
            yield self.ids[s : s + size], self.texts[s : s + size], self.metas[s : s + size]


def build_graph(vectors: np.ndarray | VectorFile, params: BuildParams, scratch: Path | None = None) -> Graph:
    """HNSW build, pruning and connectivity repair; returns the graph in input order.

    ``vectors``: an array, or a :class:`~leann_engine.build.spool.VectorFile` (read in
    batches, memory-mapped for the pruning). ``scratch``: a folder for hnswlib's saved index."""
    n = vectors.n if isinstance(vectors, VectorFile) else vectors.shape[0]
    if n <= 1:
        return Graph(n=n, indptr=np.zeros(n + 1, dtype=np.int64), indices=np.zeros(0, dtype=np.int32), entry_point=0)
    m = max(2, params.graph_degree // 2)
    graph = build_hnsw(
        vectors,
        M=m,
        ef_construction=max(params.build_complexity, m),
        seed=GRAPH_SEED,
        num_threads=params.num_threads,
        scratch=scratch,
    )
    if isinstance(vectors, VectorFile):
        if not _prunes(params):
            return ensure_connected(graph)
        with vectors.mapped() as x:  # mapped only while lists are chosen; the repair needs no vectors
            kept = select_pruned(graph, x, **_prune_args(params))
        return finish_pruned(graph, *kept, int(params.graph_degree))
    return prune(graph, vectors, params)


def _prunes(params: BuildParams) -> bool:
    return params.pruned_degree is not None and params.pruned_degree < params.graph_degree


def _prune_args(params: BuildParams) -> dict[str, Any]:
    return {
        "max_degree": params.graph_degree,
        "pruned_degree": params.pruned_degree,
        "hub_fraction": params.hub_fraction,
    }


def prune(graph: Graph, vectors: np.ndarray, params: BuildParams) -> Graph:
    """High-degree-preserving pruning (it ends with its own connectivity repair)."""
    if _prunes(params):
        return prune_high_degree_preserving(graph, vectors, **_prune_args(params))
    return ensure_connected(graph)


def scan_suffices(rows: int, params: BuildParams) -> bool:
    """Whether the base needs no graph: a search scans codes this small faster than it walks
    (:data:`~leann_engine.search.dense.SCAN_BYTES`), so the graph (1-2% of flat) is not stored.
    Indexes that keep embeddings or a hub cache keep their graph."""
    return bool(
        params.is_recompute and params.pq_bytes and not params.hub_cache_mb
        and MIN_CODED_ROWS <= rows and rows * params.pq_bytes <= SCAN_BYTES
    )


def order(graph: Graph, vectors: np.ndarray | VectorFile) -> tuple[Graph, np.ndarray]:
    """Renumber nodes in a locality order; returns the graph and ``order[new] = old``.

    A :class:`~leann_engine.build.spool.VectorFile` is read without a map (blocks and runs of
    rows), so its pages never join the resident set."""
    if isinstance(vectors, VectorFile):
        perm = cluster_order(vectors.reader(), graph) if graph.n > 2 else np.arange(graph.n)  # type: ignore[arg-type]
    else:
        perm = cluster_order(vectors, graph) if graph.n > 2 else np.arange(graph.n)
    return (relabel(graph, perm) if graph.n > 1 else graph), perm


def quantization_error(pq: ProductQuantizer | PackedPQ, x: np.ndarray, c: np.ndarray, sample: int = 2048) -> float:
    """Mean of ``1 - <x, x'>/|x|^2`` over up to ``sample`` rows, where ``<x, x'>`` is the ADC
    score of ``x`` against its own code (0 for a perfect code)."""
    from leann_engine.quant.pq import adc_scores

    idx = np.linspace(0, x.shape[0] - 1, min(sample, x.shape[0])).astype(np.int64) if x.shape[0] else []
    errs = []
    for i in idx:
        norm = float(x[i] @ x[i]) or 1.0
        errs.append(1.0 - float(adc_scores(pq.table(x[i]), c[i : i + 1])[0]) / norm)
    return float(np.mean(errs)) if errs else 0.0


def stage_segment(
    stage: Stage,
    passages: Passages | int,
    graph: Graph | None,
    *,
    params: BuildParams,
    vectors: np.ndarray | None,
    pq: tuple[ProductQuantizer | PackedPQ, np.ndarray] | None,
    bm25: bytes | None,
    hubs: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Write a base segment's files (all in graph order) into ``stage``; returns graph stats.
    ``graph`` ``None``: the base is scanned, no graph file (format 3).

    ``passages``: encoded here, or the row count when the passage blocks and table are already
    in the stage (a merge copies them blockwise). ``vectors`` are stored when the index keeps
    embeddings; ``hubs`` (rows, vectors) default to the hub cache chosen from the graph.
    """
    if isinstance(passages, Passages):
        blocks, table = encode_passages(passages.ids, passages.texts, passages.metas)
        # Each block has its CRC in the table, the table its own.
        stage.write("base_blocks", "pz", blocks)
        stage.write("base_table", "pzt", table)
    rows = len(passages) if isinstance(passages, Passages) else int(passages)
    if graph is not None:
        stage.write("graph", "graph", encode_graph(graph, compact=params.is_compact))
    if bm25 is not None:
        stage.write("bm25", "bm25", bm25)
    if not params.is_recompute and vectors is not None:
        stage.write("embeddings", "f32", np.ascontiguousarray(vectors, dtype=EMBEDDING_DTYPE).tobytes())
    if pq is not None:
        stage.write("pq", "pq", encode_pq_file(*pq))
    if graph is None:
        return {"rows": rows, "edges": 0, "avg_degree": 0.0, "upper_levels": [], "scan": True}
    if hubs is None and params.hub_cache_mb > 0 and graph.n and vectors is not None:
        rows = hub_rows(graph, params.hub_cache_mb, vectors.shape[1])
        hubs = (rows, np.asarray(vectors[rows]))
    if hubs is not None and hubs[0].size:
        stage.write("hubs", "hubs", encode_hub_file(*hubs))
    return graph_stats(graph)


def commit(
    path: Path,
    stage: Stage,
    *,
    params: BuildParams,
    embedding_model: str,
    dimension: int,
    rows: int,
    extra: dict[str, Any],
    expect: int | None,
    lock_timeout: float,
    locked: bool = False,
) -> dict[str, Any]:
    """Publish a staged base segment (with an empty delta) as the next generation."""

    def make(gen: int, previous: dict[str, Any] | None, files: dict[str, str], checksums: dict[str, int]):
        return base_manifest(
            gen=gen,
            previous=previous,
            params=params,
            embedding_model=embedding_model,
            dimension=dimension,
            rows=rows,
            files=files,
            checksums=checksums,
            extra=extra,
        )

    return commit_stage(stage, expect=expect, lock_timeout=lock_timeout, make_manifest=make, locked=locked)


def build_generation(
    passages: PassageSource,
    embedder: Embedder | None,
    params: BuildParams,
    *,
    path: Path,
    vectors: np.ndarray | None = None,
    calibration: dict[str, Any] | None = None,
    embedding_model: str | None = None,
    dimension: int | None = None,
    expect: int | None = None,
    lock_timeout: float = 60.0,
    locked: bool = False,
    show_progress: bool = False,
    embedding: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build and commit a complete new generation (base segment, empty delta) of ``passages``.

    ``vectors`` (metric space, one per passage) skip the embed arrow; ``calibration`` from an
    earlier generation skips the calibrate arrow. ``expect``: the generation this one replaces
    (a changed index raises :class:`~leann_engine.build.commit.GenerationChanged`); ``None``
    replaces whatever is there. ``embedding``: the manifest's provider and prompt-template
    section (the previous generation's when not given). Returns the committed manifest.
    """
    if vectors is None and embedder is None:
        raise ValueError("build_generation needs an embedder or the passages' vectors")
    name = embedding_model or (embedder.name if embedder is not None else None)
    if dimension is not None:
        dim = int(dimension)
    else:
        dim = int(vectors.shape[1] if vectors is not None else embedder.dimension)  # type: ignore[union-attr]
    stage = Stage(path)
    vf = VectorFile(stage.dir / "vectors.tmp", len(passages), dim)
    try:
        extra = _stage_generation(stage, vf, passages, embedder, params, vectors, calibration, show_progress)
    except BaseException:
        stage.discard()
        raise
    finally:
        vf.remove()
    if embedding:
        extra["embedding"] = embedding
    return commit(
        path, stage, params=params, embedding_model=str(name), dimension=dim, rows=len(passages),
        extra=extra, expect=expect, lock_timeout=lock_timeout, locked=locked,
    )


def _stage_generation(
    stage: Stage,
    vf: VectorFile,
    passages: PassageSource,
    embedder: Embedder | None,
    params: BuildParams,
    vectors: np.ndarray | None,
    calibration: dict[str, Any] | None,
    show_progress: bool,
) -> dict[str, Any]:
    """Every arrow before the commit, each timed; returns the manifest's extra sections."""
    clock = _Clock()
    if vectors is None:
        assert embedder is not None
        embed_into(vf, passages, embedder, params, show_progress=show_progress)
    else:
        vf.write(0, vectors)
    clock.lap("embed")
    scan = scan_suffices(len(passages), params)
    graph = edgeless(len(passages)) if scan else build_graph(vf, params, scratch=stage.dir)
    clock.lap("graph")
    graph, perm = order(graph, vf)
    clock.lap("order")
    pq = stream_codes(vf, perm, params)
    clock.lap("codes")
    if calibration is None and params.calibrate and embedder is not None:
        calibration = _calibrate(vf, passages, embedder, params)
    clock.lap("calibrate")
    if not scan:  # a scanned base stores no graph
        stage.write("graph", "graph", encode_graph(graph, compact=params.is_compact))
    bm25 = stage_texts(stage, passages, perm, params)
    if bm25 is not None:
        stage.write("bm25", "bm25", bm25)
    del bm25
    if pq is not None:
        stage.write("pq", "pq", encode_pq_file(pq[0], pq[1]))
    stage_vectors(stage, vf, perm, graph, params)
    clock.lap("write")
    stats = {**graph_stats(graph), "scan": True} if scan else graph_stats(graph)
    if pq is not None and getattr(pq[0], "chosen", None):
        stats["codes"] = pq[0].chosen
    tokenizer = Tokenizer(params.stopwords) if params.keyword_index else None
    return {
        "graph": stats,
        "keyword": keyword_settings(tokenizer) if tokenizer is not None else None,
        "calibration": calibration,
        "hybrid": {"keyword_index": params.keyword_index, "calibrate": params.calibrate},
        "quantizer": {"error": round(pq[2], 6)} if pq else None,
        "graph_build_s": round(clock.total - clock.laps["embed"], 3),
        "build_seconds": {k: round(v, 3) for k, v in clock.laps.items()},
    }


def _calibrate(vf: VectorFile, passages: PassageSource, embedder: Embedder, params: BuildParams) -> Any:
    # Read in blocks, not mapped: a pass over a map would hold the whole file resident.
    return probe_dense(embedder, LazyTexts(passages), vf.reader(), params.metric)  # type: ignore[arg-type]


class _Clock:
    def __init__(self) -> None:
        self.t = time.perf_counter()
        self.total = 0.0
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = now - self.t
        self.total += now - self.t
        self.t = now


def graph_stats(graph: Graph) -> dict[str, Any]:
    return {
        "rows": graph.n,
        "edges": graph.n_edges,
        "avg_degree": round(graph.n_edges / graph.n, 3) if graph.n else 0.0,
        "upper_levels": [int(lev.nodes.size) for lev in graph.upper],
    }


def prepare_target(path: Path) -> None:
    """Create ``path`` for a new index, or check that it holds an index to replace.

    A folder that holds other files and no index is refused rather than written into.
    """
    if path.exists() and not path.is_dir():
        raise ValueError(f"index_path {path} is a file; give a folder path (e.g. 'demo.leann')")
    if path.exists():
        if (path / MANIFEST).exists():
            return
        strays = [p.name for p in path.iterdir() if not p.name.startswith(OWN_FILE_PREFIXES)]
        if strays:
            raise ValueError(
                f"index_path {path} is a folder with other files ({', '.join(sorted(strays)[:3])}...) "
                "and no index: choose an empty or new folder"
            )
        return
    path.mkdir(parents=True)
