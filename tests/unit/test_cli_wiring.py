"""The personal-data, watch and serve commands wired into ``leann``: parser, date/sender search,
one source label, batched sync, the pool's public forget and warm model, build progress, and the
graph-only flag of ``leann list`` (deterministic embedder, no model, no subprocess)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from conftest import WordHashEmbedder

from leann_cli.commands.watch import watch_index, watched_folder
from leann_cli.indexes import CliError, index_dir, summarize
from leann_cli.ingest.pipeline import build_from_docs
from leann_cli.main import build_parser, main
from leann_cli.service import IndexService, SearcherPool, source_label
from leann_cli.settings import BuildOptions
from leann_cli.sources.base import Item
from leann_cli.sources.sync import sync_items

NEW_COMMANDS = [
    "watch",
    "serve",
    "index-email",
    "index-browser",
    "index-chatgpt",
    "index-claude",
    "index-wechat",
    "index-imessage",
    "index-slack",
]


def test_top_level_help_lists_the_new_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for name in NEW_COMMANDS:
        assert name in out


@pytest.mark.parametrize("command", NEW_COMMANDS)
def test_each_new_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0 and f"usage: leann {command}" in capsys.readouterr().out


def test_search_date_and_sender_flags_parse():
    a = build_parser().parse_args(
        ["search", "m", "q", "--after", "2024-01", "--before", "2024-02", "--from", "ann"]
    )
    assert (a.after, a.before, a.sender) == ("2024-01", "2024-02", "ann")


def test_bad_date_is_one_line_exit_1(tmp_path, monkeypatch, capsys, embedder):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEANN_BASE_DIR", raising=False)
    _mails(embedder)
    assert main(["search", "mail", "garden", "--no-daemon", "--after", "yesterday"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--after 'yesterday' is not a date" in err[0]


def _mails(embedder, n: int = 4) -> None:
    topics = ["invoice payment due", "garden tomatoes harvest", "kernel patch review", "train tickets booked"]
    items = [
        Item(
            f"mail:m{i}",
            f"Subject: {t}\nMail about {t}.",
            {
                "source": "mail",
                "subject": t.title(),
                "from": "Ann <ann@x.org>" if i % 2 else "Ben <ben@x.org>",
                "date": f"2024-01-0{i + 1}T12:00:00Z",
                "date_last": f"2024-01-0{i + 1}T12:00:00Z",
            },
        )
        for i, t in enumerate(topics[:n])
    ]
    sync_items("mail", "mail:test", items, embedding=embedder)


def test_search_after_before_from_through_the_service_and_cli(tmp_path, monkeypatch, capsys, embedder):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEANN_BASE_DIR", raising=False)
    _mails(embedder)
    service = IndexService(tmp_path, embedding=embedder)
    got = service.search("mail", "mail about", top_k=4, mode="bm25", after="2024-01-02", before="2024-01-04")
    assert sorted(r["id"] for r in got["results"]) == ["mail:m1", "mail:m2"]
    got = service.search(
        "mail", "mail about", top_k=4, mode="bm25", sender="ANN", filters={"subject": {"!=": "x"}}
    )
    assert sorted(r["id"] for r in got["results"]) == ["mail:m1", "mail:m3"]
    with pytest.raises(ValueError, match="--before"):
        service.search("mail", "x", before="soon")
    # The CLI in this process, searching with the test's embedder.
    from leann_engine import LeannSearcher

    monkeypatch.setattr(
        "leann_cli.commands.search.searcher", lambda args, path: LeannSearcher(path, embedder)
    )
    argv = ["search", "mail", "garden tomatoes", "--no-daemon", "--mode", "bm25", "--from", "ann", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in out["results"]] == ["mail:m1", "mail:m3"][: len(out["results"])]
    assert all("Ann" in r["metadata"]["from"] for r in out["results"])
    assert (
        main(["search", "mail", "garden tomatoes", "--no-daemon", "--mode", "bm25", "--before", "2024-01-03"])
        == 0
    )
    text = capsys.readouterr().out
    assert "2024-01-02 12:00 · Garden Tomatoes Harvest — Ann <ann@x.org> · mail" in text


def test_one_source_label_for_documents_and_personal_data():
    assert source_label({"source": "a.md", "start_line": 3, "end_line": 5}) == "a.md:3-5"
    mail = {"date": "2024-01-05T10:00:00Z", "subject": "Budget", "from": "Ann", "source": "mail"}
    assert source_label(mail) == "2024-01-05 10:00 · Budget — Ann · mail"
    assert source_label(mail, date=False) == "Budget — Ann · mail"
    visit = {"date": "2024-01-05T10:00:00Z", "title": "Python docs", "url": "https://docs.python.org/"}
    assert source_label(visit) == "2024-01-05 10:00 · Python docs · https://docs.python.org/"


class _CountingWrites:
    """Counts the engine's compactions and the size of each add_texts call."""

    def __init__(self, monkeypatch):
        from leann_engine import LeannIndex

        self.compactions, self.adds, self.events = 0, [], []
        compact, add = LeannIndex.compact, LeannIndex.add_texts

        def counted_compact(index, **kw):
            self.compactions += 1
            self.events.append("compact")
            return compact(index, **kw)

        def counted_add(index, texts, *a, **kw):
            self.adds.append(len(texts))
            self.events.append(len(texts))
            return add(index, texts, *a, **kw)

        monkeypatch.setattr(LeannIndex, "compact", counted_compact)
        monkeypatch.setattr(LeannIndex, "add_texts", counted_add)


def test_first_import_adds_in_batches_and_compacts_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEANN_BASE_DIR", raising=False)
    emb = WordHashEmbedder()
    writes = _CountingWrites(monkeypatch)
    items = [
        Item(f"x:{i}", f"note {i} about topic {i % 7}", {"date": "2024-01-01T00:00:00Z"}) for i in range(100)
    ]
    report = sync_items("notes", "k", items, embedding=emb, batch=16)
    assert report.added == 100 and report.embedded_texts == 100
    assert writes.adds == [16] * 6 + [4]
    # The policy ran on the last batch only: one graph over all 100, not one after the first 32.
    assert writes.events == [16] * 6 + [4, "compact"]
    from leann_engine import LeannSearcher

    with LeannSearcher(index_dir("notes") / "documents.leann", emb) as s:
        assert s.count() == 100
    # A re-run with 3 new items embeds those 3 only.
    emb.calls = 0
    more = items + [Item(f"x:new{i}", f"fresh item {i}", {}) for i in range(3)]
    report = sync_items("notes", "k", more, embedding=emb, batch=16)
    assert (report.added, report.kept, emb.calls) == (3, 100, 3)
    with pytest.raises(ValueError, match="batch must be a positive integer"):
        sync_items("notes", "k", more + [Item("x:z", "z", {})], embedding=emb, batch=0)


def _built(tmp_path, embedder, name="docs") -> Path:
    docs = tmp_path / "docs"
    docs.mkdir(exist_ok=True)
    (docs / "a.md").write_text("Kites circle over the chalk downs in spring.\n")
    build_from_docs(index_dir(name, tmp_path), [docs], BuildOptions(), embedding=embedder, base=tmp_path)
    return docs


def test_watch_updates_a_built_index_and_stops(tmp_path, monkeypatch, embedder):
    pytest.importorskip("watchdog")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEANN_BASE_DIR", raising=False)
    docs = _built(tmp_path, embedder)
    assert watched_folder([str(docs / "a.md"), str(docs)]) == docs
    stop, lines = threading.Event(), []
    t = threading.Thread(
        target=lambda: watch_index("docs", embedding=embedder, debounce=0.2, stop=stop, log=lines.append)
    )
    t.start()
    try:
        deadline = time.time() + 10
        while not any("updated" in s for s in lines) and time.time() < deadline:
            time.sleep(0.05)  # the first (catch-up) update ran
        (docs / "b.md").write_text("Sourdough needs a starter fed twice a day.\n")
        while summarize("docs", tmp_path).files < 2 and time.time() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        t.join(10)
    assert not t.is_alive() and summarize("docs", tmp_path).files == 2
    assert any("1 new" in s for s in lines)
    with pytest.raises(CliError, match="no folder index named 'nope'"):
        watch_index("nope", embedding=embedder, stop=stop)


def test_pool_forget_and_warm_embedder(tmp_path, embedder):
    from leann_engine import LeannSearcher

    _built(tmp_path, embedder)
    engine = index_dir("docs", tmp_path) / "documents.leann"
    pool = SearcherPool(lambda p: LeannSearcher(p, embedder))
    assert pool.embedder_for("word-hash") is None  # nothing open yet
    pool.get(engine)
    assert pool.embedder_for("word-hash") is embedder and pool.embedder_for("other-model") is None
    pool.forget(engine)
    pool.forget(engine)  # twice: no error
    assert pool.paths() == []


def test_build_progress_callback_counts_files(tmp_path, embedder):
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(3):
        (docs / f"f{i}.md").write_text(f"File {i} talks about subject {i}.\n")
    steps: list[tuple[str, int, int]] = []
    build_from_docs(
        tmp_path / "ix",
        [docs],
        BuildOptions(),
        embedding=embedder,
        base=tmp_path,
        progress=lambda *a: steps.append(a),
    )
    reading = [s for s in steps if s[0] == "reading"]
    assert reading[0] == ("reading", 0, 3) and reading[-1] == ("reading", 3, 3)
    assert [d for _, d, _ in reading] == sorted(d for _, d, _ in reading)
    assert steps[-1] == ("embedding", 3, 3)


def test_list_says_when_an_index_is_graph_only(tmp_path, monkeypatch, capsys, embedder):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEANN_BASE_DIR", raising=False)
    _built(tmp_path, embedder)  # under 1,024 passages: no PQ codes
    info = summarize("docs")
    assert info.is_recompute and not info.has_codes and info.to_dict()["graph_only"] is True
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "graph only*" in out and "re-embeds every passage" in out


def test_serve_builds_reuse_the_warm_model_and_report_progress(tmp_path, embedder):
    from leann_cli.serve.api import Api
    from leann_cli.serve.backend import SearcherPool as ServePool
    from leann_cli.serve.jobs import BuildJob
    from leann_engine import LeannSearcher

    _built(tmp_path, embedder)
    api = Api(ServePool(tmp_path, lambda p: LeannSearcher(p, embedder)))
    assert api._warm_model("word-hash") is None  # no index open yet
    api.pool.get("docs")
    warm = api._warm_model("word-hash")
    assert warm.name == "word-hash" and warm.embed(["kites"]).shape == (1, 32)
    assert api._warm_model("another-model") is None
    job = BuildJob(id="1", index="docs", docs=[])
    job.step("reading", 1, 4)
    assert job.to_dict()["progress"] == 0.25 and job.to_dict()["stage"] == "reading"
    api.pool.forget("docs")
    assert api._warm_model("word-hash") is None


def test_index_command_runs_through_leann_main(tmp_path, monkeypatch, capsys, embedder):
    import leann_cli.sources.cli as sources_cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEANN_BASE_DIR", raising=False)
    real_sync = sources_cli.sync_items
    monkeypatch.setattr(
        sources_cli, "sync_items", lambda *a, **kw: real_sync(*a, **(kw | {"embedding": embedder}))
    )
    export = tmp_path / "conversations.json"
    chat = [{"uuid": "m", "sender": "human", "text": "hello garden", "created_at": "2024-01-01T00:00:00Z"}]
    export.write_text(
        json.dumps([{"uuid": "c", "name": "Hi", "created_at": "2024-01-01T00:00:00Z", "chat_messages": chat}])
    )
    assert main(["index-claude", "chats", "--export-path", str(export)]) == 0
    assert "chats: claude: 1 added, 0 removed, 0 unchanged" in capsys.readouterr().out
    export.write_text('{"truncated": ')
    assert main(["index-claude", "chats", "--export-path", str(export)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("leann: error: ") and "conversations.json" in err[0]
