"""Engine benchmark on real text with the real model: size, recall, recomputation, latency, updates.

    python -m benchmarks.bench_engine [--chunks 20000] [--queries 200] [--latency-queries 20]

Prints one report and writes it as JSON to ``benchmarks/results/engine.json``. Figures:

* index size on disk by file, against a FAISS ``IndexFlatIP`` of the same float32 vectors;
* recall@3 / recall@10 against exact brute force with the same model, at the default complexity
  (and at 32 for comparison), with the embeddings recomputed per query (median, p95);
* warm query latency p50/p95 and the first query of a new process, with the real model;
* build throughput against embedding alone, measured in the same run;
* recall after adding 10% more passages and deleting 5%, before and after compaction.

Recall over all queries is measured with a scorer that looks passage vectors up in the corpus
matrix this run embedded with the same model, so the 200-query sweep takes seconds, not the hour
that 200 x ~900 CPU re-embeddings would. The walk, the queue and the counts are the engine's own;
only where a passage vector comes from differs. The latency queries run the real recomputation
and the report shows how many of their top-10 ids agree with the looked-up run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.corpus import load_corpus  # noqa: E402
from benchmarks.embed_cache import cached_embeddings  # noqa: E402
from leann_engine import (  # noqa: E402
    DEFAULT_MODEL,
    LeannBuilder,
    LeannIndex,
    LeannSearcher,
    SentenceTransformerEmbedder,
    disk_usage,
    to_metric_space,
)


class LookupEmbedder:
    """Returns the vectors this run already computed with the real model, by text."""

    def __init__(self, real, texts: list[str], matrix: np.ndarray) -> None:
        self.name = real.name
        self.dimension = real.dimension
        self._real = real
        self._row = {t: i for i, t in enumerate(texts)}
        self._m = matrix
        self.calls = 0

    def embed(self, texts):
        self.calls += len(texts)
        rows = [self._row.get(t) for t in texts]
        if any(r is None for r in rows):
            return self._real.embed(texts)
        return self._m[rows]


def pct(a, q):
    return float(np.percentile(np.asarray(a, dtype=float), q))


def recall(found: list[list[str]], truth: list[list[str]], k: int) -> float:
    return float(np.mean([len(set(f[:k]) & set(t[:k])) / k for f, t in zip(found, truth)]))


def truth_ids(Q: np.ndarray, X: np.ndarray, ids: list[str], k: int = 10) -> list[list[str]]:
    sims = Q @ X.T
    top = np.argsort(-sims, axis=1)[:, :k]
    return [[ids[j] for j in row] for row in top]


def run_queries(searcher, queries, complexity, k=10, stats_out=None):
    found, recomputed, visited, lat = [], [], [], []
    for q in queries:
        t = time.perf_counter()
        res = searcher.search(q, top_k=k, complexity=complexity)
        lat.append(time.perf_counter() - t)
        found.append([r.id for r in res])
        recomputed.append(res.stats.recomputed)
        visited.append(res.stats.visited)
        if stats_out is not None:
            stats_out.append(res.stats)
    return found, recomputed, visited, lat


TEXT_PARTS = ("passages",)  # text, metadata, offsets and ids: what any store keeps


def dir_breakdown(path: Path) -> dict[str, int]:
    """Bytes per part of the current generation (older generations kept for readers excluded)."""
    use = disk_usage(path)
    parts = ("graph", "codes", "hubs", "keyword", "passages", "embeddings", "other")
    return {part: getattr(use, part) for part in parts}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chunks", type=int, default=20000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--latency-queries", type=int, default=20)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--reuse-build-embeddings", action="store_true",
                    help="build from the cached corpus vectors instead of embedding again (quick runs)")
    ap.add_argument("--real-updates", action="store_true",
                    help="embed added passages and re-embed the base at compaction with the real model")
    args = ap.parse_args()
    report: dict = {"model": DEFAULT_MODEL, "chunks": args.chunks}
    extra = max(1, args.chunks // 10)
    chunks_all, metas_all, queries = load_corpus(args.chunks + extra, args.queries)
    rng = np.random.default_rng(1)
    perm = rng.permutation(len(chunks_all))
    base_idx, add_idx = np.sort(perm[: args.chunks]), np.sort(perm[args.chunks :])
    chunks = [chunks_all[i] for i in base_idx]
    metas = [metas_all[i] for i in base_idx]
    ids = [f"c{i}" for i in base_idx]
    print(f"corpus: {len(chunks)} chunks (+{len(add_idx)} for the update test), {len(queries)} queries", flush=True)

    real = SentenceTransformerEmbedder(DEFAULT_MODEL)
    real.embed(["warm up"])
    # Embedding alone, on a slice, for the throughput baseline measured in this run.
    sample = chunks[:2000]
    t = time.perf_counter()
    for s in range(0, len(sample), 256):
        real.embed(sample[s : s + 256])
    embed_rate = len(sample) / (time.perf_counter() - t)
    X_all, _ = cached_embeddings(chunks_all)
    Xn_all = to_metric_space(X_all, "cosine")
    lookup = LookupEmbedder(real, chunks_all, X_all)

    work = Path(args.workdir or tempfile.mkdtemp(prefix="leann-bench-"))
    path = work / "bench.leann"
    shutil.rmtree(path, ignore_errors=True)
    builder = LeannBuilder(embedding_model=lookup if args.reuse_build_embeddings else real, show_progress=False)
    builder.add_texts(chunks, metas, ids)
    t = time.perf_counter()
    builder.build_index(path)
    build_s = time.perf_counter() - t
    report["build"] = {
        "seconds": round(build_s, 1),
        "chunks_per_s": round(len(chunks) / build_s, 1),
        "embedding_alone_chunks_per_s": round(embed_rate, 1),
        "ratio_vs_embedding_alone": round(len(chunks) / build_s / embed_rate, 3),
        "embeddings_reused": args.reuse_build_embeddings,
    }
    print("build:", report["build"], flush=True)

    # Size on disk.
    import faiss

    flat = faiss.IndexFlatIP(X_all.shape[1])
    flat.add(Xn_all[base_idx])
    faiss.write_index(flat, str(work / "flat.faiss"))
    flat_bytes = (work / "flat.faiss").stat().st_size
    files = dir_breakdown(path)
    text_files = {k: v for k, v in files.items() if k in TEXT_PARTS}
    index_files = {k: v for k, v in files.items() if k not in text_files}
    index_bytes = sum(index_files.values())
    report["size"] = {
        "faiss_flat_bytes": flat_bytes,
        "files": files,
        "index_without_text_bytes": index_bytes,
        "index_without_text_pct_of_flat": round(100 * index_bytes / flat_bytes, 3),
        "graph_pct_of_flat": round(100 * files["graph"] / flat_bytes, 3),
        "text_and_metadata_bytes": sum(text_files.values()),
        "whole_index_pct_of_flat": round(100 * sum(files.values()) / flat_bytes, 3),
    }
    s = LeannSearcher(path)
    report["size"]["graph"] = s.manifest["graph"]
    print("size:", {k: v for k, v in report["size"].items() if k != "files"}, flush=True)
    for k, v in files.items():
        print(f"   {k:28s} {v:>12,d} bytes  {100 * v / flat_bytes:6.3f}% of flat", flush=True)

    # Recall at default complexity (64) and at 32, over all queries.
    Q = to_metric_space(real.embed(queries), "cosine")
    truth = truth_ids(Q, Xn_all[base_idx], ids)
    looked = LeannSearcher(path, lookup)
    report["recall"] = {}
    lookup_found = {}
    for c in (64, 32):
        found, rec, vis, _ = run_queries(looked, queries, c)
        lookup_found[c] = found
        report["recall"][f"complexity_{c}"] = {
            "recall@3": round(recall(found, truth, 3), 4),
            "recall@10": round(recall(found, truth, 10), 4),
            "recomputed_median": float(np.median(rec)),
            "recomputed_p95": pct(rec, 95),
        }
        print(f"recall complexity {c}:", report["recall"][f"complexity_{c}"], flush=True)

    # Warm latency with real recomputation on a subset.
    n_lat = min(args.latency_queries, len(queries))
    s.search(queries[0], top_k=10)  # warm: model loaded, caches hot
    stats_model: list = []
    found, rec, vis, lat = run_queries(s, queries[:n_lat], 64, stats_out=stats_model)
    agree = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, lookup_found[64][:n_lat])]))
    report["latency_real_recompute"] = {
        "queries": n_lat,
        "complexity": 64,
        "p50_s": round(pct(lat, 50), 3),
        "p95_s": round(pct(lat, 95), 3),
        "recomputed_median": float(np.median(rec)),
        "ms_per_recomputed_embedding": round(1000 * sum(lat) / max(1, sum(rec)), 2),
        "model_s_median": round(float(np.median([st.model_s for st in stats_model])), 3),
        "graph_s_median": round(float(np.median([st.graph_s for st in stats_model])), 3),
        "top10_agreement_with_lookup_run": round(agree, 4),
        "recall@10_on_these": round(recall(found, truth[:n_lat], 10), 4),
    }
    del stats_model
    print("latency:", report["latency_real_recompute"], flush=True)

    # First query in a new process (imports, model load, index open, one search).
    code = (
        "import time,sys; t=time.perf_counter(); from leann_engine import LeannSearcher;"
        f"s=LeannSearcher({str(path)!r}); r=s.search({queries[1]!r}, top_k=5);"
        "print(time.perf_counter()-t)"
    )
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    report["cold_first_query_s"] = {
        "process_wall_s": round(time.perf_counter() - t, 2),
        "in_process_s": round(float(out.stdout.strip().splitlines()[-1]), 2),
    }
    print("cold:", report["cold_first_query_s"], flush=True)

    # Updates: add 10% more, delete 5%, recall before and after compaction.
    index = LeannIndex(path, real if args.real_updates else lookup, auto_compact=False)
    add_texts = [chunks_all[i] for i in add_idx]
    add_ids = [f"c{i}" for i in add_idx]
    t = time.perf_counter()
    index.add_texts(add_texts, [metas_all[i] for i in add_idx], add_ids)
    add_s = time.perf_counter() - t
    del_ids = list(rng.choice(ids, size=len(ids) // 20, replace=False))
    t = time.perf_counter()
    index.delete(del_ids)
    del_s = time.perf_counter() - t
    dead = set(del_ids)
    live_rows = [i for i in range(len(chunks_all)) if f"c{i}" not in dead]
    live_ids = [f"c{i}" for i in live_rows]
    truth2 = truth_ids(Q, Xn_all[live_rows], live_ids)
    upd = {"added": len(add_ids), "deleted": len(del_ids), "add_s": round(add_s, 2), "delete_s": round(del_s, 3)}
    # Queries score with the looked-up vectors (same model, same texts) so 2 x 200 queries stay
    # quick; the writes above and the compaction below use the embedder chosen by --real-updates.
    reader = LeannSearcher(path, lookup)
    found, rec, _, _ = run_queries(reader, queries, 64)
    upd["before_compaction"] = {
        "recall@3": round(recall(found, truth2, 3), 4), "recall@10": round(recall(found, truth2, 10), 4),
        "recomputed_median": float(np.median(rec)),
        "deleted_returned": sum(len(set(f) & dead) for f in found),
    }
    t = time.perf_counter()
    index.compact()
    upd["compaction_s"] = round(time.perf_counter() - t, 1)
    upd["embeddings_from"] = "real model" if args.real_updates else "vectors embedded earlier in this run"
    found, rec, _, _ = run_queries(reader, queries, 64)
    upd["after_compaction"] = {
        "recall@3": round(recall(found, truth2, 3), 4), "recall@10": round(recall(found, truth2, 10), 4),
        "recomputed_median": float(np.median(rec)),
        "deleted_returned": sum(len(set(f) & dead) for f in found),
    }
    files2 = dir_breakdown(path)
    upd["after_compaction_index_without_text_pct_of_float32_matrix"] = round(
        100 * sum(v for k, v in files2.items() if k not in TEXT_PARTS)
        / (len(live_rows) * X_all.shape[1] * 4),
        3,
    )
    report["update"] = upd
    print("update:", upd, flush=True)

    out_dir = Path(__file__).resolve().parent / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "engine.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
