"""Embedding providers against real HTTP servers on 127.0.0.1 (WordHashEmbedder vectors)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import WordHashEmbedder, make_corpus
from embed_server import EmbeddingServer

from leann_engine import (
    LeannBuilder,
    LeannIndex,
    LeannSearcher,
    OllamaEmbedder,
    OpenAIEmbedder,
    ProviderError,
)

FAST = {"backoff": 0.01}


def _build(tmp_path: Path, server: EmbeddingServer, n: int = 60, **kw) -> Path:
    texts, metas = make_corpus(n)
    mode = server.protocol
    opts = {"base_url": server.url} if mode == "openai" else {"host": server.url}
    opts.update(kw.pop("options", {}))
    b = LeannBuilder(embedding_mode=mode, embedding_model="hash-model", embedding_options=opts, calibrate=False, **kw)
    b.add_texts(texts, metas)
    return Path(b.build_index(tmp_path / "p.leann"))


@pytest.mark.parametrize("protocol", ["openai", "ollama"])
def test_build_and_search_batched_over_one_connection(tmp_path, protocol):
    with EmbeddingServer(protocol, WordHashEmbedder()) as srv:
        path = _build(tmp_path, srv, n=130, options={"batch_size": 50})
        # 130 passages in batches of 50, plus one dimension probe.
        assert [len(r["body"]["input"]) for r in srv.requests] == [1, 50, 50, 30]
        assert srv.connections == 1
        s = LeannSearcher(path)
        before = len(srv.requests)
        hits = s.search("storage disk bytes", top_k=3)
        st = s.last_stats
        assert hits and hits[0].metadata["topic"] == "storage"
        assert st.recomputed > 0
        assert st.provider_requests == len(srv.requests) - before > 0
        assert st.bytes_sent == sum(r["bytes"] for r in srv.requests[before:])
        # The same vectors in-process: the provider path does not change results.
        local = WordHashEmbedder()
        direct = LeannSearcher(path, embedding=_Named(local, "hash-model")).search("storage disk bytes", top_k=3)
        assert [h.id for h in hits] == [h.id for h in direct]


class _Named:
    def __init__(self, inner, name):
        self.inner, self.name, self.dimension = inner, name, inner.dimension

    def embed(self, texts):
        return self.inner.embed(texts)


def test_openai_reorders_by_index_and_sends_model_and_dimensions():
    with EmbeddingServer("openai", WordHashEmbedder(dimension=16)) as srv:
        emb = OpenAIEmbedder("m", base_url=srv.url, dimensions=16)
        out = emb.embed(["alpha", "beta gamma", "delta"])
        want = WordHashEmbedder(dimension=16).embed(["alpha", "beta gamma", "delta"])
        np.testing.assert_allclose(out, want, rtol=1e-6)
        body = srv.requests[0]["body"]
        assert body["model"] == "m" and body["dimensions"] == 16
        assert emb.dimension == 16 and len(srv.requests) == 1  # no probe when dimensions is given


@pytest.mark.parametrize("status", [503, 429])
def test_retries_a_server_that_fails_twice(status):
    with EmbeddingServer("ollama", WordHashEmbedder(), fail_first=2, fail_status=status) as srv:
        emb = OllamaEmbedder("m", host=srv.url, **FAST)
        assert emb.embed(["a", "b"]).shape == (2, 32)
        assert len(srv.requests) == 3


def test_gives_up_after_max_retries_naming_url_status_and_message():
    with EmbeddingServer("ollama", WordHashEmbedder(), fail_first=10) as srv:
        emb = OllamaEmbedder("m", host=srv.url, max_retries=2, **FAST)
        with pytest.raises(ProviderError) as e:
            emb.embed(["a"])
        msg = str(e.value)
        assert f"{srv.url}/api/embed" in msg and "HTTP 503" in msg and "server busy" in msg
        assert len(srv.requests) == 3


def test_timeout():
    with EmbeddingServer("openai", WordHashEmbedder(), delay=1.0) as srv:
        emb = OpenAIEmbedder("m", base_url=srv.url, timeout=0.2, max_retries=1, **FAST)
        t = time.perf_counter()
        with pytest.raises(ProviderError, match=r"no answer within 0.2 s"):
            emb.embed(["a"])
        assert time.perf_counter() - t < 1.5
        assert len(srv.requests) == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_server_down_says_how_to_point_at_it():
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(ProviderError, match=r"could not connect to .*api/embed.*OLLAMA_HOST.*--embedding-host"):
        OllamaEmbedder("m", host=url).embed(["a"])
    with pytest.raises(ProviderError, match=r"could not connect.*OPENAI_BASE_URL.*--embedding-api-base"):
        OpenAIEmbedder("m", base_url=url + "/v1").embed(["a"])


def test_wrong_dimension_is_refused(tmp_path):
    with EmbeddingServer("openai", WordHashEmbedder()) as srv:
        path = _build(tmp_path, srv, n=30)
    with EmbeddingServer("openai", WordHashEmbedder(), dimension_override=8) as srv:
        s = LeannSearcher(path, embedding_options={"base_url": srv.url})
        with pytest.raises(ProviderError, match=r"returned 8-d vectors, expected 32-d"):
            s.search("storage", top_k=2)


def test_401_names_the_key_to_set(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with EmbeddingServer("openai", WordHashEmbedder(), api_key="sk-right") as srv:
        with pytest.raises(ProviderError, match=r"HTTP 401: Incorrect API key provided.*OPENAI_API_KEY"):
            OpenAIEmbedder("m", base_url=srv.url, api_key="sk-wrong").embed(["a"])
        assert OpenAIEmbedder("m", base_url=srv.url, api_key="sk-right").embed(["a"]).shape == (1, 32)


def test_missing_key_for_openai_endpoint(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ProviderError, match=r"needs an API key.*OPENAI_API_KEY.*--embedding-api-key"):
        OpenAIEmbedder("text-embedding-3-small")


def test_key_never_written_and_taken_again_from_env(tmp_path, monkeypatch):
    key = "sk-test-SECRET-4242"
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with EmbeddingServer("openai", WordHashEmbedder(), api_key=key) as srv:
        path = _build(tmp_path, srv, n=40, options={"api_key": key}, is_recompute=True)
        idx = LeannIndex(path, embedding_options={"api_key": key})
        idx.add_texts(["storage disk late passage"], ids=["late"])
        idx.compact()
        idx.close()
        files = [p for p in path.rglob("*") if p.is_file()]
        assert files and not any(key.encode() in p.read_bytes() for p in files)
        s = LeannSearcher(path)
        assert s.manifest["embedding"]["base_url"] == srv.url
        with pytest.raises(ProviderError, match="HTTP 401"):
            s.search("storage", top_k=2)
        monkeypatch.setenv("OPENAI_API_KEY", key)
        assert LeannSearcher(path).search("storage", top_k=2)


@pytest.mark.parametrize("protocol", ["openai", "ollama"])
def test_templates_at_build_and_every_recomputation(tmp_path, protocol):
    with EmbeddingServer(protocol, WordHashEmbedder()) as srv:
        path = _build(
            tmp_path,
            srv,
            n=40,
            options={"embedding_prompt_template": "passage: ", "query_prompt_template": "query: "},
            pq_bytes=0,
        )
        built = srv.texts()[1:]  # after the dimension probe
        assert built and all(t.startswith("passage: ") for t in built)
        mark = len(srv.requests)
        s = LeannSearcher(path)
        s.search("cooking onion", top_k=3)
        s.search("kernel driver", top_k=3)
        sent = [t for r in srv.requests[mark:] for t in r["body"]["input"]]
        queries = [t for t in sent if t.startswith("query: ")]
        assert sorted(queries) == ["query: cooking onion", "query: kernel driver"]
        assert len(sent) > 2 and all(t.startswith(("passage: ", "query: ")) for t in sent)
        m = s.manifest["embedding"]
        assert (m["prompt_template"], m["query_prompt_template"]) == ("passage: ", "query: ")


def test_templates_with_in_process_embedder(tmp_path):
    emb = WordHashEmbedder()
    texts, metas = make_corpus(30)
    b = LeannBuilder(embedding_model=emb, embedding_prompt_template="P| ", query_prompt_template="Q| ", calibrate=False)
    b.add_texts(texts, metas)
    path = b.build_index(tmp_path / "t.leann")
    assert all(t.startswith("P| ") for t in emb.seen)
    emb.seen.clear()
    LeannSearcher(path, embedding=emb).search("storage", top_k=2)
    assert emb.seen[0] == "Q| storage" and all(t.startswith("P| ") for t in emb.seen[1:])


def test_e5_default_templates_only_by_name_and_without_embed_query():
    from leann_engine.embed.templates import default_templates

    class WithQuery:
        def embed_query(self, texts):
            return texts

    assert default_templates("intfloat/e5-small-v2", object()) == ("passage: ", "query: ")
    assert default_templates("intfloat/multilingual-e5-small", WithQuery()) == ("", "")
    assert default_templates("all-MiniLM-L6-v2", object()) == ("", "")


def test_bad_mode_and_options():
    with pytest.raises(ValueError, match="embedding_mode must be one of"):
        LeannBuilder(embedding_mode="cohere")
    with pytest.raises(ValueError, match="embedding_options for embedding_mode='ollama'"):
        LeannBuilder(embedding_mode="ollama", embedding_model="m", embedding_options={"nope": 1})
    with pytest.raises(ValueError, match="batch_size must be an integer"):
        OllamaEmbedder("m", batch_size=0)
