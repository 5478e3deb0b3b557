"""Product quantization: a few bytes per passage that approximate its embedding.

The two-level search (LEANN paper, section 4.1) ranks a step's new neighbours by these codes and
re-embeds only the most promising of them. A vector is cut into ``m`` sub-vectors; each is
replaced by the id of its nearest of ``ksub`` centroids (k-means per subspace), so a code is
``m`` bytes. A passage's approximate score is then ``m`` look-ups in the query's ADC table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leann_engine.quant.kmeans import kmeans as _kmeans

KSUB = 256


# Centroids per subspace are capped at n / 64 so that the float16 codebooks (ksub x dim x 2
# bytes) stay within 0.8% of a float32 index of the same vectors (0.64% at 20,000 passages);
# below 16 centroids the codes rank too poorly to be worth keeping, so an index under 1,024
# passages is graph-only (and stays smallest: there the codes would add ~3% of flat to save
# a few hundred recomputations).
MIN_KSUB = 16


ROWS_PER_CENTROID = 64


_TRAIN_SAMPLE = 65536


def codebook_size(n: int) -> int:
    """Centroids per subspace for an index of ``n`` passages; 0 means no codes."""
    ksub = min(KSUB, n // ROWS_PER_CENTROID)
    return ksub if ksub >= MIN_KSUB else 0


@dataclass
class ProductQuantizer:
    """Codebooks ``(m, ksub, dsub)`` over vectors zero-padded from ``dim`` to ``m * dsub``."""

    dim: int
    codebooks: np.ndarray

    @property
    def m(self) -> int:
        return int(self.codebooks.shape[0])

    @property
    def ksub(self) -> int:
        return int(self.codebooks.shape[1])

    @property
    def dsub(self) -> int:
        return int(self.codebooks.shape[2])

    def _split(self, x: np.ndarray) -> np.ndarray:
        """``(n, dim)`` -> ``(m, n, dsub)`` with zero padding at the end."""
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"vectors must have shape (n, {self.dim}), got {x.shape}")
        pad = self.m * self.dsub - self.dim
        if pad:
            x = np.pad(x, ((0, 0), (0, pad)))
        return x.reshape(x.shape[0], self.m, self.dsub).transpose(1, 0, 2)

    def encode(self, x: np.ndarray, *, batch: int = 8192) -> np.ndarray:
        """Codes ``(n, m)`` uint8: per subspace, the nearest centroid (squared L2)."""
        n = np.asarray(x).shape[0]
        codes = np.empty((n, self.m), dtype=np.uint8)
        cb = self.codebooks
        cb_sq = (cb * cb).sum(axis=2)  # (m, ksub)
        for s in range(0, n, batch):
            sub = self._split(np.asarray(x)[s : s + batch])  # (m, b, dsub)
            # ||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2; the first term does not change the argmin
            d = cb_sq[:, None, :] - 2.0 * np.einsum("mbd,mkd->mbk", sub, cb)
            codes[s : s + batch] = np.argmin(d, axis=2).T
        return codes

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """The approximate vectors ``(n, dim)`` the codes stand for."""
        codes = np.asarray(codes)
        parts = self.codebooks[np.arange(self.m)[None, :], codes.astype(np.int64)]  # (n, m, dsub)
        return parts.reshape(codes.shape[0], -1)[:, : self.dim].astype(np.float32)

    def table(self, query: np.ndarray) -> np.ndarray:
        """ADC table ``(m, ksub)``: the query's inner product with every centroid."""
        q = self._split(np.asarray(query, dtype=np.float32).reshape(1, -1))[:, 0, :]  # (m, dsub)
        return np.einsum("md,mkd->mk", q, self.codebooks).astype(np.float32)


def adc_scores(table: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Approximate inner products of the query behind ``table`` with each coded vector."""
    m = table.shape[0]
    return table[np.arange(m)[None, :], codes.astype(np.intp)].sum(axis=1)


def train_pq(
    vectors: np.ndarray, m: int, *, ksub: int = KSUB, iters: int = 20, seed: int = 0
) -> ProductQuantizer:
    """Train ``m`` subspace codebooks of ``ksub`` (at most 256) centroids on ``vectors``.

    ``m`` is the code size in bytes; a dimension that ``m`` does not divide is zero-padded.
    Fewer vectors than ``ksub`` give one centroid per vector.
    """
    x = np.asarray(vectors, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"PQ training needs a non-empty (n, dim) matrix, got shape {x.shape}")
    dim = x.shape[1]
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or not 1 <= m <= dim:
        raise ValueError(f"pq_bytes must be an integer in [1, {dim}] (the dimension), got {m!r}")
    rng = np.random.default_rng(seed)
    if x.shape[0] > _TRAIN_SAMPLE:
        x = x[rng.choice(x.shape[0], size=_TRAIN_SAMPLE, replace=False)]
    if isinstance(ksub, bool) or not isinstance(ksub, (int, np.integer)) or not 1 <= ksub <= KSUB:
        raise ValueError(f"ksub must be an integer in [1, {KSUB}], got {ksub!r}")
    ksub = min(int(ksub), x.shape[0])
    dsub = -(-dim // m)
    shell = ProductQuantizer(dim=dim, codebooks=np.zeros((m, ksub, dsub), dtype=np.float32))
    sub = shell._split(x)
    books = np.stack([_kmeans(sub[j], ksub, rng, iters) for j in range(m)])
    # Stored as float16: halves the codebooks' share of a small index; the error this adds is
    # far below the quantization error itself.
    return ProductQuantizer(dim=dim, codebooks=books.astype(np.float16).astype(np.float32))
