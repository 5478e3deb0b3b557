"""Drive LEANN (its own virtual environment) for benchmarks/bench_speed.py; not imported by it.

    /work/leann-venv/bin/python benchmarks/leann_driver.py SPEC.json OUT.json
    /work/leann-venv/bin/python benchmarks/leann_driver.py SPEC.json -     (interactive, see serve())

SPEC holds the work folder, the model folder, the chunk texts and ids, the path of a ``.npy``
matrix of their embeddings (the same float32 vectors our indexes are built from, so both
systems index identical vectors), the queries and the complexities to try. LEANN builds its
HNSW index from those arrays, then searches each query with recomputation on, through its own
embedding server. The server logs each batch it embeds ("Computed embeddings for N texts")
to ``LEANN_HNSW_LOG_PATH``; the passages recomputed per query are summed from the lines the
query added. Query embeddings go through another request type and are not counted.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np

# Not 5557, the default, which another LEANN user on this machine may hold.
PORT = 5611


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    work = Path(spec["work"])
    work.mkdir(parents=True, exist_ok=True)
    log_path = work / "server.log"
    os.environ["LEANN_LOG_LEVEL"] = "INFO"
    os.environ["LEANN_HNSW_LOG_PATH"] = str(log_path)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import leann
    from leann import LeannBuilder, LeannSearcher

    out: dict = {"leann_version": getattr(leann, "__version__", "0.3.8")}
    index_path = str(work / "docs.leann")
    emb = np.load(spec["embeddings"]).astype(np.float32)
    t = time.perf_counter()
    builder = LeannBuilder(
        backend_name="hnsw",
        embedding_model=spec["model"],
        embedding_mode="sentence-transformers",
        is_recompute=True,
        is_compact=True,
    )
    for cid, text in zip(spec["ids"], spec["texts"]):
        builder.add_text(text, metadata={"id": cid})
    builder.build_index_from_arrays(index_path, spec["ids"], emb)
    out["build_s"] = round(time.perf_counter() - t, 1)
    out["files"] = {p.name: p.stat().st_size for p in work.iterdir() if p.name.startswith("docs")}
    searcher = LeannSearcher(index_path, enable_warmup=True, use_daemon=False)
    pattern = re.compile(r"Computed embeddings for (\d+) texts")
    if sys.argv[2] == "-":
        try:
            serve(searcher, spec, out, log_path, pattern)
        finally:
            searcher.cleanup()
        return
    try:
        searcher.search(
            spec["queries"][0], top_k=10, complexity=spec["complexities"][0], expected_zmq_port=PORT
        )
        out["runs"] = {}
        for c in spec["complexities"]:
            rows = []
            for q in spec["queries"]:
                before = log_path.stat().st_size if log_path.exists() else 0
                t = time.perf_counter()
                res = searcher.search(
                    q, top_k=10, complexity=c, recompute_embeddings=True, expected_zmq_port=PORT
                )
                lat = time.perf_counter() - t
                with open(log_path, encoding="utf-8", errors="replace") as f:
                    f.seek(before)
                    added = f.read()
                n = sum(int(m) for m in pattern.findall(added))
                rows.append({"ids": [r.id for r in res], "latency_s": lat, "recomputed": n})
                print(f"leann complexity {c}: {lat:.1f}s, {n} recomputed", file=sys.stderr, flush=True)
            out["runs"][str(c)] = rows
    finally:
        searcher.cleanup()
    Path(sys.argv[2]).write_text(json.dumps(out))


def one_search(searcher, q: str, c: int, log_path: Path, pattern) -> dict:
    before = log_path.stat().st_size if log_path.exists() else 0
    t = time.perf_counter()
    res = searcher.search(q, top_k=10, complexity=c, recompute_embeddings=True, expected_zmq_port=PORT)
    lat = time.perf_counter() - t
    with open(log_path, encoding="utf-8", errors="replace") as f:
        f.seek(before)
        added = f.read()
    n = sum(int(m) for m in pattern.findall(added))
    return {"ids": [r.id for r in res], "latency_s": lat, "recomputed": n}


def serve(searcher, spec: dict, out: dict, log_path: Path, pattern) -> None:
    """Interactive mode (OUT is ``-``): one JSON request ``{"q", "complexity"}`` per stdin line,
    one reply per line on stdout prefixed with ``@@`` (LEANN logs on stdout too), so a benchmark
    can interleave LEANN's queries with another system's one by one."""
    one_search(searcher, spec["queries"][0], spec["complexities"][0], log_path, pattern)  # warm up
    print("@@" + json.dumps(out), flush=True)
    for line in sys.stdin:
        if not line.strip():
            break
        req = json.loads(line)
        print("@@" + json.dumps(one_search(searcher, req["q"], int(req["complexity"]), log_path, pattern)), flush=True)


if __name__ == "__main__":
    main()
