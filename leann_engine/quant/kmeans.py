"""k-means: Lloyd's (squared L2) for PQ codebooks, spherical for the graph's node order."""

from __future__ import annotations

import numpy as np
from leann_engine.embed.base import normalize_rows


def spherical_labels(x: np.ndarray, k: int, rng: np.random.Generator, iters: int = 8) -> np.ndarray:
    """Spherical k-means assignments (a few Lloyd iterations on a sample are enough here)."""
    n = x.shape[0]
    k = max(1, min(k, n))
    sample = x[rng.choice(n, size=min(n, 64 * k), replace=False)]
    centers = sample[rng.choice(sample.shape[0], size=k, replace=False)].copy()
    for _ in range(iters):
        assign = np.argmax(sample @ centers.T, axis=1)
        for c in range(k):
            members = sample[assign == c]
            if members.size:
                centers[c] = members.sum(axis=0)
        centers = normalize_rows(centers)
    labels = np.empty(n, dtype=np.int64)
    for s in range(0, n, 65536):
        labels[s : s + 65536] = np.argmax(x[s : s + 65536] @ centers.T, axis=1)
    return labels


def _kmeans(x: np.ndarray, k: int, rng: np.random.Generator, iters: int) -> np.ndarray:
    """Lloyd's k-means on the rows of ``x`` (squared L2); empty clusters get a random point."""
    x = np.ascontiguousarray(x, dtype=np.float32)  # a strided subspace view made BLAS crawl
    n = x.shape[0]
    centers = x[rng.choice(n, size=k, replace=False)].copy()
    x_sq = (x * x).sum(axis=1)
    for _ in range(iters):
        # einsum stays on one thread: multi-threaded BLAS on these thin matrices spun for
        # seconds on a busy machine (measured 15x slower at load 8).
        cross = np.einsum("nd,kd->nk", x, centers)
        d = x_sq[:, None] - 2.0 * cross + (centers * centers).sum(axis=1)[None, :]
        assign = np.argmin(d, axis=1)
        counts = np.bincount(assign, minlength=k)
        # One weighted bincount per dimension: np.add.at took seconds per codebook.
        sums = np.stack(
            [np.bincount(assign, weights=x[:, j], minlength=k) for j in range(x.shape[1])], axis=1
        )
        filled = counts > 0
        centers[filled] = sums[filled] / counts[filled, None]
        empty = np.flatnonzero(~filled)
        if empty.size:
            centers[empty] = x[rng.choice(n, size=empty.size, replace=False)]
    return centers
