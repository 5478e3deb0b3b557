"""The proximity graph: in-memory form (csr), hnswlib build (hnsw), pruning (prune), node order
(order) and the best-first walk (walk)."""

from leann_engine.graph.csr import Graph, Level, reachable
from leann_engine.graph.hnsw import build_hnsw
from leann_engine.graph.order import cluster_order, locality_order, relabel
from leann_engine.graph.prune import ensure_connected, prune_high_degree_preserving

__all__ = [
    "Graph",
    "Level",
    "build_hnsw",
    "cluster_order",
    "ensure_connected",
    "locality_order",
    "prune_high_degree_preserving",
    "reachable",
    "relabel",
]
