"""The `leann` command in new processes, with the real model: build, incremental re-build, search
through the warm daemon and in-process, list, reindex, remove, exit codes, the daemon's life."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

DOCS = {
    "kernel.md": "# Kernel modules\n\nA loadable kernel module adds a device driver to the running kernel "
    "without a reboot. Use modprobe to load it and rmmod to unload it.\n",
    "cooking.md": "# Tomato sauce\n\nFry onions and garlic in olive oil, add crushed tomatoes and simmer "
    "for twenty minutes. Season with salt and basil.\n",
    "travel.txt": "Trains from Zurich to Milan cross the Alps through the Gotthard base tunnel; the trip "
    "takes about three hours and the views of the lakes are worth a window seat.\n",
    "tools.py": 'def parse_config(path):\n    """Read the YAML configuration file and return a dict."""\n'
    "    with open(path) as f:\n        return yaml.safe_load(f)\n\n\n"
    'def retry(fn, attempts=3):\n    """Call fn again when it raises a network timeout."""\n'
    "    for _ in range(attempts):\n        try:\n            return fn()\n        except TimeoutError:\n"
    "            pass\n",
}


def run(project: Path, env: dict, *args: str, timeout: float = 300, stdin: str | None = None):
    return subprocess.run(
        [sys.executable, "-m", "leann_cli.cli", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    docs = root / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text)
    (docs / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)))
    run_dir = root / "run"
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        HF_HUB_OFFLINE="1",
        LEANN_DAEMON_DIR=str(run_dir),
        TOKENIZERS_PARALLELISM="false",
    )
    env.pop("LEANN_NO_DAEMON", None)
    yield root, env
    run(root, env, "daemon", "stop", timeout=60)


def test_help_and_usage_errors(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for cmd in ([], ["build"], ["search"], ["ask"], ["list"], ["remove"], ["reindex"], ["daemon"]):
        out = run(tmp_path, env, *cmd, "--help")
        assert out.returncode == 0 and "usage: leann" in out.stdout, cmd
    assert run(tmp_path, env, "frobnicate").returncode == 2
    missing = run(tmp_path, env, "search", "docs")
    assert missing.returncode == 2 and "required: query" in missing.stderr
    bad_name = run(tmp_path, env, "search", "../etc", "q")
    assert bad_name.returncode == 2 and "not valid" in bad_name.stderr
    assert run(tmp_path, env, "search", "docs", "q", "--top-k", "0").returncode == 2
    assert run(tmp_path, env, "search", "docs", "q", "--mode", "fuzzy").returncode == 2
    nothing = run(tmp_path, env, "search", "docs", "q")
    assert nothing.returncode == 1
    assert (
        nothing.stderr.startswith("leann: error: no index named 'docs'") and nothing.stderr.count("\n") == 1
    )
    no_docs = run(tmp_path, env, "build", "docs")
    assert no_docs.returncode == 1 and "--docs is required" in no_docs.stderr
    gone = run(tmp_path, env, "build", "docs", "--docs", "missing-folder")
    assert (
        gone.returncode == 1
        and "missing-folder does not exist" in gone.stderr
        and "Traceback" not in gone.stderr
    )


@pytest.mark.model
def test_build_search_update_list_remove_with_the_daemon(project):
    root, env = project
    started = run(root, env, "daemon", "start")
    assert started.returncode == 0, started.stderr
    pid = int(started.stdout.split("pid ")[1].split(",")[0])
    assert os.getsid(pid) == pid  # its own session: not tied to our terminal or process group

    built = run(root, env, "build", "docs", "--docs", "docs", "--json")
    assert built.returncode == 0, built.stderr
    report = json.loads(built.stdout)
    assert report["full_rebuild"] and report["files_new"] == 4 and report["skipped"]["binary"] == 1
    total = report["chunks_total"]
    assert report["chunks_embedded"] == total >= 4

    def search(*args):
        out = run(root, env, "search", "docs", *args, "--json")
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)["results"]

    hits = search("how do I load a device driver into the kernel?", "--top-k", "2")
    assert hits[0]["metadata"]["source"] == "docs/kernel.md"
    assert hits[0]["metadata"]["start_line"] == 1 and hits[0]["metadata"]["file_type"] == ".md"
    hits = search("retry after a network timeout", "--filter", "language=python", "--top-k", "3")
    assert hits and all(h["metadata"]["source"] == "docs/tools.py" for h in hits)
    assert "def retry" in hits[0]["text"]
    assert (
        search("pasta sauce", "--filter", "file_type=.txt", "--top-k", "5")[0]["metadata"]["source"]
        == "docs/travel.txt"
    )

    # Keyword, hybrid (the default), grep and rerank go through to the engine.
    out = run(root, env, "search", "docs", "parse_config", "--mode", "bm25", "--json")
    assert json.loads(out.stdout)["results"][0]["id"] == "docs/tools.py#0"
    default = json.loads(run(root, env, "search", "docs", "modprobe rmmod", "--json").stdout)
    assert default["mode"] == "hybrid" and default["results"][0]["metadata"]["source"] == "docs/kernel.md"
    grep = search("Gotthard", "--grep")
    assert [h["metadata"]["source"] for h in grep] == ["docs/travel.txt"]
    reranked = search("how do I load a device driver into the kernel?", "--top-k", "2", "--rerank")
    assert reranked[0]["metadata"]["source"] == "docs/kernel.md"

    readable = run(root, env, "search", "docs", "simmer tomatoes with basil", "--top-k", "1")
    assert readable.returncode == 0
    assert readable.stdout.splitlines()[0].split()[2] == "docs/cooking.md:1-3"

    # In-process search gives the same ranking as the daemon.
    local = run(
        root, env, "search", "docs", "how do I load a device driver into the kernel?", "--no-daemon", "--json"
    )
    assert json.loads(local.stdout)["results"][0]["id"] == "docs/kernel.md#0"

    # One file changed: only its chunk is embedded again; the re-build reuses the last --docs.
    (root / "docs" / "travel.txt").write_text(
        "Night trains from Vienna to Venice leave at nine in the evening.\n"
    )
    (root / "docs" / "cooking.md").unlink()
    again = run(root, env, "build", "docs", "--json")
    assert again.returncode == 0, again.stderr
    upd = json.loads(again.stdout)
    assert not upd["full_rebuild"] and upd["files_changed"] == 1 and upd["files_removed"] == 1
    assert upd["files_unchanged"] == 2 and upd["chunks_embedded"] == 1
    assert search("night train to Venice", "--top-k", "1")[0]["id"] == "docs/travel.txt#0"
    assert all(h["metadata"]["source"] != "docs/cooking.md" for h in search("tomato sauce", "--top-k", "10"))

    listing = run(root, env, "list", "--json")
    [info] = json.loads(listing.stdout)
    assert info["name"] == "docs" and info["passages"] == upd["chunks_total"] and info["files"] == 3
    assert info["flat_index_bytes"] == info["passages"] * 384 * 4
    table = run(root, env, "list").stdout
    assert table.splitlines()[1].split()[0] == "docs"

    reindexed = run(root, env, "reindex", "docs")
    assert reindexed.returncode == 0 and "compacted" in reindexed.stdout
    assert search("night train to Venice", "--top-k", "1")[0]["id"] == "docs/travel.txt#0"

    # A --no-recompute index stores embeddings; reindex converts it to recompute-only.
    assert run(root, env, "build", "stored", "--docs", "docs", "--no-recompute").returncode == 0
    manifest = root / ".leann" / "indexes" / "stored" / "documents.leann" / "manifest.json"
    stored = {i["name"]: i for i in json.loads(run(root, env, "list", "--json").stdout)}["stored"]
    assert not stored["is_recompute"] and json.loads(manifest.read_text())["files"].get("embeddings")
    assert run(root, env, "reindex", "stored").returncode == 0
    after = {i["name"]: i for i in json.loads(run(root, env, "list", "--json").stdout)}["stored"]
    assert after["is_recompute"] and not json.loads(manifest.read_text())["files"].get("embeddings")
    assert run(root, env, "remove", "stored", "--yes").returncode == 0

    refused = run(root, env, "remove", "docs")
    assert refused.returncode == 1 and "--yes" in refused.stderr
    assert run(root, env, "remove", "docs", "--yes").returncode == 0
    assert json.loads(run(root, env, "list", "--json").stdout) == []
    gone = run(root, env, "search", "docs", "anything")
    assert gone.returncode == 1 and "no index named 'docs'" in gone.stderr

    # Built again under the same name: the daemon must not serve the removed index.
    (root / "docs3").mkdir()
    (root / "docs3" / "bees.md").write_text("Honey bees dance to tell the hive where the flowers are.\n")
    assert run(root, env, "build", "docs", "--docs", "docs3").returncode == 0
    assert search("how do bees communicate?", "--top-k", "5")[0]["id"] == "docs3/bees.md#0"


@pytest.mark.model
def test_daemon_never_holds_the_callers_output_and_stops_cleanly(project):
    root, env = project
    (root / "docs2").mkdir(exist_ok=True)
    (root / "docs2" / "a.md").write_text("Graph indexes keep neighbour lists and the passage text.\n")
    assert run(root, env, "build", "small", "--docs", "docs2").returncode == 0
    # Popen with pipes: communicate() returns only when every holder of the pipes has closed them,
    # so a daemon that inherited them would make this time out.
    proc = subprocess.Popen(
        [sys.executable, "-m", "leann_cli.cli", "search", "small", "neighbour lists"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "docs2/a.md" in out, err
    status = run(root, env, "daemon", "status")
    assert status.returncode == 0
    pid = json.loads(status.stdout)["pid"]
    sock = Path(env["LEANN_DAEMON_DIR"]) / "daemon.sock"
    assert sock.exists() and oct(sock.stat().st_mode & 0o777) == "0o600"

    stopped = run(root, env, "daemon", "stop")
    assert stopped.stdout.strip() == "stopped"
    assert not sock.exists()
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
        pytest.fail("the daemon did not exit after stop")
    assert run(root, env, "daemon", "status").returncode == 1


def test_daemon_exits_after_its_idle_timeout(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), LEANN_DAEMON_DIR=str(tmp_path / "run"))
    started = run(tmp_path, env, "daemon", "start", "--idle-timeout", "1")
    assert started.returncode == 0, started.stderr
    sock = tmp_path / "run" / "daemon.sock"
    deadline = time.monotonic() + 30
    while sock.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not sock.exists()
    log = (tmp_path / "run" / "daemon.log").read_text()
    assert "idle for 1 s: exiting" in log
