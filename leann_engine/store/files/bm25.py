"""BM25 keyword index: inverted lists in a compact file, scored with numpy per query term.

A query touches only the posting lists of its own terms, so its cost grows with how many
passages contain those terms, not with the corpus (no per-document Python loop).

File layout (little-endian): magic ``LEANNBM5``, uint32 version, uint32 header length, a JSON
header (counts, parameters, tokenizer, section sizes), then the sections

- vocabulary: the terms, UTF-8, one per line;
- per-term document frequencies, varints;
- per-term byte lengths of the posting blocks, varints;
- document lengths (tokens per passage, in row order), varints;
- postings: per term, its document rows as gaps, then their term frequencies, all varints;

and a trailing CRC-32 of everything before it. Opening reads the file once; the vocabulary is
turned into a lookup table on the first query and a term's postings are decoded when a query uses
it. Scores follow BM25 with the non-negative idf ``ln(1 + (N - df + 0.5) / (df + 0.5))`` used by
Lucene, where ``N``, ``df`` and the average length count live passages only, so deleted passages
neither match nor skew the statistics.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from leann_engine.errors import IndexFormatError
from leann_engine.keyword.bm25 import EMPTY_ROWS, Postings
from leann_engine.store import codec
from leann_engine.store.framing import frame, read_framed_bytes, unframe

MAGIC = b"LEANNBM5"


# Version 2 leaves k1, b and the tokenizer to the manifest's "keyword" section, their one home;
# version 1 files carried copies that no reader used, and still open.
VERSION = 2


def encode_bm25(docs: Sequence[Sequence[str]]) -> bytes:
    """Serialise the inverted lists of ``docs`` (token lists, in row order)."""
    vocab: dict[str, int] = {}
    t, d, f, doc_len = _triples(docs, vocab, 0)
    return _encode(sorted(vocab, key=vocab.__getitem__), t, d, f, doc_len)


def _triples(
    docs: Sequence[Sequence[str]], vocab: dict[str, int], first_row: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(term id, row, term frequency) of every posting of ``docs``, and their lengths."""
    term_ids: list[int] = []
    rows: list[int] = []
    tfs: list[int] = []
    doc_len = np.empty(len(docs), dtype=np.int64)
    for r, toks in enumerate(docs):
        doc_len[r] = len(toks)
        for term, tf in Counter(toks).items():
            term_ids.append(vocab.setdefault(term, len(vocab)))
            rows.append(first_row + r)
            tfs.append(tf)
    as_int = lambda x: np.asarray(x, dtype=np.int64)  # noqa: E731
    return as_int(term_ids), as_int(rows), as_int(tfs), doc_len


class PostingsBuilder:
    """Inverted lists of a build of any size in bounded memory: each batch's postings are
    spilled to an anonymous temporary file as int32 (term, row, tf) triples, then grouped into
    runs of terms of about ``_TERM_CHUNK`` postings and encoded a run at a time. Memory holds
    the vocabulary, a document frequency per term and a length per passage."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.vocab: dict[str, int] = {}
        self._dir = directory
        # Unlinked at creation: a killed build leaves nothing behind.
        self._spill = tempfile.TemporaryFile(prefix="leann-postings-", dir=directory)
        self._df = np.zeros(0, dtype=np.int64)
        self._lens: list[np.ndarray] = []
        self.rows = 0

    def add(self, docs: Sequence[Sequence[str]]) -> None:
        t, d, f, doc_len = _triples(docs, self.vocab, self.rows)
        self._spill.write(np.stack([t, d, f], axis=1).astype(np.int32).tobytes())
        if self._df.size < len(self.vocab):
            self._df = np.concatenate([self._df, np.zeros(len(self.vocab) - self._df.size, np.int64)])
        self._df += np.bincount(t, minlength=self._df.size)
        self._lens.append(doc_len.astype(np.int32))
        self.rows += len(docs)

    def encode(self) -> bytes:
        """The keyword file (every term added is used: no renumbering)."""
        try:
            return _frame(list(self.vocab), self._df, self._runs(), self._doc_len())
        finally:
            self._spill.close()

    def _doc_len(self) -> np.ndarray:
        return np.concatenate(self._lens) if self._lens else np.zeros(0, np.int64)

    def _runs(self) -> Iterator[tuple[int, int, np.ndarray, np.ndarray, np.ndarray]]:
        """Runs of terms sorted by (term, row): the spill is scattered once into a second file
        where each run's postings are contiguous, then read back a run at a time."""
        bounds = _run_bounds(self._df)
        starts = np.zeros(self._df.size + 1, dtype=np.int64)
        np.cumsum(self._df, out=starts[1:])
        cursor = starts[bounds[:-1]].copy()
        self._spill.flush()
        with tempfile.TemporaryFile(prefix="leann-postings-", dir=self._dir) as runs:
            src, dst = self._spill.fileno(), runs.fileno()
            size = os.fstat(src).st_size
            step = 12 * _TERM_CHUNK
            for at in range(0, size, step):
                rec = np.frombuffer(os.pread(src, min(step, size - at), at), dtype=np.int32).reshape(-1, 3)
                run = np.searchsorted(bounds, rec[:, 0], side="right") - 1
                by_run = np.argsort(run, kind="stable")
                rec, run = rec[by_run], run[by_run]
                edges = np.flatnonzero(np.diff(run)) + 1
                for lo, hi in zip(np.concatenate(([0], edges)), np.concatenate((edges, [run.size]))):
                    r = int(run[lo])
                    os.pwrite(dst, rec[lo:hi].tobytes(), 12 * int(cursor[r]))
                    cursor[r] += hi - lo
            for r in range(bounds.size - 1):
                lo, hi = int(starts[bounds[r]]), int(starts[bounds[r + 1]])
                rec = np.frombuffer(os.pread(dst, 12 * (hi - lo), 12 * lo), dtype=np.int32).reshape(-1, 3)
                rec = rec[np.argsort(rec[:, 0], kind="stable")]  # rows already ascend within a term
                yield int(bounds[r]), int(bounds[r + 1]), rec[:, 0], rec[:, 1], rec[:, 2]


_TERM_CHUNK = 1 << 18  # postings encoded per step (each costs ~150 bytes of scratch)


def _run_bounds(df: np.ndarray) -> np.ndarray:
    """Term boundaries of runs of about ``_TERM_CHUNK`` postings (a bigger term is a run alone)."""
    starts = np.zeros(df.size + 1, dtype=np.int64)
    np.cumsum(df, out=starts[1:])
    bounds = [0]
    while bounds[-1] < df.size:
        lo = bounds[-1]
        hi = int(np.searchsorted(starts, starts[lo] + _TERM_CHUNK, side="right")) - 1
        bounds.append(min(max(lo + 1, hi), df.size))
    return np.asarray(bounds, dtype=np.int64)


def _encode(
    terms: list[str], t: np.ndarray, d: np.ndarray, f: np.ndarray, doc_len: np.ndarray, ordered: bool = False
) -> bytes:
    """The keyword file of postings ``(t, d, f)``; ``ordered``: already sorted by term, then row."""
    used = np.bincount(t, minlength=len(terms)) > 0
    if not used.all():  # terms no kept passage uses any more leave the vocabulary
        renum = np.cumsum(used) - 1  # keeps the order
        t, terms = renum[t], [term for term, u in zip(terms, used.tolist()) if u]
    if not ordered:
        order = np.lexsort((d, t))  # by term, then row
        t, d, f = t[order], d[order], f[order]
        del order
    df = np.bincount(t, minlength=len(terms)).astype(np.int64)
    bounds = _run_bounds(df)
    starts = np.zeros(df.size + 1, dtype=np.int64)
    np.cumsum(df, out=starts[1:])

    def runs() -> Iterator[tuple[int, int, np.ndarray, np.ndarray, np.ndarray]]:
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            lo, hi = int(starts[a]), int(starts[b])
            yield a, b, t[lo:hi], d[lo:hi], f[lo:hi]

    return _frame(terms, df, runs(), doc_len)


def _encode_run(lo_term: int, hi_term: int, t: np.ndarray, d: np.ndarray, f: np.ndarray, df: np.ndarray,
                starts: np.ndarray, block_bytes: np.ndarray) -> bytes:
    """The posting blocks of terms ``lo_term:hi_term`` (postings sorted by term, then row):
    each term's row gaps, then its term frequencies, all varints."""
    base = int(starts[lo_term])
    term = np.asarray(t, dtype=np.int64)
    rows = np.asarray(d, dtype=np.int64)
    gaps = rows.copy()
    gaps[1:] -= rows[:-1]
    heads = starts[lo_term:hi_term][df[lo_term:hi_term] > 0] - base
    gaps[heads] = rows[heads]
    first = starts[term] - base
    local = np.arange(term.size) - first
    seq = np.empty(2 * term.size, dtype=np.uint64)
    seq[2 * first + local] = gaps
    seq[2 * first + df[term] + local] = f
    sizes = codec.varint_sizes(gaps) + codec.varint_sizes(np.asarray(f, dtype=np.uint64))
    block_bytes[lo_term:hi_term] = np.bincount(term - lo_term, weights=sizes, minlength=hi_term - lo_term)
    return codec.encode_varints(seq)


def _frame(
    terms: list[str],
    df: np.ndarray,
    runs: Iterable[tuple[int, int, np.ndarray, np.ndarray, np.ndarray]],
    doc_len: np.ndarray,
) -> bytes:
    df = np.asarray(df, dtype=np.int64)
    starts = np.zeros(df.size + 1, dtype=np.int64)
    np.cumsum(df, out=starts[1:])
    block_bytes = np.zeros(df.size, dtype=np.int64)
    postings = [_encode_run(a, b, t, d, f, df, starts, block_bytes) for a, b, t, d, f in runs]
    joined = b"".join(postings)
    del postings
    return assemble("\n".join(terms).encode("utf-8"), df, block_bytes, doc_len, joined)


def assemble(vocab: bytes, df: np.ndarray, block_bytes: np.ndarray, doc_len: np.ndarray, postings: bytes) -> bytes:
    """The keyword file from its sections: the vocabulary (UTF-8 terms, one per line), each
    term's document frequency and posting-block bytes, the document lengths and the postings."""
    df = np.asarray(df, dtype=np.int64)
    sections = [
        vocab,
        codec.encode_varints(df.astype(np.uint64)),
        codec.encode_varints(np.asarray(block_bytes).astype(np.uint64)),
        codec.encode_varints(np.asarray(doc_len).astype(np.uint64)),
        postings,
    ]
    header = {
        "rows": int(np.asarray(doc_len).size),
        "terms": int(df.size),
        "postings": int(df.sum()),
        "sections": [len(s) for s in sections],
    }
    return frame(MAGIC, VERSION, header, sections)


class FilePostings(Postings):
    """The inverted lists of a base segment, read from a file written by :func:`encode_bm25`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        data = read_framed_bytes(path)
        self.header, body = unframe(data, path, MAGIC, VERSION, "leann keyword index")
        bad = f"{path} is a damaged keyword index: rebuild the index"
        try:
            sizes = [int(s) for s in self.header["sections"]]
            n_terms, rows = int(self.header["terms"]), int(self.header["rows"])
            pos = 0
            parts = []
            for s in sizes:
                parts.append(body[pos : pos + s])
                pos += s
            if pos != len(body) or len(parts) != 5:
                raise ValueError("section sizes do not add up")
            self._vocab_raw = bytes(parts[0])
            self.df = codec.decode_varints(parts[1], n_terms)
            block = codec.decode_varints(parts[2], n_terms)
            self.doc_len = codec.decode_varints(parts[3], rows)
        except (ValueError, KeyError, TypeError) as e:
            raise IndexFormatError(f"{bad} ({e})") from e
        self._offsets = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(block, out=self._offsets[1:])
        self._postings = np.frombuffer(parts[4], dtype=np.uint8)
        if self._offsets[-1] != self._postings.size:
            raise IndexFormatError(f"{bad} (postings size)")
        self._term_index: dict[str, int] | None = None

    @property
    def vocab_bytes(self) -> bytes:
        """The vocabulary section as stored (UTF-8 terms, one per line)."""
        return self._vocab_raw

    @property
    def postings_bytes(self) -> np.ndarray:
        """The postings section (uint8); term ``i``'s block is ``block_offsets[i]:[i + 1]``."""
        return self._postings

    @property
    def block_offsets(self) -> np.ndarray:
        return self._offsets

    def terms(self) -> list[str]:
        return self._vocab_raw.decode("utf-8").split("\n") if self._vocab_raw else []

    def all_postings(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every posting as (term id, row, term frequency) arrays, term by term."""
        df = self.df.astype(np.int64)
        total = int(df.sum())
        try:
            seq = codec.decode_varints(self._postings, 2 * total).astype(np.int64)
        except ValueError as e:
            raise IndexFormatError(f"{self.path}: the postings are damaged ({e})") from e
        # A term's block is its gaps, then its frequencies: a mask splits them without indexing.
        is_gap = np.repeat(np.tile(np.array([True, False]), df.size), np.repeat(df, 2))
        gaps, tfs = seq[is_gap], seq[~is_gap]
        del seq, is_gap
        csum = np.cumsum(gaps)
        first = np.zeros(df.size, dtype=np.int64)  # where each term's postings start
        np.cumsum(df[:-1], out=first[1:])
        before = np.concatenate([[0], csum])[first]  # gaps of earlier terms, summed
        return np.repeat(np.arange(df.size), df), csum - np.repeat(before, df), tfs

    def lookup(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        if self._term_index is None:
            self._term_index = {t: i for i, t in enumerate(self.terms())}
        i = self._term_index.get(term)
        if i is None:
            return EMPTY_ROWS, EMPTY_ROWS
        n = int(self.df[i])
        try:
            vals = codec.decode_varints(self._postings[self._offsets[i] : self._offsets[i + 1]], 2 * n)
        except ValueError as e:
            raise IndexFormatError(f"{self.path}: posting list of {term!r} is damaged ({e})") from e
        return np.cumsum(vals[:n]), vals[n:]
