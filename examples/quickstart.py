"""Quick start: index the bundled sample documents, search them, show the storage saved.

    python examples/quickstart.py [--index PATH] [--query TEXT ...]

(after ``pip install -e .``, as the README's quick start does; it imports the installed package.)

Builds a graph-only index of ``examples/data`` (Linux kernel documentation) with
all-MiniLM-L6-v2, runs a few searches, and compares the index's size with a flat float32 index
of the same vectors.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from leann_cli.ingest.chunk import chunk_text  # noqa: E402
from leann_engine import LeannBuilder, LeannSearcher, disk_usage  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
QUERIES = [
    "how do I send a patch to the kernel maintainers?",
    "magic SysRq key to reboot the machine",
    "how many spaces should indentation use?",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", default=None, help="where to write the index (default: a temp folder)")
    ap.add_argument("--query", action="append", help="a query to run (repeatable)")
    args = ap.parse_args()
    index_path = Path(args.index or tempfile.mkdtemp(prefix="leann-quickstart-")) / "sample.leann"

    builder = LeannBuilder(backend_name="hnsw", show_progress=True)
    for doc in sorted(DATA.glob("*.rst")):
        for i, chunk in enumerate(chunk_text(doc.read_text(encoding="utf-8"))):
            builder.add_text(chunk, metadata={"source": doc.name, "chunk": i})
    print(f"Indexing {len(builder)} chunks from {DATA} ...")
    t = time.perf_counter()
    builder.build_index(index_path)
    print(f"Built {index_path} in {time.perf_counter() - t:.1f}s\n")

    searcher = LeannSearcher(index_path)
    for query in args.query or QUERIES:
        results = searcher.search(query, top_k=3)
        st = results.stats
        print(f"Q: {query}   ({st.recomputed} passages re-embedded, {st.total_s:.2f}s)")
        for r in results:
            snippet = " ".join(r.text.split())[:100]
            print(f"  {r.score:.3f}  {r.metadata['source']:<24} {snippet}")
        print()

    use = disk_usage(index_path)
    # What stands in for the vectors (graph, codes, manifest) against what a flat index also lacks
    # (the keyword index) and what every store keeps (the text, compressed here).
    vector_part = use.graph + use.codes + use.hubs + use.embeddings + use.other
    print("Storage")
    print(f"  flat float32 index of the same vectors : {use.flat_bytes:>10,d} bytes")
    print(f"  graph + codes (instead of the vectors) : {vector_part:>10,d} bytes  ({100 * vector_part / use.flat_bytes:.1f}% of flat)")
    print(f"    graph {use.graph:,d}, codes {use.codes:,d}, other {use.hubs + use.embeddings + use.other:,d}")
    print(f"  keyword index (BM25, for hybrid search): {use.keyword:>10,d} bytes")
    print(f"  passage text and metadata (compressed) : {use.passages:>10,d} bytes")
    print(f"  whole index folder                     : {use.total:>10,d} bytes")
    print(f"  saved against flat vectors             : {100 * (1 - vector_part / use.flat_bytes):.1f}%")

if __name__ == "__main__":
    main()
