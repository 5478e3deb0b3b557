"""LangChain ``add_documents`` of a few documents into a big store (issue 13's last figure).

    LEANN_BENCH_CACHE=/work/bench-cache flock /work/bench.lock \\
        python -m benchmarks.bench_lc_add [--n 20000] [--add 10] [--repeats 5]

Builds a ``LeannVectorStore`` of ``--n`` linux-doc chunks (their all-MiniLM-L6-v2 vectors from the
benchmark cache, so the build is quick), reopens it with the real model, then ``--repeats`` times
adds ``--add`` new documents with ``add_documents`` and compares the call's time with the time the
real model takes to embed those same documents alone, measured just before on the same texts
(interleaved, so both see the same load). Also counts the texts the store embedded per call
(only the new ones should be) and checks the new documents are found. Writes
``benchmarks/results/lc_add.json``.
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

from langchain_core.documents import Document  # noqa: E402

from benchmarks.bench_langchain import CachedEmbeddings  # noqa: E402
from benchmarks.corpus import load_pool  # noqa: E402
from benchmarks.embed_cache import cached_embeddings  # noqa: E402
from leann_integrations.langchain import LeannEmbeddings, LeannVectorStore  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "lc_add.json"


class Counting(LeannEmbeddings):
    """The real model, counting the texts it embeds for documents."""

    embedded = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        Counting.embedded += len(texts)
        return super().embed_documents(texts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--add", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    pool, metas, _ = load_pool(args.n, args.add * args.repeats, n_queries=1)
    base = pool[: args.n]
    real = LeannEmbeddings()
    cached = CachedEmbeddings(real, base, cached_embeddings(base)[0])
    work = Path(tempfile.mkdtemp())
    try:
        t = time.perf_counter()
        LeannVectorStore.from_texts(
            base, cached, metadatas=metas[: args.n], ids=[f"d{i}" for i in range(args.n)],
            index_path=work / "lc.leann",
        )
        build_s = time.perf_counter() - t
        counting = Counting()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            store = LeannVectorStore(counting, index_path=work / "lc.leann")
        store.similarity_search("warm up", k=1)
        runs = []
        for r in range(args.repeats):
            lo = args.n + r * args.add
            texts = pool[lo : lo + args.add]
            docs = [Document(page_content=x, metadata=metas[lo + j]) for j, x in enumerate(texts)]
            t = time.perf_counter()
            real.embed_documents(texts)
            embed_s = time.perf_counter() - t
            Counting.embedded = 0
            t = time.perf_counter()
            ids = store.add_documents(docs, ids=[f"new{lo + j}" for j in range(args.add)])
            add_s = time.perf_counter() - t
            embedded = Counting.embedded
            found = store.similarity_search(texts[0], k=3)
            runs.append({
                "embed_alone_s": round(embed_s, 3), "add_documents_s": round(add_s, 3),
                "overhead_s": round(add_s - embed_s, 3), "texts_embedded": embedded,
                "added": len(ids), "new_doc_found_top3": any(d.id == ids[0] for d in found),
                "delta_rows": int(store.index.manifest["counts"]["delta"]),
            })
            print(json.dumps(runs[-1]), flush=True)
        out = {
            "n": args.n, "add": args.add, "build_s": round(build_s, 1), "runs": runs,
            "median_add_s": statistics.median(x["add_documents_s"] for x in runs),
            "median_overhead_s": statistics.median(x["overhead_s"] for x in runs),
            "load": os.getloadavg(),
        }
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(out, indent=1))
        print(json.dumps({k: v for k, v in out.items() if k != "runs"}, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
