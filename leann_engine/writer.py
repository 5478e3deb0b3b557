"""Writing helpers shared by the builder and the read-write index: validation, batched
embedding, preparing the target folder, and writing + committing a whole new generation."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._version import __version__
from .calibrate import probe_dense
from .embedding import Embedder, embed_checked
from .errors import IndexFormatError
from .params import BuildParams
from .segment import write_base
from .storage import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    OWN_FILE_PREFIXES,
    commit_manifest,
    gen_name,
    read_manifest,
)
from .tokenize import Tokenizer

def prepare_passages(
    texts: Sequence[str], metadatas: Sequence[dict[str, Any] | None] | None, ids: Sequence[Any] | None
) -> tuple[list[str], list[dict[str, Any]], list[str] | None]:
    """Validate parallel lists of texts, metadata and ids; ids may be ``None`` (auto)."""
    if isinstance(texts, str):
        raise ValueError("texts must be a list of strings, got a single string")
    texts = list(texts)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise ValueError(f"texts[{i}] must be a string, got {type(t).__name__}")
    if metadatas is None:
        metas: list[dict[str, Any]] = [{} for _ in texts]
    else:
        metas = [dict(m) if m is not None else {} for m in metadatas]
        if len(metas) != len(texts):
            raise ValueError(f"metadatas has {len(metas)} entries for {len(texts)} texts")
    out_ids = None
    if ids is not None:
        out_ids = [str(i) for i in ids]
        if len(out_ids) != len(texts):
            raise ValueError(f"ids has {len(out_ids)} entries for {len(texts)} texts")
        if any(not i for i in out_ids):
            raise ValueError("ids must be non-empty strings")
    for i, m in enumerate(metas):
        try:
            json.dumps(m)
        except (TypeError, ValueError) as e:
            raise ValueError(f"metadatas[{i}] is not JSON-serialisable: {e}") from e
    return texts, metas, out_ids


def embed_all(
    embedder: Embedder,
    texts: Sequence[str],
    dimension: int,
    *,
    batch: int = 256,
    show_progress: bool = False,
    desc: str = "embedding",
) -> np.ndarray:
    """Embed many texts in batches, with an optional progress bar.

    Texts go to the model longest first across the whole list, not only within a call, so
    every batch pads to about the same length.
    """
    out = np.zeros((len(texts), dimension), dtype=np.float32)
    bar = None
    if show_progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(texts), desc=desc, unit="chunk")
    order = np.argsort([-len(t) for t in texts], kind="stable")
    for s in range(0, len(texts), batch):
        rows = order[s : s + batch]
        part = [texts[i] for i in rows]
        out[rows] = embed_checked(embedder, part, dimension)
        if bar is not None:
            bar.update(len(part))
    if bar is not None:
        bar.close()
    return out


def read_previous(path: Path) -> dict[str, Any] | None:
    """The manifest of the index at ``path`` that a new build replaces (``None``: none or corrupt)."""
    if not (path / MANIFEST).exists():
        return None
    try:
        return read_manifest(path)
    except IndexFormatError:
        return None  # a corrupt index is replaced by the new build


def prepare_target(path: Path) -> None:
    """Create ``path`` for a new index, or check that it holds an index to replace.

    A folder that holds other files and no index is refused rather than written into.
    """
    if path.exists() and not path.is_dir():
        raise ValueError(f"index_path {path} is a file; give a folder path (e.g. 'demo.leann')")
    if path.exists():
        if (path / MANIFEST).exists():
            return
        strays = [p.name for p in path.iterdir() if not p.name.startswith(OWN_FILE_PREFIXES)]
        if strays:
            raise ValueError(
                f"index_path {path} is a folder with other files ({', '.join(sorted(strays)[:3])}...) "
                "and no index: choose an empty or new folder"
            )
        return
    path.mkdir(parents=True)


def write_index(
    path: Path,
    *,
    ids: list[str],
    texts: list[str],
    metas: list[dict[str, Any]],
    vectors: np.ndarray,
    embedding_model: str,
    dimension: int,
    params: BuildParams,
    previous: dict[str, Any] | None,
    embedder: Embedder | None = None,
    calibration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write a complete new generation (base segment, empty delta) and commit it.

    Must be called under the write lock. ``vectors`` are already in metric space. ``embedder``,
    when given and ``params.calibrate``, calibrates the hybrid fusion unless a ``calibration``
    from before is passed on (compaction keeps the one it has).
    """
    gen = int(previous["generation"]) + 1 if previous else 1
    t0 = time.perf_counter()
    files, checksums, gstats = write_base(path, gen, ids, texts, metas, vectors, params)
    if calibration is None and params.calibrate and embedder is not None:
        calibration = probe_dense(embedder, texts, vectors, params.metric)
    tokenizer = Tokenizer(params.stopwords) if params.keyword_index else None
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "library": f"leann_engine {__version__}",
        "created_at": previous.get("created_at", now) if previous else now,
        "generation": gen,
        "backend_name": "hnsw",
        "embedding_model": embedding_model,
        "dimensions": dimension,
        "metric": params.metric,
        "is_recompute": params.is_recompute,
        "is_compact": params.is_compact,
        "build": params.manifest_build(),
        "graph": gstats,
        "base": {"rows": len(ids)},
        "delta": {
            "data": gen_name("delta", gen, "jsonl"),
            "embeddings": gen_name("delta", gen, "f32"),
            "rows": 0,
            "data_bytes": 0,
            "data_crc": 0,
        },
        "keyword": {"tokenizer": tokenizer.config()} if tokenizer is not None else None,
        "calibration": calibration,
        "hybrid": {"keyword_index": params.keyword_index, "calibrate": params.calibrate},
        "files": files,
        "checksums": checksums,
        "counts": {"passages": len(ids), "base": len(ids), "delta": 0, "deleted": 0},
        "graph_build_s": round(time.perf_counter() - t0, 3),
    }
    commit_manifest(path, manifest, previous)
    return manifest
