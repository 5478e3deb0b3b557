"""`leann build NAME` after one changed file among N files (issue 13): time of the update against
embedding that file's chunks alone.

    python -m benchmarks.bench_incremental [--files 1000]

Files are sections of the linux-doc corpus (benchmarks/corpus.py), one chunk-sized file each; the
build runs in this process through the CLI's entry point with the real model (no daemon).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from benchmarks.corpus import load_corpus
from leann_cli.main import main as leann
from leann_engine import SentenceTransformerEmbedder


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=1000)
    args = ap.parse_args()
    texts, _, _ = load_corpus(n_chunks=args.files, n_queries=1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        docs = root / "docs"
        docs.mkdir()
        for i, t in enumerate(texts):
            (docs / f"f{i:05d}.txt").write_text(t, encoding="utf-8")
        os.chdir(root)
        t0 = time.perf_counter()
        assert leann(["build", "bench", "--docs", str(docs), "--no-daemon"]) in (0, None)
        first_s = time.perf_counter() - t0
        changed = docs / "f00000.txt"
        changed.write_text(texts[0] + " An added sentence about kernel patches.", encoding="utf-8")
        t0 = time.perf_counter()
        assert leann(["build", "bench", "--no-daemon"]) in (0, None)
        update_s = time.perf_counter() - t0
        model = SentenceTransformerEmbedder()
        model.embed(["warm up"])
        t0 = time.perf_counter()
        model.embed([changed.read_text(encoding="utf-8")])
        embed_s = time.perf_counter() - t0
    print(json.dumps({"files": args.files, "first_build_s": round(first_s, 1), "update_s": round(update_s, 2),
                      "embed_changed_file_s": round(embed_s, 3), "update_minus_embed_s": round(update_s - embed_s, 2)}))


if __name__ == "__main__":
    main()
