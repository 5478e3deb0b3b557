"""A million passages on one machine (issue 17): build memory and time, search memory and speed.

Corpus: real text from Debian packages (linux-doc, dict-gcide, man pages in several languages,
the Python and Debian documentation, wamerican), fetched with ``apt-get download`` into the
benchmark cache, unpacked with ``dpkg-deb -x`` and chunked at 256 characters. When the packages
hold fewer chunks than ``--n``, the text is chunked again from a shifted offset (said in the
output: ``unique_passages``).

Vectors: the first ``--real`` passages (default 20,000) are exactly the chunks of
``benchmarks.corpus.load_corpus(20000)`` with their real all-MiniLM-L6-v2 vectors (embedded
once and cached in ``LEANN_BENCH_CACHE``), so ``--n 20000`` is a real-model index; every
later passage gets a cheap deterministic hashing embedder's vector, so a
million-passage build runs in minutes instead of ~5 hours of embedding on 2 cores. The hashing
vectors are not semantic; they exercise memory and time, and recall is measured against exact
search over the same vectors. The queries are the real model's vectors of linux-doc headings;
recall@3 is also reported for the queries whose exact top 3 all have real vectors.

The build runs in a child process (peak RSS = its ``ru_maxrss``), the search in a fresh one
(first-query time, RSS after 100 queries, p50 latency, recall@3 against brute force over the
vectors, computed in batches from a memory map). Writes ``benchmarks/results/scale.json``.

    python -m benchmarks.bench_scale --n 1000000      # the full run (lead)
    python -m benchmarks.bench_scale --n 20000         # a quick proof
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from benchmarks.corpus import CACHE, linux_doc_root, load_corpus
from leann_cli.ingest.chunk import chunk_text

PACKAGES = ("dict-gcide", "manpages", "manpages-dev", "manpages-ja", "manpages-zh", "python3.11-doc", "debian-faq", "wamerican")
RESULTS = Path(__file__).resolve().parent / "results"
WORK = CACHE / "scale"
_WORD = re.compile(r"\w+")
_ROFF = re.compile(r"^\.[A-Za-z]+\s?|\\f[BIRP]|\\-|\\\(..|\\&")
_TAGS = re.compile(r"<[^>]+>")


def package_root(name: str) -> Path | None:
    """The unpacked package (fetched with apt-get download on first use); None if unavailable."""
    root = CACHE / "pkgs" / name
    if root.exists():
        return root
    work = CACHE / "pkgs"
    work.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(["apt-get", "download", name], cwd=work, check=True, capture_output=True)
        deb = sorted(work.glob(f"{name}_*.deb"))[-1]
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    except (subprocess.CalledProcessError, IndexError, FileNotFoundError) as e:
        print(f"  skipping {name}: {e}", file=sys.stderr)
        return None
    return root


def _read(path: Path) -> str:
    raw = path.read_bytes()
    if path.suffix in (".gz", ".dz"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError):
            return ""
    text = raw.decode("utf-8", errors="replace")
    if "/man/" in str(path):
        text = "\n".join(_ROFF.sub("", line) for line in text.splitlines() if not line.startswith('.\\"'))
    if path.name.endswith((".html", ".html.gz")):
        text = _TAGS.sub(" ", text)
    return text


def documents() -> Iterator[tuple[str, str]]:
    """``(source, text)`` of every document, package by package, in a fixed order."""
    root = linux_doc_root()
    for p in sorted(root.rglob("*.txt")):
        yield f"linux-doc/{p.relative_to(root)}", _read(p)
    for name in PACKAGES:
        base = package_root(name)
        if base is None:
            continue
        for p in sorted(base.rglob("*")):
            if p.is_file() and p.suffix in (".gz", ".dz", ".txt", ".html", ".1", ".3", "") and p.stat().st_size > 200:
                if "/man/" in str(p) or "/dict" in str(p) or "/doc/" in str(p):
                    yield f"{name}/{p.relative_to(base)}", _read(p)


def passages(n: int, real: int = 0) -> Iterator[tuple[str, dict]]:
    """``n`` passages of ~256 characters, streamed: first the ``real`` chunks of
    ``load_corpus(real)`` exactly (the passages with real-model vectors), then the Debian
    package text without those chunks; a second pass over the packages is shifted by 128
    characters."""
    count = 0
    seen: set[str] = set()
    if real:
        chunks, metas, _ = load_corpus(n_chunks=real)
        seen = set(chunks)
        for text, meta in zip(chunks, metas):
            if count >= n:
                return
            yield text, {**meta, "vectors": "real", "pass": 0}
            count += 1
    shift = 0
    while count < n:
        before = count
        for source, text in documents():
            for j, piece in enumerate(chunk_text(text[shift:], 256, 25)):
                if len(piece) >= 40 and piece not in seen:
                    yield piece, {"source": source, "chunk": j, "pass": shift // 128, "vectors": "hashed"}
                    count += 1
                    if count >= n:
                        return
        if count == before:
            raise RuntimeError("no text found in the packages")
        shift += 128


class BenchEmbedder:
    """Real-model vectors for the passages whose text is in ``real`` (from the cache), hashed
    bag-of-words vectors (4,096 fixed random directions) for every other text."""

    name = "bench-mixed-minilm+hash"
    dimension = 384

    def __init__(self, real_texts: list[str], real_vectors: np.ndarray) -> None:
        self.real = {t: i for i, t in enumerate(real_texts)}
        self.vectors = np.asarray(real_vectors, dtype=np.float32)
        self.table = np.random.default_rng(7).standard_normal((4096, 384)).astype(np.float32)

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), 384), dtype=np.float32)
        ids, owners = [], []
        for i, t in enumerate(texts):
            row = self.real.get(t)
            if row is not None:
                out[i] = self.vectors[row]
                continue
            ws = _WORD.findall(t.lower()) or ["<empty>"]
            ids.extend(zlib.crc32(w.encode()) % 4096 for w in ws)
            owners.extend([i] * len(ws))
        if ids:
            # Owners ascend, so each text's words are one run: a sum per run (np.add.at is ~10x slower).
            own = np.asarray(owners)
            heads = np.flatnonzero(np.r_[True, own[1:] != own[:-1]])
            for a in range(0, heads.size, 1024):  # the gathered rows of ~1,024 texts at a time
                lo = heads[a]
                hi = heads[a + 1024] if a + 1024 < heads.size else own.size
                out[own[heads[a : a + 1024]]] = np.add.reduceat(self.table[np.asarray(ids[lo:hi])], heads[a : a + 1024] - lo)
        return out


def make_embedder(n_real: int) -> BenchEmbedder:
    from benchmarks.embed_cache import cached_embeddings

    # The linux-doc sample of the other benchmarks (its vectors are cached): these passages
    # get real-model vectors wherever they occur in the stream.
    real, _, _ = load_corpus(n_chunks=n_real)
    vecs, _ = cached_embeddings(real)
    return BenchEmbedder(real, vecs)


def rss_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child_build(args: argparse.Namespace) -> dict:
    from leann_engine import LeannBuilder

    emb = make_embedder(args.real)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    path = WORK / "index.leann"
    shutil.rmtree(path, ignore_errors=True)
    b = LeannBuilder(embedding_model=emb, num_threads=-1)
    t0 = time.perf_counter()
    b.add_texts(t for t, _ in passages(args.n, args.real))  # a generator: never a list
    spool_s = time.perf_counter() - t0
    b.build_index(path)
    total = time.perf_counter() - t0
    m = json.loads((path / "manifest.json").read_text())
    files = {p.name: p.stat().st_size for p in path.iterdir() if p.is_file()}
    return {
        "build_s": round(total, 1),
        "stages_s": {"read+spool": round(spool_s, 1), **m["build_seconds"]},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rss_before_build_mb": round(base),
        "index_bytes": sum(files.values()),
        "files": files,
        "codes": m["graph"].get("codes"),
    }


def exact_vectors(args: argparse.Namespace, emb: BenchEmbedder) -> np.memmap:
    """Every passage's vector (the build's embedder, normalised) in a memory-mapped file."""
    path = WORK / f"vectors-{args.n}.f32"
    x = np.memmap(path, dtype=np.float32, mode="w+", shape=(args.n, 384))
    batch, s = [], 0
    for t, _ in passages(args.n, args.real):
        batch.append(t)
        if len(batch) == 8192:
            v = emb.embed(batch)
            x[s : s + len(v)] = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
            s, batch = s + len(v), []
    if batch:
        v = emb.embed(batch)
        x[s : s + len(v)] = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    x.flush()
    return np.memmap(path, dtype=np.float32, mode="r", shape=(args.n, 384))


def child_search(args: argparse.Namespace) -> dict:
    from benchmarks.embed_cache import cached_embeddings
    from leann_engine import LeannSearcher

    emb = make_embedder(args.real)
    _, _, queries = load_corpus(n_chunks=args.real, n_queries=args.queries)
    qv, _ = cached_embeddings(queries, query=True)
    qv = qv / np.linalg.norm(qv, axis=1, keepdims=True)
    rss0 = rss_mb()
    t0 = time.perf_counter()
    s = LeannSearcher(WORK / "index.leann", emb)
    first = s.search(None, top_k=3, query_embedding=qv[0])
    first_s = time.perf_counter() - t0
    times, got = [], [[int(r.id) for r in first]]
    for q in qv[1:]:
        t = time.perf_counter()
        got.append([int(r.id) for r in s.search(None, top_k=3, query_embedding=q)])
        times.append(time.perf_counter() - t)
    rss_after = rss_mb()
    s.close()
    x = exact_vectors(args, emb)
    sims = np.full((len(qv), 3), -np.inf, dtype=np.float32)
    best = np.zeros((len(qv), 3), dtype=np.int64)
    for a in range(0, args.n, 65536):
        block = qv @ np.asarray(x[a : a + 65536]).T
        cat = np.concatenate([sims, block], axis=1)
        idx = np.concatenate([best, np.arange(a, a + block.shape[1])[None, :].repeat(len(qv), 0)], axis=1)
        top = np.argsort(-cat, axis=1)[:, :3]
        sims, best = np.take_along_axis(cat, top, 1), np.take_along_axis(idx, top, 1)
    hits = np.array([len(set(g) & set(b.tolist())) / 3 for g, b in zip(got, best)])
    # Rows are insertion positions: the first min(n, real) passages have real-model vectors.
    on_real = (best < min(args.n, args.real)).all(axis=1)
    recall = float(hits.mean())
    return {
        "queries": len(qv),
        "first_query_s": round(first_s, 3),
        "rss_before_open_mb": round(rss0),
        "rss_after_queries_mb": round(rss_after),
        "rss_after_minus_before_mb": round(rss_after - rss0),
        "p50_ms": round(float(np.median(times)) * 1000, 1) if times else None,
        "recall_at_3": round(recall, 4),
        "queries_with_real_truth": int(on_real.sum()),
        "recall_at_3_real_truth": round(float(hits[on_real].mean()), 4) if on_real.any() else None,
    }


def run_child(kind: str, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.bench_scale", f"--child={kind}", f"--n={args.n}", f"--real={args.real}",
           f"--queries={args.queries}"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env={**os.environ, "LEANN_QUIET": "1"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="passages (default 1,000,000)")
    ap.add_argument("--real", type=int, default=20_000, help="passages embedded with the real model")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--child", choices=("build", "search"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    if args.child:
        print(json.dumps(child_build(args) if args.child == "build" else child_search(args)))
        return
    make_embedder(args.real)  # embed and cache the real-model part outside the timed build
    build = run_child("build", args)
    search = run_child("search", args)
    unique = sum(1 for _, m in passages(args.n, args.real) if m["pass"] == 0)
    emb = make_embedder(args.real)
    real_used = sum(1 for t, _ in passages(args.n, args.real) if t in emb.real)
    result = {"n": args.n, "real_model_passages": real_used, "hashed_passages": args.n - real_used,
              "unique_passages": unique, "cores": os.cpu_count(), "build": build, "search": search}
    print(f"{args.n:,} passages: the first {real_used:,} (load_corpus({args.real}), linux-doc) with real "
          f"all-MiniLM-L6-v2 vectors, {args.n - real_used:,} (Debian packages) with hashed bag-of-words "
          f"vectors; {unique:,} unique")
    print(f"  build {build['build_s']} s, peak RSS {build['peak_rss_mb']} MB, index {build['index_bytes'] / 1e6:.1f} MB")
    for k, v in build["stages_s"].items():
        print(f"    {k:11s} {v:8.1f} s")
    print(f"  search: first query {search['first_query_s']} s, RSS after {search['queries']} queries "
          f"{search['rss_after_queries_mb']} MB, p50 {search['p50_ms']} ms, recall@3 {search['recall_at_3']}")
    print(f"  recall@3 on the {search['queries_with_real_truth']} queries (real-model vectors of linux-doc "
          f"headings) whose exact top 3 are all real-vector passages: {search['recall_at_3_real_truth']}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "scale.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
