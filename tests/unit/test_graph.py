"""Graph build, pruning, reordering and the graph file, on synthetic clustered vectors."""

import numpy as np
import pytest

from leann_engine import graph as G
from leann_engine.build.pipeline import build_graph
from leann_engine.embed.base import normalize_rows
from leann_engine.errors import IndexFormatError
from leann_engine.graph.walk import beam_search
from leann_engine.params import BuildParams as GraphParams
from leann_engine.store.files.graph import decode_graph, encode_graph, read_graph


def clustered(n=3000, d=24, k=30, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((k, d))
    x = centers[rng.integers(0, k, n)] + 0.35 * rng.standard_normal((n, d))
    return normalize_rows(x.astype(np.float32))


@pytest.fixture(scope="module")
def data():
    x = clustered()
    q = normalize_rows(clustered(100, seed=7))
    return x, q


def recall_and_cost(graph, x, q, ef, k=10):
    truth = np.argsort(-(q @ x.T), axis=1)[:, :k]
    hits, cost = 0.0, []
    for i in range(len(q)):
        res, scored = beam_search(graph, lambda ids, qi=q[i]: x[ids] @ qi, ef=ef)
        hits += len({n for _, n in res[:k]} & set(truth[i])) / k
        cost.append(scored)
    return hits / len(q), float(np.mean(cost))


def test_hnsw_extraction_matches_graph_shape(data):
    x, _ = data
    g = G.build_hnsw(x, M=8, ef_construction=100)
    assert g.n == len(x)
    assert g.degrees.max() <= 16  # level 0 holds at most 2*M
    assert all(np.all(np.diff(g.neighbors(u)) > 0) for u in range(0, g.n, 97))
    assert g.upper and all(lev.nodes.size < g.n for lev in g.upper)
    assert not np.any(g.indices == np.arange(g.n).repeat(g.degrees))  # no self loops


def test_pruning_keeps_recall_connectivity_and_saves_edges(data):
    x, q = data
    full = G.build_hnsw(x, M=16, ef_construction=200)
    pruned = G.prune_high_degree_preserving(full, x, max_degree=32, pruned_degree=8, hub_fraction=0.02)
    assert G.reachable(pruned, pruned.entry_point).all()
    assert pruned.degrees.max() <= 32
    assert pruned.n_edges < 0.85 * full.n_edges
    r_full, _ = recall_and_cost(full, x, q, ef=64)
    r_pruned, cost = recall_and_cost(pruned, x, q, ef=64)
    assert r_pruned >= 0.9
    assert r_pruned >= r_full - 0.05
    assert cost < 0.5 * len(x)  # the walk touches a small part of the graph


def test_hubs_keep_more_edges_than_others(data):
    x, _ = data
    full = G.build_hnsw(x, M=16, ef_construction=100)
    pruned = G.prune_high_degree_preserving(full, x, max_degree=32, pruned_degree=6, hub_fraction=0.05)
    total = full.degrees + np.bincount(full.indices, minlength=full.n)
    hubs = np.argsort(-total, kind="stable")[: int(0.05 * full.n)]
    others = np.setdiff1d(np.arange(full.n), hubs)
    assert pruned.degrees[hubs].mean() > pruned.degrees[others].mean()


def test_ensure_connected_links_orphans():
    g = G.Graph(n=4, indptr=np.array([0, 1, 2, 2, 2]), indices=np.array([1, 0], dtype=np.int32), entry_point=0)
    fixed = G.ensure_connected(g)
    assert G.reachable(fixed, 0).all()


def test_relabel_and_cluster_order_preserve_edges(data):
    x, _ = data
    g = build_graph(x, GraphParams())
    order = G.cluster_order(x, g)
    assert sorted(order.tolist()) == list(range(g.n))
    r = G.relabel(g, order)
    inv = np.empty(g.n, dtype=np.int64)
    inv[order] = np.arange(g.n)
    for u in range(0, g.n, 211):
        assert sorted(inv[g.neighbors(u)].tolist()) == r.neighbors(int(inv[u])).tolist()
    assert r.entry_point == inv[g.entry_point]
    assert len(encode_graph(r)) < len(encode_graph(G.relabel(g, np.random.default_rng(0).permutation(g.n))))


@pytest.mark.parametrize("compact", [True, False])
def test_graph_file_round_trip(tmp_path, data, compact):
    x, _ = data
    g = build_graph(x[:500], GraphParams())
    (tmp_path / "g.bin").write_bytes(encode_graph(g, compact=compact))
    back = read_graph(tmp_path / "g.bin")
    assert np.array_equal(back.indptr, g.indptr) and np.array_equal(back.indices, g.indices)
    assert back.entry_point == g.entry_point
    assert [lev.nodes.tolist() for lev in back.upper] == [lev.nodes.tolist() for lev in g.upper]
    assert all(np.array_equal(a.indices, b.indices) for a, b in zip(back.upper, g.upper))


def test_compact_graph_is_smaller(data):
    x, _ = data
    g = build_graph(x[:1000], GraphParams())
    assert len(encode_graph(g, compact=True)) < 0.6 * len(encode_graph(g, compact=False))


def test_damaged_graph_files_are_refused(tmp_path, data):
    x, _ = data
    raw = encode_graph(build_graph(x[:300], GraphParams()))
    flipped = bytearray(raw)
    flipped[len(raw) // 2] ^= 0xFF
    with pytest.raises(IndexFormatError, match="checksum"):
        decode_graph(bytes(flipped), tmp_path / "g")
    with pytest.raises(IndexFormatError, match="checksum|truncated"):
        decode_graph(raw[: len(raw) // 2], tmp_path / "g")
    with pytest.raises(IndexFormatError, match="not a leann_engine graph"):
        decode_graph(b"PK\x03\x04" + raw[4:], tmp_path / "g")
