"""Records every importer yields, the one error type, and shared helpers (dates, read-only SQLite)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol

UTC = timezone.utc
UNIX = datetime(1970, 1, 1, tzinfo=UTC)
COCOA = datetime(2001, 1, 1, tzinfo=UTC)  # Apple's reference date (Safari, iMessage)
WEBKIT = datetime(1601, 1, 1, tzinfo=UTC)  # Chromium and Windows FILETIME


class SourceError(ValueError):
    """A source that cannot be read as the format it should be; the message names the file."""


@dataclass
class Item:
    """One passage to index: a mail, a visited page, a chat chunk. ``id`` is stable across runs."""

    id: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class Message:
    """One chat message before chunking; ``time`` is an ISO 8601 UTC string or ``""``."""

    id: str
    conversation: str
    time: str
    sender: str
    text: str
    context: dict[str, Any] = field(default_factory=dict)  # conversation-level metadata (title, model...)


class Source(Protocol):
    """What :func:`leann_cli.sources.sync.sync_items` consumes: a kind name and its items."""

    kind: str

    def items(self) -> Iterator[Item]: ...


def iso(dt: datetime | None) -> str:
    """``2024-01-05T10:00:00Z``: sortable as a string, so ``>=``/``<`` filters work on it."""
    if dt is None:
        return ""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_epoch(value: Any, origin: datetime = UNIX, scale: float = 1.0) -> str:
    """ISO time of ``value / scale`` seconds after ``origin``; ``""`` for missing or absurd values."""
    if value in (None, "", 0):
        return ""
    try:
        seconds = float(value) / scale
        return iso(origin + timedelta(seconds=seconds))
    except (TypeError, ValueError, OverflowError):
        return ""


def parse_iso(value: Any) -> str:
    """Normalise an ISO 8601 string with any offset (``Z``, ``+00:00``, fractions) to :func:`iso`."""
    if not isinstance(value, str) or not value:
        return ""
    try:
        return iso(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return ""


@contextmanager
def sqlite_copy(path: Path, what: str, tables: tuple[str, ...]) -> Iterator[sqlite3.Connection]:
    """Open a private copy of a live SQLite database (with its ``-wal``), never the file itself.

    The owning app (a browser, Messages) holds a lock and keeps recent writes in the WAL, so the
    copy takes both; the copy is opened read-only after SQLite replays the WAL into it.
    """
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"{path}: not found; expected {what}")
    tmp = Path(tempfile.mkdtemp(prefix="leann-src-"))
    try:
        copy = tmp / "db.sqlite"
        try:
            shutil.copyfile(path, copy)
            for suffix in ("-wal", "-shm"):
                side = Path(str(path) + suffix)
                if side.is_file():
                    shutil.copyfile(side, Path(str(copy) + suffix))
        except OSError as e:
            raise SourceError(f"{path}: cannot be copied ({e.strerror or e}); expected {what}") from e
        try:
            con = sqlite3.connect(copy)  # read-write on the copy only, so the WAL can be replayed
            names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as e:
            raise SourceError(f"{path}: not a readable SQLite database ({e}); expected {what}") from e
        missing = [t for t in tables if t not in names]
        if missing:
            con.close()
            raise SourceError(f"{path}: no table {', '.join(missing)}; expected {what}")
        con.row_factory = sqlite3.Row
        try:
            yield con
        except sqlite3.DatabaseError as e:
            raise SourceError(f"{path}: unreadable SQLite data ({e}); expected {what}") from e
        finally:
            con.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def columns(con: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in con.execute(f"PRAGMA table_info({table})")}


def load_json(path: Path, what: str) -> Any:
    try:
        with open(path, "rb") as f:
            return json.loads(f.read().decode("utf-8-sig"))
    except OSError as e:
        raise SourceError(f"{path}: cannot be read ({e.strerror or e}); expected {what}") from e
    except (UnicodeDecodeError, ValueError) as e:
        raise SourceError(f"{path}: not valid JSON ({e}); expected {what}") from e


def json_from_export(path: Path, member: str, what: str) -> Any:
    """``member`` (e.g. ``conversations.json``) from an export zip, its folder, or the file itself."""
    path = Path(path)
    if path.is_dir():
        hits = [path / member] + sorted(path.rglob(member))
        for hit in hits:
            if hit.is_file():
                return load_json(hit, what)
        raise SourceError(f"{path}: no {member} in this folder; expected {what}")
    if not path.exists():
        raise SourceError(f"{path}: not found; expected {what}")
    if zipfile.is_zipfile(path) or path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as z:
                names = [n for n in z.namelist() if n == member or n.endswith("/" + member)]
                if not names:
                    raise SourceError(f"{path}: the zip has no {member}; expected {what}")
                raw = z.read(sorted(names, key=len)[0])
        except (zipfile.BadZipFile, EOFError, OSError, zipfile.LargeZipFile) as e:
            raise SourceError(f"{path}: damaged or truncated zip ({e}); expected {what}") from e
        try:
            return json.loads(raw.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError) as e:
            raise SourceError(f"{path}!{member}: not valid JSON ({e}); expected {what}") from e
    return load_json(path, what)
