"""Search parameters against recall and recomputation (the README's "Search parameters" table).

    python -m benchmarks.bench_params [--index PATH] [--chunks 20000] [--queries 200]

Builds the default index (32-byte PQ codes) over bench_engine's corpus from the cached vectors,
or reuses ``--index`` (e.g. one ``bench_speed --workdir`` left), and sweeps ``complexity`` x
``prune_ratio`` x ``pruning_strategy``, plus the exact walk, with the look-up scorer of
bench_engine (the counts and the walk are the engine's own). Writes
``benchmarks/results/params.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.bench_engine import LookupEmbedder, pct, recall, truth_ids  # noqa: E402
from benchmarks.corpus import load_corpus  # noqa: E402
from benchmarks.embed_cache import cached_embeddings  # noqa: E402
from leann_engine import (  # noqa: E402
    DEFAULT_MODEL,
    LeannBuilder,
    LeannSearcher,
    SentenceTransformerEmbedder,
    to_metric_space,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", default=None)
    ap.add_argument("--chunks", type=int, default=20000)
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()
    chunks_all, metas_all, queries = load_corpus(args.chunks + max(1, args.chunks // 10), args.queries)
    base_idx = np.sort(np.random.default_rng(1).permutation(len(chunks_all))[: args.chunks])
    ids = [f"c{i}" for i in base_idx]
    X_all, _ = cached_embeddings(chunks_all)
    real = SentenceTransformerEmbedder(DEFAULT_MODEL)
    Q_raw = real.embed(queries)
    truth = truth_ids(to_metric_space(Q_raw, "cosine"), to_metric_space(X_all[base_idx], "cosine"), ids)
    lookup = LookupEmbedder(real, chunks_all + queries, np.concatenate([X_all, Q_raw]))
    path = Path(args.index) if args.index else Path(tempfile.mkdtemp()) / "p.leann"
    if not path.exists():
        b = LeannBuilder(embedding_model=lookup)
        b.add_texts([chunks_all[i] for i in base_idx], [metas_all[i] for i in base_idx], ids)
        b.build_index(path)
    s = LeannSearcher(path, lookup, embedding_cache_mb=0)
    grid = [(c, 0.0, "global") for c in (32, 64)]
    grid += [(c, p, "global") for c in (16, 24, 32, 48, 64, 96) for p in (0.5, 0.75, 0.8, 0.9)]
    grid += [(c, p, "local") for c in (32, 64) for p in (0.5, 0.75)]
    rows = []
    for c, p, strategy in grid:
        found, rec = [], []
        for q in queries:
            res = s.search(q, top_k=10, complexity=c, prune_ratio=p, pruning_strategy=strategy)
            found.append([r.id for r in res])
            rec.append(res.stats.recomputed)
        row = {
            "complexity": c,
            "prune_ratio": p,
            "pruning_strategy": strategy,
            "recall@3": round(recall(found, truth, 3), 4),
            "recall@10": round(recall(found, truth, 10), 4),
            "recomputed_median": float(np.median(rec)),
            "recomputed_p95": pct(rec, 95),
        }
        rows.append(row)
        print(row, flush=True)
    out = Path(__file__).resolve().parent / "results" / "params.json"
    out.write_text(json.dumps({"chunks": args.chunks, "queries": len(queries), "rows": rows}, indent=1))
    print("\n| complexity | prune_ratio | strategy | recall@3 | recall@10 | re-embedded / query (median) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['complexity']} | {r['prune_ratio']} | {r['pruning_strategy']} | {r['recall@3']:.3f} | "
            f"{r['recall@10']:.3f} | {r['recomputed_median']:.0f} |"
        )


if __name__ == "__main__":
    main()
