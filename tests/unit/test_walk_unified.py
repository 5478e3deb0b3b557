"""The one beam loop (exact, two-level local and global as step policies) returns what the three
separate loops before it returned: ``tests/fixtures/walk_before_unification.json`` was written by
the walk of commit 7db80f1 on the hand-made graph below."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from leann_engine.graph.csr import Graph, Level
from leann_engine.graph.walk import beam_search

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "walk_before_unification.json"


def case():
    rng = np.random.default_rng(42)
    n, d = 400, 16
    x = rng.standard_normal((n, d)).astype(np.float32)
    lists = [np.unique(np.concatenate([rng.choice(n, 8, replace=False), [(i + 1) % n]])) for i in range(n)]
    lists = [l[l != i] for i, l in enumerate(lists)]
    indptr = np.zeros(n + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([l.size for l in lists])
    up_nodes = np.arange(0, n, 20)
    up_lists = [up_nodes[(np.arange(3) + k + 1) % up_nodes.size] for k in range(up_nodes.size)]
    up_ptr = np.zeros(up_nodes.size + 1, dtype=np.int64)
    up_ptr[1:] = np.cumsum([3] * up_nodes.size)
    g = Graph(
        n=n,
        indptr=indptr,
        indices=np.concatenate(lists).astype(np.int32),
        entry_point=0,
        upper=[Level(nodes=up_nodes, indptr=up_ptr, indices=np.concatenate(up_lists).astype(np.int32))],
    )
    qs = rng.standard_normal((6, d)).astype(np.float32)
    noise = 0.5 * rng.standard_normal(n)
    return g, x, qs, noise


def run():
    g, x, qs, noise = case()
    out = []
    for qi, q in enumerate(qs):
        s = lambda ids, q=q: x[ids] @ q
        a = lambda ids, q=q: x[ids] @ q + noise[ids]
        acc = (lambda v: v % 3 != 0) if qi % 2 else None
        for kw in ({}, {"batch_size": 16}, {"beam_width": 4}):
            for extra in (
                {},
                {"approx": a, "keep_ratio": 0.3, "strategy": "local"},
                {"approx": a, "keep_ratio": 0.3, "strategy": "global"},
            ):
                res, cnt = beam_search(g, s, ef=20, accept=acc, **kw, **extra)
                out.append([[[round(float(v), 5), int(r)] for v, r in res], int(cnt)])
    return out


def test_unified_walk_gives_the_results_of_the_three_loops_before_it():
    got = run()
    want = json.loads(FIXTURE.read_text())
    assert len(got) == len(want) == 54
    assert got == want
