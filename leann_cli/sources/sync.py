"""Apply a source's current items to a named index: add what is new or changed, delete what is gone.

The whole source is read before the index is touched, so a source that fails to parse leaves the
index as it was. What was indexed from each source is remembered in ``personal-sources.json``
next to the engine folder (id -> content hash); writes go through the engine's public
``LeannIndex.add_texts`` and ``delete``, never a rebuild.

New items are embedded and added in batches of :data:`ADD_BATCH`, so a first import of a large
mailbox holds one batch of vectors at a time; the engine's compaction is held back until the last
batch, which applies its :class:`~leann_engine.CompactionPolicy` once, so a graph-only index is not
re-embedded after every batch.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..indexes import ENGINE_DIR, SOURCES_FILE, CliError, index_dir, is_index
from .base import Item, SourceError

STATE_FILE = "personal-sources.json"
ADD_BATCH = 2048  # items embedded and appended per add_texts call


def index_folder(name: str, base: str | Path | None = None) -> Path:
    """``.leann/indexes/NAME`` under ``base`` (``$LEANN_BASE_DIR`` or the current folder): the
    CLI's own rule (:func:`leann_cli.indexes.index_dir`), so ``leann search NAME`` finds it."""
    try:
        return index_dir(name, base)
    except CliError as e:
        raise SourceError(str(e)) from None


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
    if is_index(engine):
        if (folder / SOURCES_FILE).exists() and not (folder / STATE_FILE).exists():
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
    batch: int = ADD_BATCH,
) -> SyncReport:
    """Make index ``name`` hold exactly ``items`` for ``source_key`` (other sources untouched).

    ``embedding``: an embedder object or model name (default: the index's, or the engine default).
    ``batch``: items embedded per ``add_texts`` call.
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
    try:
        deleted = _apply(index, fresh, gone, batch)
    finally:
        index.close()
    state["sources"][source_key] = digests
    _write_state(state_path, state)
    return SyncReport(
        added=len(fresh), deleted=deleted, kept=len(current) - len(fresh), embedded_texts=len(fresh)
    )


def _apply(index: Any, fresh: list[Item], gone: list[str], batch: int) -> int:
    """Delete ``gone``, add ``fresh`` in batches; the index's compaction policy runs on the last
    write only. Returns how many passages were deleted."""
    if batch < 1:
        raise ValueError(f"batch must be a positive integer, got {batch!r}")
    policy = index.policy
    steps = [fresh[i : i + batch] for i in range(0, len(fresh), batch)]
    index.policy = policy.replace(enabled=False) if steps else policy
    try:
        deleted = index.delete(gone) if gone else 0
        for n, part in enumerate(steps, start=1):
            if n == len(steps):
                index.policy = policy
            index.add_texts([it.text for it in part], [it.metadata for it in part], [it.id for it in part])
    finally:
        index.policy = policy
    return deleted
