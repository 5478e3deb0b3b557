"""Hybrid retrieval: quality of dense, BM25 and their fusions; BM25 speed and size at 100,000 chunks.

Quality (``benchmarks/qa_sets.py``): an English set (Python FAQ questions against the FAQ answers
plus distractors from the rest of the Python docs) and a Japanese and a Chinese one (manual page
descriptions against the pages). Each query has one relevant document (its answer section or its
page); the 30 best passages are read as a document ranking (a document at its first passage), and
nDCG@10 and recall@10 are taken over documents, per configuration, through the engine's
own ``search`` (the dense walk uses vectors embedded once with all-MiniLM-L6-v2, looked up by
text, so that hundreds of queries do not re-embed ~900 passages each; the walk, the keyword index,
the fusion and the rerank are the engine's).

Speed: BM25 build time against the embedding time of the same chunks (the embedding rate is
measured on a sample in the same run), size of the keyword file against the passage text, query
p50/p95 at 100,000 linux-doc chunks. Hybrid against dense latency: the engine's time per query
without the model (p50) and the passages each re-embeds (median), which the model cost follows
(about 10 ms each on 2 CPU cores, ``benchmarks/bench_engine.py``).

    python -m benchmarks.bench_hybrid [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

import numpy as np


from benchmarks.bench_engine import LookupEmbedder, pct  # noqa: E402
from benchmarks.corpus import load_corpus  # noqa: E402
from benchmarks.embed_cache import cached_embeddings  # noqa: E402
from benchmarks.qa_sets import QASet, load_sets  # noqa: E402
from leann_engine import DEFAULT_MODEL, LeannBuilder, LeannSearcher, SentenceTransformerEmbedder  # noqa: E402
from leann_engine.bm25 import FilePostings, bm25_scores, encode_bm25  # noqa: E402
from leann_engine.grep import GrepCorpus  # noqa: E402
from leann_engine.tokenize import Tokenizer  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"

CONFIGS: dict[str, dict] = {
    "dense": {"mode": "dense"},
    "bm25": {"mode": "bm25"},
    "rrf k=60, alpha 0.5 (plain)": {"mode": "hybrid", "fusion": "rrf", "alpha": 0.5},
    "blend, alpha 0.5 (plain)": {"mode": "hybrid", "fusion": "blend", "alpha": 0.5},
    "rrf, calibrated alpha": {"mode": "hybrid", "fusion": "rrf"},
    "hybrid default (blend, calibrated alpha)": {"mode": "hybrid"},
    "hybrid default + exact rerank": {"mode": "hybrid", "rerank": "exact"},
}
# Passages retrieved per query; their documents (first appearance) form the ranking judged.
DEPTH = 30


def ndcg_recall(ranked_groups: list[str], relevant: str, k: int = 10) -> tuple[float, float]:
    """nDCG@k and recall@k of a document ranking with one relevant document."""
    docs: list[str] = []
    for g in ranked_groups:
        if g not in docs:
            docs.append(g)
    docs = docs[:k]
    if relevant not in docs:
        return 0.0, 0.0
    return 1.0 / math.log2(docs.index(relevant) + 2), 1.0


def evaluate(qs: QASet, real, workdir: Path) -> dict:
    X, _ = cached_embeddings(qs.chunks)
    Q, _ = cached_embeddings(qs.queries)
    emb = LookupEmbedder(real, qs.chunks + qs.queries, np.vstack([X, Q]))
    path = workdir / qs.name
    b = LeannBuilder(embedding_model=emb)
    b.add_texts(qs.chunks, [{"group": g} for g in qs.groups], ids=[str(i) for i in range(len(qs.chunks))])
    b.build_index(path)
    s = LeannSearcher(path, emb)
    out: dict[str, dict] = {}
    for name, cfg in CONFIGS.items():
        nd, rc, alphas, lat, recomputed = [], [], [], [], []
        for q, rel in zip(qs.queries, qs.relevant):
            t = time.perf_counter()
            res = s.search(q, top_k=DEPTH, **cfg)
            lat.append(time.perf_counter() - t)
            recomputed.append(s.last_stats.recomputed)
            if s.last_stats.alpha is not None:
                alphas.append(s.last_stats.alpha)
            a, r = ndcg_recall([x.metadata["group"] for x in res], rel)
            nd.append(a)
            rc.append(r)
        out[name] = {
            "ndcg@10": round(float(np.mean(nd)), 4),
            "recall@10": round(float(np.mean(rc)), 4),
            # Without the model's time: embeddings come from a lookup (see the module docstring).
            "engine_ms_p50": round(pct(lat, 50) * 1000, 2),
            "recomputed_median": pct(recomputed, 50),
        }
        if alphas and cfg.get("alpha") is None:
            out[name]["mean_alpha"] = round(float(np.mean(alphas)), 3)
        print(
            f"  {qs.name:12s} {name:32s} nDCG@10 {out[name]['ndcg@10']:.3f}  recall@10 {out[name]['recall@10']:.3f}"
            + (f"  mean alpha {out[name].get('mean_alpha')}" if "mean_alpha" in out[name] else ""),
            flush=True,
        )
    cal = s.manifest.get("calibration")
    print(f"  {qs.name:12s} calibration {cal}", flush=True)
    return {
        "chunks": len(qs.chunks),
        "queries": len(qs.queries),
        "language": qs.language,
        "calibration": cal,
        "results": out,
    }


def bm25_speed(n_chunks: int, n_queries: int = 200) -> dict:
    chunks, _, queries = load_corpus(n_chunks=n_chunks, n_queries=n_queries)
    text_bytes = sum(len(c.encode("utf-8")) for c in chunks)
    tok = Tokenizer()
    t0 = time.perf_counter()
    docs = tok.tokenize_many(chunks)
    t1 = time.perf_counter()
    blob = encode_bm25(docs, tok)
    t2 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "x.bm25"
        p.write_bytes(blob)
        t3 = time.perf_counter()
        fp = FilePostings(p)
        load_s = time.perf_counter() - t3
        live = np.ones(len(chunks), dtype=bool)
        lat = []
        for q in queries:
            t = time.perf_counter()
            sc = bm25_scores([(fp, 0)], tok(q), live)
            np.argpartition(-sc, 10)[:10]
            lat.append(time.perf_counter() - t)
    corpus = GrepCorpus(chunks)
    t = time.perf_counter()
    corpus.rows("the")
    grep_first = time.perf_counter() - t
    glat = []
    for q in queries[:50]:
        word = max(q.split(), key=len)
        t = time.perf_counter()
        corpus.rows(word, ignore_case=True)
        glat.append(time.perf_counter() - t)
    # Embedding rate of the same kind of chunks, measured now on a sample.
    emb = SentenceTransformerEmbedder(DEFAULT_MODEL)
    sample = chunks[:512]
    emb.embed(sample[:32])
    t = time.perf_counter()
    for i in range(0, len(sample), 32):
        emb.embed(sample[i : i + 32])
    rate = len(sample) / (time.perf_counter() - t)
    embed_s = len(chunks) / rate
    build_s = t2 - t0
    return {
        "chunks": len(chunks),
        "queries": len(queries),
        "tokenize_s": round(t1 - t0, 2),
        "encode_s": round(t2 - t1, 2),
        "build_s": round(build_s, 2),
        "embedding_rate_chunks_per_s": round(rate, 1),
        "embedding_s_estimated": round(embed_s, 1),
        "build_over_embedding": round(build_s / embed_s, 4),
        "file_bytes": len(blob),
        "text_bytes": text_bytes,
        "file_over_text": round(len(blob) / text_bytes, 3),
        "load_s": round(load_s, 4),
        "query_p50_ms": round(pct(lat, 50) * 1000, 2),
        "query_p95_ms": round(pct(lat, 95) * 1000, 2),
        "first_query_ms": round(lat[0] * 1000, 2),
        "grep_first_ms": round(grep_first * 1000, 1),
        "grep_ignore_case_p50_ms": round(pct(glat, 50) * 1000, 2),
        "grep_ignore_case_p95_ms": round(pct(glat, 95) * 1000, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="skip the 100k BM25 speed run")
    ap.add_argument("--speed-chunks", type=int, default=100_000)
    args = ap.parse_args()
    real = SentenceTransformerEmbedder(DEFAULT_MODEL)
    report: dict = {"quality": {}}
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        sets = load_sets()
        for qs in sets:
            print(f"{qs.name}: {len(qs.chunks)} chunks, {len(qs.queries)} queries", flush=True)
            report["quality"][qs.name] = evaluate(qs, real, work)
    if not args.quick:
        print(f"BM25 at {args.speed_chunks} chunks:", flush=True)
        report["bm25_speed"] = bm25_speed(args.speed_chunks)
        print("  " + json.dumps(report["bm25_speed"]), flush=True)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / ("hybrid-quick.json" if args.quick else "hybrid.json")
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
