"""Pruning and node-order ablation: graph bytes against recall and recomputations.

    python -m benchmarks.bench_pruning [--chunks 20000] [--queries 200]

Builds graphs over the real MiniLM vectors of the kernel-documentation corpus (embedded once and
cached by ``embed_cache``) with and without high-degree-preserving pruning, and with nodes
numbered at random, breadth-first, or by the two-level k-means order the engine uses. For each
it prints the coded graph size as a share of a flat float32 index, and recall@3 / recall@10
against brute force with the number of nodes scored (= embeddings recomputed) per query at
complexity 32 and 64. Counts and bytes do not depend on the machine's speed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks.corpus import load_corpus  # noqa: E402
from benchmarks.embed_cache import cached_embeddings  # noqa: E402
from leann_engine import BuildParams, SentenceTransformerEmbedder, to_metric_space  # noqa: E402
from leann_engine import graph as G  # noqa: E402
from leann_engine.build.pipeline import build_graph  # noqa: E402
from leann_engine.graph.walk import beam_search  # noqa: E402
from leann_engine.store.files.graph import encode_graph  # noqa: E402


def evaluate(graph: G.Graph, x: np.ndarray, q: np.ndarray, truth: np.ndarray, ef: int) -> dict:
    r3 = r10 = 0.0
    scored = []
    for i in range(len(q)):
        res, n = beam_search(graph, lambda ids, qi=q[i]: x[ids] @ qi, ef=max(ef, 10))
        ids = [node for _, node in res]
        r3 += len(set(ids[:3]) & set(truth[i, :3].tolist())) / 3
        r10 += len(set(ids[:10]) & set(truth[i, :10].tolist())) / 10
        scored.append(n)
    return {
        "recall@3": round(r3 / len(q), 4),
        "recall@10": round(r10 / len(q), 4),
        "recomputed_median": float(np.median(scored)),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunks", type=int, default=20000)
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()
    chunks, _, queries = load_corpus(args.chunks, args.queries)
    x = to_metric_space(cached_embeddings(chunks)[0], "cosine")
    q = to_metric_space(SentenceTransformerEmbedder().embed(queries), "cosine")
    truth = np.argsort(-(q @ x.T), axis=1)[:, :10]
    flat = x.shape[0] * x.shape[1] * 4
    rows = []
    for pruned in (None, 16, 12, 8):
        graph = build_graph(x, BuildParams(pruned_degree=pruned))
        rng_order = np.random.default_rng(0).permutation(graph.n)
        sizes = {
            "random order": len(encode_graph(G.relabel(graph, rng_order))),
            "bfs order": len(encode_graph(G.relabel(graph, G.locality_order(graph)))),
            "k-means order": len(encode_graph(G.relabel(graph, G.cluster_order(x, graph)))),
            "plain int32": len(encode_graph(graph, compact=False)),
        }
        row = {
            "pruned_degree": pruned,
            "avg_degree": round(graph.n_edges / graph.n, 2),
            "graph_pct_of_flat": {k: round(100 * v / flat, 3) for k, v in sizes.items()},
            "complexity_32": evaluate(graph, x, q, truth, 32),
            "complexity_64": evaluate(graph, x, q, truth, 64),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "pruning.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
