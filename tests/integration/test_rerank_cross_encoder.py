"""Cross-encoder rerank with a tiny locally saved model (loads torch and transformers)."""

from __future__ import annotations

import numpy as np
import pytest

from leann_engine import LeannSearcher
from leann_engine.hybrid.rerank import CrossEncoderReranker


def _tiny_cross_encoder(path):
    """A 2-layer BERT cross-encoder with random weights and a 60-word vocabulary, saved locally."""
    torch = pytest.importorskip("torch")
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    words = "kernel driver recipe onion garlic module patch storage graph query the a of".split()
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words, *[f"w{i}" for i in range(50)]]
    path.mkdir()
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizer(str(path / "vocab.txt")).save_pretrained(path)
    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        num_labels=1,
    )
    BertForSequenceClassification(cfg).eval().save_pretrained(path)
    return path


def test_cross_encoder_loads_from_a_local_folder_and_scores(tmp_path, small_index):
    torch = pytest.importorskip("torch")
    from transformers import AutoTokenizer, BertForSequenceClassification

    model_dir = _tiny_cross_encoder(tmp_path / "tiny-ce")
    ce = CrossEncoderReranker(model_dir)
    texts = ["kernel driver module", "recipe onion garlic", "the graph of a query"]
    got = np.array(ce.score("kernel patch", texts))
    # Reference: the same weights called through transformers directly (raw logits).
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = BertForSequenceClassification.from_pretrained(model_dir).eval()
    with torch.no_grad():
        enc = tok(["kernel patch"] * 3, texts, padding=True, truncation=True, return_tensors="pt")
        logits = model(**enc).logits[:, 0].numpy()
    # sentence-transformers applies a sigmoid to single-label cross-encoders by default.
    assert np.allclose(got, logits, atol=1e-4) or np.allclose(got, 1 / (1 + np.exp(-logits)), atol=1e-4)
    path, emb, _, _ = small_index
    s = LeannSearcher(path, emb)
    res = s.search("kernel driver", mode="bm25", rerank=str(model_dir), top_k=3, rerank_top_n=10)
    scores = [r.score for r in res]
    assert scores == sorted(scores, reverse=True)
    np.testing.assert_allclose(scores, ce.score("kernel driver", [r.text for r in res]), rtol=1e-5)
    with pytest.raises(ValueError, match="cannot load cross-encoder"):
        CrossEncoderReranker(tmp_path / "missing-model-dir").score("q", ["t"])
