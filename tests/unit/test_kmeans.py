"""The one k-means: L2 (PQ codebooks) and spherical (graph node order)."""

from __future__ import annotations

import numpy as np

from leann_engine.embed.base import normalize_rows
from leann_engine.quant.kmeans import kmeans, nearest, spherical_labels


def _blobs(spherical: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    means = rng.normal(size=(4, 8)).astype(np.float32) * 10
    truth = np.repeat(np.arange(4), 50)
    x = means[truth] + rng.normal(size=(200, 8)).astype(np.float32) * 0.1
    return (normalize_rows(x) if spherical else x), truth


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def test_both_variants_recover_separated_clusters_and_are_deterministic():
    for spherical in (False, True):
        x, truth = _blobs(spherical)
        c1 = kmeans(x, 4, np.random.default_rng(0), 10, spherical=spherical)
        c2 = kmeans(x, 4, np.random.default_rng(0), 10, spherical=spherical)
        np.testing.assert_array_equal(c1, c2)
        assert _same_partition(nearest(x, c1, spherical=spherical), truth)
        if spherical:
            np.testing.assert_allclose(np.linalg.norm(c1, axis=1), 1.0, rtol=1e-5)


def test_l2_centres_are_member_means_and_k_is_capped_by_n():
    x, _ = _blobs(False)
    c = kmeans(x, 4, np.random.default_rng(1), 10)
    labels = nearest(x, c)
    for j in range(4):
        np.testing.assert_allclose(c[j], x[labels == j].mean(axis=0), rtol=1e-4, atol=1e-4)
    assert kmeans(x[:3], 16, np.random.default_rng(0), 2).shape == (3, 8)


def test_spherical_labels_fit_on_a_sample_and_label_every_row():
    x, truth = _blobs(True)
    labels = spherical_labels(x, 4, np.random.default_rng(0))
    assert labels.shape == (200,)
    assert _same_partition(labels, truth)
    np.testing.assert_array_equal(labels, spherical_labels(x, 4, np.random.default_rng(0)))
