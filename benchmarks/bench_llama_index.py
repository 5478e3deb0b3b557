"""LlamaIndex vector stores on the same documents: size on disk and query latency, real model.

    python -m benchmarks.bench_llama_index [--chunks 2000] [--queries 10]

Indexes the same chunks of the Linux kernel documentation (the engine benchmark's corpus) as
LlamaIndex ``TextNode``s in three ``VectorStoreIndex``es that differ only in their
``StorageContext``:

* ``SimpleVectorStore`` (LlamaIndex's default), persisted with ``StorageContext.persist``
  (vector store JSON with the embeddings, docstore JSON with the nodes);
* ``FaissVectorStore`` (``llama-index-vector-stores-faiss``) over a ``faiss.IndexFlatIP``,
  persisted the same way (FAISS index file plus the docstore, since it keeps no text);
* ``LeannVectorStore``: the index folder (its current generation) plus the persisted, nearly
  empty docstore and index store.

It then times ``retriever.retrieve(query)`` (top 4, the query embedded by all-MiniLM-L6-v2 each
time) on each and reports how many of LEANN's top 4 agree with the exact SimpleVectorStore
search. Sizes and latencies are printed as ratios against SimpleVectorStore and FAISS measured in
the same run; results go to ``benchmarks/results/llama_index.json``.

The node embeddings come from the engine benchmark's cache (the same model on the same texts;
every node's embedded string is its text, metadata excluded), so the build is quick; LEANN's
queries recompute every passage they score with the real model.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from llama_index.core import StorageContext, VectorStoreIndex  # noqa: E402
from llama_index.core.schema import MetadataMode, TextNode  # noqa: E402

from benchmarks.corpus import load_corpus  # noqa: E402
from benchmarks.embed_cache import cached_embeddings  # noqa: E402
from leann_engine import disk_usage  # noqa: E402
from leann_integrations.llama_index import LeannEmbedding, LeannVectorStore  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "llama_index.json"
TOP_K = 4


def folder_bytes(path: Path) -> dict[str, int]:
    return {str(p.relative_to(path)): p.stat().st_size for p in sorted(path.rglob("*")) if p.is_file()}


def leann_bytes(path: Path) -> dict[str, int]:
    use = disk_usage(path)
    parts = ("graph", "codes", "hubs", "keyword", "passages", "embeddings", "other")
    return {f"{path.name} {part}": getattr(use, part) for part in parts if getattr(use, part)}


def time_queries(index: VectorStoreIndex, queries: list[str]) -> tuple[list[float], list[list[str]]]:
    retriever = index.as_retriever(similarity_top_k=TOP_K)
    retriever.retrieve(queries[0])  # warm up: model, files, caches
    times, ids = [], []
    for q in queries:
        t = time.perf_counter()
        got = retriever.retrieve(q)
        times.append(time.perf_counter() - t)
        ids.append([r.node.node_id for r in got])
    return times, ids


def summary(times: list[float]) -> dict[str, float]:
    ms = sorted(1000 * t for t in times)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return {
        "p50_ms": round(statistics.median(ms), 2),
        "p95_ms": round(p95, 2),
        "mean_ms": round(statistics.mean(ms), 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chunks", type=int, default=2000)
    ap.add_argument("--queries", type=int, default=10)
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    try:
        import faiss
        from llama_index.vector_stores.faiss import FaissVectorStore
    except ImportError as e:
        raise SystemExit(
            f'{e}: pip install -e ".[bench]" (faiss-cpu, llama-index-vector-stores-faiss)'
        ) from e

    chunks, metas, queries = load_corpus(n_chunks=args.chunks, n_queries=args.queries)
    vectors, embed_s = cached_embeddings(chunks)
    keys = list(metas[0])
    nodes = [
        TextNode(
            id_=f"c{i}",
            text=text,
            metadata=meta,
            excluded_embed_metadata_keys=keys,
            excluded_llm_metadata_keys=keys,
            embedding=vec.tolist(),
        )
        for i, (text, meta, vec) in enumerate(zip(chunks, metas, vectors))
    ]
    assert all(n.get_content(metadata_mode=MetadataMode.EMBED) == t for n, t in zip(nodes, chunks))
    embed_model = LeannEmbedding()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-llama-"))
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    print(f"{len(nodes)} nodes, {len(queries)} queries; workdir {work}", flush=True)

    stores: dict[str, dict] = {}

    def run(name: str, storage_context: StorageContext, files) -> VectorStoreIndex:
        t = time.perf_counter()
        index = VectorStoreIndex(
            nodes, storage_context=storage_context, embed_model=embed_model, insert_batch_size=len(nodes)
        )
        storage_context.persist(persist_dir=str(work / name))
        build_s = time.perf_counter() - t
        sizes = files()
        times, ids = time_queries(index, queries)
        stores[name] = {
            "build_s": round(build_s, 2),
            "files": sizes,
            "bytes": sum(sizes.values()),
            **summary(times),
        }
        print(
            f"  {name:<18} {stores[name]['bytes']:>12,} bytes   p50 {stores[name]['p50_ms']:>9.1f} ms",
            flush=True,
        )
        stores[name]["_ids"] = ids
        return index

    run("SimpleVectorStore", StorageContext.from_defaults(), lambda: folder_bytes(work / "SimpleVectorStore"))
    faiss_store = FaissVectorStore(faiss_index=faiss.IndexFlatIP(vectors.shape[1]))
    run(
        "FaissVectorStore",
        StorageContext.from_defaults(vector_store=faiss_store),
        lambda: folder_bytes(work / "FaissVectorStore"),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        leann = LeannVectorStore(work / "docs.leann", embed_model)
    index = run(
        "LeannVectorStore",
        StorageContext.from_defaults(vector_store=leann),
        lambda: {**leann_bytes(work / "docs.leann"), **folder_bytes(work / "LeannVectorStore")},
    )
    del index
    stats = leann.client.last_stats

    exact = stores["SimpleVectorStore"].pop("_ids")
    stores["FaissVectorStore"].pop("_ids")
    found = stores["LeannVectorStore"].pop("_ids")
    agree = statistics.mean(len(set(a) & set(b)) / TOP_K for a, b in zip(found, exact))
    leann_files = stores["LeannVectorStore"]["files"]
    graph_bytes = sum(v for k, v in leann_files.items() if k.endswith(".graph"))
    text_bytes = sum(v for k, v in leann_files.items() if k.endswith((".jsonl", ".lens", ".ids.json")))
    flat_bytes = vectors.shape[0] * vectors.shape[1] * 4
    s, f, lv = (stores[k] for k in ("SimpleVectorStore", "FaissVectorStore", "LeannVectorStore"))
    result = {
        "corpus": {
            "chunks": len(nodes),
            "queries": len(queries),
            "model": "all-MiniLM-L6-v2",
            "text_bytes": sum(len(c.encode()) for c in chunks),
        },
        "top_k": TOP_K,
        "stores": stores,
        "leann_vs_simple_bytes": round(lv["bytes"] / s["bytes"], 4),
        "leann_vs_faiss_bytes": round(lv["bytes"] / f["bytes"], 4),
        "leann_graph_pct_of_flat_vectors": round(100 * graph_bytes / flat_bytes, 2),
        "leann_text_and_metadata_bytes": text_bytes,
        "leann_vs_simple_p50": round(lv["p50_ms"] / s["p50_ms"], 2),
        "leann_vs_faiss_p50": round(lv["p50_ms"] / f["p50_ms"], 2),
        "leann_top4_agreement_with_exact": round(agree, 4),
        "leann_last_query_recomputed": stats.recomputed,
        # the previous generation stays for open readers until the next write removes it
        "leann_folder_bytes_including_previous_generation": sum(folder_bytes(work / "docs.leann").values()),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
    }
    print()
    print(f"{'store':<20}{'bytes':>14}{'vs Simple':>11}{'vs FAISS':>10}{'p50 ms':>11}{'p95 ms':>11}")
    for name, r in stores.items():
        print(
            f"{name:<20}{r['bytes']:>14,}{r['bytes'] / s['bytes']:>11.3f}{r['bytes'] / f['bytes']:>10.3f}"
            f"{r['p50_ms']:>11.1f}{r['p95_ms']:>11.1f}"
        )
    print(
        f"\nLEANN graph: {graph_bytes:,} bytes = {result['leann_graph_pct_of_flat_vectors']}% of the float32 "
        f"vectors ({flat_bytes:,}); its text+metadata {text_bytes:,} bytes"
    )
    print(
        f"LEANN top-{TOP_K} agreement with exact search: {agree:.3f}; last query re-embedded {stats.recomputed}"
    )
    print(f"load average {result['load_average_1min']} on {result['cpus']} CPUs")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
