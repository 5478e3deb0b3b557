"""The MCP tools called through the server object (no subprocess), with a deterministic embedder."""

from __future__ import annotations

import json
import sys

import anyio
import pytest

from leann_cli.indexes import index_dir
from leann_cli.ingest.pipeline import build_from_docs
from leann_cli.ingest.sources import read_sources
from leann_cli.mcp_server import create_server
from leann_cli.service import IndexService
from leann_cli.settings import BuildOptions
from leann_engine import index_info

pytest.importorskip("mcp", reason='needs the mcp extra: pip install -e ".[mcp]"')


def payload(result):
    structured = getattr(result, "structured_content", None) or getattr(result, "structuredContent", None)
    if structured is not None:
        return structured.get("result", structured)
    return json.loads(result.content[0].text)


def call(server, tool, **arguments):
    return payload(anyio.run(server.call_tool, tool, arguments))


@pytest.fixture
def project(tmp_path, embedder):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "kernel.md").write_text("modprobe loads a kernel module; rmmod unloads it.\n")
    (docs / "sauce.md").write_text("Fry onions and garlic, add tomatoes and simmer.\n")
    (docs / ".notes.md").write_text("A hidden note about varint coding.\n")
    server = create_server(tmp_path, warm_up=False, service=IndexService(tmp_path, embedding=embedder))
    return tmp_path, server


def test_leann_build_keeps_the_options_of_the_last_build(project, embedder):
    root, server = project
    folder = index_dir("notes", root)
    options = BuildOptions(include_hidden=True, is_recompute=False, graph_degree=12, build_complexity=48)
    first = build_from_docs(folder, [root / "docs"], options, embedding=embedder, base=root)
    assert first.chunks_total == 3
    stored = read_sources(folder).options

    embedder.calls = 0
    report = call(server, "leann_build", index_name="notes", docs=["docs"])
    assert not report["full_rebuild"] and embedder.calls == 0
    assert report["files_removed"] == 0 and report["files_unchanged"] == 3 and report["chunks_total"] == 3
    assert read_sources(folder).options == stored
    assert index_info(folder / "documents.leann").is_recompute is False

    # Only what is given changes: file types.
    report = call(server, "leann_build", index_name="notes", docs=["docs"], file_types=[".md"])
    assert not report["full_rebuild"] and read_sources(folder).options["graph_degree"] == 12


def test_search_list_and_status_tools(project):
    root, server = project
    built = call(server, "leann_build", index_name="notes", docs=["docs"])
    assert built["full_rebuild"] and built["files_new"] == 2 and built["skipped"]["hidden"] == 1
    found = call(server, "leann_search", index_name="notes", query="onions garlic tomatoes", top_k=1)
    assert found["mode"] == "hybrid" and found["results"][0]["metadata"]["source"] == "docs/sauce.md"
    [listed] = call(server, "leann_list")["indexes"]
    assert listed["name"] == "notes" and listed["passages"] == 2 and listed["files"] == 2
    status = call(server, "leann_status", index_name="notes")
    assert status["docs"] == [str(root / "docs")] and status["dimensions"] == 32


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("leann_search", {"index_name": "notes", "query": "x", "top_k": 0}, "top_k must be an integer from 1 to 100"),
        ("leann_search", {"index_name": "nope", "query": "x"}, "no index named 'nope'"),
        ("leann_search", {"index_name": "../x", "query": "x"}, "not valid"),
        ("leann_build", {"index_name": "x", "docs": []}, "docs must be a non-empty list"),
        ("leann_build", {"index_name": "x", "docs": ["missing"]}, "does not exist"),
    ],
)
def test_bad_arguments_are_tool_errors(project, tool, arguments, message):
    root, server = project
    call(server, "leann_build", index_name="notes", docs=["docs"])
    with pytest.raises(Exception, match=message):
        anyio.run(server.call_tool, tool, arguments)


def test_search_limits_in_the_tool_description_are_the_applied_ones(project):
    _, server = project
    tools = {t.name: t for t in anyio.run(server.list_tools)}
    assert "1 to 100 (default 5)" in tools["leann_search"].description
    assert "1 to 4096 (default 64)" in tools["leann_search"].description


def test_missing_mcp_names_the_extra(monkeypatch, tmp_path):
    for name in ("mcp.server.mcpserver", "mcp.server.fastmcp"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=r"leann-graph-index\[mcp\]"):
        create_server(tmp_path, warm_up=False)
