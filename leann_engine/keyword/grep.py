"""Exact-text search over passages (LEANN's ``use_grep``): literal substrings or a regex."""

from __future__ import annotations

import re

import numpy as np

_SEP = "\x00"


class GrepCorpus:
    """The passages of one snapshot, joined once so that a literal search is a single scan."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self._joined: dict[bool, tuple[str, np.ndarray]] = {}

    def _join(self, lower: bool) -> tuple[str, np.ndarray]:
        if lower not in self._joined:
            # Lower-cased passage by passage: case mapping can change a text's length, so the
            # offsets are taken from the lowered texts themselves.
            texts = [t.lower() for t in self.texts] if lower else self.texts
            lengths = np.fromiter((len(t) + 1 for t in texts), dtype=np.int64, count=len(texts))
            starts = np.zeros(len(texts), dtype=np.int64)
            if len(texts) > 1:
                np.cumsum(lengths[:-1], out=starts[1:])
            self._joined[lower] = (_SEP.join(texts), starts)
        return self._joined[lower]

    def rows(self, needle: str, *, ignore_case: bool = False, regex: bool = False) -> np.ndarray:
        """Rows whose text contains ``needle``, ascending; see :func:`grep_rows`."""
        if not isinstance(needle, str) or not needle:
            raise ValueError("use_grep needs a non-empty query string to look for")
        if regex:
            try:
                rx = re.compile(needle, re.IGNORECASE if ignore_case else 0)
            except re.error as e:
                raise ValueError(f"grep_regex: query is not a valid regular expression ({e})") from None
            return np.fromiter((i for i, t in enumerate(self.texts) if rx.search(t)), dtype=np.int64)
        if _SEP in needle or not self.texts:
            return np.zeros(0, dtype=np.int64)
        joined, starts = self._join(ignore_case)
        if ignore_case:
            needle = needle.lower()
        rows: list[int] = []
        pos = 0
        n = len(starts)
        while True:
            hit = joined.find(needle, pos)
            if hit < 0:
                break
            row = int(np.searchsorted(starts, hit, side="right")) - 1
            rows.append(row)
            # One hit per passage is enough: go on at the next one.
            if row + 1 >= n:
                break
            pos = int(starts[row + 1])
        return np.asarray(rows, dtype=np.int64)


def grep_rows(texts: list[str], needle: str, *, ignore_case: bool = False, regex: bool = False) -> np.ndarray:
    """Rows (indexes into ``texts``) whose text contains ``needle``, ascending.

    A literal needle is found by one scan of all texts joined together (fast enough for every
    query); ``ignore_case`` compares lower-cased text; ``regex`` treats ``needle`` as a Python
    regular expression, matched within each passage.
    """
    return GrepCorpus(texts).rows(needle, ignore_case=ignore_case, regex=regex)
