"""What an index folder holds, from its manifest alone: disk usage per part and a validated summary."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from leann_engine.params import BuildParams
from leann_engine.store.manifest import MANIFEST, read_manifest

# Manifest "files" key -> the DiskUsage part it counts towards.
_PART_OF = {
    "graph": "graph",
    "pq": "codes",
    "hubs": "hubs",
    "bm25": "keyword",
    "base_data": "passages",
    "base_offsets": "passages",
    "base_ids": "passages",
    "base_blocks": "passages",
    "base_table": "passages",
    "embeddings": "embeddings",
    "tombstones": "other",
}


@dataclass
class DiskUsage:
    """Bytes per part of one committed generation of an index.

    ``passages``: text, metadata, offsets and ids (base and delta); ``embeddings``: stored
    vectors (base when built with ``is_recompute=False``, and the delta's); ``other``: the
    manifest and tombstones. ``rows`` and ``dimensions`` size the float32 flat index the
    ``ratio`` compares with.
    """

    graph: int = 0
    codes: int = 0
    hubs: int = 0
    keyword: int = 0
    passages: int = 0
    embeddings: int = 0
    other: int = 0
    rows: int = 0
    dimensions: int = 0

    @property
    def total(self) -> int:
        return self.graph + self.codes + self.hubs + self.keyword + self.passages + self.embeddings + self.other

    @property
    def index_bytes(self) -> int:
        """Everything but the passages: what the index adds to the text it stores."""
        return self.total - self.passages

    @property
    def flat_bytes(self) -> int:
        """Size of a float32 flat index of the live passages."""
        return self.rows * self.dimensions * 4

    @property
    def ratio(self) -> float:
        return self.index_bytes / self.flat_bytes if self.flat_bytes else 0.0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(total=self.total, index_bytes=self.index_bytes, flat_bytes=self.flat_bytes, ratio=self.ratio)
        return out


def _size(path: Path) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def usage_of(path: Path, m: dict[str, Any]) -> DiskUsage:
    """Disk usage of the generation ``m`` names (committed bytes only for the append-only delta)."""
    use = DiskUsage(rows=int((m.get("counts") or {}).get("passages", 0)), dimensions=int(m["dimensions"]))
    for key, name in m["files"].items():
        if isinstance(name, str):
            part = _PART_OF.get(key, "other")
            setattr(use, part, getattr(use, part) + _size(path / name))
    delta = m["delta"]
    use.passages += int(delta.get("data_bytes", 0))
    use.embeddings += int(delta.get("rows", 0)) * use.dimensions * 4
    use.other += _size(path / MANIFEST)
    return use


def disk_usage(index_path: str | Path) -> DiskUsage:
    """Bytes per part of the index at ``index_path`` (reads the manifest and file sizes only)."""
    path = Path(index_path)
    manifest = read_manifest(path)
    if "shards" in manifest:  # a sharded index: its shards' parts added up
        from leann_engine.shard.layout import sharded_usage

        return sharded_usage(path, manifest)
    return usage_of(path, manifest)


@dataclass
class IndexInfo:
    """A validated summary of an index's manifest (see :func:`index_info`)."""

    path: str
    embedding_model: str
    dimensions: int
    metric: str
    passages: int
    generation: int
    is_recompute: bool
    has_codes: bool
    build: BuildParams
    created_at: str | None
    updated_at: str | None
    keyword_tokenizer: dict[str, Any] | None
    # "sentence-transformers", "openai", "ollama", or "custom" (an embedder object).
    embedding_mode: str = "sentence-transformers"
    # 1 for one index; S for a sharded one (leann_engine.shard)
    shards: int = 1

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["build"] = self.build.to_dict()
        return out


def info_of(path: Path, m: dict[str, Any]) -> IndexInfo:
    keyword = m.get("keyword") or {}
    return IndexInfo(
        path=str(path),
        embedding_model=str(m["embedding_model"]),
        dimensions=int(m["dimensions"]),
        metric=str(m["metric"]),
        passages=int((m.get("counts") or {}).get("passages", m["base"]["rows"])),
        generation=int(m["generation"]),
        is_recompute=bool(m.get("is_recompute", True)),
        has_codes=bool(m["files"].get("pq")),
        build=BuildParams.from_manifest(m),
        created_at=m.get("created_at"),
        updated_at=m.get("updated_at"),
        keyword_tokenizer=keyword.get("tokenizer"),
        embedding_mode=str((m.get("embedding") or {}).get("mode", "sentence-transformers")),
        shards=int((m.get("shards") or {}).get("count", 1)),
    )


def index_info(index_path: str | Path) -> IndexInfo:
    """The manifest of the index at ``index_path``, validated; raises IndexNotFoundError or
    IndexFormatError like :class:`~leann_engine.LeannSearcher`."""
    path = Path(index_path)
    return info_of(path, read_manifest(path))
