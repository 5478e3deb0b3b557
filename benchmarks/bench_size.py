"""Index size, recall and re-embeddings at several sizes, with the default settings (issue 12).

    LEANN_BENCH_CACHE=/work/bench-cache flock /work/bench.lock \\
        python -m benchmarks.bench_size [--sizes 500,1000,1500,5000,20000] [--latency-queries 5]

The corpus is the 20,000 linux-doc chunks of ``benchmarks/corpus.py`` (their all-MiniLM-L6-v2
vectors cached by ``benchmarks/embed_cache.py``); each size is a prefix of it. Queries are the
corpus's 200 section headings. Indexes are built with ``LeannBuilder`` defaults (ids left to
the builder: positions) from the cached vectors through a look-up embedder, so recall and
re-embedding counts do not depend on the machine's load; re-embeddings are counted with the
cross-query cache off. Per size: bytes per file, the index without passage text and metadata
(graph, codes, passage table with ids and block offsets, manifest) as % of a flat float32
index, the whole folder over the UTF-8 bytes of text + metadata, recall@3/@10 against exact
search, re-embeddings per query (median, p95), the time to read 10 passages, and at the
largest size the warm latency with the real model on ``--latency-queries`` queries.
Writes ``benchmarks/results/size.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.corpus import CACHE, corpus_key, load_corpus  # noqa: E402
from leann_engine import LeannBuilder, LeannSearcher  # noqa: E402
from leann_engine.embed.base import make_embedder, normalize_rows  # noqa: E402
from leann_engine.embed.sentence_transformers import DEFAULT_MODEL  # noqa: E402
from leann_engine.store.manifest import MANIFEST, read_manifest, referenced_files  # noqa: E402

TEXT_FILES = (".pz", ".bm25")  # passage blocks and the keyword index: not "the index"


class Lookup:
    """Embeds by looking the text up in precomputed vectors (the real model's)."""

    def __init__(self, real, texts: list[str], matrix: np.ndarray) -> None:
        self.name, self.dimension, self._real = real.name, real.dimension, real
        self._row = {t: i for i, t in enumerate(texts)}
        self._m = matrix

    def embed(self, texts):
        rows = [self._row.get(t) for t in texts]
        return self._real.embed(texts) if any(r is None for r in rows) else self._m[rows]


def vectors(texts: list[str], real) -> np.ndarray:
    path = CACHE / f"emb-{corpus_key(texts, DEFAULT_MODEL)}.npy"
    if path.exists():
        return np.load(path)
    print(f"  no cache at {path}: embedding {len(texts)} texts with the real model", flush=True)
    mat = np.concatenate([real.embed(texts[i : i + 256]) for i in range(0, len(texts), 256)])
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, mat)
    return mat


def files_of(path: Path) -> dict[str, int]:
    names = [MANIFEST, *referenced_files(read_manifest(path))]
    return {n: (path / n).stat().st_size for n in sorted(set(names)) if (path / n).exists()}


def measure(n, chunks, metas, X, Q, real, work, args) -> dict:
    texts, mt = chunks[:n], metas[:n]
    Xn = normalize_rows(X[:n])
    truth = np.argsort(-(Q @ Xn.T), axis=1)[:, :10]
    lookup = Lookup(real, chunks[: X.shape[0]] + args.queries_text, np.concatenate([X, args.Q_raw]))
    path = work / f"n{n}.leann"
    shutil.rmtree(path, ignore_errors=True)
    b = LeannBuilder(embedding_model=lookup)
    b.add_texts(texts, mt)
    t = time.perf_counter()
    b.build_index(path)
    build_s = time.perf_counter() - t
    files = files_of(path)
    flat = n * X.shape[1] * 4
    text_bytes = sum(
        len(t.encode()) + len(json.dumps(m, ensure_ascii=False).encode()) for t, m in zip(texts, mt)
    )
    index_bytes = sum(v for k, v in files.items() if not k.endswith(TEXT_FILES))
    s = LeannSearcher(path, lookup, embedding_cache_mb=0)
    r3 = r10 = 0.0
    rec = []
    for qi, q in enumerate(args.queries_text):
        res = s.search(q, top_k=10)
        got = [int(r.id) for r in res]
        r3 += len(set(got[:3]) & set(truth[qi, :3].tolist())) / 3
        r10 += len(set(got[:10]) & set(truth[qi, :10].tolist())) / 10
        rec.append(res.stats.recomputed)
    rows = np.random.default_rng(0).choice(n, size=10, replace=False).tolist()
    reads = []
    for _ in range(30):
        t = time.perf_counter()
        s._snap.base.records(rows)
        reads.append(time.perf_counter() - t)
    manifest = read_manifest(path)
    out = {
        "passages": n,
        "build_s": round(build_s, 1),
        "bytes_by_file": {k.split(".", 1)[-1] if k.startswith("base-") else k: v for k, v in files.items()},
        "codes": manifest["graph"].get("codes"),
        "index_pct_of_flat": round(100 * index_bytes / flat, 2),
        "pct_of_flat_by_file": {k: round(100 * v / flat, 2) for k, v in files.items()},
        "folder_over_text": round(sum(files.values()) / text_bytes, 3),
        "text_meta_bytes": text_bytes,
        "recall@3": round(r3 / len(args.queries_text), 4),
        "recall@10": round(r10 / len(args.queries_text), 4),
        "reembed_median": float(np.median(rec)),
        "reembed_p95": float(np.percentile(rec, 95)),
        "reembed_max": int(max(rec)),
        "read_top10_ms_p50": round(1000 * float(np.median(reads)), 3),
    }
    s.close()
    return out


def latency(path: Path, real, queries: list[str]) -> dict:
    s = LeannSearcher(path, real, embedding_cache_mb=0)
    s.search("warm up the model", top_k=10)
    lat, rec = [], []
    for q in queries:
        t = time.perf_counter()
        res = s.search(q, top_k=10)
        lat.append(time.perf_counter() - t)
        rec.append(res.stats.recomputed)
    s.close()
    return {
        "queries": len(queries),
        "p50_s": round(float(np.median(lat)), 3),
        "p95_s": round(float(np.percentile(lat, 95)), 3),
        "reembed_median": float(np.median(rec)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="500,1000,1500,5000,20000")
    ap.add_argument("--latency-queries", type=int, default=5)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "size.json"))
    args = ap.parse_args()
    up = os.popen("uptime").read().strip()
    print(up, flush=True)
    sizes = [int(x) for x in args.sizes.split(",")]
    chunks, metas, queries = load_corpus(20000, 200)
    real = make_embedder(None)
    full = CACHE / f"emb-{corpus_key(chunks, DEFAULT_MODEL)}.npy"
    # Without the cached vectors of all 20,000 chunks, embed only the prefix the sizes need.
    X = np.load(full) if full.exists() else vectors(chunks[: max(sizes)], real)
    args.queries_text = queries
    args.Q_raw = vectors(queries, real)
    Q = normalize_rows(args.Q_raw)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="leann-size-"))
    report: dict = {"model": DEFAULT_MODEL, "queries": len(queries), "load_at_start": up, "sizes": []}
    for n in sizes:
        row = measure(n, chunks, metas, X, Q, real, work, args)
        print(json.dumps(row), flush=True)
        report["sizes"].append(row)
    if args.latency_queries:
        report["latency_real_model"] = {
            "passages": sizes[-1],
            **latency(work / f"n{sizes[-1]}.leann", real, queries[: args.latency_queries]),
        }
        print(json.dumps(report["latency_real_model"]), flush=True)
    report["load_at_end"] = os.popen("uptime").read().strip()
    out = Path(args.out)
    out.write_text(json.dumps(report, indent=1) + "\n")
    print(report["load_at_end"], "->", out, flush=True)


if __name__ == "__main__":
    main()
