"""The index's single-writer lock: an OS file lock, released if the process dies."""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections.abc import Iterator
from pathlib import Path

from leann_engine.errors import IndexLockedError

LOCK_FILE = ".write.lock"


try:  # POSIX
    import fcntl

    def _try_lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

except ImportError:  # Windows: lock the first byte of the lock file instead
    import msvcrt

    def _try_lock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]


@contextlib.contextmanager
def write_lock(path: Path, timeout: float = 60.0) -> Iterator[None]:
    """Hold the index's single-writer lock (an OS file lock, released if the process dies)."""
    fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                _try_lock(fd)
                break
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES, errno.EDEADLK) or time.monotonic() > deadline:
                    raise IndexLockedError(
                        f"{path} is being written by another process (lock {LOCK_FILE}); "
                        "wait for it to finish"
                    ) from e
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)
