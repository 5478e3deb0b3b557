"""`leann-mcp` driven by the real `mcp` client library over stdio, with the real model."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import anyio
import pytest

from leann_engine import LeannBuilder

ROOT = Path(__file__).resolve().parents[1]

PASSAGES = [
    (
        "To load a kernel module use modprobe; rmmod unloads it.",
        {"source": "docs/modules.md", "file_type": ".md", "start_line": 1, "end_line": 1},
    ),
    (
        "Fry onions and garlic, add tomatoes and simmer the sauce.",
        {"source": "docs/sauce.md", "file_type": ".md", "start_line": 4, "end_line": 5},
    ),
    (
        "def retry(fn):\n    # call again after a network timeout",
        {"source": "src/net.py", "file_type": ".py", "start_line": 10, "end_line": 11},
    ),
]


def payload(result):
    """A tool result's JSON (structured content when given, else the text block)."""
    structured = getattr(result, "structured_content", None) or getattr(result, "structuredContent", None)
    if structured is not None:
        return structured.get("result", structured)
    return json.loads(result.content[0].text)


def is_error(result) -> bool:
    return bool(getattr(result, "is_error", None) or getattr(result, "isError", None))


@pytest.mark.model
def test_mcp_server_over_stdio(tmp_path, real_model):
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    b = LeannBuilder(embedding_model=real_model)
    for text, meta in PASSAGES:
        b.add_text(text, meta)
    b.build_index(tmp_path / ".leann" / "indexes" / "notes" / "documents.leann")
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "trains.md").write_text(
        "Night trains from Vienna to Venice leave at nine in the evening.\n"
    )

    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "leann_cli.mcp_server", "--base-dir", str(tmp_path)],
        env={"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "PATH": os.environ.get("PATH", "")},
        cwd="/",
    )

    async def session_run():
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            tools = {t.name: t for t in (await session.list_tools()).tools}
            assert {"leann_search", "leann_list", "leann_build", "leann_status"} <= set(tools)
            schema = (
                tools["leann_search"].input_schema
                if hasattr(tools["leann_search"], "input_schema")
                else tools["leann_search"].inputSchema
            )
            assert {"index_name", "query", "top_k", "mode", "filters"} <= set(schema["properties"])

            listed = payload(await session.call_tool("leann_list", {}))
            assert [i["name"] for i in listed["indexes"]] == ["notes"] and listed["indexes"][0][
                "passages"
            ] == 3

            found = payload(
                await session.call_tool(
                    "leann_search",
                    {"index_name": "notes", "query": "how do I load a kernel module?", "top_k": 2},
                )
            )
            assert (
                found["results"][0]["metadata"]["source"] == "docs/modules.md" and len(found["results"]) == 2
            )
            filtered = payload(
                await session.call_tool(
                    "leann_search",
                    {
                        "index_name": "notes",
                        "query": "network timeout",
                        "filters": {"file_type": ".py"},
                        "mode": "dense",
                    },
                )
            )
            assert [r["metadata"]["source"] for r in filtered["results"]] == ["src/net.py"]

            for args, message in (
                ({"index_name": "notes", "query": "x", "top_k": 0}, "top_k must be an integer from 1 to 100"),
                ({"index_name": "notes", "query": "x", "mode": "fuzzy"}, "mode must be one of"),
                ({"index_name": "nope", "query": "x"}, "no index named 'nope'"),
                ({"index_name": "../x", "query": "x"}, "not valid"),
                ({"index_name": "notes", "query": "  "}, "query must be a non-empty string"),
                ({"index_name": "notes", "query": "x", "filters": {"n": {"~~": 1}}}, "unknown operator"),
            ):
                res = await session.call_tool("leann_search", args)
                assert is_error(res), args
                assert message in res.content[0].text, res.content[0].text

            status = payload(await session.call_tool("leann_status", {"index_name": "notes"}))
            assert status["passages"] == 3 and status["dimensions"] == 384

            built = payload(
                await session.call_tool("leann_build", {"index_name": "trains", "docs": ["more"]})
            )
            assert built["files_new"] == 1 and built["chunks_total"] == 1
            hit = payload(
                await session.call_tool("leann_search", {"index_name": "trains", "query": "train to Venice"})
            )
            assert hit["results"][0]["metadata"]["source"] == "more/trains.md"
            bad = await session.call_tool("leann_build", {"index_name": "x", "docs": []})
            assert is_error(bad) and "docs must be a non-empty list" in bad.content[0].text

    anyio.run(session_run)


def test_missing_mcp_names_the_extra(monkeypatch, tmp_path):
    from leann_cli import mcp_server

    for name in ("mcp.server.mcpserver", "mcp.server.fastmcp"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=r"leann-graph-index\[mcp\]"):
        mcp_server.create_server(tmp_path, warm_up=False)
