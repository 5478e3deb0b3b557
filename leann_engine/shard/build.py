"""The sharded build: passages split by id hash, each shard built as a normal index, one commit.

``executor="local"`` builds the shards in local worker processes (``workers`` of them, each
loading the model once); ``executor="ray"`` embeds with Ray Data and builds each shard as a Ray
task (:mod:`leann_engine.shard.ray_exec`). Both stage every shard aside and publish them with
one manifest (:func:`~leann_engine.shard.layout.commit_shards`); a failure anywhere, a killed
worker included, raises and leaves the index at ``path`` as it was.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from leann_engine.build.commit import Stage
from leann_engine.build.pipeline import Passages, prepare_target
from leann_engine.errors import LeannError
from leann_engine.shard.layout import STAGED_SHARDS, check_num_shards, commit_shards, shard_name, shard_of
from leann_engine.shard.work import EmbedderSpec, build_shard

EXECUTORS: tuple[str, ...] = ("local", "ray")


class ShardBuildError(LeannError):
    """A shard's worker failed or died; the index at the path is unchanged."""


def split_passages(passages: Passages, num_shards: int) -> list[list[int]]:
    """Positions of the passages of each shard, in input order (by :func:`shard_of` of the id)."""
    groups: list[list[int]] = [[] for _ in range(num_shards)]
    for i, pid in enumerate(passages.ids):
        groups[shard_of(pid, num_shards)].append(i)
    return groups


def check_workers(workers: Any, num_shards: int) -> int:
    if workers is None:
        return max(1, min(num_shards, os.cpu_count() or 1))
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer or None, got {workers!r}")
    return workers


def build_sharded(
    builder: Any,
    path: Path,
    *,
    num_shards: int,
    executor: str = "local",
    workers: int | None = None,
    ray_address: str | None = None,
) -> dict[str, Any]:
    """Build ``builder``'s passages as ``num_shards`` shards at ``path``; returns the manifest."""
    check_num_shards(num_shards)
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    n_workers = check_workers(workers, num_shards)
    ids = builder._resolved_ids()
    builder._choose_model()
    dim = builder._dimension()
    prepare_target(path)
    texts: list[str] = []
    metas: list[dict[str, Any]] = []
    for _, t, m in builder._spool.batches(4096):  # shards are split in memory (see docs/SCALING.md)
        texts += t
        metas += m
    passages = Passages(ids, texts, metas)
    groups = split_passages(passages, num_shards)
    spec = EmbedderSpec.of_builder(builder)
    common = {
        "dimension": dim,
        "embedding_model": str(builder.embedder.name),
        "embedding": builder.embedding_section,
    }
    stage = Stage(path)
    try:
        root = stage.dir / STAGED_SHARDS
        root.mkdir()
        if executor == "ray":
            from leann_engine.shard.ray_exec import build_on_ray

            manifests = build_on_ray(passages, groups, root, builder.params, spec, common, n_workers, ray_address)
        else:
            manifests = _build_local(passages, groups, root, builder, spec, common, n_workers)
    except BaseException:
        stage.discard()
        raise
    first = next((m for m in manifests if m["counts"]["passages"]), manifests[0])
    extra = {
        "keyword": first.get("keyword"),
        "calibration": first.get("calibration"),
        "hybrid": first.get("hybrid"),
        "embedding": common["embedding"],
        "graph": {"rows": len(passages), "shards": [m.get("graph") for m in manifests]},
        "build_executor": {"name": executor, "workers": n_workers},
    }
    return commit_shards(
        stage,
        params=builder.params,
        embedding_model=common["embedding_model"],
        dimension=dim,
        shard_manifests=manifests,
        extra=extra,
    )


def _build_local(
    passages: Passages,
    groups: list[list[int]],
    root: Path,
    builder: Any,
    spec: EmbedderSpec,
    common: dict[str, Any],
    workers: int,
) -> list[dict[str, Any]]:
    jobs = [(str(root / shard_name(i)), passages.take(g)) for i, g in enumerate(groups)]
    if workers == 1:
        # One worker: this process, with the model the builder already loaded.
        return [
            build_shard(p, part, builder.params, spec=EmbedderSpec(obj=builder.embedder), **common)
            for p, part in jobs
        ]
    # spawn: a forked child of a process that already runs torch threads can hang.
    ctx = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = [pool.submit(build_shard, p, part, builder.params, spec=spec, **common) for p, part in jobs]
            return [f.result() for f in futures]
    except BrokenProcessPool as e:
        raise ShardBuildError(
            f"sharded build of {root.parent.parent} failed: a worker process died ({e}); "
            "nothing was written to the index"
        ) from e
