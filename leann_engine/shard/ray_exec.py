"""Ray: the sharded build across a cluster, and one warm actor per shard for searches.

Build: a Ray Data dataset of the passages is embedded by a pool of actors (``map_batches`` with
a callable class: the model is loaded once per actor, on a GPU when the cluster has one), then
grouped by shard; each group is built as a normal index by one Ray task
(:func:`~leann_engine.shard.work.build_shard`). Workers write into the build's stage folder, so
on a cluster of several machines the index path must be on a filesystem they all mount.
Failures are not retried (a dead worker fails the build, which then leaves the index as it was).
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from leann_engine.build.pipeline import Passages
from leann_engine.embed.base import Embedder, embed_checked, to_metric_space
from leann_engine.errors import LeannError
from leann_engine.params import BuildParams
from leann_engine.shard.layout import shard_name
from leann_engine.shard.work import EmbedderSpec, ShardWorker, build_shard, worker_embedder

RAY_EXTRA = 'pip install "leann-graph-index[ray]"'


class MissingRayError(LeannError, ImportError):
    """``executor="ray"`` without Ray installed."""


# Passages per Ray Data batch sent to an embedding actor.
EMBED_BATCH = 64


def require_ray() -> Any:
    """The ``ray`` module (with Ray Data), or :class:`MissingRayError` naming the extra."""
    try:
        import ray
        import ray.data  # noqa: F401  (Ray Data needs pandas and pyarrow: the extra brings them)
    except ImportError as e:
        raise MissingRayError(f'executor="ray" needs Ray with Ray Data ({e}): {RAY_EXTRA}') from e
    return ray


def connect(address: str | None = None) -> Any:
    """Ray, connected: to ``address`` (``"auto"``, ``"ray://host:10001"``, ``"host:6379"``), or a
    new local cluster when ``None`` and none is running. A session already open is kept."""
    ray = require_ray()
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    return ray


class _Embed:
    """A Ray Data actor: one embedder per actor, loaded once, then batch after batch."""

    def __init__(self, spec: EmbedderSpec, metric: str, dimension: int) -> None:
        self.embedder = worker_embedder(spec)
        self.metric, self.dimension = metric, dimension

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vecs = embed_checked(self.embedder, [str(t) for t in batch["text"]], self.dimension)
        batch["vector"] = to_metric_space(vecs, self.metric).astype(np.float32)
        return batch


def _build_group(batch: dict[str, np.ndarray], root: str, params: BuildParams, common: dict[str, Any],
                 spec: EmbedderSpec | None) -> dict[str, np.ndarray]:
    """A Ray task: one shard's rows (with vectors) -> a normal index in the stage folder."""
    order = np.argsort(batch["row"], kind="stable")  # input order, whatever order Ray delivered
    shard = int(batch["shard"][order[0]])
    passages = Passages(
        [str(batch["id"][i]) for i in order],
        [str(batch["text"][i]) for i in order],
        [json.loads(str(batch["meta"][i])) for i in order],
    )
    vectors = np.stack([np.asarray(batch["vector"][i], dtype=np.float32) for i in order])
    build_shard(str(Path(root) / shard_name(shard)), passages, params, spec=spec, vectors=vectors, **common)
    return {"shard": np.array([shard]), "rows": np.array([len(passages)])}


def build_on_ray(
    passages: Passages,
    groups: list[list[int]],
    root: Path,
    params: BuildParams,
    spec: EmbedderSpec,
    common: dict[str, Any],
    workers: int,
    address: str | None,
) -> list[dict[str, Any]]:
    """Embed with Ray Data, build each shard as a Ray task; returns the shards' manifests."""
    ray = connect(address)
    from leann_engine.store.manifest import read_manifest

    shard_of_row = np.empty(len(passages), dtype=np.int64)
    for s, g in enumerate(groups):
        shard_of_row[g] = s
    items = [
        {"row": i, "shard": int(shard_of_row[i]), "id": pid, "text": passages.texts[i], "meta": json.dumps(passages.metas[i])}
        for i, pid in enumerate(passages.ids)
    ]
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    built: set[int] = set()
    try:
        if items:
            built = _run_dataset(ray, items, root, params, spec, common, workers)
        for s in range(len(groups)):
            if s not in built:  # no passage hashed to it: an empty shard, built here
                build_shard(str(root / shard_name(s)), Passages([], []), params, **common)
    except (LeannError, ValueError):
        raise
    except Exception as e:
        raise LeannError(f"sharded build on Ray failed ({type(e).__name__}: {_first_line(e)}); "
                         "nothing was written to the index") from e
    return [read_manifest(root / shard_name(s)) for s in range(len(groups))]


def _run_dataset(
    ray: Any, items: list[dict[str, Any]], root: Path, params: BuildParams, spec: EmbedderSpec,
    common: dict[str, Any], workers: int,
) -> set[int]:
    """Embed (actor pool) then build one shard per group (tasks); returns the shards built."""
    gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
    # At least one block per actor, so every actor gets work.
    blocks = max(min(workers, len(items)), min(len(items) // EMBED_BATCH, 4 * workers))
    ds = ray.data.from_items(items, override_num_blocks=blocks)
    with warnings.catch_warnings():
        # No retries: a dead worker fails the build (Ray Data's default restarts actors forever).
        # Ray takes these only as ``ray_remote_args``, which it now flags as deprecated.
        warnings.simplefilter("ignore", DeprecationWarning)
        ds = ds.map_batches(
            _Embed, fn_constructor_args=(spec, params.metric, int(common["dimension"])),
            batch_size=EMBED_BATCH, batch_format="numpy", concurrency=workers, num_gpus=gpus,
            max_restarts=0, max_task_retries=0,
        )
        calib = spec if params.calibrate else None
        out = ds.groupby("shard").map_groups(
            _build_group, fn_args=(str(root), params, common, calib), batch_format="numpy", max_retries=0,
        )
    return {int(r["shard"]) for r in out.take_all()}


def _first_line(e: BaseException) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(e)).strip().splitlines()
    return text[0][:300] if text else ""


class RayFanout:
    """One Ray actor per shard, each holding its :class:`ShardWorker` (shard and model warm)."""

    def __init__(self, paths: list[Path], embedding: Embedder | None, cache_mb: float, options: dict[str, Any]):
        ray = connect(None)
        self.ray = ray
        cpus = float(ray.cluster_resources().get("CPU", 1.0))
        actor = ray.remote(ShardWorker).options(num_cpus=min(1.0, cpus / max(1, len(paths))), max_restarts=1)
        self.actors = [actor.remote(str(p), embedding, cache_mb, options) for p in paths]

    def run(self, method: str, args: list[tuple[Any, ...]]) -> list[Any]:
        return self.ray.get([a.call.remote(method, *x) for a, x in zip(self.actors, args)])

    def close(self) -> None:
        for a in self.actors:
            self.ray.kill(a)
        self.actors = []
