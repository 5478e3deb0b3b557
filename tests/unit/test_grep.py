"""Grep: literal, case-folded and regex matching, in search with filters."""

from __future__ import annotations

import pytest

from leann_engine import LeannSearcher
from leann_engine.keyword.grep import grep_rows


def test_grep_rows_literal_case_and_regex():
    texts = ["Banana-Crocodile here", "no match", "the banana-crocodile again", "ÉCOLE normale", "x\x00y"]
    assert grep_rows(texts, "banana-crocodile").tolist() == [2]
    assert grep_rows(texts, "banana-crocodile", ignore_case=True).tolist() == [0, 2]
    assert grep_rows(texts, "école", ignore_case=True).tolist() == [3]
    assert grep_rows(texts, r"[Cc]ro\w+le\s+(here|again)", regex=True).tolist() == [0, 2]
    # A match never spans two passages.
    assert grep_rows(["abc", "def"], "cd").tolist() == []
    with pytest.raises(ValueError, match="not a valid regular expression"):
        grep_rows(texts, "(unclosed", regex=True)
    with pytest.raises(ValueError, match="non-empty query"):
        grep_rows(texts, "")


def test_grep_search_with_filters(small_index):
    path, emb, _, _ = small_index
    s = LeannSearcher(path, emb)
    assert [r.id for r in s.search("banana-crocodile", use_grep=True)] == ["d30"]
    assert s.search("BANANA-crocodile", use_grep=True) == []
    assert [r.id for r in s.search("BANANA-crocodile", use_grep=True, grep_ignore_case=True)] == ["d30"]
    assert [r.id for r in s.search(r"shapes \(\d,\d\)", use_grep=True, grep_regex=True)] == ["d10"]
    hits = s.search("number 1", use_grep=True, top_k=100, metadata_filters={"topic": "model"})
    assert hits and all("number 1" in r.text and r.metadata["topic"] == "model" for r in hits)
