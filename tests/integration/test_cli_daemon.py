"""The warm-model daemon: same results and stats as a searcher in this process, never holding the
caller's output, stopping on request and after its idle timeout."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from leann_engine import LeannBuilder, LeannSearcher, SearchResults

ROOT = Path(__file__).resolve().parents[2]
PASSAGES = [
    "A loadable kernel module adds a device driver without a reboot; modprobe loads it.",
    "Fry onions and garlic in olive oil, add crushed tomatoes and simmer.",
    "Night trains from Vienna to Venice leave at nine in the evening.",
]


def leann(cwd: Path, env: dict, *args: str, timeout: float = 300):
    return subprocess.run(
        [sys.executable, "-m", "leann_cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def daemon_env(tmp_path, monkeypatch):
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", LEANN_DAEMON_DIR=str(tmp_path / "run"))
    env.pop("LEANN_NO_DAEMON", None)
    monkeypatch.setenv("LEANN_DAEMON_DIR", str(tmp_path / "run"))
    yield env
    leann(tmp_path, env, "daemon", "stop", timeout=60)


@pytest.mark.model
def test_daemon_returns_the_same_search_results_with_stats(tmp_path, real_model, daemon_env):
    from leann_cli.daemon import DaemonSearcher

    path = tmp_path / ".leann" / "indexes" / "notes" / "documents.leann"
    b = LeannBuilder(embedding_model=real_model)
    for i, text in enumerate(PASSAGES):
        b.add_text(text, {"source": f"n{i}.md"}, id=f"n{i}")
    b.build_index(path)

    remote = DaemonSearcher(path).search("how do I load a driver?", 2, 32, {"source": {"!=": "n2.md"}}, mode="hybrid")
    with LeannSearcher(path, real_model) as local_searcher:
        local = local_searcher.search("how do I load a driver?", 2, 32, {"source": {"!=": "n2.md"}}, mode="hybrid")
    assert isinstance(remote, SearchResults)
    assert [r.id for r in remote] == [r.id for r in local] == ["n0", "n1"]
    assert [r.metadata for r in remote] == [r.metadata for r in local]
    assert [r.score for r in remote] == pytest.approx([r.score for r in local], abs=1e-5)
    assert remote.stats.mode == local.stats.mode == "hybrid"
    assert (remote.stats.visited, remote.stats.keyword_matches) == (local.stats.visited, local.stats.keyword_matches)

    with pytest.raises(ValueError, match="top_k must be an integer from 1 to 100"):
        DaemonSearcher(path).search("q", 0)


@pytest.mark.model
def test_daemon_never_holds_the_callers_output_and_stops_cleanly(tmp_path, daemon_env):
    (tmp_path / "docs2").mkdir()
    (tmp_path / "docs2" / "a.md").write_text("Graph indexes keep neighbour lists and the passage text.\n")
    assert leann(tmp_path, daemon_env, "build", "small", "--docs", "docs2").returncode == 0
    # communicate() returns only when every holder of the pipes has closed them, so a daemon that
    # inherited them would make this time out.
    proc = subprocess.Popen(
        [sys.executable, "-m", "leann_cli", "search", "small", "neighbour lists"],
        cwd=tmp_path,
        env=daemon_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "docs2/a.md" in out, err
    status = leann(tmp_path, daemon_env, "daemon", "status")
    assert status.returncode == 0
    pid = json.loads(status.stdout)["pid"]
    assert os.getsid(pid) == pid  # its own session: not tied to our terminal or process group
    sock = tmp_path / "run" / "daemon.sock"
    assert sock.exists() and oct(sock.stat().st_mode & 0o777) == "0o600"

    assert leann(tmp_path, daemon_env, "daemon", "stop").stdout.strip() == "stopped"
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
    assert leann(tmp_path, daemon_env, "daemon", "status").returncode == 1


def test_daemon_exits_after_its_idle_timeout(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), LEANN_DAEMON_DIR=str(tmp_path / "run"))
    started = leann(tmp_path, env, "daemon", "start", "--idle-timeout", "1")
    assert started.returncode == 0, started.stderr
    sock = tmp_path / "run" / "daemon.sock"
    deadline = time.monotonic() + 30
    while sock.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not sock.exists()
    assert "idle for 1 s: exiting" in (tmp_path / "run" / "daemon.log").read_text()
