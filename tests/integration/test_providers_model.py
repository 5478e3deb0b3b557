"""Providers with the real model behind real HTTP servers: engine, `leann` CLI and MCP server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from embed_server import EmbeddingServer

from leann_engine import LeannBuilder, LeannSearcher

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-integration-SECRET-9731"
TEXTS = [
    "A loadable kernel module adds a device driver to the running kernel; modprobe loads it.",
    "Fry onions and garlic in olive oil, add tomatoes and simmer for twenty minutes.",
    "Trains from Zurich to Milan cross the Alps through the Gotthard base tunnel.",
    "def retry(fn): call fn again when it raises a network timeout.",
    "The index stores a pruned graph and recomputes embeddings at query time.",
    "Basil and salt season the sauce at the end.",
]
QUESTION = "how do I load a device driver?"


@pytest.mark.model
@pytest.mark.parametrize("protocol", ["openai", "ollama"])
def test_provider_index_matches_in_process_model(tmp_path, real_model, protocol):
    local = LeannBuilder(embedding_model=real_model, calibrate=False)
    local.add_texts(TEXTS)
    want = LeannSearcher(local.build_index(tmp_path / "local.leann")).search(QUESTION, top_k=3)
    with EmbeddingServer(protocol, real_model) as srv:
        opts = {"base_url": srv.url} if protocol == "openai" else {"host": srv.url}
        b = LeannBuilder(
            embedding_mode=protocol,
            embedding_model="all-minilm",
            embedding_options={**opts, "batch_size": 4},
            calibrate=False,
        )
        b.add_texts(TEXTS)
        path = b.build_index(tmp_path / "remote.leann")
        assert [len(r["body"]["input"]) for r in srv.requests] == [1, 4, 2]
        s = LeannSearcher(path)
        got = s.search(QUESTION, top_k=3)
        assert [h.id for h in got] == [h.id for h in want]
        assert [round(h.score, 4) for h in got] == [round(h.score, 4) for h in want]
        st = s.last_stats
        assert st.recomputed > 0 and st.provider_requests >= 2 and st.bytes_sent > 0
        assert s.manifest["embedding"] == {
            "mode": protocol,
            "model": "all-minilm",
            **opts,
            "prompt_template": "",
            "query_prompt_template": "",
        }


def _leann(project: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "leann_cli", *args], cwd=project, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.model
def test_cli_build_search_and_mcp_through_a_provider(tmp_path, real_model):
    docs = tmp_path / "docs"
    docs.mkdir()
    for i, t in enumerate(TEXTS):
        (docs / f"n{i}.md").write_text(t + "\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", LEANN_DAEMON_DIR=str(tmp_path / "run"))
    env.pop("OPENAI_API_KEY", None)
    with EmbeddingServer("openai", real_model, api_key=KEY) as srv:
        out = _leann(
            tmp_path, env, "build", "notes", "--docs", "docs", "--embedding-mode", "openai",
            "--embedding-api-base", srv.url, "--embedding-api-key", KEY, "--embedding-model", "minilm",
            "--embedding-prompt-template", "doc: ", "--query-prompt-template", "q: ", "--json",
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["chunks_embedded"] == len(TEXTS)
        built = srv.texts()[1:]
        assert built and all(t.startswith("doc: ") for t in built)
        folder = tmp_path / ".leann"
        files = [p for p in folder.rglob("*") if p.is_file()]
        assert any(p.name == "sources.json" for p in files)
        assert not any(KEY.encode() in p.read_bytes() for p in files)

        # No key in the environment: the error says how to set it.
        denied = _leann(tmp_path, env, "search", "notes", QUESTION, "--json")
        assert denied.returncode == 1 and "HTTP 401" in denied.stderr and "OPENAI_API_KEY" in denied.stderr

        env["OPENAI_API_KEY"] = KEY
        mark = len(srv.requests)
        res = _leann(tmp_path, env, "search", "notes", QUESTION, "--json", "--mode", "dense")
        assert res.returncode == 0, res.stderr
        found = json.loads(res.stdout)
        assert found["results"][0]["metadata"]["source"] == "docs/n0.md"
        stats = found["stats"]
        assert stats["provider_requests"] == len(srv.requests) - mark > 0
        assert stats["recomputed"] > 0 and stats["bytes_sent"] > 0
        sent = [t for r in srv.requests[mark:] for t in r["body"]["input"]]
        assert sent[0] == "q: " + QUESTION and all(t.startswith("doc: ") for t in sent[1:])

        # A second build (an update) reconnects with the recorded provider and the given key.
        (docs / "n9.md").write_text("Night trains from Vienna to Venice leave at nine.\n")
        upd = _leann(tmp_path, env, "build", "notes", "--json")
        assert upd.returncode == 0, upd.stderr
        assert json.loads(upd.stdout)["chunks_embedded"] == 1

        mark = len(srv.requests)
        hit = _mcp_search(tmp_path, env, "notes", "train to Venice")
        assert hit["results"][0]["metadata"]["source"] == "docs/n9.md"
        assert len(srv.requests) > mark


def _mcp_search(base: Path, env: dict, index: str, query: str) -> dict:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(
        command=sys.executable, args=["-m", "leann_cli.mcp_server", "--base-dir", str(base)], env=env, cwd="/"
    )
    out: dict = {}

    async def session_run():
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            res = await session.call_tool("leann_search", {"index_name": index, "query": query, "mode": "dense"})
            structured = getattr(res, "structured_content", None) or getattr(res, "structuredContent", None)
            out.update(structured.get("result", structured) if structured else json.loads(res.content[0].text))

    anyio.run(session_run)
    return out
