"""One route to a new generation of an index, for a build, a compaction and growth from empty:

embed -> graph -> prune -> order -> codes -> keyword -> calibrate -> commit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
import numpy as np
from leann_engine.graph.csr import Graph
from leann_engine.graph.hnsw import build_hnsw
from leann_engine.graph.prune import prune_high_degree_preserving
from leann_engine.graph.prune import ensure_connected
from leann_engine.graph.order import cluster_order
from leann_engine.graph.order import relabel
from leann_engine.store.files.bm25 import encode_bm25
from leann_engine.store.files.hubs import encode_hub_file
from leann_engine.store.files.hubs import hub_rows
from leann_engine.store.codec import encode_varints
from leann_engine.store.files.graph import encode_graph
from leann_engine.params import GRAPH_SEED
from leann_engine.params import BuildParams
from leann_engine.quant.pq import codebook_size
from leann_engine.store.files.pq import encode_pq_file
from leann_engine.quant.pq import train_pq
from leann_engine.store.io import EMBEDDING_DTYPE
from leann_engine.store.io import crc_of
from leann_engine.store.records import encode_records
from leann_engine.store.io import gen_name
from leann_engine.store.io import write_file
from leann_engine.keyword.tokenize import Tokenizer
import time
from leann_engine._version import __version__
from leann_engine.keyword.bm25 import keyword_settings
from leann_engine.hybrid.calibrate import probe_dense
from leann_engine.embed.base import Embedder
from leann_engine.errors import IndexFormatError
from leann_engine.store.manifest import FORMAT
from leann_engine.store.manifest import FORMAT_VERSION
from leann_engine.store.manifest import MANIFEST
from leann_engine.store.manifest import OWN_FILE_PREFIXES
from leann_engine.store.manifest import commit_manifest
from leann_engine.store.manifest import read_manifest


def build_graph(vectors: np.ndarray, params: BuildParams) -> Graph:
    """HNSW build, pruning and connectivity repair; returns the graph in input order."""
    n = vectors.shape[0]
    if n == 0:
        return Graph(
            n=0, indptr=np.zeros(1, dtype=np.int64), indices=np.zeros(0, dtype=np.int32), entry_point=0
        )
    if n == 1:
        return Graph(
            n=1, indptr=np.zeros(2, dtype=np.int64), indices=np.zeros(0, dtype=np.int32), entry_point=0
        )
    m = max(2, params.graph_degree // 2)
    graph = build_hnsw(
        vectors,
        M=m,
        ef_construction=max(params.build_complexity, m),
        seed=GRAPH_SEED,
        num_threads=params.num_threads,
    )
    if params.pruned_degree is not None and params.pruned_degree < params.graph_degree:
        # Pruning ends with its own connectivity repair.
        return prune_high_degree_preserving(
            graph,
            vectors,
            max_degree=params.graph_degree,
            pruned_degree=params.pruned_degree,
            hub_fraction=params.hub_fraction,
        )
    return ensure_connected(graph)


def write_base(
    path: Path,
    gen: int,
    ids: list[str],
    texts: list[str],
    metas: list[dict[str, Any]],
    vectors: np.ndarray,
    params: BuildParams,
) -> tuple[dict[str, str], dict[str, int], dict[str, Any]]:
    """Write the files of a base segment; returns ``(files, checksums, graph stats)``.

    Nodes are renumbered in a locality order before writing, so the passages file, the id list,
    the keyword index (written when ``tokenizer`` is given) and the optional embeddings are all
    in graph order.
    """
    keep_embeddings, compact = not params.is_recompute, params.is_compact
    tokenizer = Tokenizer(params.stopwords) if params.keyword_index else None
    graph = build_graph(vectors, params)
    order = cluster_order(vectors, graph) if graph.n > 2 else np.arange(graph.n)
    if graph.n > 1:
        graph = relabel(graph, order)
    files = {
        "graph": gen_name("base", gen, "graph"),
        "base_data": gen_name("base", gen, "jsonl"),
        "base_offsets": gen_name("base", gen, "lens"),
        "base_ids": gen_name("base", gen, "ids.json"),
    }
    idx = order.tolist()
    data, offsets = encode_records([ids[i] for i in idx], [texts[i] for i in idx], [metas[i] for i in idx])
    write_file(path / files["graph"], encode_graph(graph, compact=compact))
    write_file(path / files["base_data"], data)
    # Record lengths as varints (about 2 bytes a passage); readers rebuild the offsets by cumsum.
    write_file(path / files["base_offsets"], encode_varints(np.diff(offsets)))
    write_file(path / files["base_ids"], json.dumps([ids[i] for i in idx], ensure_ascii=False).encode())
    if tokenizer is not None:
        files["bm25"] = gen_name("base", gen, "bm25")
        write_file(
            path / files["bm25"], encode_bm25(tokenizer.tokenize_many([texts[i] for i in idx]))
        )
    if keep_embeddings:
        files["embeddings"] = gen_name("base", gen, "f32")
        write_file(
            path / files["embeddings"], np.ascontiguousarray(vectors[order], dtype=EMBEDDING_DTYPE).tobytes()
        )
    ksub = codebook_size(graph.n)
    if params.pq_bytes and ksub:
        # Codes for the two-level search; the file carries its own CRC, like the graph.
        ordered = np.ascontiguousarray(vectors[order], dtype=np.float32)
        pq = train_pq(ordered, min(int(params.pq_bytes), ordered.shape[1]), ksub=ksub, seed=GRAPH_SEED)
        files["pq"] = gen_name("base", gen, "pq")
        write_file(path / files["pq"], encode_pq_file(pq, pq.encode(ordered)))
    if params.hub_cache_mb > 0 and graph.n:
        rows = hub_rows(graph, params.hub_cache_mb, vectors.shape[1])
        files["hubs"] = gen_name("base", gen, "hubs")
        write_file(path / files["hubs"], encode_hub_file(rows, np.asarray(vectors[order[rows]])))
    checksums = {files[k]: crc_of(path / files[k]) for k in ("base_offsets", "base_ids")}
    stats = {
        "rows": graph.n,
        "edges": graph.n_edges,
        "avg_degree": round(graph.n_edges / graph.n, 3) if graph.n else 0.0,
        "upper_levels": [int(lev.nodes.size) for lev in graph.upper],
    }
    return files, checksums, stats


def read_previous(path: Path) -> dict[str, Any] | None:
    """The manifest of the index at ``path`` that a new build replaces (``None``: none or corrupt)."""
    if not (path / MANIFEST).exists():
        return None
    try:
        return read_manifest(path)
    except IndexFormatError:
        return None  # a corrupt index is replaced by the new build


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


def write_index(
    path: Path,
    *,
    ids: list[str],
    texts: list[str],
    metas: list[dict[str, Any]],
    vectors: np.ndarray,
    embedding_model: str,
    dimension: int,
    params: BuildParams,
    previous: dict[str, Any] | None,
    embedder: Embedder | None = None,
    calibration: dict[str, Any] | None = None,
    language: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write a complete new generation (base segment, empty delta) and commit it.

    Must be called under the write lock. ``vectors`` are already in metric space. ``embedder``,
    when given and ``params.calibrate``, calibrates the hybrid fusion unless a ``calibration``
    from before is passed on (compaction keeps the one it has).
    """
    gen = int(previous["generation"]) + 1 if previous else 1
    t0 = time.perf_counter()
    files, checksums, gstats = write_base(path, gen, ids, texts, metas, vectors, params)
    if calibration is None and params.calibrate and embedder is not None:
        calibration = probe_dense(embedder, texts, vectors, params.metric)
    tokenizer = Tokenizer(params.stopwords) if params.keyword_index else None
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "library": f"leann_engine {__version__}",
        "created_at": previous.get("created_at", now) if previous else now,
        "generation": gen,
        "backend_name": "hnsw",
        "embedding_model": embedding_model,
        "dimensions": dimension,
        "metric": params.metric,
        "is_recompute": params.is_recompute,
        "is_compact": params.is_compact,
        "build": params.manifest_build(),
        "graph": gstats,
        "base": {"rows": len(ids)},
        "delta": {
            "data": gen_name("delta", gen, "jsonl"),
            "embeddings": gen_name("delta", gen, "f32"),
            "rows": 0,
            "data_bytes": 0,
            "data_crc": 0,
        },
        "keyword": keyword_settings(tokenizer) if tokenizer is not None else None,
        "calibration": calibration,
        "hybrid": {"keyword_index": params.keyword_index, "calibrate": params.calibrate},
        "files": files,
        "checksums": checksums,
        "counts": {"passages": len(ids), "base": len(ids), "delta": 0, "deleted": 0},
        "graph_build_s": round(time.perf_counter() - t0, 3),
    }
    if language is None and previous:
        language = previous.get("language")
    if language is not None:
        manifest["language"] = language
    commit_manifest(path, manifest, previous)
    return manifest
