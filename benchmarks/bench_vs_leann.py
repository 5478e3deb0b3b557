"""Warm query latency at default settings against LEANN 0.3.8, interleaved query by query (issue 12).

    LEANN_BENCH_CACHE=/work/bench-cache flock /work/bench.lock \\
        python -m benchmarks.bench_vs_leann [--n 20000] [--queries 10] [--leann-complexity 16]
        [--leann-venv /work/leann-venv]

Both systems index the same ``--n`` linux-doc chunks from the same all-MiniLM-L6-v2 vectors
(cached; LEANN through ``build_index_from_arrays``, ours through ``LeannBuilder`` defaults with a
look-up embedder), and both re-embed passages with the real model at query time. LEANN runs in
its own virtual environment as an interactive subprocess (``benchmarks/leann_driver.py SPEC -``)
that keeps its searcher and embedding server warm; each query is sent to our searcher and then
to LEANN's, so both see the same load. Reported: p50/p95 warm latency of each, the ratio, the
passages each re-embeds per query, recall@3 against exact search over the same vectors, and
both indexes' bytes without text. Writes ``benchmarks/results/vs_leann.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.bench_size import Lookup  # noqa: E402
from benchmarks.corpus import load_corpus  # noqa: E402
from benchmarks.embed_cache import cached_embeddings, model_dir  # noqa: E402
from leann_engine import DEFAULT_MODEL, LeannBuilder, LeannSearcher, make_embedder  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "vs_leann.json"


def reply(proc: subprocess.Popen) -> dict:
    for line in proc.stdout:  # type: ignore[union-attr]
        if line.startswith("@@"):
            return json.loads(line[2:])
    raise RuntimeError("the LEANN driver stopped; see its log in the work folder")


def pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--queries", type=int, default=10)
    ap.add_argument("--leann-complexity", type=int, default=16, help="LEANN's cheapest setting")
    ap.add_argument("--leann-venv", type=Path, default=Path("/work/leann-venv"))
    args = ap.parse_args()
    chunks, metas, queries = load_corpus(args.n, 200)
    queries = queries[: args.queries]
    vecs = cached_embeddings(chunks)[0].astype(np.float32)
    qv = cached_embeddings(queries)[0].astype(np.float32)
    unit = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
    ids = [f"c{i}" for i in range(len(chunks))]
    truth = [set(np.argsort(-(unit @ (q / np.linalg.norm(q))))[:3].tolist()) for q in qv]
    work = Path(tempfile.mkdtemp(prefix="leann-bench-vs-"))
    proc = None
    try:
        real = make_embedder(DEFAULT_MODEL)
        builder = LeannBuilder(embedding_model=Lookup(real, chunks, vecs))
        builder.add_texts(chunks, metas, ids)
        builder.build_index(work / "ours.leann")
        ours = LeannSearcher(work / "ours.leann")
        ours.search("warm up", top_k=3)
        np.save(work / "vectors.npy", vecs)
        spec = {"work": str(work / "leann"), "model": model_dir(), "texts": chunks, "ids": ids,
                "embeddings": str(work / "vectors.npy"), "queries": queries,
                "complexities": [args.leann_complexity]}
        (work / "spec.json").write_text(json.dumps(spec))
        driver = Path(__file__).with_name("leann_driver.py")
        proc = subprocess.Popen(
            [str(args.leann_venv / "bin" / "python"), str(driver), str(work / "spec.json"), "-"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(work / "leann.log", "w"), text=True,
        )
        built = reply(proc)
        rows = []
        for i, q in enumerate(queries):
            t = time.perf_counter()
            res = ours.search(q, top_k=3)
            our_s = time.perf_counter() - t
            proc.stdin.write(json.dumps({"q": q, "complexity": args.leann_complexity}) + "\n")  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
            theirs = reply(proc)
            row = {
                "query": q, "ours_s": round(our_s, 3), "leann_s": round(theirs["latency_s"], 3),
                "ours_recomputed": res.stats.recomputed, "leann_recomputed": theirs["recomputed"],
                "ours_hits@3": len({int(r.id[1:]) for r in res} & truth[i]),
                "leann_hits@3": len({int(x[1:]) for x in theirs["ids"][:3]} & truth[i]),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
        ours_lat, leann_lat = [r["ours_s"] for r in rows], [r["leann_s"] for r in rows]
        our_files = {f.name: f.stat().st_size for f in (work / "ours.leann").iterdir() if f.is_file()}
        out = {
            "n": args.n, "queries": len(rows), "leann_complexity": args.leann_complexity,
            "ours_p50_s": statistics.median(ours_lat), "ours_p95_s": pct(ours_lat, 0.95),
            "leann_p50_s": statistics.median(leann_lat), "leann_p95_s": pct(leann_lat, 0.95),
            "p50_ratio_ours_over_leann": round(statistics.median(ours_lat) / statistics.median(leann_lat), 4),
            "ours_recomputed_median": statistics.median(r["ours_recomputed"] for r in rows),
            "leann_recomputed_median": statistics.median(r["leann_recomputed"] for r in rows),
            "ours_recall@3": round(sum(r["ours_hits@3"] for r in rows) / (3 * len(rows)), 3),
            "leann_recall@3": round(sum(r["leann_hits@3"] for r in rows) / (3 * len(rows)), 3),
            "ours_files": our_files,
            "ours_bytes_without_text": sum(v for k, v in our_files.items() if not k.endswith((".pz", ".bm25"))),
            "leann_files": built.get("files"), "leann_build_s": built.get("build_s"),
            "rows": rows, "load": os.getloadavg(),
        }
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(out, indent=1))
        print(json.dumps({k: v for k, v in out.items() if k != "rows"}, indent=1))
    finally:
        if proc is not None:
            proc.stdin.close()  # type: ignore[union-attr]
            proc.wait(120)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
