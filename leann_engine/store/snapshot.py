"""A read-only view of one committed generation of an index: graph, segments, tombstones.

Rows are numbered globally: base rows ``0 .. base_rows-1`` (graph node ids), then delta rows.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from leann_engine.errors import IndexFormatError
from leann_engine.filters import Predicate
from leann_engine.graph.csr import Graph, edgeless
from leann_engine.keyword.bm25 import MemoryPostings, Postings, scoring_params
from leann_engine.keyword.grep import GrepCorpus
from leann_engine.keyword.tokenize import Tokenizer, index_tokenizer
from leann_engine.quant.pq import ProductQuantizer
from leann_engine.store.files.bm25 import FilePostings
from leann_engine.store.files.graph import read_graph
from leann_engine.store.files.hubs import read_hub_file
from leann_engine.store.files.pq import read_pq
from leann_engine.store.manifest import read_manifest
from leann_engine.store.records import BaseSegment, DeltaSegment, read_base_embeddings, read_tombstones


class Snapshot:
    """Everything a search needs from one manifest, loaded at open (texts are read on demand)."""

    def __init__(self, path: Path, previous: Snapshot | None = None) -> None:
        """Open the committed generation at ``path``.

        ``previous``, the snapshot this one replaces, lends its base segment and graph when the
        new manifest names the same base files (an add or delete does not touch them), so a
        commit costs a reader the delta and tombstones only.
        """
        self.path = path
        self.manifest = read_manifest(path)
        m = self.manifest
        self.dimension = int(m["dimensions"])
        self.metric: str = m["metric"]
        self.graph: Graph
        self.base: BaseSegment
        self.base_embeddings: np.ndarray | None
        self.pq: Any
        self.hubs: Any
        same_base = previous is not None and _same_base(previous.manifest, m)
        # Keyword lists and the text corpus for grep are loaded on first use, then shared by
        # later snapshots of the same base.
        self._base_postings: Postings | None = None
        self._base_texts: list[str] | None = None
        self._delta_postings: MemoryPostings | None = None
        self._grep: GrepCorpus | None = None
        if previous is not None and same_base:
            self.graph, self.base = previous.graph, previous.base
            self.base_embeddings = previous.base_embeddings
            self.pq, self.hubs = previous.pq, previous.hubs
            self._base_postings = previous._base_postings
            self._base_texts = previous._base_texts
        else:
            self.base = BaseSegment(path, m)
            graph_file = m["files"].get("graph")  # format 3: none when the codes are scanned
            self.graph = read_graph(path / graph_file) if graph_file else edgeless(self.base.n)
            self.base_embeddings = read_base_embeddings(path, m)
            self.pq, self.hubs = read_search_aids(path, m)
        if self.graph.n != self.base.n:
            raise_format(path, f"the graph has {self.graph.n} nodes but the passage store {self.base.n}")
        self.delta: DeltaSegment = DeltaSegment(path, m, self.dimension, previous.delta if previous else None)
        total = self.base.n + self.delta.rows
        tomb = read_tombstones(path, m)
        if tomb.size and (tomb.min() < 0 or tomb.max() >= total):
            raise_format(path, "a tombstone points outside the index")
        self.dead = np.zeros(total, dtype=bool)
        self.dead[tomb] = True
        self._row_of: dict[str, int] | None = None
        self._metadata: list[dict[str, Any]] | None = None
        self._tokenizer: Tokenizer | None = None
        self.k1, self.b = scoring_params(m)
        self._masks: OrderedDict[str, np.ndarray] = OrderedDict()
        # The delta file is append-only, so the previous snapshot's keyword lists over it stay
        # valid; the rows added since are tokenized on the next keyword search.
        prev_delta = previous._delta_postings if previous is not None else None
        if (
            prev_delta is not None
            and previous is not None
            and previous.delta.data_path == self.delta.data_path
            and prev_delta.doc_len.size <= self.delta.rows
        ):
            self._delta_postings = prev_delta

    @property
    def has_graph(self) -> bool:
        """False for a base stored without a graph (format 3): its codes are scanned instead."""
        return "graph" in self.manifest["files"]

    @property
    def total_rows(self) -> int:
        return self.base.n + self.delta.rows

    @property
    def row_of(self) -> dict[str, int]:
        """Live passage id -> row, built on the first lookup by id (a search never needs it;
        at a million passages it takes ~150 MB)."""
        if self._row_of is None:
            row_of: dict[str, int] = {}
            dead = self.dead
            for r, pid in enumerate(self.base.ids):
                if not dead[r]:
                    row_of[pid] = r
            for j, rec in enumerate(self.delta.records):
                r = self.base.n + j
                if not dead[r]:
                    row_of[rec["id"]] = r
            self._row_of = row_of
        return self._row_of

    @property
    def live_count(self) -> int:
        if self._row_of is not None:
            return len(self._row_of)
        return int(self.total_rows - np.count_nonzero(self.dead))

    def records(self, rows: Sequence[int]) -> list[dict[str, Any]]:
        """Records ``{id, text, metadata}`` of the given global rows, in that order."""
        base_rows = [r for r in rows if r < self.base.n]
        fetched = dict(zip(base_rows, self.base.records(base_rows)))
        return [fetched[r] if r < self.base.n else self.delta.records[r - self.base.n] for r in rows]

    def ids_of(self, rows: Sequence[int]) -> list[str]:
        """Passage ids of the given global rows (no passage text is read)."""
        n = self.base.n
        base = dict(zip([r for r in rows if r < n], self.base.id_of([r for r in rows if r < n])))
        return [base[r] if r < n else self.delta.records[r - n]["id"] for r in rows]

    def texts(self, rows: Sequence[int]) -> list[str]:
        return [rec["text"] for rec in self.records(rows)]

    def _read_base(self) -> None:
        recs = list(self.base.all_records())
        if len(recs) != self.base.n:
            raise_format(self.path, "the passage store's line count does not match its offsets")
        self._metadata = [rec.get("metadata") or {} for rec in recs]
        self._base_texts = [rec["text"] for rec in recs]

    def metadata(self) -> list[dict[str, Any]]:
        """Every row's metadata (loaded on the first filtered search, then kept)."""
        if self._metadata is None:
            self._read_base()
            assert self._metadata is not None
            self._metadata += [rec.get("metadata") or {} for rec in self.delta.records]
        return self._metadata

    def all_texts(self) -> list[str]:
        """Every row's text, base then delta (loaded on the first grep, then kept)."""
        if self._base_texts is None:
            metas = self._metadata
            self._read_base()
            if metas is not None:
                self._metadata = metas
        assert self._base_texts is not None
        return self._base_texts + [rec["text"] for rec in self.delta.records]

    def grep_corpus(self) -> GrepCorpus:
        """All texts prepared for literal search (built on the first grep of this snapshot)."""
        if self._grep is None:
            self._grep = GrepCorpus(self.all_texts())
        return self._grep

    @property
    def tokenizer(self) -> Tokenizer:
        """How passages were tokenized for the keyword index (queries must match)."""
        if self._tokenizer is None:
            self._tokenizer = index_tokenizer(self.manifest)
        return self._tokenizer

    def keyword_segments(self) -> list[tuple[Postings, int]]:
        """The keyword index as ``(postings, first row)`` parts: the base file, then the delta."""
        if self._base_postings is None:
            name = self.manifest["files"].get("bm25")
            if name:
                self._base_postings = FilePostings(self.path / name)
            else:  # made before keyword indexes existed: build the lists in memory
                self._base_postings = MemoryPostings(
                    self.tokenizer.tokenize_many(self.all_texts()[: self.base.n])
                )
            if self._base_postings.doc_len.size != self.base.n:
                raise_format(self.path, "the keyword index does not cover the passage store")
        if self._delta_postings is None:
            self._delta_postings = MemoryPostings()
        have = int(self._delta_postings.doc_len.size)
        if have < self.delta.rows:
            new = [rec["text"] for rec in self.delta.records[have:]]
            self._delta_postings.extend(self.tokenizer.tokenize_many(new))
        return [(self._base_postings, 0), (self._delta_postings, self.base.n)]

    def live_mask(self, key: str | None, predicate: Predicate | None) -> np.ndarray:
        """Rows that are live and pass ``predicate``; cached per filter for repeated queries."""
        if predicate is None or key is None:
            return ~self.dead
        mask = self._masks.get(key)
        if mask is None:
            mask = np.fromiter((predicate(m) for m in self.metadata()), dtype=bool, count=self.total_rows)
            mask &= ~self.dead
            self._masks[key] = mask
            if len(self._masks) > 32:
                self._masks.popitem(last=False)
        else:
            self._masks.move_to_end(key)
        return mask

    def close(self) -> None:
        self.base.close()


_BASE_FILES = (
    "graph",
    "base_data",
    "base_offsets",
    "base_ids",
    "base_blocks",
    "base_table",
    "embeddings",
    "bm25",
    "pq",
    "hubs",
)


def read_search_aids(
    path: Path, m: dict[str, Any]
) -> tuple[tuple[ProductQuantizer, np.ndarray] | None, tuple[np.ndarray, np.ndarray] | None]:
    """The PQ codes and the hub embedding cache, each ``None`` when the index has none."""
    files, n, dim = m["files"], int(m["base"]["rows"]), int(m["dimensions"])
    pq = read_pq(path / files["pq"], n=n, dim=dim) if files.get("pq") else None
    hubs = read_hub_file(path / files["hubs"], n=n, dim=dim) if files.get("hubs") else None
    return pq, hubs


def _same_base(old: dict[str, Any], new: dict[str, Any]) -> bool:
    return old["base"] == new["base"] and all(old["files"].get(k) == new["files"].get(k) for k in _BASE_FILES)


def raise_format(path: Path, what: str) -> NoReturn:
    raise IndexFormatError(f"{path} is inconsistent: {what}; rebuild the index")
