"""A sharded index on disk: which shard a passage goes to, the top manifest, the commit.

A sharded index is one folder whose ``manifest.json`` is an ordinary manifest (so
:func:`~leann_engine.index_info` and ``leann list`` read it) with a ``shards`` section and no
files of its own. The shards live in one generation-named folder beside it::

    docs.leann/
      manifest.json                 {"shards": {"dir": "base-000001.shards", "names": [...], ...}, ...}
      base-000001.shards/
        shard-000/  manifest.json base-000001.graph ...   (a normal index)
        shard-001/  ...

The shards are built into the stage folder of :mod:`leann_engine.build.commit` and published
with :func:`~leann_engine.build.commit.commit_stage`: under the index's write lock, the whole
``shards`` folder is renamed to its generation name and then the manifest replaced. A build
that fails or is killed before that leaves the previous index (sharded or not) as it was; its
stage folder is removed by the build itself, or by the next commit when the process died.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from leann_engine.build.commit import Stage, base_manifest, commit_stage
from leann_engine.params import BuildParams
from leann_engine.store.io import fsync_dir, gen_name
from leann_engine.store.manifest import MANIFEST, commit_manifest, read_manifest
from leann_engine.store.usage import DiskUsage, usage_of

# How ids map to shards, recorded in the manifest so a later reader routes the same way.
ASSIGNMENT = "blake2b-64-mod"


SHARDS_EXT = "shards"


STAGED_SHARDS = "shards"  # the folder inside the stage that becomes base-N.shards


def shard_of(passage_id: str, num_shards: int) -> int:
    """The shard of ``passage_id``: stable across processes, machines and Python versions
    (a keyed hash, not Python's randomised ``hash``)."""
    digest = hashlib.blake2b(str(passage_id).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % num_shards


def shard_name(i: int) -> str:
    return f"shard-{i:03d}"


def check_num_shards(num_shards: Any) -> int:
    if isinstance(num_shards, bool) or not isinstance(num_shards, int) or not 1 <= num_shards <= 4096:
        raise ValueError(f"num_shards must be an integer from 1 to 4096, got {num_shards!r}")
    return num_shards


def sharded_section(manifest: dict[str, Any] | None) -> dict[str, Any] | None:
    """The ``shards`` section of a manifest, or ``None`` for a single index."""
    if not manifest:
        return None
    section = manifest.get("shards")
    return section if isinstance(section, dict) else None


def is_sharded(path: str | Path) -> bool:
    """Whether ``path`` holds a sharded index (a cheap look at its manifest; ``False`` when
    there is no readable manifest, so the normal reader reports what is wrong)."""
    try:
        data = json.loads((Path(path) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return isinstance(data, dict) and isinstance(data.get("shards"), dict)


def class_for(cls: type, path: str | Path | None, kind: str) -> type:
    """What ``LeannSearcher(path)``/``LeannIndex(path)`` (``kind`` ``"searcher"``/``"index"``)
    construct: the sharded class for a sharded folder, else ``cls`` (subclasses are kept)."""
    from leann_engine.index import LeannIndex
    from leann_engine.search.searcher import LeannSearcher

    base = LeannSearcher if kind == "searcher" else LeannIndex
    if cls is not base or path is None or not is_sharded(path):
        return cls
    if kind == "searcher":
        from leann_engine.shard.searcher import ShardedSearcher

        return ShardedSearcher
    from leann_engine.shard.index import ShardedIndex

    return ShardedIndex


def shard_paths(path: Path, manifest: dict[str, Any]) -> list[Path]:
    section = sharded_section(manifest)
    if section is None:
        raise ValueError(f"{path} is not a sharded index")
    return [path / section["dir"] / name for name in section["names"]]


def remove_old_shard_dirs(path: Path, keep: set[str]) -> None:
    """Remove shard folders no live generation names (the current and the previous one stay,
    for readers that opened them a moment before, like files in :func:`commit_manifest`)."""
    for entry in path.glob(f"base-*.{SHARDS_EXT}"):
        if entry.name not in keep and entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)


def commit_shards(
    stage: Stage,
    *,
    params: BuildParams,
    embedding_model: str,
    dimension: int,
    shard_manifests: list[dict[str, Any]],
    extra: dict[str, Any],
    lock_timeout: float = 60.0,
) -> dict[str, Any]:
    """Publish the shards built in ``stage.dir / "shards"`` as the next generation of the index."""
    path = stage.index_path
    rows = [int(m["counts"]["passages"]) for m in shard_manifests]
    kept: dict[str, str | None] = {}

    def make(gen: int, previous: dict[str, Any] | None, files: dict[str, str], checksums: dict[str, int]):
        name = gen_name("base", gen, SHARDS_EXT)
        target = path / name
        if target.exists():  # left by a process killed between this rename and its manifest
            shutil.rmtree(target)
        os.replace(stage.dir / STAGED_SHARDS, target)
        fsync_dir(path)
        kept["new"] = name
        kept["old"] = (sharded_section(previous) or {}).get("dir")
        m = base_manifest(
            gen=gen, previous=previous, params=params, embedding_model=embedding_model,
            dimension=dimension, rows=sum(rows), files=files, checksums=checksums, extra=extra,
        )
        m["shards"] = {
            "dir": name,
            "names": [shard_name(i) for i in range(len(shard_manifests))],
            "count": len(shard_manifests),
            "assignment": ASSIGNMENT,
            "rows": rows,
        }
        return m

    manifest = commit_stage(stage, expect=None, lock_timeout=lock_timeout, make_manifest=make)
    remove_old_shard_dirs(path, {v for v in kept.values() if v})
    return manifest


def refresh_counts(path: Path) -> dict[str, Any]:
    """Rewrite the top manifest's counts from its shards' manifests (after updates to shards;
    the caller holds the index's write lock)."""
    previous = read_manifest(path)
    m = {k: v for k, v in previous.items() if k != "previous_files"}
    totals = {"passages": 0, "base": 0, "delta": 0, "deleted": 0}
    rows = []
    for shard in shard_paths(path, previous):
        counts = read_manifest(shard)["counts"]
        rows.append(int(counts["passages"]))
        for k in totals:
            totals[k] += int(counts.get(k, 0))
    m["counts"] = totals
    m["shards"] = {**m["shards"], "rows": rows}
    m["generation"] = int(previous["generation"]) + 1
    m["delta"] = {**m["delta"], "data": gen_name("delta", m["generation"], "jsonl"),
                  "embeddings": gen_name("delta", m["generation"], "f32")}
    m["base"] = {**m["base"], "rows": totals["base"]}
    commit_manifest(path, m, previous)
    return m


def sharded_usage(path: Path, manifest: dict[str, Any]) -> DiskUsage:
    """Disk usage of a sharded index: its shards' parts added up, plus the top manifest."""
    total = usage_of(path, {**manifest, "files": {}, "delta": {}})
    for shard in shard_paths(path, manifest):
        part = usage_of(shard, read_manifest(shard))
        for name in ("graph", "codes", "hubs", "keyword", "passages", "embeddings", "other"):
            setattr(total, name, getattr(total, name) + getattr(part, name))
    return total
