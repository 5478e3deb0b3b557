"""Fusion of a dense and a keyword ranking into one.

A fusion function takes the two rankings, each a list of ``(row, score)`` best first, and the
dense weight ``alpha`` in [0, 1] (the keyword ranking gets ``1 - alpha``), and returns the fused
``(row, score)`` list best first. Any callable with that signature can be passed as ``fusion=``.

Built in:

- ``"blend"`` (default): convex blend ``alpha * dense + (1 - alpha) * keyword`` of scores
  min-max normalised over each ranking's candidates (a candidate missing from a ranking counts 0).
- ``"rrf"``: weighted reciprocal rank fusion, ``alpha / (k + rank_dense) +
  (1 - alpha) / (k + rank_keyword)`` with ``k = 60``; uses ranks only, so the scales of the two
  scores do not matter.

With ``alpha=None`` the weight adapts to the index (:mod:`leann_engine.calibrate`): a build-time
probe measures how far above chance the embedding model ranks this corpus's passages, and the
dense weight follows (high for a model that knows the language, low for one that does not, as
with an English-only model on Japanese text). Blending beat RRF at the weights that suit each of the
quality sets of ``benchmarks/bench_hybrid.py``, which is why it is the default.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Ranked = Sequence[tuple[int, float]]


FusionFn = Callable[[Ranked, Ranked, float], list[tuple[int, float]]]


RRF_K = 60


def rrf(dense: Ranked, keyword: Ranked, alpha: float = 0.5, k: int = RRF_K) -> list[tuple[int, float]]:
    """Weighted reciprocal rank fusion."""
    fused: dict[int, float] = {}
    for weight, ranking in ((alpha, dense), (1.0 - alpha, keyword)):
        for rank, (row, _) in enumerate(ranking, start=1):
            fused[row] = fused.get(row, 0.0) + weight / (k + rank)
    return sorted(fused.items(), key=lambda x: (-x[1], x[0]))


def _minmax(ranking: Ranked) -> dict[int, float]:
    if not ranking:
        return {}
    s = np.array([sc for _, sc in ranking], dtype=np.float64)
    lo, hi = float(s.min()), float(s.max())
    span = hi - lo
    return {row: ((sc - lo) / span if span > 0 else 1.0) for row, sc in ranking}


def blend(dense: Ranked, keyword: Ranked, alpha: float = 0.5) -> list[tuple[int, float]]:
    """Convex blend of min-max normalised scores."""
    d, kw = _minmax(dense), _minmax(keyword)
    fused = {row: alpha * d.get(row, 0.0) + (1.0 - alpha) * kw.get(row, 0.0) for row in d.keys() | kw.keys()}
    return sorted(fused.items(), key=lambda x: (-x[1], x[0]))


FUSIONS: dict[str, FusionFn] = {"rrf": rrf, "blend": blend}


def resolve_fusion(fusion: str | FusionFn) -> FusionFn:
    if callable(fusion):
        return fusion
    if isinstance(fusion, str) and fusion in FUSIONS:
        return FUSIONS[fusion]
    raise ValueError(
        f"fusion must be one of {', '.join(repr(f) for f in FUSIONS)} or a callable "
        f"(dense, keyword, alpha) -> [(row, score), ...], got {fusion!r}"
    )
