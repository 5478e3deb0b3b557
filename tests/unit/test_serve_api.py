"""``leann serve``'s JSON API over a real server on 127.0.0.1 (deterministic embedder, fake Ollama)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from conftest import WordHashEmbedder, make_corpus
from serve_fakes import FakeOllama, call, call_json, closed_port, running

from leann_cli.serve import main, register
from leann_cli.serve.backend import SearcherPool
from leann_cli.serve.results import marked_parts, query_terms, safe_link, source_label
from leann_cli.serve.server import make_server
from leann_engine import LeannBuilder, LeannSearcher

PLANTED = "The lighthouse keeper logs the tide tables every morning at Bramblecove harbour."
SCRIPT = "Release notes <script>alert('x')</script> mention the lighthouse too."


def _opener(path: Path) -> LeannSearcher:
    return LeannSearcher(path, WordHashEmbedder())


def build_project(base: Path, name: str = "notes") -> Path:
    """``base/.leann/indexes/NAME`` with the corpus, a planted passage, a mail, a web page and HTML text."""
    texts, metas = make_corpus(40)
    metas = [m | {"source": m["path"], "start_line": 1, "end_line": 3} for m in metas]
    texts += [PLANTED, SCRIPT, "Quarterly budget review of the harbour repairs", "Ferry timetable for the island"]
    metas += [
        {"source": "log/keeper.md", "start_line": 10, "end_line": 12, "date": "2024-03-05"},
        {"source": "notes/release.html", "start_line": 1, "end_line": 1, "date": "2023-01-01"},
        {"subject": "Budget review", "sender": "ana@example.org", "date": "2024-06-30", "source": "mail/INBOX"},
        {"url": "https://ferry.example.org/times", "title": "Ferry times", "date": "2022-12-24"},
    ]
    builder = LeannBuilder(embedding_model=WordHashEmbedder())
    builder.add_texts(texts, metas)
    engine = base / ".leann" / "indexes" / name / "documents.leann"
    engine.parent.mkdir(parents=True)
    builder.build_index(engine)
    return engine


@pytest.fixture
def project(tmp_path: Path) -> Path:
    build_project(tmp_path)
    return tmp_path


@pytest.fixture
def fake_ollama():
    with running(FakeOllama(["The keeper logs the tides", " every morning [1]", " at the harbour [2]."])) as fake:
        yield fake


@pytest.fixture
def server(project: Path, fake_ollama: FakeOllama):
    srv = make_server(
        project, port=0, pool=SearcherPool(project, _opener), ollama_host=fake_ollama.url,
        ollama_model="fake:1b", build_embedding=WordHashEmbedder(),
    )
    with running(srv):
        yield srv


def get(srv: Any, path: str, **kw: Any) -> tuple[int, Any]:
    return call_json(srv.url.rstrip("/") + path, **kw)


# ---------------------------------------------------------------- page, static files, headers


def test_page_and_its_files_are_served_with_security_headers(server) -> None:
    status, headers, body = call(server.url)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b'src="/static/app.js"' in body and b"http" not in body.replace(b'http-equiv', b"")
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "no-referrer"
    assert "Access-Control-Allow-Origin" not in headers
    for path, kind in (("/static/app.js", "text/javascript"), ("/static/app.css", "text/css"), ("/static/icon.svg", "image/svg+xml")):
        status, headers, body = call(server.url.rstrip("/") + path)
        assert status == 200 and headers["Content-Type"].startswith(kind) and body
        assert b"https://" not in body and b"//cdn" not in body  # nothing fetched from the internet
    for path in ("/static/../backend.py", "/static/%2e%2e/backend.py", "/backend.py", "/static/"):
        status, body = get(server, path)
        assert status == 404 and "error" in body


# ---------------------------------------------------------------- indexes


def test_indexes_lists_passages_sizes_and_fields(server, project: Path) -> None:
    status, data = get(server, "/api/indexes")
    assert status == 200 and data["default_mode"] == "hybrid" and data["modes"] == ["dense", "bm25", "hybrid"]
    (info,) = data["indexes"]
    assert info["name"] == "notes" and info["passages"] == 44
    engine = project / ".leann" / "indexes" / "notes" / "documents.leann"
    on_disk = sum(f.stat().st_size for f in engine.iterdir() if f.is_file())
    disk = info["disk"]
    assert disk["total"] == on_disk and 0 < disk["passages"] < disk["total"]
    assert disk["index_bytes"] == disk["total"] - disk["passages"]
    assert disk["flat_bytes"] == 44 * 32 * 4 and disk["ratio"] == pytest.approx(disk["index_bytes"] / disk["flat_bytes"])
    assert {"date", "source", "subject", "url", "topic"} <= set(info["fields"])
    assert info["building"] is None


# ---------------------------------------------------------------- search


def test_search_finds_the_planted_passage_first_with_its_words_marked(server) -> None:
    status, data = get(server, "/api/search?index=notes&q=" + quote("lighthouse keeper tide") + "&top_k=3")
    assert status == 200 and data["mode"] == "hybrid" and data["top_k"] == 3 and len(data["results"]) == 3
    first = data["results"][0]
    assert first["text"] == PLANTED and first["rank"] == 1
    assert first["source"] == "log/keeper.md:10-12" and first["date"] == "2024-03-05" and first["link"] is None
    marked = [p["t"] for p in first["parts"] if p["m"]]
    assert marked == ["lighthouse", "keeper", "tide"]
    assert "".join(p["t"] for p in first["parts"]) == PLANTED


def test_search_keeps_html_as_data_and_labels_mail_and_web_sources(server) -> None:
    _, data = get(server, "/api/search?index=notes&mode=bm25&q=" + quote("release notes script alert"))
    top = data["results"][0]
    assert top["text"] == SCRIPT and "".join(p["t"] for p in top["parts"]) == SCRIPT  # the page escapes it
    _, data = get(server, "/api/search?index=notes&mode=bm25&top_k=1&q=" + quote("budget review"))
    assert data["results"][0]["source"] == "Budget review — ana@example.org · mail/INBOX"
    _, data = get(server, "/api/search?index=notes&mode=bm25&top_k=1&q=ferry")
    row = data["results"][0]
    assert row["link"] == "https://ferry.example.org/times" and row["source"].startswith("Ferry times · https://")


def test_search_filters_in_the_cli_syntax_and_a_date_range(server) -> None:
    q = "/api/search?index=notes&top_k=10&q=" + quote("cooking recipe onion")
    _, data = get(server, q + "&filter=" + quote("topic=cooking") + "&filter=" + quote("n>=20"))
    assert data["results"] and all(r["metadata"]["topic"] == "cooking" and r["metadata"]["n"] >= 20 for r in data["results"])
    assert data["filters"] == {"topic": {"==": "cooking"}, "n": {">=": 20}}
    _, data = get(server, "/api/search?index=notes&top_k=10&mode=bm25&q=" + quote("harbour ferry budget lighthouse")
                  + "&date_from=2023-06-01&date_to=2024-06-30")
    assert sorted(r["metadata"]["date"] for r in data["results"]) == ["2024-03-05", "2024-06-30"]


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ("index=missing&q=x", 404, "no index named 'missing'"),
        ("index=../etc&q=x", 400, "index name"),
        ("q=x", 400, "index is required"),
        ("index=notes", 400, "q must be a non-empty"),
        ("index=notes&q=x&top_k=0", 400, "top_k must be an integer from 1 to 100"),
        ("index=notes&q=x&top_k=many", 400, "top_k must be an integer"),
        ("index=notes&q=x&mode=fuzzy", 400, "mode must be one of dense, bm25, hybrid"),
        ("index=notes&q=x&filter=topic", 400, "filter 'topic' is not KEY=VALUE"),
    ],
)
def test_search_bad_input_is_a_json_error_with_the_right_status(server, query: str, status: int, words: str) -> None:
    got, data = get(server, "/api/search?" + query)
    assert got == status and data["status"] == status and words in data["error"]


def test_unknown_endpoints_wrong_methods_and_bad_bodies(server) -> None:
    assert get(server, "/api/nothing")[0] == 404
    assert get(server, "/api/ask")[0] == 405
    assert get(server, "/api/search", method="POST", body={})[0] == 405
    status, data = get(server, "/api/build", method="POST", raw=b"{}", headers={"Content-Type": "text/plain"})
    assert status == 415 and "application/json" in data["error"]
    status, data = get(server, "/api/build", method="POST", raw=b"{oops", headers={"Content-Type": "application/json"})
    assert status == 400 and "not valid JSON" in data["error"]
    status, data = get(server, "/api/remove", method="POST", body=[1])
    assert status == 400 and "JSON object" in data["error"]


# ---------------------------------------------------------------- safety


def test_cross_origin_and_foreign_host_requests_are_refused(server) -> None:
    url = server.url + "api/indexes"
    assert call(url, headers={"Origin": "http://evil.example"})[0] == 403
    assert call(url, headers={"Sec-Fetch-Site": "cross-site"})[0] == 403
    assert call(url, headers={"Host": f"evil.example:{server.port}"})[0] == 403  # DNS rebinding
    assert call(server.url + "api/build", method="OPTIONS")[0] == 403
    status, _ = get(server, "/api/remove", method="POST", body={"index": "notes"}, headers={"Origin": "http://evil.example"})
    assert status == 403 and get(server, "/api/indexes")[1]["indexes"]  # nothing removed
    same = {"Origin": server.url.rstrip("/"), "Sec-Fetch-Site": "same-origin"}
    assert call(url, headers=same)[0] == 200
    assert call(f"http://localhost:{server.port}/api/indexes")[0] == 200


def test_a_token_guards_every_request(project: Path) -> None:
    srv = make_server(project, port=0, token="s3cret", pool=SearcherPool(project, _opener))
    with running(srv):
        base = srv.url
        for path in ("", "static/app.js", "api/indexes", "api/search?index=notes&q=tide"):
            status, _h, body = call(base + path)
            assert status == 401 and b"token" in body
        assert call(base + "api/indexes", headers={"Authorization": "Bearer wrong"})[0] == 401
        assert call(base + "api/indexes", headers={"Authorization": "Bearer s3cret"})[0] == 200
        assert call(base + "api/indexes?token=s3cret")[0] == 401  # only the page takes it in the URL
        status, headers, _ = call(base + "?token=s3cret")
        cookie = headers["Set-Cookie"]
        assert status == 200 and "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert call(base + "api/indexes", headers={"Cookie": cookie.split(";")[0]})[0] == 200
        assert call(base + "api/indexes", headers={"Cookie": "leann_token=nope"})[0] == 401


def test_other_addresses_need_a_token(project: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    with pytest.raises(ValueError, match="--token"):
        make_server(project, host="0.0.0.0", port=0)
    monkeypatch.chdir(project)
    monkeypatch.delenv("LEANN_SERVE_TOKEN", raising=False)
    assert main(["--host", "0.0.0.0", "--port", "0"]) == 1
    assert "--token" in capsys.readouterr().err
    srv = make_server(project, host="0.0.0.0", port=0, token="t")
    assert srv.port > 0
    srv.server_close()


def test_register_adds_the_serve_command() -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="leann")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["serve"])
    assert (args.host, args.port, args.open, callable(args.func)) == ("127.0.0.1", 8000, False, True)
    args = parser.parse_args(["serve", "--host", "0.0.0.0", "--port", "9", "--open", "--token", "T"])
    assert (args.host, args.port, args.open, args.token) == ("0.0.0.0", 9, True, "T")


# ---------------------------------------------------------------- ask


def _ask(srv: Any, body: dict[str, Any]) -> tuple[int, list[Any]]:
    status, headers, data = call(srv.url + "api/ask", method="POST", body=body)
    if status != 200:
        return status, [json.loads(data)]
    assert headers["Content-Type"].startswith("application/x-ndjson")
    return status, [json.loads(line) for line in data.splitlines() if line.strip()]


def test_ask_streams_the_answer_after_its_sources(server, fake_ollama: FakeOllama) -> None:
    status, lines = _ask(server, {"index": "notes", "question": "When does the lighthouse keeper log the tide?", "top_k": 2})
    assert status == 200
    head, *texts, last = lines
    assert head["type"] == "sources" and head["model"] == "fake:1b" and head["results"][0]["text"] == PLANTED
    assert [t["text"] for t in texts] == ["The keeper logs the tides", " every morning [1]", " at the harbour [2]."]
    assert last == {"type": "done"}
    (sent,) = fake_ollama.requests
    prompt = sent["messages"][-1]["content"]
    assert sent["stream"] is True and "log/keeper.md:10-12" in prompt and PLANTED in prompt and "[2]" in prompt


def test_ask_without_ollama_says_how_to_start_it(project: Path) -> None:
    srv = make_server(project, port=0, pool=SearcherPool(project, _opener), ollama_host=f"127.0.0.1:{closed_port()}")
    with running(srv):
        status, (data,) = _ask(srv, {"index": "notes", "question": "tide?"})
    assert status == 503 and "Ollama is not running" in data["error"] and "ollama serve" in data["error"]


def test_ask_with_a_model_ollama_lacks_and_bad_input(server) -> None:
    status, (data,) = _ask(server, {"index": "notes", "question": "tide?", "model": "absent:7b"})
    assert status == 503 and "ollama pull absent:7b" in data["error"]
    assert _ask(server, {"index": "notes"})[1][0]["error"].startswith("question must be")
    assert _ask(server, {"index": "nope", "question": "x"})[0] == 404
    assert _ask(server, {"index": "notes", "question": "x", "filter": "topic=a"})[0] == 400


# ---------------------------------------------------------------- build and remove


class _GatedEmbedder(WordHashEmbedder):
    """Blocks every embed call until ``gate`` is set: a build that runs as long as the test wants."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.entered = threading.Event()

    def embed(self, texts):
        self.entered.set()
        assert self.gate.wait(30)
        return super().embed(texts)


def _wait(srv: Any, job_id: str) -> dict[str, Any]:
    for _ in range(300):
        _, job = get(srv, f"/api/build?id={job_id}")
        if job["state"] != "running":
            return job
        time.sleep(0.05)
    raise AssertionError("build did not finish")


def test_build_runs_in_the_background_while_search_keeps_answering(project: Path) -> None:
    docs = project / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Kites\n\nRed kites circle over the chalk downs in spring.\n")
    (docs / "b.md").write_text("# Bread\n\nSourdough needs a starter fed twice a day.\n")
    gated = _GatedEmbedder()
    srv = make_server(project, port=0, pool=SearcherPool(project, _opener), build_embedding=gated)
    with running(srv):
        status, job = get(srv, "/api/build", method="POST", body={"index": "docs", "docs": ["docs"]})
        assert status == 202 and job["state"] == "running" and job["progress"] == 0.0
        assert gated.entered.wait(10)
        status, data = get(srv, "/api/search?index=notes&q=tide")  # answered while the build is blocked
        assert status == 200 and data["results"]
        assert get(srv, "/api/build", method="POST", body={"index": "docs", "docs": ["docs"]})[0] == 409
        assert get(srv, "/api/indexes")[1]["indexes"][0]["name"] == "notes"
        gated.gate.set()
        done = _wait(srv, job["id"])
        assert done["state"] == "done" and done["progress"] == 1.0 and done["report"]["files_new"] == 2
        _, data = get(srv, "/api/search?index=docs&mode=bm25&q=sourdough")
        assert data["results"][0]["metadata"]["source"] == "docs/b.md"
        (docs / "c.md").write_text("Kestrels hover above the motorway verge.\n")
        _, job = get(srv, "/api/build", method="POST", body={"index": "docs"})  # stored docs, incremental
        done = _wait(srv, job["id"])
        assert done["report"]["files_new"] == 1 and done["report"]["files_unchanged"] == 2
        assert len(get(srv, "/api/build")[1]["builds"]) == 2


def test_build_refuses_paths_outside_the_folder_and_bad_names(server, tmp_path_factory) -> None:
    outside = tmp_path_factory.mktemp("outside")
    status, data = get(server, "/api/build", method="POST", body={"index": "x", "docs": [str(outside)]})
    assert status == 403 and "outside the served folder" in data["error"]
    status, data = get(server, "/api/build", method="POST", body={"index": "x", "docs": ["../"]})
    assert status == 403
    assert get(server, "/api/build", method="POST", body={"index": "../x", "docs": ["."]})[0] == 400
    assert get(server, "/api/build", method="POST", body={"index": "x", "docs": ["nope"]})[0] == 400
    assert get(server, "/api/build", method="POST", body={"index": "fresh"})[0] == 400  # no docs, no stored ones
    assert get(server, "/api/build?id=999")[0] == 404


def test_remove_deletes_the_index_folder(server, project: Path) -> None:
    assert get(server, "/api/search?index=notes&q=tide")[0] == 200  # a warm searcher in the pool
    assert get(server, "/api/remove", method="POST", body={"index": "missing"})[0] == 404
    assert get(server, "/api/remove", method="POST", body={"index": "../notes"})[0] == 400
    status, data = get(server, "/api/remove", method="POST", body={"index": "notes"})
    assert status == 200 and data == {"removed": "notes"}
    assert not (project / ".leann" / "indexes" / "notes").exists()
    assert get(server, "/api/indexes")[1]["indexes"] == []
    assert get(server, "/api/search?index=notes&q=tide")[0] == 404


# ---------------------------------------------------------------- display helpers


def test_marked_parts_cover_the_text_and_mark_word_starts_only() -> None:
    terms = query_terms("The Graph of graphs, a <b>")
    assert terms == ["graphs", "graph"]
    text = "Paragraph: graphs and Graph-walks <b>"
    parts = marked_parts(text, terms)
    assert "".join(p["t"] for p in parts) == text
    assert [p["t"] for p in parts if p["m"]] == ["graphs", "Graph"]


def test_links_only_for_web_addresses_and_mail_labels() -> None:
    assert safe_link({"url": "javascript:alert(1)"}) is None and safe_link({"url": "file:///etc/passwd"}) is None
    assert safe_link({"url": "https://a.example/x"}) == "https://a.example/x"
    assert source_label({"title": "Chat with Bo", "source": "chats/bo.json"}) == "Chat with Bo · chats/bo.json"
    assert source_label({"source": "a.pdf", "start_line": 4, "end_line": 4, "page": 2}) == "a.pdf:4 (page 2)"
