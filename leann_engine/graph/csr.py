"""The in-memory graph: level 0 as CSR over all nodes plus HNSW's sparse upper levels."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Level:
    """One upper HNSW level: ``nodes`` (sorted ids present) and their lists as CSR."""

    nodes: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray

    def neighbors(self, node: int) -> np.ndarray:
        pos = int(np.searchsorted(self.nodes, node))
        if pos >= self.nodes.size or self.nodes[pos] != node:
            return self.indices[:0]
        return self.indices[self.indptr[pos] : self.indptr[pos + 1]]


@dataclass
class Graph:
    """A navigable graph over ``n`` nodes; neighbour lists are sorted ascending."""

    n: int
    indptr: np.ndarray
    indices: np.ndarray
    entry_point: int
    upper: list[Level] = field(default_factory=list)

    def neighbors(self, node: int) -> np.ndarray:
        return self.indices[self.indptr[node] : self.indptr[node + 1]]

    @property
    def degrees(self) -> np.ndarray:
        return np.diff(self.indptr)

    @property
    def n_edges(self) -> int:
        return int(self.indptr[-1])


def sets_to_csr(lists: list[set[int]]) -> tuple[np.ndarray, np.ndarray]:
    deg = np.array([len(s) for s in lists], dtype=np.int64)
    indptr = np.zeros(len(lists) + 1, dtype=np.int64)
    np.cumsum(deg, out=indptr[1:])
    indices = np.empty(int(indptr[-1]), dtype=np.int32)
    for i, s in enumerate(lists):
        indices[indptr[i] : indptr[i + 1]] = sorted(s)
    return indptr, indices


def reachable(graph: Graph, start: int) -> np.ndarray:
    """Boolean mask of the level-0 nodes reachable from ``start`` (breadth-first, one numpy
    pass per hop rather than a Python step per node)."""
    seen = np.zeros(graph.n, dtype=bool)
    if graph.n == 0:
        return seen
    seen[start] = True
    frontier = np.array([start], dtype=np.int64)
    indptr, indices = graph.indptr, graph.indices
    while frontier.size:
        lo, deg = indptr[frontier], indptr[frontier + 1] - indptr[frontier]
        at = np.repeat(lo - np.cumsum(deg) + deg, deg) + np.arange(int(deg.sum()))
        nb = indices[at]
        frontier = np.unique(nb[~seen[nb]]).astype(np.int64)
        seen[frontier] = True
    return seen


def edgeless(n: int) -> Graph:
    """A graph of ``n`` nodes and no edges: the stand-in for a base stored without a graph."""
    return Graph(n=n, indptr=np.zeros(n + 1, dtype=np.int64), indices=np.zeros(0, dtype=np.int32), entry_point=0)
