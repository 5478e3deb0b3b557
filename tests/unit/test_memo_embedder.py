"""MemoEmbedder: the one framework-embedder design both adapters use."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import WordHashEmbedder

from leann_integrations._embedder import MemoEmbedder


def make():
    base = WordHashEmbedder(8)
    calls: list[list[str]] = []

    def fn(texts):
        calls.append(list(texts))
        return base.embed(texts).tolist()

    return MemoEmbedder(fn, "hash-8"), base, calls


def test_embeds_through_the_function_and_probes_the_dimension_once():
    emb, base, calls = make()
    assert emb.dimension == 8 and calls == [["dimension probe"]]
    assert emb.dimension == 8 and len(calls) == 1
    out = emb.embed(["a b", "c", "a b"])
    assert out.dtype == np.float32 and out.shape == (3, 8)
    np.testing.assert_allclose(out, base.embed(["a b", "c", "a b"]))
    assert calls[-1] == ["a b", "c"]  # each distinct text once
    assert emb.embed([]).shape == (0, 8)


def test_known_vectors_are_served_without_the_model_only_inside_the_block():
    emb, base, calls = make()
    given = {"x y": np.full(8, 2.0, dtype=np.float32)}
    with emb.known(given):
        assert emb.dimension == 8 and calls == []  # learnt from the known vectors
        out = emb.embed(["x y", "z"])
        np.testing.assert_allclose(out[0], 2.0)
        assert calls == [["z"]]
    np.testing.assert_allclose(emb.embed(["x y"])[0], base.embed(["x y"])[0])


def test_remember_and_forget():
    emb, _, calls = make()
    emb.remember(["p", "q"], np.ones((2, 8)))
    assert emb.embed(["q", "p"]).sum() == 16 and calls == []
    emb.forget()
    emb.embed(["p"])
    assert calls == [["p"]]
    with pytest.raises(ValueError, match="remember got 1 vectors for 2 texts"):
        emb.remember(["a", "b"], np.ones((1, 8)))


def test_bad_arguments_and_a_model_returning_too_few_vectors():
    with pytest.raises(ValueError, match="embed_fn must be callable"):
        MemoEmbedder(None, "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="name must be a non-empty string"):
        MemoEmbedder(lambda t: [], "")
    short = MemoEmbedder(lambda t: [[0.0, 1.0]], "short", dimension=2)
    with pytest.raises(ValueError, match="'short' returned 1 vectors for 2 texts"):
        short.embed(["a", "b"])
