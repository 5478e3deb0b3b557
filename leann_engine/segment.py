"""Write a base segment: graph over the vectors, passages in graph order, optional embeddings.

Shared by a fresh build and by compaction, which is a build over the live passages.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from . import graph as G
from .bm25 import encode_bm25
from .cache import encode_hub_file, hub_rows
from .codec import encode_varints
from .graphfile import encode_graph
from .params import GRAPH_SEED, BuildParams
from .pq import codebook_size, encode_pq_file, train_pq
from .storage import EMBEDDING_DTYPE, crc_of, encode_records, gen_name, write_file
from .tokenize import Tokenizer


def build_graph(vectors: np.ndarray, params: BuildParams) -> G.Graph:
    """HNSW build, pruning and connectivity repair; returns the graph in input order."""
    n = vectors.shape[0]
    if n == 0:
        return G.Graph(
            n=0, indptr=np.zeros(1, dtype=np.int64), indices=np.zeros(0, dtype=np.int32), entry_point=0
        )
    if n == 1:
        return G.Graph(
            n=1, indptr=np.zeros(2, dtype=np.int64), indices=np.zeros(0, dtype=np.int32), entry_point=0
        )
    m = max(2, params.graph_degree // 2)
    graph = G.build_hnsw(
        vectors,
        M=m,
        ef_construction=max(params.build_complexity, m),
        seed=GRAPH_SEED,
        num_threads=params.num_threads,
    )
    if params.pruned_degree is not None and params.pruned_degree < params.graph_degree:
        # Pruning ends with its own connectivity repair.
        return G.prune_high_degree_preserving(
            graph,
            vectors,
            max_degree=params.graph_degree,
            pruned_degree=params.pruned_degree,
            hub_fraction=params.hub_fraction,
        )
    return G.ensure_connected(graph)


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
    order = G.cluster_order(vectors, graph) if graph.n > 2 else np.arange(graph.n)
    if graph.n > 1:
        graph = G.relabel(graph, order)
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
            path / files["bm25"], encode_bm25(tokenizer.tokenize_many([texts[i] for i in idx]), tokenizer)
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
