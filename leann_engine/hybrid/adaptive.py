"""Per-query dense weight for hybrid fusion: the index's prior, moved by how far the two
rankings agree on this query.

The calibrated prior (:mod:`leann_engine.hybrid.calibrate`) says which ranking is better on
this corpus in general. Per query, the top of the two rankings says whether fusing is safe:

- When dense and keyword rank the same passages near the top, both have found the topic;
  fusing them re-orders passages both support, which is where fusion gains. The prior is kept.
- When they share nothing, at most one of them is right, and a blend can only pull the right
  one's best passages down with the other's noise. The ranking the prior trusts (dense for a
  prior above 1/2, keyword below) then takes the query on its own.

Between the two, the weight moves linearly with the agreement, measured as the average overlap
of the two top-``t`` sets for ``t = 1..10`` (which counts agreement at the very top most).
A prior of exactly 1/2 (no calibration) has no side to trust and is kept as it is. Nothing here
is fitted to a corpus: the only constants are the depth (10, the results a user reads) and the
rule's end points, which follow from the prior.
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
        if a is not None:
            shared += a in seen_k
            seen_d.add(a)
        if b is not None:
            shared += b in seen_d and b != a
            seen_k.add(b)
        if a is not None and a == b:
            shared += 1
        total += shared / (t + 1)
    return total / n


def query_alpha(prior: float, dense: Ranked, keyword: Ranked) -> float:
    """The dense weight for one query: ``prior`` where the rankings agree, the side the prior
    trusts (1 or 0) where they share nothing, linear in between."""
    if not dense or not keyword:
        return 1.0 if dense else 0.0
    if prior == 0.5:
        return prior
    side = 1.0 if prior > 0.5 else 0.0
    g = agreement(dense, keyword)
    return float(g * prior + (1.0 - g) * side)
