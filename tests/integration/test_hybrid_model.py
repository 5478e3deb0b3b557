"""Hybrid search with the real all-MiniLM-L6-v2 model."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import WordHashEmbedder, make_corpus

from leann_engine import IndexFormatError, LeannBuilder, LeannIndex, LeannSearcher
from leann_engine.hybrid.calibrate import ALPHA_MAX, DEFAULT_ALPHA, prior_alpha, probe_dense
from leann_engine.hybrid.fusion import blend, rrf
from leann_engine.hybrid.rerank import CrossEncoderReranker
from leann_engine.keyword.bm25 import MemoryPostings, bm25_scores
from leann_engine.keyword.grep import grep_rows
from leann_engine.keyword.tokenize import Tokenizer
from leann_engine.store.files.bm25 import FilePostings, encode_bm25


@pytest.mark.model
def test_hybrid_with_real_model_finds_rare_identifiers(tmp_path, sample_chunks, real_model):
    texts, metas = sample_chunks
    texts = list(texts)
    texts[5] = texts[5] + " Error code LEANN_E_SHAPE_MISMATCH_0x7f raised by check_alignment()."
    b = LeannBuilder(embedding_model=real_model)
    b.add_texts(texts, metas, ids=[f"c{i}" for i in range(len(texts))])
    b.build_index(tmp_path / "real")
    s = LeannSearcher(tmp_path / "real")
    q = "LEANN_E_SHAPE_MISMATCH_0x7f"
    assert s.search(q, mode="bm25", top_k=1)[0].id == "c5"
    assert "c5" in [r.id for r in s.search(q, mode="hybrid", top_k=3)]
    assert s.search("check_alignment", use_grep=True)[0].id == "c5"
    # Exact rerank scores are the real model's cosine similarities.
    res = s.search("how to submit a patch by email", mode="hybrid", rerank="exact", top_k=3)
    qv = real_model.embed(["how to submit a patch by email"])[0]
    pv = real_model.embed([r.text for r in res])
    cos = pv @ qv / np.linalg.norm(pv, axis=1) / np.linalg.norm(qv)
    np.testing.assert_allclose([r.score for r in res], cos, atol=1e-4)


@pytest.mark.model
def test_bm25_in_japanese_and_chinese_with_real_model(tmp_path, real_model):
    docs = {
        "ja-ls": "ディレクトリの内容をリスト表示する。ファイルの情報を一覧表示します。",
        "ja-cp": "ファイルやディレクトリをコピーする。複数のファイルをディレクトリへ複製します。",
        "ja-ps": "現在実行されているプロセスのスナップショットを表示する。",
        "zh-grep": "打印匹配给定模式的行。在文件中搜索字符串。",
        "zh-mount": "装载一个文件系统到目录树上。",
        "zh-kill": "向进程发送信号以终止进程。",
    }
    ix = LeannIndex.create(tmp_path / "cjk", real_model)
    ix.add_texts(list(docs.values()), ids=list(docs))
    assert ix.search("プロセスのスナップショット", mode="bm25", top_k=1)[0].id == "ja-ps"
    assert ix.search("コピー", mode="bm25", top_k=1)[0].id == "ja-cp"
    assert ix.search("匹配模式", mode="bm25", top_k=1)[0].id == "zh-grep"
    assert ix.search("文件系统", mode="hybrid", top_k=1)[0].id == "zh-mount"
