"""Query speed, one step at a time, against LEANN 0.3.8 measured in the same run.

    python -m benchmarks.bench_speed [--chunks 20000] [--queries 200] [--latency-queries 20]
        [--leann-venv /work/leann-venv] [--leann-queries 10] [--skip-leann]

Same corpus and queries as ``bench_engine`` (linux-doc chunks, section headings as queries),
with the real all-MiniLM-L6-v2. Rows, each adding one step to the one before:

1. plain recompute search: graph-only index (``pq_bytes=None``), exact walk, complexity 64;
2. + two-level: 32-byte PQ codes, approximate walk, the best share re-embedded;
3. + caches: a 1 MB hub embedding cache in the index and the in-process LRU (16 MB);
4. + faster inference: the same with bfloat16 autocast for the model.

Columns: recall@3 / recall@10 against exact float32 search over all queries, passages
re-embedded per query (median, p95), warm latency p50/p95 with real recomputation on the first
``--latency-queries`` queries (rows 1-3 take the 200-query recall with a scorer that looks
passage vectors up in this run's float32 matrix, as bench_engine does; row 4 recomputes every
query for real in bfloat16, so its recall includes the drift), and the index size without the
text as a percentage of a flat float32 index. LEANN builds its HNSW index from the same
vectors (``build_index_from_arrays``) and searches the first ``--leann-queries`` queries with
recomputation through its embedding server, driven as a subprocess from its own virtual
environment (``benchmarks/leann_driver.py``). Writes ``benchmarks/results/speed.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.bench_engine import TEXT_PARTS, LookupEmbedder, dir_breakdown, pct, recall, truth_ids  # noqa: E402
from benchmarks.corpus import load_corpus  # noqa: E402
from benchmarks.embed_cache import (
    cached_embeddings,  # noqa: E402
    model_dir,  # noqa: E402
)
from leann_engine import (  # noqa: E402
    DEFAULT_MODEL,
    LeannBuilder,
    LeannSearcher,
    SentenceTransformerEmbedder,
    to_metric_space,
)


def load() -> str:
    return os.popen("uptime").read().strip()


def run(searcher, queries, **kw):
    found, rec, cached, lat = [], [], [], []
    for q in queries:
        t = time.perf_counter()
        res = searcher.search(q, top_k=10, **kw)
        lat.append(time.perf_counter() - t)
        found.append([r.id for r in res])
        rec.append(res.stats.recomputed)
        cached.append(res.stats.cached)
    return found, rec, cached, lat


def size_pct(path: Path, flat: int) -> tuple[float, dict[str, int]]:
    files = dir_breakdown(path)
    no_text = {k: v for k, v in files.items() if k not in TEXT_PARTS}
    return round(100 * sum(no_text.values()) / flat, 3), no_text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chunks", type=int, default=20000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--latency-queries", type=int, default=20)
    ap.add_argument("--plain-latency-queries", type=int, default=5, help="row 1 re-embeds ~900 a query")
    ap.add_argument("--complexity", type=int, default=32, help="two-level rows")
    ap.add_argument("--prune-ratio", type=float, default=0.8, help="two-level rows")
    ap.add_argument("--leann-venv", default="/work/leann-venv")
    ap.add_argument("--leann-queries", type=int, default=10)
    ap.add_argument("--leann-complexities", default="16,32")
    ap.add_argument("--skip-leann", action="store_true")
    ap.add_argument("--bf16-queries", type=int, default=200, help="row 4 recomputes these for real")
    ap.add_argument("--drift-queries", type=int, default=50)
    ap.add_argument("--reuse-indexes", action="store_true", help="keep indexes --workdir already holds")
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    report: dict = {"model": DEFAULT_MODEL, "chunks": args.chunks, "load_at_start": load()}
    print(report["load_at_start"], flush=True)

    # The corpus, split and ids bench_engine uses, so its embedding cache serves both.
    extra = max(1, args.chunks // 10)
    chunks_all, metas_all, queries = load_corpus(args.chunks + extra, args.queries)
    rng = np.random.default_rng(1)
    base_idx = np.sort(rng.permutation(len(chunks_all))[: args.chunks])
    chunks = [chunks_all[i] for i in base_idx]
    metas = [metas_all[i] for i in base_idx]
    ids = [f"c{i}" for i in base_idx]
    X_all, _ = cached_embeddings(chunks_all)
    X = X_all[base_idx]
    Xn = to_metric_space(X, "cosine")
    real = SentenceTransformerEmbedder(DEFAULT_MODEL)
    real.embed(["warm up"])
    Q_raw = real.embed(queries)
    Q = to_metric_space(Q_raw, "cosine")
    truth = truth_ids(Q, Xn, ids)
    # Queries too: the look-up rows then never call the model (on a loaded machine it would
    # dominate their run time).
    lookup = LookupEmbedder(real, chunks_all + queries, np.concatenate([X_all, Q_raw]))
    flat = args.chunks * X.shape[1] * 4
    n_lat = min(args.latency_queries, len(queries))
    print(f"corpus: {len(chunks)} chunks, {len(queries)} queries; flat float32 = {flat:,d} bytes", flush=True)

    work = Path(args.workdir or tempfile.mkdtemp(prefix="leann-speed-"))
    paths = {}
    for name, opts in (
        ("graph_only", {"pq_bytes": None}),
        ("pq32", {}),
        ("pq32_hubs", {"hub_cache_mb": 1.0}),
    ):
        p = work / f"{name}.leann"
        paths[name] = p
        if args.reuse_indexes and (p / "manifest.json").exists():
            print(f"reusing {p}", flush=True)
            continue
        shutil.rmtree(p, ignore_errors=True)
        b = LeannBuilder(embedding_model=lookup, **opts)
        b.add_texts(chunks, metas, ids)
        t = time.perf_counter()
        b.build_index(p)
        print(f"built {name} in {time.perf_counter() - t:.1f}s", flush=True)

    two = {"complexity": args.complexity, "prune_ratio": args.prune_ratio}
    steps = [
        ("plain recompute search", "graph_only", {"complexity": 64}, 0.0, "float32"),
        ("+ two-level (PQ 32 B)", "pq32", two, 0.0, "float32"),
        ("+ caches (hub 1 MB, LRU 16 MB)", "pq32_hubs", two, 16.0, "float32"),
        ("+ faster inference (bfloat16)", "pq32_hubs", two, 16.0, "bfloat16"),
    ]
    rows = []
    for label, index, kw, lru_mb, precision in steps:
        row: dict = {"step": label, "index": index, "search": kw, "lru_mb": lru_mb, "precision": precision}
        row["index_pct_of_flat"], row["files"] = size_pct(paths[index], flat)
        if precision == "float32":
            s = LeannSearcher(paths[index], lookup, embedding_cache_mb=lru_mb)
            found, rec, cached, _ = run(s, queries, **kw)
            s.close()
            row["recall_over"] = f"{len(queries)} queries, passage vectors looked up"
            live = LeannSearcher(paths[index], real, embedding_cache_mb=lru_mb)
            live.search("warm up the model", top_k=1)
            live._lru.clear()
            m = min(n_lat, args.plain_latency_queries) if index == "graph_only" else n_lat
            lf, lrec, _, lat = run(live, queries[:m], **kw)
        else:
            emb = SentenceTransformerEmbedder(DEFAULT_MODEL, precision=precision)
            emb.embed(["warm up"])
            live = LeannSearcher(paths[index], emb, embedding_cache_mb=lru_mb)
            nb = min(args.bf16_queries, len(queries))
            found, rec, cached, lat_all = run(live, queries[:nb], **kw)
            row["recall_over"] = f"first {nb} queries, recomputed for real in {precision}"
            lf, lrec, lat = found[:n_lat], rec[:n_lat], lat_all[:n_lat]
            row["latency_all_queries"] = {
                "p50_s": round(pct(lat_all, 50), 3),
                "p95_s": round(pct(lat_all, 95), 3),
            }
        live.close()
        row.update(
            {
                "recall@3": round(recall(found, truth[: len(found)], 3), 4),
                "recall@10": round(recall(found, truth[: len(found)], 10), 4),
                "recomputed_median": float(np.median(rec)),
                "recomputed_p95": pct(rec, 95),
                "cached_median": float(np.median(cached)),
                "latency_queries": len(lat),
                "latency_p50_s": round(pct(lat, 50), 3),
                "latency_p95_s": round(pct(lat, 95), 3),
                "latency_recomputed_median": float(np.median(lrec)),
                "recall@3_on_latency_queries": round(recall(lf, truth[: len(lf)], 3), 4),
                "load": load(),
                "_found": found,
            }
        )
        rows.append(row)
        print({k: v for k, v in row.items() if k not in ("_found", "files")}, flush=True)
        partial = {**report, "rows": [{k: v for k, v in r.items() if k != "_found"} for r in rows]}
        (Path(__file__).resolve().parent / "results" / "speed.partial.json").write_text(
            json.dumps(partial, indent=1)
        )

    # bfloat16 drift against float32: vectors, and the top-3 of float32's top-10 pool re-ranked.
    bf = SentenceTransformerEmbedder(DEFAULT_MODEL, precision="bfloat16")
    nq = min(args.drift_queries, len(queries))
    Qb = to_metric_space(bf.embed(queries), "cosine")
    pool = np.argsort(-(Q[:nq] @ Xn.T), axis=1)[:, :10]
    uniq = np.unique(pool)
    Pb = to_metric_space(bf.embed([chunks[i] for i in uniq]), "cosine")
    pos = {r: j for j, r in enumerate(uniq.tolist())}
    r3 = []
    for qi in range(nq):
        cand = pool[qi]
        sb = Pb[[pos[r] for r in cand.tolist()]] @ Qb[qi]
        r3.append(len(set(cand[np.argsort(-sb)[:3]].tolist()) & set(cand[:3].tolist())) / 3)
    report["bfloat16_drift"] = {
        "query_cosine_min": round(float((Qb * Q).sum(1).min()), 6),
        "query_cosine_mean": round(float((Qb * Q).sum(1).mean()), 6),
        "passage_cosine_min": round(float((Pb * Xn[uniq]).sum(1).min()), 6),
        "passage_cosine_mean": round(float((Pb * Xn[uniq]).sum(1).mean()), 6),
        "passages": int(uniq.size),
        "recall@3_of_bf16_reranking_float32_top10": round(float(np.mean(r3)), 4),
        "queries": nq,
    }
    print("bf16 drift:", report["bfloat16_drift"], flush=True)

    # LEANN 0.3.8 on the same chunks, vectors and the first --leann-queries queries.
    leann: dict = {}
    py = Path(args.leann_venv) / "bin" / "python"
    if args.skip_leann:
        leann["skipped"] = "--skip-leann"
    elif not py.exists():
        leann["error"] = f"{py} not found: create it with python3 -m venv and pip install leann==0.3.8"
    else:
        nL = min(args.leann_queries, len(queries))
        np.save(work / "vectors.npy", X)
        spec = {
            "work": str(work / "leann"),
            "model": model_dir(),
            "texts": chunks,
            "ids": ids,
            "embeddings": str(work / "vectors.npy"),
            "queries": queries[:nL],
            "complexities": [int(c) for c in args.leann_complexities.split(",")],
        }
        (work / "spec.json").write_text(json.dumps(spec))
        log = work / "leann.log"
        t = time.perf_counter()
        with open(log, "w") as f:
            proc = subprocess.run(
                [
                    str(py),
                    str(Path(__file__).with_name("leann_driver.py")),
                    str(work / "spec.json"),
                    str(work / "leann.json"),
                ],
                stdout=f,
                stderr=subprocess.STDOUT,
            )
        leann["wall_s"] = round(time.perf_counter() - t, 1)
        if proc.returncode != 0:
            leann["error"] = f"driver exited {proc.returncode}; last log lines: " + " | ".join(
                log.read_text(errors="replace").splitlines()[-8:]
            )
        else:
            out = json.loads((work / "leann.json").read_text())
            leann["build_s"] = out["build_s"]
            index_bytes = sum(v for k, v in out["files"].items() if k.endswith(".index"))
            leann["files"] = out["files"]
            leann["index_pct_of_flat"] = round(100 * index_bytes / flat, 3)
            leann["runs"] = {}
            for c, res in out["runs"].items():
                f_ids = [r["ids"] for r in res]
                lat = [r["latency_s"] for r in res]
                rec = [r["recomputed"] for r in res]
                leann["runs"][c] = {
                    "queries": len(res),
                    "recall@3": round(recall(f_ids, truth[: len(res)], 3), 4),
                    "recall@10": round(recall(f_ids, truth[: len(res)], 10), 4),
                    "recomputed_median": float(np.median(rec)),
                    "recomputed_p95": pct(rec, 95),
                    "latency_p50_s": round(pct(lat, 50), 3),
                    "latency_p95_s": round(pct(lat, 95), 3),
                }
                print(f"LEANN complexity {c}:", leann["runs"][c], flush=True)
            for row in rows:
                row[f"recall@3_on_first_{nL}"] = round(recall(row["_found"][:nL], truth[:nL], 3), 4)
        leann["load"] = load()
    report["leann"] = leann
    for row in rows:
        del row["_found"]
    report["rows"] = rows
    report["load_at_end"] = load()

    # The table.
    print(
        "\n| step | recall@3 | recall@10 | re-embedded / query (median, p95) | warm p50 / p95 (s) | index % of flat |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['step']} | {r['recall@3']:.3f} | {r['recall@10']:.3f} | {r['recomputed_median']:.0f}, "
            f"{r['recomputed_p95']:.0f} | {r['latency_p50_s']:.2f} / {r['latency_p95_s']:.2f} | {r['index_pct_of_flat']:.2f} |"
        )
    for c, r in leann.get("runs", {}).items():
        print(
            f"| LEANN 0.3.8, complexity {c} ({r['queries']} queries) | {r['recall@3']:.3f} | {r['recall@10']:.3f} | "
            f"{r['recomputed_median']:.0f}, {r['recomputed_p95']:.0f} | {r['latency_p50_s']:.2f} / {r['latency_p95_s']:.2f} | "
            f"{leann['index_pct_of_flat']:.2f} |"
        )
    out_dir = Path(__file__).resolve().parent / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "speed.json").write_text(json.dumps(report, indent=1))
    (out_dir / "speed.partial.json").unlink(missing_ok=True)
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
