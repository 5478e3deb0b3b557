"""``sources.json``: what the last build of an index read, so the next build touches only changes.

Beside the engine folder (``.leann/indexes/NAME/sources.json``): the docs roots, the folder source
names are relative to, the build options (:meth:`BuildOptions.to_record`), and per file its size,
modification time, SHA-256 and number of chunks. Written with the engine's ``atomic_write``
(write aside, fsync, rename), so a crash leaves the old record or the new one, whole.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leann_engine import atomic_write

from ..indexes import SOURCES_FILE

SOURCES_VERSION = 2
# Version 1 kept the embedding model inside the "chunking" options; it is still read.
READABLE_VERSIONS = (1, 2)
_HASH_BLOCK = 1 << 20


@dataclass
class SourcesRecord:
    """The build record of one index."""

    docs: list[str] = field(default_factory=list)
    base: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": SOURCES_VERSION,
            "docs": self.docs,
            "base": self.base,
            "options": self.options,
            "files": self.files,
        }


def read_sources(folder: Path) -> SourcesRecord | None:
    """The record in ``folder``, or None when there is none or it cannot be used (a full rebuild)."""
    try:
        data = json.loads((Path(folder) / SOURCES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") not in READABLE_VERSIONS:
        return None
    return SourcesRecord(
        docs=list(data.get("docs") or []),
        base=str(data.get("base") or ""),
        options=dict(data.get("options") or {}),
        files=dict(data.get("files") or {}),
    )


def write_sources(folder: Path, record: SourcesRecord) -> None:
    """Replace the record in ``folder`` atomically and durably."""
    data = json.dumps(record.to_json(), indent=1, sort_keys=True).encode("utf-8")
    atomic_write(Path(folder) / SOURCES_FILE, data)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_HASH_BLOCK):
            h.update(block)
    return h.hexdigest()
