"""Passage input checks and batched embedding, shared by the builder and the read-write index."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from leann_engine.embed.base import Embedder, embed_checked


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
    bar: Any = None,
) -> np.ndarray:
    """Embed many texts in batches, with an optional progress bar.

    Texts go to the model longest first across the whole list, not only within a call, so
    every batch pads to about the same length. ``bar``: a progress bar to advance (the caller
    closes it), for a build that embeds in windows.
    """
    out = np.zeros((len(texts), dimension), dtype=np.float32)
    own = bar is None and show_progress
    if own:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(texts), desc=desc, unit="chunk")
    order = np.argsort([-len(t) for t in texts], kind="stable")
    for s in range(0, len(texts), batch):
        rows = order[s : s + batch]
        part = [texts[i] for i in rows]
        out[rows] = embed_checked(embedder, part, dimension)
        if bar is not None:
            bar.update(len(part))
    if own:
        bar.close()
    return out
