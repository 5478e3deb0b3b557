"""The daemon's embed operation uses the model's own query encoding when asked for queries."""

from __future__ import annotations

import base64

import numpy as np
import pytest

import leann_engine
from leann_cli import daemon


class QueryAwareEmbedder:
    name = "query-aware"
    dimension = 2

    def embed(self, texts):
        return np.tile(np.array([[1.0, 0.0]], dtype=np.float32), (len(texts), 1))

    def embed_query(self, texts):
        return np.tile(np.array([[0.0, 1.0]], dtype=np.float32), (len(texts), 1))


@pytest.mark.parametrize(("query", "want"), [(False, [1.0, 0.0]), (True, [0.0, 1.0])])
def test_embed_op_uses_embed_query_for_queries(tmp_path, monkeypatch, query, want):
    monkeypatch.setattr(leann_engine, "make_embedder", lambda name: QueryAwareEmbedder())
    server = daemon._Server(tmp_path / "d.sock", idle_timeout=5.0)
    reply = server.handle({"op": "embed", "model": "m", "texts": ["a", "b"], "query": query})
    vecs = np.frombuffer(base64.b64decode(reply["vectors"]), dtype="<f4").reshape(2, 2)
    assert reply["ok"] and vecs.tolist() == [want, want]
