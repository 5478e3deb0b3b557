"""Per-query dense weight for hybrid fusion: the index's prior, adjusted by what the two
rankings of this query show.

The calibrated prior (:mod:`leann_engine.hybrid.calibrate`) says how well the embedding model
reads this corpus in general. Per query, two things in the rankings themselves say which one to
trust:

- **Agreement**: when dense and keyword rank the same passages near the top, both have found
  the topic; fusing re-orders passages both support, which is where fusion gains, and the prior
  weight is kept. Agreement is the average overlap of the two top-``t`` sets, ``t = 1..10``,
  which counts agreement at the very top most.
- **Standout**: when they disagree, at most one of them has found the answer, and the one whose
  best candidate stands clear of the rest is the likelier. A ranking's standout is how much of
  its candidates' score range lies between its first and its tenth candidate: near 1 for one
  clear match (a rare identifier for BM25, a close paraphrase for dense), near 0 for a flat top
  (common words only; a model guessing). Each ranking's weight is then the prior's share times
  its standout, normalised, so the measure needs no common scale for cosine and BM25 scores.

The weight is the agreement-weighted mean of the two: ``g * prior + (1 - g) * standout_alpha``.
Nothing is fitted to a corpus: the only constant is the depth (10, the results a user reads).
"""

from __future__ import annotations

from collections.abc import Sequence

Ranked = Sequence[tuple[int, float]]

AGREEMENT_DEPTH = 10


def agreement(dense: Ranked, keyword: Ranked, depth: int = AGREEMENT_DEPTH) -> float:
    """Average overlap of the two rankings' top-``t`` sets, ``t = 1..depth``, in [0, 1]."""
    n = min(depth, max(len(dense), len(keyword)))
    if n == 0:
        return 0.0
    seen_d: set[int] = set()
    seen_k: set[int] = set()
    shared = 0
    total = 0.0
    for t in range(n):
        a = dense[t][0] if t < len(dense) else None
        b = keyword[t][0] if t < len(keyword) else None
        if a is not None and a == b:
            shared += 1
        else:
            shared += a is not None and a in seen_k
            shared += b is not None and b in seen_d
        if a is not None:
            seen_d.add(a)
        if b is not None:
            seen_k.add(b)
        total += shared / (t + 1)
    return total / n


def standout(ranking: Ranked, depth: int = AGREEMENT_DEPTH) -> float:
    """Share of the candidates' score range between the first and the ``depth``-th, in [0, 1]
    (0 for fewer than ``depth + 1`` candidates or equal scores)."""
    if len(ranking) <= depth:
        return 0.0
    top, tenth, last = ranking[0][1], ranking[depth - 1][1], ranking[-1][1]
    span = top - last
    return float((top - tenth) / span) if span > 0 else 0.0


def query_alpha(prior: float, dense: Ranked, keyword: Ranked) -> float:
    """The dense weight for one query (module docstring): ``prior`` where the rankings agree,
    weighted by each ranking's standout where they do not."""
    if not dense or not keyword:
        return 1.0 if dense else 0.0
    sd, sk = prior * standout(dense), (1.0 - prior) * standout(keyword)
    by_standout = sd / (sd + sk) if sd + sk > 0 else prior
    g = agreement(dense, keyword)
    return float(g * prior + (1.0 - g) * by_standout)
