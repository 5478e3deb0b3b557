"""Apply a source's current items to a named index: add what is new or changed, delete what is gone.

The whole source is read before the index is touched, so a source that fails to parse leaves the
index as it was. What was indexed from each source is remembered in ``personal-sources.json``
next to the engine folder (id -> content hash); writes go through the engine's public
``LeannIndex.add_texts`` and ``delete``, never a rebuild.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .base import Item, SourceError

STATE_FILE = "personal-sources.json"
ENGINE_DIR = "documents.leann"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def index_folder(name: str, base: str | Path | None = None) -> Path:
    """``.leann/indexes/NAME`` under ``base`` (``$LEANN_BASE_DIR`` or the current folder).

    Mirrors where ``leann build`` keeps indexes; at merge this should call the CLI's settings
    module instead of repeating its rule.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise SourceError(
            f"index name {name!r} is not valid: use letters, digits, '.', '_' or '-' (not starting with '.' or '-')"
        )
    root = Path(base or os.environ.get("LEANN_BASE_DIR") or Path.cwd()).expanduser().resolve()
    return root / ".leann" / "indexes" / name


@dataclass
class SyncReport:
    """What one run changed: passages added (new or changed), deleted, and left alone."""

    added: int
    deleted: int
    kept: int
    embedded_texts: int

    def line(self, name: str, kind: str) -> str:
        return f"{name}: {kind}: {self.added} added, {self.deleted} removed, {self.kept} unchanged"


def _digest(item: Item) -> str:
    blob = json.dumps([item.text, item.metadata], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha1(blob.encode("utf-8")).hexdigest()[:16]


def _read_state(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"sources": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise SourceError(f"{path}: unreadable ({e}); expected the importer's state file") from e
    if not isinstance(data, dict) or not isinstance(data.get("sources"), dict):
        raise SourceError(f"{path}: expected an object with a 'sources' map")
    return data


def _write_state(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def _open_index(folder: Path, embedding: Any, log: Callable[[str], None]) -> Any:
    from leann_engine import LeannIndex

    engine = folder / ENGINE_DIR
    if (engine / "manifest.json").exists():
        if (folder / "sources.json").exists() and not (folder / STATE_FILE).exists():
            raise SourceError(
                f"{folder}: this index was built from documents by `leann build`; choose another index name"
            )
        return LeannIndex(engine, embedding)
    folder.mkdir(parents=True, exist_ok=True)
    log(f"creating index at {folder}")
    return LeannIndex.create(engine, embedding)


def sync_items(
    name: str,
    source_key: str,
    items: Iterable[Item],
    *,
    embedding: Any = None,
    base: str | Path | None = None,
    log: Callable[[str], None] = lambda s: None,
) -> SyncReport:
    """Make index ``name`` hold exactly ``items`` for ``source_key`` (other sources untouched).

    ``embedding``: an embedder object or model name (default: the index's, or the engine default).
    """
    folder = index_folder(name, base)
    current: dict[str, Item] = {}
    for it in items:  # read everything first: a parse error must not leave a half-updated index
        if not it.text.strip():
            continue
        current[it.id] = it
    state_path = folder / STATE_FILE
    state = _read_state(state_path)
    before: dict[str, str] = dict(state["sources"].get(source_key, {}))
    digests = {i: _digest(it) for i, it in current.items()}
    fresh = [it for i, it in current.items() if before.get(i) != digests[i]]
    gone = [i for i in before if i not in current]
    index = _open_index(folder, embedding, log)
    if fresh:
        index.add_texts([it.text for it in fresh], [it.metadata for it in fresh], [it.id for it in fresh])
    deleted = index.delete(gone) if gone else 0
    state["sources"][source_key] = digests
    _write_state(state_path, state)
    return SyncReport(
        added=len(fresh), deleted=deleted, kept=len(current) - len(fresh), embedded_texts=len(fresh)
    )
