"""Build-time probe of how well the embedding model separates this corpus, for hybrid fusion.

A dense retriever is only worth weight in a fusion when its best match for a query stands out
from what chance gives. The probe takes the opening of a sample of passages as pseudo-queries,
embeds them, and measures how far the best cosine stands above a random background, in standard
deviations, minus ``sqrt(2 ln N)`` (about the largest of ``N`` random scores). A model that
understands the corpus's language scores well above chance (about 2 here on English docs with
all-MiniLM-L6-v2); an English-only model on Japanese text scores near 0. The median excess is
stored in the manifest and turned into the default dense weight of hybrid search. The slope and
cap were chosen on the English and Japanese sets of ``benchmarks/bench_hybrid.py``; the Chinese
set was held out to check them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from leann_engine.embed.base import Embedder, embed_checked, normalize_rows

PROBES = 128


BACKGROUND = 512


MIN_PASSAGES = 64
_BLOCK = 65536


PROBE_FRACTION = 0.3


# Dense weight = clip(ALPHA_SLOPE * excess, 0, ALPHA_MAX): no weight for a model no better than
# chance, 0.85 (never all: keywords still break its ties) from about 2.4 standard deviations.
ALPHA_SLOPE = 0.35


ALPHA_MAX = 0.85


DEFAULT_ALPHA = 0.5


def probe_dense(
    embedder: Embedder, texts: Sequence[str], vectors: np.ndarray, metric: str, seed: int = 0
) -> dict[str, Any] | None:
    """Measure the model's excess over chance on ``texts`` (``None`` for corpora too small)."""
    n = len(texts)
    if n < MIN_PASSAGES:
        return None
    rng = np.random.default_rng(seed)
    picks = rng.choice(n, size=min(PROBES, n), replace=False)
    background = rng.choice(n, size=min(BACKGROUND, n), replace=False)
    frags = []
    for i in picks:
        t = texts[int(i)]
        cut = max(8, int(len(t) * PROBE_FRACTION))
        frags.append(t[:cut])
    q = embed_checked(embedder, frags, vectors.shape[1], query=True)
    if metric == "cosine":
        q = normalize_rows(q)
    # A block of rows at a time: a million passages would make a 512 MB similarity matrix.
    best = np.full(q.shape[0], -np.inf, dtype=np.float32)
    arg = np.zeros(q.shape[0], dtype=np.int64)
    bg = np.empty((q.shape[0], background.size), dtype=np.float32)
    for s in range(0, n, _BLOCK):
        sims = q @ np.asarray(vectors[s : s + _BLOCK], dtype=np.float32).T
        top = sims.argmax(axis=1)
        better = sims[np.arange(q.shape[0]), top] > best  # ties keep the earlier row, as argmax does
        best[better], arg[better] = sims[better, top[better]], s + top[better]
        inside = np.flatnonzero((background >= s) & (background < s + sims.shape[1]))
        bg[:, inside] = sims[:, background[inside] - s]
    sd = bg.std(axis=1)
    z = (best - bg.mean(axis=1)) / np.where(sd > 0, sd, 1.0)
    excess = z - math.sqrt(2 * math.log(n))
    return {
        "dense_excess": round(float(np.median(excess)), 4),
        "probes": int(picks.size),
        "self_hit": round(float(np.mean(arg == picks)), 4),
    }


def prior_alpha(calibration: dict[str, Any] | None) -> float:
    """The default dense weight of a hybrid fusion for an index with this calibration."""
    if not calibration or "dense_excess" not in calibration:
        return DEFAULT_ALPHA
    a = ALPHA_SLOPE * float(calibration["dense_excess"])
    return float(min(ALPHA_MAX, max(0.0, a)))
