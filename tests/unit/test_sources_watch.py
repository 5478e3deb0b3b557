"""leann_cli.sources.watch: real file-system events (watchdog), debounced into one rebuild per burst."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("watchdog", reason="the 'watch' extra (watchdog) is not installed")

from leann_cli.sources.watch import watch  # noqa: E402


def _wait(cond, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return False


def test_burst_of_changes_gives_one_rebuild_and_index_writes_are_ignored(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    calls: list[list[str]] = []
    stop = threading.Event()
    logs: list[str] = []
    t = threading.Thread(
        target=lambda: watch("notes", docs, calls.append, debounce=0.5, stop=stop, log=logs.append)
    )
    t.start()
    try:
        assert _wait(lambda: len(calls) == 1)  # the initial update
        time.sleep(0.3)  # let the observer start
        for i in range(5):
            (docs / f"note{i}.md").write_text(f"note {i}")
            time.sleep(0.05)
        assert _wait(lambda: len(calls) == 2)
        time.sleep(1.0)
        assert len(calls) == 2  # one burst, one rebuild
        assert {Path(p).name for p in calls[1]} >= {f"note{i}.md" for i in range(5)}
        (docs / ".leann" / "indexes").mkdir(parents=True)
        (docs / ".leann" / "indexes" / "x.bin").write_bytes(b"index data")
        time.sleep(1.2)
        assert len(calls) == 2  # writing the index does not trigger a build
    finally:
        stop.set()
        t.join(timeout=10)
    assert not t.is_alive()
    assert logs[0] == "notes: updated after 0 change(s)" and logs[1].startswith("notes: updated after ")


def test_failing_rebuild_is_logged_and_watching_goes_on(tmp_path: Path) -> None:
    calls: list[int] = []

    def flaky(paths: list[str]) -> None:
        calls.append(len(paths))
        if len(calls) == 2:
            raise ValueError("disk full")

    stop = threading.Event()
    logs: list[str] = []
    t = threading.Thread(target=lambda: watch("n", tmp_path, flaky, debounce=0.3, stop=stop, log=logs.append))
    t.start()
    try:
        assert _wait(lambda: len(calls) == 1)
        time.sleep(0.3)
        (tmp_path / "a.txt").write_text("a")
        assert _wait(lambda: len(calls) == 2)
        (tmp_path / "b.txt").write_text("b")
        assert _wait(lambda: len(calls) == 3)
    finally:
        stop.set()
        t.join(timeout=10)
    assert "n: update failed: disk full" in logs
    with pytest.raises(ValueError, match="not a directory"):
        watch("n", tmp_path / "missing", flaky)


def test_missing_extra_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "watchdog.observers", None)
    with pytest.raises(ImportError, match=r"leann-graph-index\[watch\]"):
        watch("n", tmp_path, lambda paths: None)
