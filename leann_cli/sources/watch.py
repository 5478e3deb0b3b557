"""``leann watch NAME``: keep a folder index fresh from file-system events, debounced.

Events (``watchdog``) are gathered until the folder has been quiet for ``debounce`` seconds, then
``rebuild_fn`` gets the changed paths once and runs the incremental build (it re-embeds only the
files whose content changed). Changes under ``.leann``, ``.git`` and other hidden folders are
ignored, so writing the index never triggers another build. Ctrl-C stops it cleanly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

IGNORED_PARTS = (".leann", ".git", "__pycache__", ".venv", "node_modules")


def _ignored(path: str, root: Path, ignore: Iterable[str]) -> bool:
    try:
        parts = Path(path).resolve().relative_to(root).parts
    except ValueError:
        return True
    return any(p in ignore or (p.startswith(".") and p not in (".", "..")) for p in parts)


class _Pending:
    """Changed paths and when the last one arrived; shared with watchdog's thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.paths: set[str] = set()
        self.last = 0.0
        self.wake = threading.Event()

    def add(self, path: str) -> None:
        with self.lock:
            self.paths.add(path)
            self.last = time.monotonic()
        self.wake.set()

    def take_if_quiet(self, debounce: float) -> list[str] | None:
        with self.lock:
            if not self.paths or time.monotonic() - self.last < debounce:
                return None
            out, self.paths = sorted(self.paths), set()
            return out


def watch(
    index_name: str,
    folder: str | Path,
    rebuild_fn: Callable[[list[str]], Any],
    *,
    debounce: float = 1.0,
    initial: bool = True,
    stop: threading.Event | None = None,
    ignore: Iterable[str] = IGNORED_PARTS,
    log: Callable[[str], None] = print,
) -> int:
    """Call ``rebuild_fn(changed_paths)`` after each burst of changes under ``folder``; returns
    how many rebuilds ran. Runs until ``stop`` is set or Ctrl-C; a failing rebuild is logged
    and watching goes on."""
    try:
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer
    except ImportError as e:  # an optional extra
        raise ImportError("leann watch needs watchdog: pip install 'leann-graph-index[watch]'") from e
    root = Path(folder).expanduser().resolve()
    if not root.is_dir():
        raise ValueError(f"folder {root} is not a directory to watch")
    ignore = tuple(ignore)
    pending = _Pending()

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event: Any) -> None:
            if event.event_type in ("opened", "closed_no_write"):
                return
            if event.is_directory and event.event_type == "modified":
                return  # a folder's mtime follows its files' events, which are reported themselves
            for p in (event.src_path, getattr(event, "dest_path", "")):
                if p and not _ignored(p, root, ignore):
                    pending.add(p)

    stop = stop or threading.Event()
    builds = 0

    def run(paths: list[str]) -> None:
        nonlocal builds
        try:
            rebuild_fn(paths)
            builds += 1
            log(f"{index_name}: updated after {len(paths)} change(s)")
        except Exception as e:  # keep watching: the next change may fix it
            log(f"{index_name}: update failed: {e}")

    if initial:
        run([])
    observer = Observer()
    observer.schedule(Handler(), str(root), recursive=True)
    observer.start()
    try:
        while not stop.is_set():
            pending.wake.wait(timeout=min(0.2, debounce))
            pending.wake.clear()
            paths = pending.take_if_quiet(debounce)
            if paths:
                run(paths)
    except KeyboardInterrupt:
        log(f"{index_name}: stopped watching {root}")
    finally:
        observer.stop()
        observer.join(timeout=5)
    return builds
