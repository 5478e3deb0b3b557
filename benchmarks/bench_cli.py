"""Command-line speed: cold and warm `leann search` on 20,000 chunks against LEANN 0.3.8's, the MCP
server's queries after its first, and `leann build` throughput with an incremental re-build.

    python -m benchmarks.bench_cli [--cold 3] [--warm 5] [--leann-venv /work/leann-venv]

Both indexes hold the same 20,000 chunks of the Linux kernel documentation (benchmarks/corpus.py)
and are built once from the cached all-MiniLM-L6-v2 vectors (benchmarks/embed_cache.py), then
reused. Searches are dense (LEANN's only mode), complexity 64, top 5. LEANN runs from its own virtual environment (``pip install leann==0.3.8``) with its hnsw
backend, pointed at the same local model folder with ``--embedding-mode sentence-transformers``;
its embedding daemon is stopped after every cold run. Every figure is measured in this one run.
Results: benchmarks/results/cli.json.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

from benchmarks.corpus import CACHE, linux_doc_root, load_corpus  # noqa: E402
from benchmarks.embed_cache import cached_embeddings, model_dir  # noqa: E402
from leann_engine import DEFAULT_MODEL  # noqa: E402

WORK = CACHE / "cli-bench"
NAME = "linux20k"
RESULTS = ROOT / "benchmarks" / "results" / "cli.json"

LEANN_BUILD = r"""
import json, pickle, sys
from leann.api import LeannBuilder
chunks_file, vectors_file, index_path, model = sys.argv[1:5]
b = LeannBuilder(backend_name="hnsw", embedding_model=model, embedding_mode="sentence-transformers")
for line in open(chunks_file, encoding="utf-8"):
    r = json.loads(line)
    b.add_text(r["text"], dict(r["metadata"], id=r["id"]))
ids, vectors = pickle.load(open(vectors_file, "rb"))
b.build_index_from_arrays(index_path, ids, vectors)
"""


class LookupEmbedder:
    """The cached real-model vectors, by text (the index is then searched with the real model)."""

    name = DEFAULT_MODEL
    dimension = 384

    def __init__(self, texts: list[str], matrix: np.ndarray) -> None:
        self._row = {t: i for i, t in enumerate(texts)}
        self._m = matrix

    def embed(self, texts):
        if all(t in self._row for t in texts):
            return self._m[[self._row[t] for t in texts]]
        # Texts not in the cache (the build's calibration probe) go to the real model.
        from leann_engine import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(DEFAULT_MODEL).embed(list(texts))


def median(xs: list[float]) -> float:
    return float(statistics.median(xs)) if xs else float("nan")


def our_env(daemon_dir: Path) -> dict[str, str]:
    return dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        LEANN_DAEMON_DIR=str(daemon_dir),
    )


def leann_cmd(*args: str, venv: Path) -> list[str]:
    return [str(venv / "bin" / "leann"), *args]


def ours(*args: str) -> list[str]:
    return [sys.executable, "-m", "leann_cli.cli", *args]


def timed(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 900) -> tuple[float, str, int]:
    """Run ``cmd``; stdout goes to a file, not a pipe (LEANN's daemon keeps an inherited pipe open)."""
    with tempfile.TemporaryFile("w+") as out:
        t = time.perf_counter()
        rc = subprocess.run(
            cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout
        ).returncode
        dt = time.perf_counter() - t
        out.seek(0)
        return dt, out.read(), rc


def build_indexes(chunks, metas, vectors, leann_venv: Path, model_dir: str) -> dict[str, float]:
    from leann_engine import LeannBuilder

    out: dict[str, float] = {}
    ours_path = WORK / "ours" / ".leann" / "indexes" / NAME / "documents.leann"
    if not (ours_path / "manifest.json").exists():
        t = time.perf_counter()
        b = LeannBuilder(embedding_model=LookupEmbedder(chunks, vectors))
        b.add_texts(chunks, metas, [f"c{i}" for i in range(len(chunks))])
        b.build_index(ours_path)
        out["ours_graph_build_s"] = time.perf_counter() - t
    leann_dir = WORK / "leann" / ".leann" / "indexes" / NAME
    if not (leann_dir / "documents.leann.meta.json").exists():
        leann_dir.mkdir(parents=True, exist_ok=True)
        chunks_file, vectors_file = WORK / "chunks.jsonl", WORK / "vectors.pkl"
        with open(chunks_file, "w", encoding="utf-8") as f:
            for i, (t, m) in enumerate(zip(chunks, metas)):
                f.write(json.dumps({"id": f"c{i}", "text": t, "metadata": m}) + "\n")
        with open(vectors_file, "wb") as f:
            pickle.dump(([f"c{i}" for i in range(len(chunks))], vectors.astype(np.float32)), f)
        t = time.perf_counter()
        subprocess.run(
            [str(leann_venv / "bin" / "python"), "-c", LEANN_BUILD, str(chunks_file), str(vectors_file),
             str(leann_dir / "documents.leann"), model_dir],
            check=True, env=dict(os.environ, HF_HUB_OFFLINE="1"),
        )  # fmt: skip
        out["leann_graph_build_s"] = time.perf_counter() - t
    return out


def stop_leann_daemon(venv: Path) -> None:
    subprocess.run(
        leann_cmd("daemon", "stop", NAME, venv=venv), cwd=WORK / "leann", capture_output=True, timeout=120
    )


def engine_warm_times(queries: list[str]) -> list[float]:
    """The engine's own warm query time, in this process (model loaded, first query discarded)."""
    from leann_engine import LeannSearcher

    s = LeannSearcher(WORK / "ours" / ".leann" / "indexes" / NAME / "documents.leann")
    s.search("warm up the model", top_k=5)
    out = []
    for q in queries:
        t = time.perf_counter()
        s.search(q, top_k=5, complexity=64)
        out.append(time.perf_counter() - t)
    s.close()
    return out


def mcp_times(queries: list[str]) -> list[float]:
    import anyio
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "leann_cli.mcp_server", "--base-dir", str(WORK / "ours"), "--no-warmup"],
        env={"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "PATH": os.environ.get("PATH", "")},
    )
    times: list[float] = []

    async def go():
        async with stdio_client(params) as (r, w), ClientSession(r, w) as session:
            await session.initialize()
            for q in queries:
                t = time.perf_counter()
                res = await session.call_tool(
                    "leann_search", {"index_name": NAME, "query": q, "top_k": 5, "mode": "dense"}
                )
                times.append(time.perf_counter() - t)
                assert not (getattr(res, "is_error", None) or getattr(res, "isError", None)), res

    anyio.run(go)
    return times


def build_bench(env: dict[str, str]) -> dict[str, object]:
    """`leann build` over a real docs folder, then again after one file changed."""
    src = linux_doc_root() / "security"
    docs = WORK / "builddocs" / "security"
    proj = WORK / "buildproj"
    for p in (docs.parent, proj):
        shutil.rmtree(p, ignore_errors=True)
    shutil.copytree(src, docs)
    proj.mkdir(parents=True)
    subprocess.run(ours("daemon", "stop"), cwd=proj, env=env, capture_output=True)
    first_s, out, rc = timed(ours("build", "sec", "--docs", str(docs), "--no-daemon", "--json"), proj, env)
    assert rc == 0, out
    first = json.loads(out[out.index("{") :])
    files = sorted(docs.rglob("*.txt"))
    with open(files[len(files) // 2], "a", encoding="utf-8") as f:
        f.write("\n\nAn added paragraph about key rotation and credential caches for the benchmark.\n")
    second_s, out, rc = timed(ours("build", "sec", "--no-daemon", "--json"), proj, env)
    assert rc == 0, out
    second = json.loads(out[out.index("{") :])
    # The same with the warm daemon's model (a build uses it when it is already running).
    subprocess.run(ours("daemon", "start"), cwd=proj, env=env, check=True, capture_output=True)
    timed(ours("search", "sec", "warm the daemon", "--json"), proj, env)
    with open(files[len(files) // 3], "a", encoding="utf-8") as f:
        f.write("\n\nAnother added paragraph, about audit logs.\n")
    third_s, out, rc = timed(ours("build", "sec", "--json"), proj, env)
    assert rc == 0, out
    third = json.loads(out[out.index("{") :])
    subprocess.run(ours("daemon", "stop"), cwd=proj, env=env, capture_output=True)
    n_files = first["files_new"]
    return {
        "folder": str(src),
        "files": n_files,
        "chunks": first["chunks_total"],
        "first_build_wall_s": first_s,
        "first_build_inner_s": first["seconds"],
        "files_per_s": n_files / first_s,
        "chunks_per_s": first["chunks_total"] / first_s,
        "second_build_wall_s": second_s,
        "second_build_chunks_embedded": second["chunks_embedded"],
        "second_build_files_unchanged": second["files_unchanged"],
        "second_build_with_daemon_wall_s": third_s,
        "third_build_chunks_embedded": third["chunks_embedded"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cold", type=int, default=3, help="cold searches per system")
    ap.add_argument("--warm", type=int, default=5, help="warm queries (daemon, engine, MCP)")
    ap.add_argument("--leann-venv", type=Path, default=Path("/work/leann-venv"))
    ap.add_argument("--skip-leann", action="store_true")
    ap.add_argument("--skip-build", action="store_true")
    args = ap.parse_args()
    load_start = os.getloadavg()
    WORK.mkdir(parents=True, exist_ok=True)
    chunks, metas, queries = load_corpus(20000, 200)
    vectors, _ = cached_embeddings(chunks)
    model_path = model_dir()
    have_leann = not args.skip_leann and (args.leann_venv / "bin" / "leann").exists()
    res: dict[str, object] = {"chunks": len(chunks), "cpu_count": os.cpu_count(), "load_at_start": load_start}
    res["index_builds"] = (
        build_indexes(chunks, metas, vectors, args.leann_venv, model_path) if have_leann else {}
    )
    if not have_leann:
        build_indexes_ours_only(chunks, metas, vectors)
    cold_q = queries[: args.cold]
    warm_q = queries[args.cold : args.cold + args.warm]
    daemon_dir = Path(tempfile.mkdtemp(prefix="leann-bench-"))
    env = our_env(daemon_dir)
    proj = WORK / "ours"

    # --- cold: a new process, nothing warm
    ours_cold, ours_cold_daemon, leann_cold, leann_out = [], [], [], []
    for q in cold_q:
        subprocess.run(ours("daemon", "stop"), cwd=proj, env=env, capture_output=True)
        dt, out, rc = timed(ours("search", NAME, q, "--mode", "dense", "--no-daemon", "--json"), proj, env)
        assert rc == 0, out
        ours_cold.append(dt)
        dt, out, rc = timed(
            ours("search", NAME, q, "--mode", "dense", "--json"), proj, env
        )  # starts the daemon
        assert rc == 0, out
        ours_cold_daemon.append(dt)
        subprocess.run(ours("daemon", "stop"), cwd=proj, env=env, capture_output=True)
        if have_leann:
            stop_leann_daemon(args.leann_venv)
            lenv = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
            cmd = leann_cmd("search", NAME, q, "--top-k", "5", "--complexity", "64", venv=args.leann_venv)
            dt, out, rc = timed(cmd, WORK / "leann", lenv)
            leann_out.append(out[-600:])
            if rc == 0:
                leann_cold.append(dt)
            stop_leann_daemon(args.leann_venv)
    res["cold"] = {
        "queries": cold_q,
        "ours_no_daemon_s": ours_cold,
        "ours_starting_daemon_s": ours_cold_daemon,
        "leann_s": leann_cold,
        "leann_output_tail": leann_out[-1:] if leann_out else [],
        "ratio_ours_to_leann": median(ours_cold) / median(leann_cold) if leann_cold else None,
    }
    print(json.dumps(res["cold"], indent=1, default=str), flush=True)

    # --- warm: the daemon holds the model; the engine's own warm time in this process
    subprocess.run(ours("daemon", "start"), cwd=proj, env=env, check=True, capture_output=True)
    timed(ours("search", NAME, "warm up the daemon", "--json"), proj, env)
    cli_wall, cli_took = [], []
    for q in warm_q:
        dt, out, rc = timed(ours("search", NAME, q, "--mode", "dense", "--json"), proj, env)
        assert rc == 0, out
        cli_wall.append(dt)
        cli_took.append(json.loads(out)["took_s"])
    subprocess.run(ours("daemon", "stop"), cwd=proj, env=env, capture_output=True)
    engine = engine_warm_times(warm_q)
    res["warm"] = {
        "queries": warm_q,
        "cli_via_daemon_wall_s": cli_wall,
        "daemon_engine_s": cli_took,
        "cli_overhead_over_daemon_engine_s": [w - t for w, t in zip(cli_wall, cli_took)],
        "engine_in_process_s": engine,
        "cli_minus_engine_in_process_s": [w - e for w, e in zip(cli_wall, engine)],
        "median_cli_s": median(cli_wall),
        "median_engine_s": median(engine),
    }
    print(json.dumps(res["warm"], indent=1), flush=True)

    # --- MCP: the first query loads the model, the next ones run warm
    times = mcp_times(["first query loads the model", *warm_q])
    res["mcp"] = {
        "first_s": times[0],
        "after_first_s": times[1:],
        "after_first_minus_engine_s": [m - e for m, e in zip(times[1:], engine)],
        "median_after_first_s": median(times[1:]),
    }
    print(json.dumps(res["mcp"], indent=1), flush=True)

    if not args.skip_build:
        res["build"] = build_bench(env)
        print(json.dumps(res["build"], indent=1), flush=True)
    res["load_at_end"] = os.getloadavg()
    shutil.rmtree(daemon_dir, ignore_errors=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(res, indent=1, default=str))
    print(f"saved {RESULTS}")


def build_indexes_ours_only(chunks, metas, vectors) -> None:
    from leann_engine import LeannBuilder

    path = WORK / "ours" / ".leann" / "indexes" / NAME / "documents.leann"
    if not (path / "manifest.json").exists():
        b = LeannBuilder(embedding_model=LookupEmbedder(chunks, vectors))
        b.add_texts(chunks, metas, [f"c{i}" for i in range(len(chunks))])
        b.build_index(path)


if __name__ == "__main__":
    main()
