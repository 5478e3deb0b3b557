"""Sharded indexes (issue 17): build throughput with 1 vs 2 workers (local processes and Ray),
query fan-out overhead of S=2 and S=4 shards against one index of the same passages, and
bytes per passage.

    python -m benchmarks.bench_shards                 # full size (the lead's run)
    python -m benchmarks.bench_shards --quick         # a tiny run that proves the script works

Passages are chunks of the linux-doc corpus (benchmarks/corpus.py), embedded with the real
all-MiniLM-L6-v2. Builds: one index in this process; S=2 with ``executor="local"`` and 1 or 2
worker processes; S=2 with ``executor="ray"`` on a local cluster of 2 CPUs with 1 or 2 embedding
actors. Fan-out: S=2 and S=4 indexes (local build) searched with threads, one query at a time,
the three indexes interleaved query by query so load on the machine hits them alike.
Results: benchmarks/results/shards.json (shards-quick.json with --quick).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.corpus import load_corpus
from leann_engine import LeannBuilder, LeannSearcher, SentenceTransformerEmbedder, disk_usage

RESULTS = Path(__file__).resolve().parent / "results"


def build(path: Path, texts: list[str], metas: list[dict], **how) -> float:
    """Seconds to build; ``how``: num_shards plus build_index's executor/workers."""
    shards = how.pop("num_shards", 1)
    t0 = time.perf_counter()
    b = LeannBuilder(num_shards=shards)
    b.add_texts(texts, metas, ids=[f"c{i}" for i in range(len(texts))])
    b.build_index(path, **how)
    return time.perf_counter() - t0


def builds(root: Path, texts: list[str], metas: list[dict], with_ray: bool) -> dict[str, dict]:
    plans = {
        "single": {},
        "local_s2_w1": {"num_shards": 2, "workers": 1},
        "local_s2_w2": {"num_shards": 2, "workers": 2},
        "local_s4_w2": {"num_shards": 4, "workers": 2},
    }
    if with_ray:
        plans["ray_s2_w1"] = {"num_shards": 2, "executor": "ray", "workers": 1}
        plans["ray_s2_w2"] = {"num_shards": 2, "executor": "ray", "workers": 2}
    out = {}
    for name, how in plans.items():
        seconds = build(root / name, texts, metas, **dict(how))
        use = disk_usage(root / name)
        out[name] = {
            "how": how,
            "seconds": round(seconds, 2),
            "passages_per_s": round(len(texts) / seconds, 2),
            "bytes_total": use.total,
            "bytes_per_passage": round(use.total / len(texts), 1),
            "index_bytes_per_passage": round(use.index_bytes / len(texts), 1),
        }
        print(name, out[name], flush=True)
    return out


def fanout(root: Path, queries: list[str], model: SentenceTransformerEmbedder, top_k: int) -> dict[str, dict]:
    names = ["single", "local_s2_w2", "local_s4_w2"]
    searchers = {n: LeannSearcher(root / n, model) for n in names}
    times: dict[str, list[float]] = {n: [] for n in names}
    agree = 0
    for q in queries[:2]:  # warm: model, file caches, thread pools
        for s in searchers.values():
            s.search(q, top_k=top_k)
    for i, q in enumerate(queries):
        vec = model.embed([q])[0]  # the query is embedded once per search either way; keep it out
        order = names[i % 3:] + names[: i % 3]
        ids = {}
        for n in order:
            t0 = time.perf_counter()
            res = searchers[n].search(None, top_k=top_k, query_embedding=vec)
            times[n].append(time.perf_counter() - t0)
            ids[n] = [r.id for r in res]
        agree += ids["single"] == ids["local_s4_w2"]
    base = statistics.median(times["single"])
    out = {}
    for n in names:
        p50 = statistics.median(times[n])
        out[n] = {"p50_ms": round(p50 * 1e3, 2), "mean_ms": round(statistics.fmean(times[n]) * 1e3, 2),
                  "overhead_p50_ms": round((p50 - base) * 1e3, 2)}
    out["top_k_equal_single_vs_s4"] = f"{agree}/{len(queries)}"
    for s in searchers.values():
        s.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--passages", type=int, default=3000)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--top-k", type=int, default=5)
    ap.add_argument("--no-ray", action="store_true", help="skip the Ray builds")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, results to shards-quick.json")
    args = ap.parse_args()
    if args.quick:
        args.passages, args.queries = 120, 10
    texts, metas, queries = load_corpus(n_chunks=args.passages, n_queries=args.queries)
    with_ray = not args.no_ray
    if with_ray:
        import ray

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": os.environ.get("PYTHONPATH", os.getcwd())}})
    model = SentenceTransformerEmbedder()
    model.embed(["warm up"])
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        result = {
            "passages": len(texts),
            "queries": len(queries),
            "cpus": os.cpu_count(),
            "builds": builds(root, texts, metas, with_ray),
            "fanout": fanout(root, queries, model, args.top_k),
        }
    if with_ray:
        ray.shutdown()
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / ("shards-quick.json" if args.quick else "shards.json")
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
