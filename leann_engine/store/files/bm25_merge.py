"""The keyword file of a merged base, written in proportion to the change where the rows allow.

A merge keeps the kept rows in order and puts the new passages after them. When no base row
was deleted, no old row changes number: a term's posting block (its row gaps, then its term
frequencies) is the old block with the new postings' gaps and frequencies spliced in, and the
blocks of terms the new passages do not use are copied as bytes. Finding where each old block's
frequencies start and its last row takes a few vectorised passes over the posting bytes (no
per-posting arrays); the per-term work is for the terms the new passages use.

After deletes every later row moves, so the postings are decoded, renumbered and re-encoded
(vectorised; kept postings stay in term-then-row order, so nothing is sorted again).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from leann_engine.errors import IndexFormatError
from leann_engine.store import codec
from leann_engine.store.files.bm25 import FilePostings, _encode, _triples, assemble

_CHUNK_BYTES = 1 << 18  # posting bytes scanned per step: the scratch arrays stay in cache


def merge_bm25(old: FilePostings, new_row: np.ndarray, new_docs: Sequence[Sequence[str]]) -> bytes:
    """The keyword file of a merged base: ``old``'s postings with rows renumbered by
    ``new_row`` (old row -> new row, -1 drops it, kept rows in their order), then ``new_docs``
    after the kept rows. No passage text is read or tokenized again."""
    new_row = np.asarray(new_row, dtype=np.int64)
    n = int(old.doc_len.size)
    if new_row.size != n:
        raise ValueError(f"new_row has {new_row.size} rows for a keyword file of {n}")
    if (new_row == np.arange(n)).all():
        return _append(old, new_docs)
    return _rewrite(old, new_row, new_docs)


def _new_postings(
    new_docs: Sequence[Sequence[str]], vocab: dict[str, int], first_row: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The new passages' postings sorted by term, then row, and their lengths."""
    t, d, f, lens = _triples(new_docs, vocab, first_row)
    order = np.lexsort((d, t))
    return t[order], d[order], f[order], lens


def _rewrite(old: FilePostings, new_row: np.ndarray, new_docs: Sequence[Sequence[str]]) -> bytes:
    t, d, f = old.all_postings()  # by term, then row
    keep = new_row[d] >= 0
    t, d, f = t[keep], new_row[d[keep]], f[keep]  # still by term, then row: new_row keeps order
    kept = int((new_row >= 0).sum())
    live_old = new_row >= 0
    doc_len = np.zeros(kept, dtype=np.int64)
    doc_len[new_row[live_old]] = old.doc_len[live_old]
    terms = old.terms()
    vocab = {term: i for i, term in enumerate(terms)}
    t2, d2, f2, len2 = _new_postings(new_docs, vocab, kept)
    terms += list(vocab)[len(terms) :]
    # Each term's kept postings, then its new ones (rows after every kept row): placed, not sorted.
    c1 = np.bincount(t, minlength=len(terms))
    c2 = np.bincount(t2, minlength=len(terms))
    start = np.concatenate([[0], np.cumsum(c1 + c2)])
    s1 = np.concatenate([[0], np.cumsum(c1)])
    s2 = np.concatenate([[0], np.cumsum(c2)])
    pos1 = start[t] + np.arange(t.size) - s1[t]
    pos2 = start[t2] + c1[t2] + np.arange(t2.size) - s2[t2]
    out = []
    for a, b in ((t, t2), (d, d2), (f, f2)):
        x = np.empty(t.size + t2.size, dtype=np.int64)
        x[pos1], x[pos2] = a, b
        out.append(x)
    return _encode(terms, *out, np.concatenate([doc_len, len2]), ordered=True)


def _append(old: FilePostings, new_docs: Sequence[Sequence[str]]) -> bytes:
    terms = old.terms()
    n_old = len(terms)
    vocab = {term: i for i, term in enumerate(terms)}
    t2, d2, f2, len2 = _new_postings(new_docs, vocab, int(old.doc_len.size))
    new_terms = list(vocab)[n_old:]
    n_terms = len(vocab)
    buf, off = old.postings_bytes, old.block_offsets
    split, last = _splits_and_last_rows(buf, off, old.df.astype(np.int64), old.path)
    # Gaps of the new postings: from the term's last old row (0 for a new term), then row to row.
    df2 = np.bincount(t2, minlength=n_terms)
    first = np.concatenate([[0], np.cumsum(df2)])[:-1]
    prev = np.empty_like(d2)
    prev[1:] = d2[:-1]
    heads = first[df2 > 0]
    prev[heads] = np.concatenate([last, np.zeros(n_terms - n_old, np.int64)])[t2[heads]]
    gaps = d2 - prev
    gsize = codec.varint_sizes(gaps)
    fsize = codec.varint_sizes(f2)
    gap_bytes, tf_bytes = codec.encode_varints(gaps), codec.encode_varints(f2)
    gsz = np.bincount(t2, weights=gsize, minlength=n_terms).astype(np.int64)
    fsz = np.bincount(t2, weights=fsize, minlength=n_terms).astype(np.int64)
    gat = np.concatenate([[0], np.cumsum(gsz)])
    fat = np.concatenate([[0], np.cumsum(fsz)])
    mv, gv, fv = memoryview(buf), memoryview(gap_bytes), memoryview(tf_bytes)
    pieces: list[memoryview] = []
    at = 0  # old bytes up to here are placed
    for i in np.flatnonzero(df2).tolist():
        if i < n_old:  # old gaps, new gaps, old frequencies, new frequencies
            pieces += [mv[at : int(split[i])], gv[gat[i] : gat[i + 1]], mv[int(split[i]) : int(off[i + 1])]]
            at = int(off[i + 1])
        else:
            pieces += [mv[at:], gv[gat[i] : gat[i + 1]]]
            at = len(mv)
        pieces.append(fv[fat[i] : fat[i + 1]])
    pieces.append(mv[at:])
    df = np.concatenate([old.df.astype(np.int64), np.zeros(n_terms - n_old, np.int64)]) + df2
    block = np.concatenate([np.diff(off), np.zeros(n_terms - n_old, np.int64)]) + gsz + fsz
    added = "\n".join(new_terms).encode("utf-8")
    vocab_raw = old.vocab_bytes + b"\n" + added if n_old and new_terms else (old.vocab_bytes if n_old else added)
    doc_len = np.concatenate([old.doc_len.astype(np.int64), len2])
    return assemble(vocab_raw, df, block, doc_len, b"".join(pieces))


def _splits_and_last_rows(
    buf: np.ndarray, off: np.ndarray, df: np.ndarray, path: object
) -> tuple[np.ndarray, np.ndarray]:
    """For each term: the byte where its term frequencies start, and its last row (the sum of
    its gaps), computed from the bytes a run of terms at a time."""
    n = df.size
    split = off[:-1].astype(np.int64).copy()
    last = np.zeros(n, dtype=np.int64)
    lo = 0
    while lo < n:
        hi = int(np.searchsorted(off, off[lo] + _CHUNK_BYTES, side="right")) - 1
        hi = min(max(hi, lo + 1), n)
        b0 = int(off[lo])
        seg = buf[b0 : int(off[hi])]
        ends = np.flatnonzero(seg < 0x80)  # the last byte of each varint
        d = df[lo:hi]
        if ends.size != 2 * int(d.sum()):
            raise IndexFormatError(f"{path}: the postings are damaged (varint count); rebuild the index")
        begin = np.zeros(seg.size, dtype=np.int64)  # each byte's varint's first byte
        begin[ends[:-1] + 1] = ends[:-1] + 1
        np.maximum.accumulate(begin, out=begin)
        part = (seg & 0x7F).astype(np.int64) << (7 * (np.arange(seg.size) - begin))
        csum = np.concatenate([[0], np.cumsum(part)])
        has = d > 0
        vfirst = 2 * np.concatenate([[0], np.cumsum(d)])[:-1]
        sp = off[lo:hi] - b0  # a term without postings: an empty block
        sp[has] = ends[vfirst[has] + d[has] - 1] + 1
        split[lo:hi] = b0 + sp
        last[lo:hi] = csum[sp] - csum[off[lo:hi] - b0]
        lo = hi
    return split, last
