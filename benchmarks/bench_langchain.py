"""LangChain stores on the same documents: size on disk and query latency, with the real model.

    python -m benchmarks.bench_langchain [--chunks 5000] [--queries 10]

Indexes the same chunks of the Linux kernel documentation (the engine benchmark's corpus) in

* ``LeannVectorStore`` (recompute: the graph and the text), and with ``store_embeddings=True``;
* ``InMemoryVectorStore``, persisted with its ``dump()`` (JSON);
* FAISS: an ``IndexFlatIP`` of the same normalised float32 vectors written with
  ``faiss.write_index``, plus the documents pickled beside it (what LangChain's
  ``FAISS.save_local`` writes: ``index.faiss`` and ``index.pkl``),

then times ``similarity_search(query, k=4)`` on each (the query embedded with the real
all-MiniLM-L6-v2 every time) and reports how many of LEANN's top 4 agree with the exact
in-memory search. Sizes are printed as ratios against the ``InMemoryVectorStore`` dump and the
FAISS files measured in the same run. Results go to ``benchmarks/results/langchain.json``.

Documents are embedded from the engine benchmark's cache (vectors of the same model), so the
build is quick; the LEANN latency runs use the real model for every recomputed passage.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from langchain_core.embeddings import Embeddings  # noqa: E402
from langchain_core.vectorstores import InMemoryVectorStore  # noqa: E402

from benchmarks.corpus import load_corpus  # noqa: E402
from benchmarks.embed_cache import cached_embeddings  # noqa: E402
from leann_integrations.langchain import LeannEmbeddings, LeannVectorStore  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "langchain.json"


class CachedEmbeddings(Embeddings):
    """The real model's vectors for corpus texts, looked up; anything else goes to the model."""

    def __init__(self, real: LeannEmbeddings, texts: list[str], matrix: np.ndarray) -> None:
        self.model = real.model
        self._real = real
        self._row = {t: i for i, t in enumerate(texts)}
        self._m = matrix

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        rows = [self._row.get(t) for t in texts]
        if any(r is None for r in rows):
            return self._real.embed_documents(texts)
        return self._m[rows].tolist()

    def embed_query(self, text: str) -> list[float]:
        return self._real.embed_query(text)


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def time_queries(search, queries: list[str], after=None) -> tuple[list[float], list[list[str]]]:
    """Seconds and result ids per query; ``after()`` runs after each (outside the timing)."""
    seconds, ids = [], []
    for q in queries:
        t = time.perf_counter()
        docs = search(q)
        seconds.append(time.perf_counter() - t)
        ids.append([d.id for d in docs])
        if after is not None:
            after()
    return seconds, ids


def summary(seconds: list[float]) -> dict[str, float]:
    return {"p50_s": statistics.median(seconds), "mean_s": statistics.fmean(seconds), "max_s": max(seconds)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--chunks", type=int, default=5000, help="documents to index (from the 20,000-chunk corpus)"
    )
    ap.add_argument("--queries", type=int, default=10, help="queries timed per store")
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON report")
    args = ap.parse_args()

    corpus, metas, queries = load_corpus()
    matrix, _ = cached_embeddings(corpus)
    rng = np.random.default_rng(0)
    pick = np.sort(rng.choice(len(corpus), size=min(args.chunks, len(corpus)), replace=False))
    texts = [corpus[i] for i in pick]
    metadatas = [metas[i] for i in pick]
    ids = [f"c{i}" for i in pick]
    queries = queries[: args.queries]
    real = LeannEmbeddings()
    real.embed_query("warm up")
    cached = CachedEmbeddings(real, corpus, matrix)
    work = Path(tempfile.mkdtemp(prefix="bench-langchain-"))
    k = args.k
    report: dict = {"chunks": len(texts), "queries": len(queries), "k": k, "model": real.model}
    print(f"{len(texts)} chunks, {len(queries)} queries, k={k}, load {os.getloadavg()[0]:.1f}")

    # --- InMemoryVectorStore, persisted with dump()
    t = time.perf_counter()
    memory = InMemoryVectorStore(cached)
    memory.add_texts(texts, metadatas, ids=ids)
    build_memory = time.perf_counter() - t
    dump = work / "in_memory.json"
    memory.dump(str(dump))
    memory.embedding = real
    memory.similarity_search("warm up", k=k)
    mem_s, mem_ids = time_queries(lambda q: memory.similarity_search(q, k=k), queries)

    # --- FAISS flat inner product over the same normalised vectors, with the documents pickled
    import faiss

    vecs = np.asarray(matrix[pick], dtype=np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    t = time.perf_counter()
    flat = faiss.IndexFlatIP(vecs.shape[1])
    flat.add(vecs)
    build_faiss = time.perf_counter() - t
    faiss_dir = work / "faiss"
    faiss_dir.mkdir()
    faiss.write_index(flat, str(faiss_dir / "index.faiss"))
    with open(faiss_dir / "index.pkl", "wb") as f:
        pickle.dump({i: (t_, m) for i, t_, m in zip(ids, texts, metadatas)}, f)

    def faiss_search(q: str):
        qv = np.asarray([real.embed_query(q)], dtype=np.float32)
        qv /= np.linalg.norm(qv)
        _, rows = flat.search(qv, k)

        class Hit:
            def __init__(self, pid: str) -> None:
                self.id = pid

        return [Hit(ids[r]) for r in rows[0] if r >= 0]

    faiss_search("warm up")
    faiss_s, _ = time_queries(faiss_search, queries)

    # --- LeannVectorStore, recompute (default) and store_embeddings
    stores = {}
    for name, options in (("leann", {}), ("leann_store_embeddings", {"store_embeddings": True})):
        t = time.perf_counter()
        store = LeannVectorStore.from_texts(
            texts, cached, metadatas=metadatas, ids=ids, index_path=work / f"{name}.leann", **options
        )
        build_s = time.perf_counter() - t
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # same model, other wrapper name
            searching = LeannVectorStore(real, index_path=work / f"{name}.leann")
        searching.similarity_search("warm up", k=k)  # open the files
        recomputed: list[int] = []
        secs, got = time_queries(
            lambda q, s=searching: s.similarity_search(q, k=k),
            queries,
            after=lambda s=searching, r=recomputed: r.append(s.index.last_stats.recomputed),
        )
        agree = statistics.fmean(len(set(a) & set(b)) / k for a, b in zip(got, mem_ids))
        stores[name] = {
            "build_s": build_s,
            "bytes": store.storage_bytes(),
            "latency": summary(secs),
            "recomputed_per_query": recomputed,
            "latency_s": secs,
            f"top{k}_agreement_with_exact": agree,
        }

    mem_bytes = dump.stat().st_size
    faiss_bytes = {
        "index.faiss": (faiss_dir / "index.faiss").stat().st_size,
        "index.pkl": (faiss_dir / "index.pkl").stat().st_size,
    }
    faiss_total = sum(faiss_bytes.values())
    report["in_memory"] = {"build_s": build_memory, "dump_bytes": mem_bytes, "latency": summary(mem_s)}
    report["faiss"] = {
        "build_s": build_faiss,
        "bytes": faiss_bytes,
        "total_bytes": faiss_total,
        "latency": summary(faiss_s),
    }
    report.update(stores)
    report["load_average"] = os.getloadavg()[0]

    print("\nOn disk (same documents)")
    rows = [
        ("InMemoryVectorStore.dump (JSON)", mem_bytes),
        ("FAISS index.faiss + index.pkl", faiss_total),
        ("  index.faiss (flat float32)", faiss_bytes["index.faiss"]),
        ("LeannVectorStore (recompute)", stores["leann"]["bytes"]["total"]),
        ("  graph + manifest", stores["leann"]["bytes"]["graph"]),
        ("  BM25 keyword index", stores["leann"]["bytes"]["keywords"]),
        ("  text, metadata, ids", stores["leann"]["bytes"]["text"]),
        ("LeannVectorStore store_embeddings", stores["leann_store_embeddings"]["bytes"]["total"]),
    ]
    for name, size in rows:
        print(
            f"  {name:<36} {size:>12,d} bytes  {size / mem_bytes:7.1%} of dump  {size / faiss_total:7.1%} of FAISS"
        )
    leann = stores["leann"]["bytes"]
    ratios = {
        "leann_total_vs_in_memory_dump": leann["total"] / mem_bytes,
        "leann_total_vs_faiss_total": leann["total"] / faiss_total,
        "leann_graph_vs_faiss_index": leann["graph"] / faiss_bytes["index.faiss"],
        "leann_without_text_vs_faiss_index": (leann["total"] - leann["text"]) / faiss_bytes["index.faiss"],
    }
    report["ratios"] = ratios
    print(
        f"  LEANN graph / FAISS flat index: {ratios['leann_graph_vs_faiss_index']:.2%}; "
        f"with the BM25 index: {ratios['leann_without_text_vs_faiss_index']:.2%}"
    )

    print(f"\nQuery latency, similarity_search(k={k}) incl. embedding the query ({len(queries)} queries)")
    lat = [
        ("InMemoryVectorStore", report["in_memory"]["latency"], ""),
        ("FAISS IndexFlatIP", report["faiss"]["latency"], ""),
    ] + [
        (
            name,
            stores[name]["latency"],
            f"  top-{k} agreement {stores[name][f'top{k}_agreement_with_exact']:.2f}, "
            f"recomputed median {statistics.median(stores[name]['recomputed_per_query']):.0f}",
        )
        for name in stores
    ]
    base = report["in_memory"]["latency"]["p50_s"]
    for name, s, extra in lat:
        print(f"  {name:<24} p50 {s['p50_s'] * 1000:9.1f} ms  ({s['p50_s'] / base:6.1f}x in-memory){extra}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
