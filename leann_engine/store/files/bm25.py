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


def merge_bm25(old: FilePostings, new_row: np.ndarray, new_docs: Sequence[Sequence[str]]) -> bytes:
    """The keyword file of a merged base: ``old``'s postings with rows renumbered by
    ``new_row`` (old row -> new row, -1 drops it), then ``new_docs`` after the kept rows.

    Postings are decoded and re-encoded; no passage text is read or tokenized again.
    """
    t, d, f = old.all_postings()
    keep = new_row[d] >= 0
    t, d, f = t[keep], new_row[d[keep]], f[keep]
    kept = int((new_row >= 0).sum())
    doc_len = np.zeros(kept, dtype=np.int64)
    live_old = new_row >= 0
    doc_len[new_row[live_old]] = old.doc_len[live_old]
    terms = old.terms()
    vocab = {term: i for i, term in enumerate(terms)}
    t2, d2, f2, len2 = _triples(new_docs, vocab, kept)
    terms = sorted(vocab, key=vocab.__getitem__)
    cat = np.concatenate
    return _encode(terms, cat([t, t2]), cat([d, d2]), cat([f, f2]), cat([doc_len, len2]))


class PostingsBuilder:
    """Inverted lists accumulated a batch of documents at a time in numpy arrays (no Python
    list per posting), for a build of a million passages."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self._parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.rows = 0

    def add(self, docs: Sequence[Sequence[str]]) -> None:
        t, d, f, doc_len = _triples(docs, self.vocab, self.rows)
        self._parts.append((t.astype(np.int32), d.astype(np.int32), f.astype(np.int32), doc_len))
        self.rows += len(docs)

    def encode(self) -> bytes:
        parts, self._parts = self._parts, []
        cols = [np.concatenate([p[i] for p in parts]) if parts else np.zeros(0, np.int32) for i in range(4)]
        del parts
        return _encode(sorted(self.vocab, key=self.vocab.__getitem__), *cols)


_TERM_CHUNK = 1 << 22  # postings encoded per step


def _encode(terms: list[str], t: np.ndarray, d: np.ndarray, f: np.ndarray, doc_len: np.ndarray) -> bytes:
    used = np.bincount(t, minlength=len(terms)) > 0
    if not used.all():  # terms no kept passage uses any more leave the vocabulary
        renum = np.cumsum(used) - 1
        t, terms = renum[t], [term for term, u in zip(terms, used.tolist()) if u]
    n_terms = len(terms)
    order = np.lexsort((d, t))  # by term, then row
    t, d, f = t[order], d[order], f[order]
    del order
    df = np.bincount(t, minlength=n_terms).astype(np.int64)
    starts = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(df, out=starts[1:])
    postings: list[bytes] = []
    block_bytes = np.zeros(n_terms, dtype=np.int64)
    lo_term = 0
    # Terms in runs of about _TERM_CHUNK postings: each term's block is its row gaps, then its
    # term frequencies, all varints.
    while lo_term < n_terms:
        hi_term = max(lo_term + 1, int(np.searchsorted(starts, starts[lo_term] + _TERM_CHUNK, side="right")) - 1)
        hi_term = min(hi_term, n_terms)
        lo, hi = int(starts[lo_term]), int(starts[hi_term])
        term = t[lo:hi].astype(np.int64)
        rows = d[lo:hi].astype(np.int64)
        gaps = rows.copy()
        gaps[1:] -= rows[:-1]
        heads = starts[lo_term:hi_term][df[lo_term:hi_term] > 0] - lo
        gaps[heads] = rows[heads]
        local = np.arange(hi - lo) - (starts[term] - lo)
        seq = np.empty(2 * (hi - lo), dtype=np.uint64)
        seq[2 * (starts[term] - lo) + local] = gaps
        seq[2 * (starts[term] - lo) + df[term] + local] = f[lo:hi]
        postings.append(codec.encode_varints(seq))
        sizes = codec.varint_sizes(gaps) + codec.varint_sizes(f[lo:hi].astype(np.uint64))
        block_bytes[lo_term:hi_term] = np.bincount(term - lo_term, weights=sizes, minlength=hi_term - lo_term)
        lo_term = hi_term
    sections = [
        "\n".join(terms).encode("utf-8"),
        codec.encode_varints(df.astype(np.uint64)),
        codec.encode_varints(block_bytes.astype(np.uint64)),
        codec.encode_varints(np.asarray(doc_len).astype(np.uint64)),
        b"".join(postings),
    ]
    header = {
        "rows": int(np.asarray(doc_len).size),
        "terms": n_terms,
        "postings": int(d.size),
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
        starts = np.zeros(df.size + 1, dtype=np.int64)
        np.cumsum(df, out=starts[1:])
        term = np.repeat(np.arange(df.size), df)
        local = np.arange(total) - starts[term]
        gaps = seq[2 * starts[term] + local]
        tfs = seq[2 * starts[term] + df[term] + local]
        csum = np.cumsum(gaps)
        before = csum[starts[:-1][term]] - gaps[starts[:-1][term]]
        return term, csum - before, tfs

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
