"""Updates in proportion to the change (issue 13): add/delete cost, rounds of churn, lock holds.

Real text (benchmarks/corpus.py), real-model vectors cached once (embed_cache.py) and served by a
lookup embedder that counts the texts it embeds; the real model is timed only for "embedding the
added passages alone". Run: ``flock /work/bench.lock python benchmarks/bench_updates.py --n 20000``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

import leann_engine.build.commit as commit_mod  # noqa: E402
import leann_engine.index as index_mod  # noqa: E402
from benchmarks.corpus import load_pool  # noqa: E402
from benchmarks.embed_cache import cached_embeddings  # noqa: E402
from leann_engine import DEFAULT_MODEL, CompactionPolicy, LeannBuilder, LeannIndex  # noqa: E402
from leann_engine.embed.base import make_embedder, to_metric_space  # noqa: E402


class LookupEmbedder:
    """Cached real-model vectors by text; ``calls`` counts texts embedded."""

    def __init__(self, texts, vecs):
        self.table = dict(zip(texts, vecs))
        self.dimension, self.name, self.calls = vecs.shape[1], DEFAULT_MODEL, 0

    def embed(self, texts):
        self.calls += len(texts)
        return np.stack([self.table[t] for t in texts])


HOLDS: list[float] = []


def _timed_lock(real):
    @contextlib.contextmanager
    def lock(*a, **k):
        with real(*a, **k):
            t = time.perf_counter()
            try:
                yield
            finally:
                HOLDS.append(time.perf_counter() - t)
    return lock


def recall_at_3(ix, table, qvecs):
    ids = ix.ids()
    recs = ix.get(ids)
    vecs = to_metric_space(np.stack([table[r.text] for r in recs]), "cosine")
    hit = 0
    for qv in qvecs:
        truth = {ids[i] for i in np.argsort(-(vecs @ qv))[:3]}
        got = {r.id for r in ix.search(None, query_embedding=qv, top_k=3)}
        hit += len(truth & got)
    return hit / (3 * len(qvecs))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--queries", type=int, default=100)
    args = ap.parse_args()
    n = args.n
    extra = n // 100 + args.rounds * (n // 20)
    pool, metas, queries = load_pool(n, extra, n_queries=args.queries)
    # base and extras cached apart, so the base's vectors are those every other benchmark uses
    vecs = np.concatenate([cached_embeddings(pool[:n])[0], cached_embeddings(pool[n:])[0]])
    qvecs = to_metric_space(np.asarray(cached_embeddings(queries)[0]), "cosine")
    emb = LookupEmbedder(pool + queries, np.concatenate([vecs, cached_embeddings(queries)[0]]))
    index_mod.write_lock = _timed_lock(index_mod.write_lock)
    commit_mod.write_lock = _timed_lock(commit_mod.write_lock)
    work = Path(tempfile.mkdtemp())
    out: dict = {"n": n}
    b = LeannBuilder(embedding_model=emb, calibrate=False)
    b.add_texts(pool[:n], metas[:n], [f"c{i}" for i in range(n)])
    t = time.perf_counter()
    b.build_index(work / "u.leann")
    out["build_s"] = round(time.perf_counter() - t, 1)
    ix = LeannIndex(work / "u.leann", emb, policy=CompactionPolicy(enabled=False))
    nxt = n
    # add 1%: the update's own time (lookup embedder) against embedding those passages with the model
    k = n // 100
    add = list(range(nxt, nxt + k))
    nxt += k
    model = make_embedder(DEFAULT_MODEL)
    model.embed(["warm up"])
    t = time.perf_counter()
    model.embed([pool[i] for i in add])
    embed_s = time.perf_counter() - t
    emb.calls = 0
    t = time.perf_counter()
    ix.add_texts([pool[i] for i in add], [metas[i] for i in add], [f"c{i}" for i in add])
    add_s = time.perf_counter() - t
    t = time.perf_counter()
    ix.compact()
    merge_s = time.perf_counter() - t
    out["add_1pct"] = {"passages": k, "model_embed_s": round(embed_s, 2), "add_s": round(add_s, 3),
                       "merge_s": round(merge_s, 2), "texts_embedded": emb.calls,
                       "ratio_add": round((embed_s + add_s) / embed_s, 2),
                       "ratio_add_and_merge": round((embed_s + add_s + merge_s) / embed_s, 2)}
    emb.calls = 0
    gone = [f"c{i}" for i in range(0, n, 100)]
    t = time.perf_counter()
    ix.delete(gone)
    ix.compact()
    out["delete_1pct"] = {"s": round(time.perf_counter() - t, 2), "texts_embedded": emb.calls}
    rounds = []
    rng = np.random.default_rng(0)
    for r in range(args.rounds):
        HOLDS.clear()
        emb.calls = 0
        k = n // 20
        add = list(range(nxt, min(nxt + k, len(pool))))
        nxt += len(add)
        t = time.perf_counter()
        ix.add_texts([pool[i] for i in add], [metas[i] for i in add], [f"c{i}" for i in add])
        ix.delete(rng.choice(ix.ids(), size=k, replace=False).tolist())
        ix.compact()
        took = time.perf_counter() - t
        embedded = emb.calls
        live = ix.ids()
        rec = recall_at_3(ix, emb.table, qvecs)
        size = ix.disk_usage().total
        fresh = LeannBuilder(embedding_model=emb, calibrate=False)
        recs = ix.get(live)
        fresh.add_texts([x.text for x in recs], [x.metadata for x in recs], live)
        fresh.build_index(work / "fresh.leann")
        fsize = LeannIndex(work / "fresh.leann", emb).disk_usage().total
        shutil.rmtree(work / "fresh.leann")
        rounds.append({"round": r + 1, "added": len(add), "texts_embedded": embedded, "recall@3": round(rec, 3),
                       "max_lock_s": round(max(HOLDS), 3), "s": round(took, 1), "size": size,
                       "fresh_size": fsize, "size_ratio": round(size / fsize, 3),
                       "retrained": bool(ix.manifest.get("last_merge", {}).get("retrained"))})
        print(json.dumps(rounds[-1]), flush=True)
    out["rounds"] = rounds
    out["load"] = os.getloadavg()
    print(json.dumps(out, indent=1))
    (Path(__file__).resolve().parent / "results" / f"updates-n{n}-{args.rounds}rounds.json").write_text(
        json.dumps(out, indent=1)
    )
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
