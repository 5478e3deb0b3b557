"""Durable file writes: write-and-fsync, atomic replace, checksums, generation file names."""

from __future__ import annotations

import contextlib
import os
import zlib
from collections.abc import Callable
from pathlib import Path

# Stored embeddings (the delta segment, and the base when is_recompute=False): little-endian float32.
EMBEDDING_DTYPE = "<f4"


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


FaultHook = Callable[[str, Path, "bytes | None"], None]
_fault_hook: FaultHook | None = None


def set_fault_hook(hook: FaultHook | None) -> None:
    """Install ``hook(point, path, data)``, called at the named points of every write: ``"write"``
    before a new file is written (with its bytes) and ``"commit"`` before a manifest is published.
    For crash tests, which kill a writer there; ``None`` removes it."""
    global _fault_hook
    _fault_hook = hook


def fault_point(point: str, path: Path, data: bytes | None = None) -> None:
    if _fault_hook is not None:
        _fault_hook(point, path, data)


def write_file(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file and flush it to disk (files are never rewritten in place)."""
    fault_point("write", path, data)
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def atomic_write(path: Path, data: bytes) -> None:
    """Write aside, fsync, rename over ``path``: readers see the old or the new content, whole."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write_file(tmp, data)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def crc_of(path: Path) -> int:
    crc = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            crc = zlib.crc32(chunk, crc)
    return crc


def gen_name(kind: str, gen: int, ext: str) -> str:
    return f"{kind}-{gen:06d}.{ext}"
