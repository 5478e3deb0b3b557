"""`leann-mcp` driven by the real `mcp` client library over stdio, with the real model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from leann_engine import LeannBuilder

pytest.importorskip("mcp", reason='needs the mcp extra: pip install -e ".[mcp]"')

ROOT = Path(__file__).resolve().parents[2]
PASSAGES = [
    ("To load a kernel module use modprobe; rmmod unloads it.", {"source": "docs/modules.md", "file_type": ".md", "start_line": 1, "end_line": 1}),
    ("Fry onions and garlic, add tomatoes and simmer the sauce.", {"source": "docs/sauce.md", "file_type": ".md", "start_line": 4, "end_line": 5}),
    ("def retry(fn):\n    # call again after a network timeout", {"source": "src/net.py", "file_type": ".py", "start_line": 10, "end_line": 11}),
]


def payload(result):
    """A tool result's JSON (structured content when given, else the text block)."""
    structured = getattr(result, "structured_content", None) or getattr(result, "structuredContent", None)
    if structured is not None:
        return structured.get("result", structured)
    return json.loads(result.content[0].text)


def is_error(result) -> bool:
    return bool(getattr(result, "is_error", None) or getattr(result, "isError", None))


def with_session(base: Path, steps) -> None:
    """Start `python -m leann_cli.mcp_server --base-dir base` and run ``steps(session)`` against it."""
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "leann_cli.mcp_server", "--base-dir", str(base)],
        env={"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "PATH": os.environ.get("PATH", "")},
        cwd="/",
    )

    async def session_run():
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            await steps(session)

    anyio.run(session_run)


@pytest.fixture(scope="module")
def base(tmp_path_factory, real_model):
    root = tmp_path_factory.mktemp("mcp")
    b = LeannBuilder(embedding_model=real_model)
    for text, meta in PASSAGES:
        b.add_text(text, meta)
    b.build_index(root / ".leann" / "indexes" / "notes" / "documents.leann")
    (root / "more").mkdir()
    (root / "more" / "trains.md").write_text("Night trains from Vienna to Venice leave at nine in the evening.\n")
    return root


@pytest.mark.model
def test_tools_list_and_search(base):
    async def steps(session):
        tools = {t.name: t for t in (await session.list_tools()).tools}
        assert {"leann_search", "leann_list", "leann_build", "leann_status"} <= set(tools)
        tool = tools["leann_search"]
        schema = tool.input_schema if hasattr(tool, "input_schema") else tool.inputSchema
        assert {"index_name", "query", "top_k", "mode", "filters"} <= set(schema["properties"])

        listed = payload(await session.call_tool("leann_list", {}))
        assert [(i["name"], i["passages"]) for i in listed["indexes"]] == [("notes", 3)]
        found = payload(
            await session.call_tool("leann_search", {"index_name": "notes", "query": "how do I load a kernel module?", "top_k": 2})
        )
        assert found["results"][0]["metadata"]["source"] == "docs/modules.md" and len(found["results"]) == 2
        args = {"index_name": "notes", "query": "network timeout", "filters": {"file_type": ".py"}, "mode": "dense"}
        filtered = payload(await session.call_tool("leann_search", args))
        assert [r["metadata"]["source"] for r in filtered["results"]] == ["src/net.py"]
        status = payload(await session.call_tool("leann_status", {"index_name": "notes"}))
        assert status["passages"] == 3 and status["dimensions"] == 384

    with_session(base, steps)


@pytest.mark.model
def test_bad_arguments_come_back_as_tool_errors(base):
    async def steps(session):
        for args, message in (
            ({"index_name": "notes", "query": "x", "top_k": 0}, "top_k must be an integer from 1 to 100"),
            ({"index_name": "notes", "query": "x", "mode": "fuzzy"}, "mode must be one of"),
            ({"index_name": "nope", "query": "x"}, "no index named 'nope'"),
            ({"index_name": "../x", "query": "x"}, "not valid"),
            ({"index_name": "notes", "query": "  "}, "query must be a non-empty string"),
            ({"index_name": "notes", "query": "x", "filters": {"n": {"~~": 1}}}, "unknown operator"),
        ):
            res = await session.call_tool("leann_search", args)
            assert is_error(res) and message in res.content[0].text, (args, res.content[0].text)
        bad = await session.call_tool("leann_build", {"index_name": "x", "docs": []})
        assert is_error(bad) and "docs must be a non-empty list" in bad.content[0].text

    with_session(base, steps)


@pytest.mark.model
def test_build_a_new_index_then_search_it(base):
    async def steps(session):
        built = payload(await session.call_tool("leann_build", {"index_name": "trains", "docs": ["more"]}))
        assert built["files_new"] == 1 and built["chunks_total"] == 1
        hit = payload(await session.call_tool("leann_search", {"index_name": "trains", "query": "train to Venice"}))
        assert hit["results"][0]["metadata"]["source"] == "more/trains.md"

    with_session(base, steps)


@pytest.mark.model
def test_rebuilding_a_cli_index_keeps_its_build_options(base):
    (base / "kept").mkdir()
    (base / "kept" / "a.md").write_text("Graph indexes keep neighbour lists and the passage text.\n")
    (base / "kept" / ".hidden.md").write_text("A hidden note about varint coding.\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", LEANN_NO_DAEMON="1")
    cli = [sys.executable, "-m", "leann_cli", "build", "kept", "--docs", "kept", "--no-recompute", "--include-hidden"]
    out = subprocess.run([*cli, "--graph-degree", "16"], cwd=base, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    record = base / ".leann" / "indexes" / "kept" / "sources.json"
    before = json.loads(record.read_text())["options"]

    async def steps(session):
        report = payload(await session.call_tool("leann_build", {"index_name": "kept", "docs": ["kept"]}))
        assert not report["full_rebuild"] and report["files_removed"] == 0 and report["chunks_total"] == 2
        [info] = [i for i in payload(await session.call_tool("leann_list", {}))["indexes"] if i["name"] == "kept"]
        assert info["is_recompute"] is False

    with_session(base, steps)
    assert json.loads(record.read_text())["options"] == before


@pytest.mark.model
def test_search_by_date_and_sender(tmp_path, real_model):
    mails = [
        ("Your invoice for March is attached; payment is due in two weeks.", "2024-03-02T09:00:00Z", "Billing <b@shop.example>"),
        ("The invoice you asked about was paid yesterday, thanks.", "2024-05-10T16:30:00Z", "Ann <ann@x.org>"),
        ("Reminder: the invoice from January is still open.", "2024-01-15T08:00:00Z", "Billing <b@shop.example>"),
    ]
    b = LeannBuilder(embedding_model=real_model)
    for i, (text, date, sender) in enumerate(mails):
        b.add_text(text, {"source": "mail", "date": date, "date_last": date, "from": sender, "subject": f"m{i}"}, id=f"m{i}")
    b.build_index(tmp_path / ".leann" / "indexes" / "mail" / "documents.leann")

    async def steps(session):
        tool = {t.name: t for t in (await session.list_tools()).tools}["leann_search"]
        schema = tool.input_schema if hasattr(tool, "input_schema") else tool.inputSchema
        assert {"after", "before", "from_"} <= set(schema["properties"])
        base = {"index_name": "mail", "query": "invoice", "top_k": 3}
        spring = payload(await session.call_tool("leann_search", base | {"after": "2024-02", "before": "2024-04"}))
        assert [r["id"] for r in spring["results"]] == ["m0"]
        billing = payload(await session.call_tool("leann_search", base | {"from_": "billing"}))
        assert sorted(r["id"] for r in billing["results"]) == ["m0", "m2"]
        bad = await session.call_tool("leann_search", base | {"after": "last week"})
        assert is_error(bad) and "is not a date" in bad.content[0].text

    with_session(tmp_path, steps)
