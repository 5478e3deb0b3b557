"""Prose chunking: sizes, overlap, natural cut points (Latin and CJK), line numbers."""

import pytest

from leann_cli.ingest.chunk import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE, chunk_prose, chunk_text


def test_chunks_respect_size_and_overlap_and_cover_the_text():
    text = " ".join(f"Sentence number {i} talks about graphs and storage." for i in range(80))
    chunks = chunk_text(text, 256, 25)
    assert all(len(c) <= 256 for c in chunks)
    assert len(chunks) > 10
    joined = " ".join(chunks)
    for i in range(80):
        assert f"Sentence number {i} " in joined
    # Cuts fall on sentence ends, so each chunk but the last ends a sentence.
    assert all(c.endswith(".") for c in chunks[:-1])


def test_cjk_text_is_cut_at_its_own_punctuation():
    text = "グラフだけを保存し、検索時に必要な埋め込みだけを再計算します。" * 20 + "这是一个中文句子。" * 30
    chunks = chunk_text(text, 64, 8)
    assert all(len(c) <= 64 for c in chunks)
    assert sum(c.endswith("。") for c in chunks) >= len(chunks) - 1
    assert "".join(chunks).count("再計算") >= 20


def test_short_text_is_one_chunk_and_blank_text_none():
    assert chunk_text("  hello world  ") == ["hello world"]
    assert chunk_text("   \n\n ") == []


@pytest.mark.parametrize("size,overlap,match", [(0, 0, "chunk_size"), (10, 10, "chunk_overlap"), (10, -1, "chunk_overlap")])
def test_bad_chunk_arguments(size, overlap, match):
    with pytest.raises(ValueError, match=match):
        chunk_text("x", size, overlap)


def test_defaults_are_the_documented_ones():
    text = "word " * 400
    assert chunk_text(text) == chunk_text(text, DEFAULT_CHUNK_SIZE, DEFAULT_CHUNK_OVERLAP)
    assert max(len(c) for c in chunk_text(text)) <= DEFAULT_CHUNK_SIZE == 256


def test_prose_chunks_carry_exact_line_numbers():
    lines = [f"Line {i} says something about topic {i % 4}." for i in range(40)]
    text = "\n".join(lines)
    chunks = chunk_prose(text, 120, 20)
    assert len(chunks) > 5
    for c in chunks:
        span = "\n".join(lines[c.start_line - 1 : c.end_line])
        assert c.text in span and len(c.text) <= 120


def test_cjk_prose_is_cut_at_sentence_ends():
    sentence = "検索は文書の中から答えを見つける。"  # 17 characters, ends with the Japanese full stop
    chunks = chunk_prose(sentence * 30, 60, 10)
    assert all(len(c.text) <= 60 for c in chunks)
    assert all(c.text.endswith("。") for c in chunks[:-1])
