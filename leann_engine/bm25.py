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

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import codec
from .errors import IndexFormatError
from .framing import frame, unframe
from .tokenize import Tokenizer

MAGIC = b"LEANNBM5"
VERSION = 1
DEFAULT_K1 = 1.2
DEFAULT_B = 0.75

_EMPTY_ROWS = np.zeros(0, dtype=np.int64)


class Postings:
    """Inverted lists over a set of rows: ``lookup(term) -> (rows, term frequencies)``."""

    doc_len: np.ndarray

    def lookup(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError


class MemoryPostings(Postings):
    """Inverted lists built in memory from token lists (used for passages added since a build)."""

    def __init__(self, docs: Sequence[Sequence[str]] = ()) -> None:
        self._lists: dict[str, tuple[list[int], list[int]]] = {}
        self._frozen: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.doc_len = np.zeros(0, dtype=np.int64)
        self.extend(docs)

    def extend(self, docs: Sequence[Sequence[str]]) -> None:
        start = int(self.doc_len.size)
        lens = np.empty(len(docs), dtype=np.int64)
        for j, toks in enumerate(docs):
            lens[j] = len(toks)
            for term, tf in Counter(toks).items():
                rows, tfs = self._lists.setdefault(term, ([], []))
                rows.append(start + j)
                tfs.append(tf)
        self.doc_len = np.concatenate([self.doc_len, lens])
        self._frozen.clear()

    def lookup(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        hit = self._frozen.get(term)
        if hit is None:
            lists = self._lists.get(term)
            if lists is None:
                return _EMPTY_ROWS, _EMPTY_ROWS
            hit = (np.asarray(lists[0], dtype=np.int64), np.asarray(lists[1], dtype=np.int64))
            self._frozen[term] = hit
        return hit


def encode_bm25(docs: Sequence[Sequence[str]], tokenizer: Tokenizer) -> bytes:
    """Serialise the inverted lists of ``docs`` (token lists, in row order)."""
    vocab: dict[str, int] = {}
    term_ids: list[int] = []
    rows: list[int] = []
    tfs: list[int] = []
    doc_len = np.empty(len(docs), dtype=np.int64)
    for r, toks in enumerate(docs):
        doc_len[r] = len(toks)
        for term, tf in Counter(toks).items():
            term_ids.append(vocab.setdefault(term, len(vocab)))
            rows.append(r)
            tfs.append(tf)
    t = np.asarray(term_ids, dtype=np.int64)
    d = np.asarray(rows, dtype=np.int64)
    f = np.asarray(tfs, dtype=np.int64)
    n_terms = len(vocab)
    order = np.lexsort((d, t))  # by term, then row
    t, d, f = t[order], d[order], f[order]
    df = np.bincount(t, minlength=n_terms).astype(np.int64)
    starts = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(df, out=starts[1:])
    gaps = d.copy()
    if d.size:
        gaps[1:] = d[1:] - d[:-1]
        heads = starts[:-1][df > 0]
        gaps[heads] = d[heads]
    # Each term's block is its gaps followed by its frequencies.
    block = np.repeat(np.arange(n_terms), df)
    key_term = np.concatenate([block, block])
    key_part = np.repeat(np.array([0, 1], dtype=np.int64), d.size)
    pos = np.tile(np.arange(d.size), 2)
    o = np.lexsort((pos, key_part, key_term))
    seq = np.concatenate([gaps, f])[o].astype(np.uint64)
    postings = codec.encode_varints(seq)
    block_bytes = np.bincount(key_term[o], weights=codec.varint_sizes(seq), minlength=n_terms)
    terms = sorted(vocab, key=vocab.__getitem__)
    sections = [
        "\n".join(terms).encode("utf-8"),
        codec.encode_varints(df.astype(np.uint64)),
        codec.encode_varints(block_bytes.astype(np.uint64)),
        codec.encode_varints(doc_len.astype(np.uint64)),
        postings,
    ]
    header = {
        "rows": len(docs),
        "terms": n_terms,
        "postings": int(d.size),
        "k1": DEFAULT_K1,
        "b": DEFAULT_B,
        "tokenizer": tokenizer.config(),
        "sections": [len(s) for s in sections],
    }
    return frame(MAGIC, VERSION, header, sections)


class FilePostings(Postings):
    """The inverted lists of a base segment, read from a file written by :func:`encode_bm25`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            data = path.read_bytes()
        except OSError as e:
            raise IndexFormatError(f"cannot read keyword index {path}: {e}") from e
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
        self.tokenizer = Tokenizer.from_config(self.header["tokenizer"])
        self.k1 = float(self.header.get("k1", DEFAULT_K1))
        self.b = float(self.header.get("b", DEFAULT_B))
        self._term_index: dict[str, int] | None = None

    def lookup(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        if self._term_index is None:
            terms = self._vocab_raw.decode("utf-8").split("\n") if self._vocab_raw else []
            self._term_index = {t: i for i, t in enumerate(terms)}
        i = self._term_index.get(term)
        if i is None:
            return _EMPTY_ROWS, _EMPTY_ROWS
        n = int(self.df[i])
        try:
            vals = codec.decode_varints(self._postings[self._offsets[i] : self._offsets[i + 1]], 2 * n)
        except ValueError as e:
            raise IndexFormatError(f"{self.path}: posting list of {term!r} is damaged ({e})") from e
        return np.cumsum(vals[:n]), vals[n:]


def bm25_scores(
    segments: Sequence[tuple[Postings, int]],
    query_terms: Sequence[str],
    live: np.ndarray,
    *,
    k1: float = DEFAULT_K1,
    b: float = DEFAULT_B,
) -> np.ndarray:
    """BM25 score of every row for ``query_terms`` (repeats count, as in the query's bag of words).

    ``segments`` are ``(postings, first_row)`` pairs covering the rows; ``live`` marks the rows
    that exist (not deleted), which alone count in the statistics and get a score.
    """
    total = live.size
    scores = np.zeros(total, dtype=np.float32)
    if not query_terms or not total:
        return scores
    doc_len = np.zeros(total, dtype=np.float32)
    for seg, first in segments:
        part = seg.doc_len[: total - first]
        doc_len[first : first + part.size] = part
    n_live = int(live.sum())
    if not n_live:
        return scores
    avgdl = float(doc_len[live].sum()) / n_live or 1.0
    for term, qtf in Counter(query_terms).items():
        parts = []
        for seg, first in segments:
            rows, tfs = seg.lookup(term)
            if rows.size:
                parts.append((rows + first, tfs))
        if not parts:
            continue
        rows = np.concatenate([p[0] for p in parts])
        tfs = np.concatenate([p[1] for p in parts]).astype(np.float32)
        # A shared in-memory list can hold rows a newer snapshot added: they are not ours.
        keep = rows < total
        keep[keep] = live[rows[keep]]
        rows, tfs = rows[keep], tfs[keep]
        df = rows.size
        if not df:
            continue
        idf = np.log1p((n_live - df + 0.5) / (df + 0.5))
        norm = k1 * (1.0 - b + b * doc_len[rows] / avgdl)
        scores[rows] += np.float32(qtf * idf) * tfs * np.float32(k1 + 1.0) / (tfs + norm)
    return scores
