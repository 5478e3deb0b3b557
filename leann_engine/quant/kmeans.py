"""The one k-means: Lloyd's iterations, squared L2 (PQ codebooks) or spherical (the graph's
node order, on unit vectors, where the nearest centre is the one of highest dot product)."""

from __future__ import annotations

import numpy as np

from leann_engine.embed.base import normalize_rows

_CHUNK = 65536


def nearest(x: np.ndarray, centers: np.ndarray, *, spherical: bool = False) -> np.ndarray:
    """Index of each row's nearest centre (highest dot product when ``spherical``)."""
    labels = np.empty(x.shape[0], dtype=np.int64)
    c_sq = None if spherical else (centers * centers).sum(axis=1)
    for s in range(0, x.shape[0], _CHUNK):
        part = x[s : s + _CHUNK]
        # Thin PQ subspaces: einsum stays on one thread, where BLAS threads on these small
        # matrices spun for seconds per codebook on a busy machine (measured 15x slower).
        dots = np.einsum("nd,kd->nk", part, centers) if centers.shape[1] <= 64 else part @ centers.T
        # |x|^2 is the same for every centre of a row, so it does not change the argmin.
        labels[s : s + _CHUNK] = (
            np.argmax(dots, axis=1) if c_sq is None else np.argmin(c_sq - 2.0 * dots, axis=1)
        )
    return labels


def kmeans(
    x: np.ndarray,
    k: int,
    rng: np.random.Generator,
    iters: int = 8,
    *,
    spherical: bool = False,
    sample: int | None = None,
) -> np.ndarray:
    """Centres of ``min(k, n)`` clusters of the rows of ``x``, deterministic for a given ``rng`` state.

    ``spherical``: rows are unit vectors, centres are normalised member sums. ``sample``: fit on
    at most this many random rows (label the rest with :func:`nearest`). A centre left without
    members is moved to a random row.
    """
    if sample is not None and x.shape[0] > 0:
        x = x[rng.choice(x.shape[0], size=min(x.shape[0], sample), replace=False)]
    x = np.ascontiguousarray(x, dtype=np.float32)  # a strided PQ subspace view made BLAS crawl
    n = x.shape[0]
    k = max(1, min(int(k), n))
    centers = x[rng.choice(n, size=k, replace=False)].copy()
    for _ in range(iters):
        assign = nearest(x, centers, spherical=spherical)
        counts = np.bincount(assign, minlength=k)
        # A weighted bincount per dimension: np.add.at took seconds per PQ codebook.
        sums = np.stack(
            [np.bincount(assign, weights=x[:, j], minlength=k) for j in range(x.shape[1])], axis=1
        ).astype(np.float32)
        filled = counts > 0
        centers[filled] = sums[filled] if spherical else sums[filled] / counts[filled, None]
        if spherical:
            centers = normalize_rows(centers)
        empty = np.flatnonzero(~filled)
        if empty.size:
            centers[empty] = x[rng.choice(n, size=empty.size, replace=False)]
    return centers


def spherical_labels(x: np.ndarray, k: int, rng: np.random.Generator, iters: int = 8) -> np.ndarray:
    """Spherical k-means labels of the unit rows of ``x``, fitted on a sample of ``64 * k`` rows
    (a few iterations on a sample are enough to order a graph's nodes)."""
    centers = kmeans(x, k, rng, iters, spherical=True, sample=64 * max(1, k))
    return nearest(x, centers, spherical=True)
