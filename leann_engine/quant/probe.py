"""Choose an index's codes at build time by how well they rank this index's own vectors.

Each candidate (4-bit PQ of 8 to 32 bytes, with and without a seeded rotation) is trained on a
sample and scored on leave-one-out probe queries: the exact top 10 of a probe row among all
rows, against the top ``RERANK`` rows by the codes' estimate (what the two-level search
re-embeds). The smallest candidate that keeps ``TARGET`` of the exact top 10 wins; if none
does, the one that ranks best. Leave-one-out probes are easier than real queries (short
headings against 1,500 linux-doc chunks, all-MiniLM-L6-v2): the exact top 10 within the top 16
estimates of a probe row (515 chunks) matched the real queries' top 10 within the top 32 (the
search's cap, 500 chunks) at 24-32 B (0.85/0.85, 0.89/0.89) and was optimistic below (12 B
0.77 against 0.69), so the probe keeps 16.
The probe also measures the codes' error bound, ``margin``: how far an exact similarity can
exceed its estimate near the top.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from leann_engine.quant.pq import adc_scores
from leann_engine.quant.pq4 import PackedPQ, train_packed

CANDIDATE_BYTES = (8, 12, 16, 24, 32, 48)
PROBE_QUERIES = 64
RERANK = 16
TARGET = 0.92
_TRAIN_ROWS = 16384
# The share of true neighbours' errors the margin covers; a higher one re-embeds more.
MARGIN_QUANTILE = 0.95


def _probe_rows(n: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.choice(n, size=min(PROBE_QUERIES, n), replace=False))


def _truth(x: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    sims = x[rows] @ x.T
    sims[np.arange(rows.size), rows] = -np.inf  # leave the probe row out
    return sims, np.argsort(-sims, axis=1)[:, :k]


def _score(quant: PackedPQ, codes: np.ndarray, x: np.ndarray, rows: np.ndarray, sims, truth):
    """``(recall of the exact top 10 within the top RERANK estimates, error margin)``."""
    hits, errors = 0, []
    for j, r in enumerate(rows.tolist()):
        est = adc_scores(quant.table(x[r]), codes)
        est[r] = -np.inf
        top = np.argpartition(-est, min(RERANK, est.size - 1))[:RERANK]
        hits += np.isin(truth[j], top).sum()
        # The stopping rule must not give up on a true neighbour, so the margin is measured
        # on the true neighbours' errors (those ranked low by the codes have the largest).
        errors.append(sims[j, truth[j]] - est[truth[j]])
    err = np.concatenate(errors)
    return hits / truth.size, float(np.quantile(err, MARGIN_QUANTILE)) if err.size else 0.0


def choose_codes(
    vectors: np.ndarray, *, max_bytes: int, seed: int
) -> tuple[PackedPQ, np.ndarray, dict[str, Any]]:
    """Train the candidates, probe them, return ``(quantizer, codes, probe report)``.

    ``max_bytes`` caps the code size (the ``pq_bytes`` build option).
    """
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = x.shape
    rng = np.random.default_rng(seed)
    train = x[rng.choice(n, size=_TRAIN_ROWS, replace=False)] if n > _TRAIN_ROWS else x
    rows = _probe_rows(n, rng)
    k = min(10, n - 1)
    sims, truth = _truth(x, rows, k) if k > 0 else (None, None)
    sizes = [b for b in CANDIDATE_BYTES if b <= min(max_bytes, dim // 2)] or [
        max(1, min(max_bytes, dim // 2))
    ]
    tried: list[dict[str, Any]] = []
    best: tuple[PackedPQ, np.ndarray, dict[str, Any]] | None = None
    for b in sizes:
        for rot in (None, seed):
            quant = train_packed(train, b, seed=rot, iters=12)
            codes = quant.encode(x)
            cost = b + quant.pq.codebooks.size / n  # int8 codebooks (store.files.pq version 3)
            recall, margin = _score(quant, codes, x, rows, sims, truth) if k > 0 else (1.0, 0.0)
            quant.margin = margin
            rec = {"bytes": b, "rotated": rot is not None, "cost": round(cost, 2), "recall": round(recall, 4)}
            tried.append(rec)
            if best is None or _better(rec, best[2]):
                best = (quant, codes, rec)
        if best is not None and best[2]["recall"] >= TARGET:
            break  # a bigger code costs bytes for recall the rerank no longer needs
    assert best is not None
    report = {"chosen": best[2], "margin": round(float(best[0].margin or 0.0), 5), "tried": tried}
    return best[0], best[1], report


def _better(new: dict[str, Any], old: dict[str, Any]) -> bool:
    """A candidate that reaches the target beats one that does not; then higher recall wins."""
    if (new["recall"] >= TARGET) != (old["recall"] >= TARGET):
        return new["recall"] >= TARGET
    if new["recall"] >= TARGET:
        return new["cost"] < old["cost"] or (new["cost"] == old["cost"] and new["recall"] > old["recall"])
    return new["recall"] > old["recall"]
