"""Exact-text search over passages (LEANN's ``use_grep``): literal substrings or a regex."""

from __future__ import annotations

import bisect
import re

import numpy as np

_SEP = "\x00"


def grep_rows(texts: list[str], needle: str, *, ignore_case: bool = False, regex: bool = False) -> np.ndarray:
    """Rows (indexes into ``texts``) whose text contains ``needle``, ascending.

    A literal needle is found by one scan of all texts joined together (fast enough for every
    query); ``ignore_case`` folds case the Unicode way; ``regex`` treats ``needle`` as a Python
    regular expression, matched within each passage.
    """
    if not isinstance(needle, str) or not needle:
        raise ValueError("use_grep needs a non-empty query string to look for")
    flags = re.IGNORECASE if ignore_case else 0
    if regex:
        try:
            rx = re.compile(needle, flags)
        except re.error as e:
            raise ValueError(f"grep_regex: query is not a valid regular expression ({e})") from None
        return np.fromiter((i for i, t in enumerate(texts) if rx.search(t)), dtype=np.int64)
    if _SEP in needle:
        return np.zeros(0, dtype=np.int64)
    # Case-insensitive literal search: a regex on the escaped needle folds case per character,
    # which str.lower() on the whole corpus would not do for every script.
    rx = re.compile(re.escape(needle), flags)
    joined = _SEP.join(texts)
    starts = [0]
    for t in texts[:-1]:
        starts.append(starts[-1] + len(t) + 1)
    rows: list[int] = []
    pos = 0
    while True:
        m = rx.search(joined, pos)
        if m is None:
            break
        row = bisect.bisect_right(starts, m.start()) - 1
        rows.append(row)
        # Continue at the next passage: one hit per row is enough.
        pos = starts[row + 1] if row + 1 < len(starts) else len(joined)
    return np.asarray(rows, dtype=np.int64)
