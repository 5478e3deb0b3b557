"""Embedding providers: build throughput and query latency through a local OpenAI-compatible and
Ollama server (backed by the same MiniLM, in this process) against in-process sentence-transformers,
and requests / passages / bytes per build and per query.

    flock /work/bench.lock env LEANN_BENCH_CACHE=/work/bench-cache HF_HUB_OFFLINE=1 \
        python -m benchmarks.bench_providers [--small 300] [--large 20000] [--queries 30]

``--large``: load-independent counts per query at the defaults on the linux-doc corpus, the
server answering from the cached embeddings (queries through the real model).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.corpus import load_corpus
from benchmarks.embed_cache import cached_embeddings
from leann_engine import LeannBuilder, LeannSearcher, SentenceTransformerEmbedder


def _load_test_server():
    # The tests' 127.0.0.1 servers (tests/ is not a package): loaded from its file.
    import importlib.util

    spec = importlib.util.spec_from_file_location("embed_server", Path(__file__).resolve().parents[1] / "tests" / "embed_server.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.EmbeddingServer


EmbeddingServer = _load_test_server()


class Lookup:
    """Cached corpus vectors by text; anything else (queries) through the real model."""

    def __init__(self, texts, mat, model):
        self.row = {t: i for i, t in enumerate(texts)}
        self.mat, self.model, self.name, self.dimension = mat, model, model.name, mat.shape[1]

    def embed(self, texts):
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        miss = [i for i, t in enumerate(texts) if t not in self.row]
        for i, t in enumerate(texts):
            if t in self.row:
                out[i] = self.mat[self.row[t]]
        if miss:
            out[miss] = self.model.embed([texts[i] for i in miss])
        return out


def run_mode(provider, texts, queries, embedder, tmp, **search_kw):
    """Build and search through ``provider``; ``search_kw`` go to each search. Returns the figures."""
    srv = EmbeddingServer(provider, embedder) if provider != "in-process" else None
    if srv:
        srv.__enter__()
    try:
        if srv:
            opts = {"base_url": srv.url} if provider == "openai" else {"host": srv.url}
            b = LeannBuilder(embedding_mode=provider, embedding_model="minilm", embedding_options=opts, calibrate=False)
        else:
            b = LeannBuilder(embedding_model=embedder, calibrate=False)
        b.add_texts(texts)
        t = time.perf_counter()
        path = b.build_index(Path(tmp) / f"{provider}.leann")
        build_s = time.perf_counter() - t
        build_requests = len(srv.requests) if srv else 0
        s = LeannSearcher(path, embedding=None if srv else embedder, embedding_cache_mb=0)
        lat, rec, req, sent = [], [], [], []
        for q in queries:
            t = time.perf_counter()
            s.search(q, top_k=3, **search_kw)
            lat.append(time.perf_counter() - t)
            st = s.last_stats
            rec.append(st.recomputed)
            req.append(st.provider_requests)
            sent.append(st.bytes_sent)
        return {
            "mode": provider,
            "passages": len(texts),
            "build_s": round(build_s, 2),
            "build_chunks_per_s": round(len(texts) / build_s, 1),
            "build_requests": build_requests,
            "query_ms_median": round(1000 * statistics.median(lat), 1),
            "recomputed_per_query": round(float(np.mean(rec)), 1),
            "requests_per_query": round(float(np.mean(req)), 2),
            "bytes_sent_per_query": round(float(np.mean(sent))),
        }
    finally:
        if srv:
            srv.__exit__(None, None, None)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", type=int, default=300)
    ap.add_argument("--large", type=int, default=0)
    ap.add_argument("--queries", type=int, default=30)
    args = ap.parse_args()
    model = SentenceTransformerEmbedder()
    model.embed(["warm up"])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.small:
            texts, _, queries = load_corpus(n_chunks=args.small, n_queries=args.queries)
            for mode in ("in-process", "openai", "ollama"):
                rows.append({"corpus": "small", **run_mode(mode, texts, queries, model, tmp)})
                print(json.dumps(rows[-1]), flush=True)
        if args.large:
            texts, _, queries = load_corpus(n_chunks=args.large, n_queries=args.queries)
            mat, _ = cached_embeddings(texts)
            look = Lookup(texts, mat, model)
            for search_mode in ("dense", "hybrid"):
                row = run_mode("openai", texts, queries, look, tmp, mode=search_mode)
                row = {k: v for k, v in row.items() if not k.startswith(("build_s", "build_chunks", "query_ms"))}
                rows.append({"corpus": "large", "search_mode": search_mode, **row})
                print(json.dumps(rows[-1]), flush=True)


if __name__ == "__main__":
    main()
