"""The arrows of a build over vectors kept in a file in the stage folder, so memory stays
bounded at a million passages (:func:`~leann_engine.build.pipeline.build_generation` runs them).

Passages are read in batches (:class:`~leann_engine.build.pipeline.Passages` or the builder's
:class:`~leann_engine.build.spool.PassageSpool`), embedded a window at a time into a
:class:`~leann_engine.build.spool.VectorFile`, and every later arrow reads that file in blocks
or runs of rows (the pruning alone maps it). Codes are chosen on a sample of rows and encoded in
batches; the passage blocks and the keyword index are written in one pass in graph order.
For corpora up to the window sizes below the results are those of an all-in-memory build.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import numpy as np

from leann_engine.build.commit import Stage
from leann_engine.build.passages import embed_all
from leann_engine.build.spool import Batch, VectorFile
from leann_engine.embed.base import Embedder, to_metric_space
from leann_engine.keyword.tokenize import Tokenizer
from leann_engine.params import GRAPH_SEED, BuildParams
from leann_engine.quant.pq4 import PackedPQ
from leann_engine.quant.probe import choose_codes
from leann_engine.store.files.bm25 import PostingsBuilder
from leann_engine.store.files.hubs import encode_hub_file, hub_rows
from leann_engine.store.files.passages import PassageWriter, record_line, train_dict
from leann_engine.store.io import EMBEDDING_DTYPE

# Texts sorted by length for the model within windows of this many passages.
EMBED_WINDOW = 32768
# Code candidates are probed on this many rows (all of them in a smaller index).
PROBE_ROWS = 32768
# The passage dictionary is trained on this many records (all of them in a smaller index).
DICT_SAMPLE = 50000
TEXT_BATCH = 4096
# Fewer rows than this are scored exactly: their codes and codebooks would outweigh them.
MIN_CODED_ROWS = 32


class PassageSource(Protocol):
    ids: list[str]

    def __len__(self) -> int: ...
    def batches(self, size: int = ...) -> Iterator[Batch]: ...
    def rows(self, idx: Sequence[int]) -> Batch: ...


def embed_into(
    vf: VectorFile, passages: PassageSource, embedder: Embedder, params: BuildParams, *, show_progress: bool
) -> None:
    """Embed every passage into ``vf`` (metric space), a window of texts at a time."""
    bar = None
    if show_progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(passages), desc="embedding", unit="chunk")
    start = 0
    try:
        for _, texts, _ in passages.batches(EMBED_WINDOW):
            raw = embed_all(embedder, texts, vf.dim, bar=bar)
            vf.write(start, to_metric_space(raw, params.metric))
            start += len(texts)
    finally:
        if bar is not None:
            bar.close()


def gather(vf: VectorFile, rows: np.ndarray) -> np.ndarray:
    """The vectors of ``rows`` as one array (for samples, not the whole corpus)."""
    return vf.rows(np.asarray(rows, dtype=np.int64))


def codes(vf: VectorFile, perm: np.ndarray, params: BuildParams) -> tuple[PackedPQ, np.ndarray, float] | None:
    """Codes in graph order chosen by the build-time probe (:mod:`leann_engine.quant.probe`) on
    up to ``PROBE_ROWS`` rows, the mean relative quantization error on those rows; ``None`` for
    a graph-only index."""
    from leann_engine.build.pipeline import quantization_error

    n = vf.n
    if not params.pq_bytes or n < MIN_CODED_ROWS:
        return None
    if n <= PROBE_ROWS:
        x = gather(vf, perm)
        quant, c, probe = choose_codes(x, max_bytes=int(params.pq_bytes), seed=GRAPH_SEED)
        quant.chosen = probe["chosen"]
        return quant, c, quantization_error(quant, x, c)
    pos = np.sort(np.random.default_rng(GRAPH_SEED).choice(n, size=PROBE_ROWS, replace=False))
    xs = gather(vf, perm[pos])
    quant, cs, probe = choose_codes(xs, max_bytes=int(params.pq_bytes), seed=GRAPH_SEED)
    quant.chosen = {**probe["chosen"], "probe_rows": PROBE_ROWS}
    c = np.empty((n, cs.shape[1]), dtype=np.uint8)
    s = 0
    for part in vf.take(perm):
        c[s : s + part.shape[0]] = quant.encode(part)
        s += part.shape[0]
    return quant, c, quantization_error(quant, xs, cs)


def stage_texts(stage: Stage, passages: PassageSource, perm: np.ndarray, params: BuildParams) -> bytes | None:
    """Write the passage blocks and table in graph order; returns the keyword file's bytes
    (``None`` without a keyword index). One pass over the texts feeds both."""
    n = len(passages)
    sample = perm if n <= DICT_SAMPLE else perm[np.unique(np.linspace(0, n - 1, DICT_SAMPLE).astype(np.int64))]
    recs: list[bytes] = []
    for s in range(0, len(sample), TEXT_BATCH):
        _, texts, metas = passages.rows(sample[s : s + TEXT_BATCH].tolist())
        recs += [record_line(t, m) for t, m in zip(texts, metas)]
    dict_data = train_dict(recs)
    del recs
    tokenizer = Tokenizer(params.stopwords) if params.keyword_index else None
    postings = PostingsBuilder(stage.dir) if tokenizer is not None else None
    with stage.stream("base_blocks", "pz") as f:
        writer = PassageWriter(f, dict_data)
        for s in range(0, n, TEXT_BATCH):
            _, texts, metas = passages.rows(perm[s : s + TEXT_BATCH].tolist())
            writer.add([record_line(t, m) for t, m in zip(texts, metas)])
            if tokenizer is not None and postings is not None:
                postings.add(tokenizer.tokenize_many(texts))
        table = writer.finish([passages.ids[i] for i in perm.tolist()])
    stage.write("base_table", "pzt", table)
    return postings.encode() if postings is not None else None


def stage_vectors(stage: Stage, vf: VectorFile, perm: np.ndarray, graph: Any, params: BuildParams) -> None:
    """Stored embeddings (``is_recompute=False``) in graph order, and the hub cache."""
    if not params.is_recompute:
        with stage.stream("embeddings", "f32") as f:
            for part in vf.take(perm):
                f.write(np.ascontiguousarray(part, dtype=EMBEDDING_DTYPE).tobytes())
    if params.hub_cache_mb > 0 and graph.n:
        rows = hub_rows(graph, params.hub_cache_mb, vf.dim)
        if rows.size:
            stage.write("hubs", "hubs", encode_hub_file(rows, gather(vf, perm[rows])))


class LazyTexts:
    """``texts[i]`` read from the passages on demand (the calibration probe reads ~128)."""

    def __init__(self, passages: PassageSource) -> None:
        self.passages = passages

    def __len__(self) -> int:
        return len(self.passages)

    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return self.passages.rows(list(range(len(self))[i]))[1]
        return self.passages.rows([int(i)])[1][0]
