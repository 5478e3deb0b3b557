"""Prompt templates: text put before every passage and every query before the model sees it.

An index records its templates; every entry point (build, recomputation at search, updates,
compaction, calibration probes) embeds through :class:`TemplatedEmbedder`, so a recomputed
vector matches the one the graph was built from.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

# e5 models are trained with these prefixes and lose quality without them.
E5_TEMPLATES = ("passage: ", "query: ")


def default_templates(model_name: str, embedder: Any) -> tuple[str, str]:
    """The templates to use when the user gave none: e5's for an e5-family model name, unless
    the embedder has its own ``embed_query`` (then it applies its model's conventions itself)."""
    if hasattr(embedder, "embed_query"):
        return "", ""
    base = model_name.rsplit("/", 1)[-1].lower()
    if base.startswith(("e5-", "multilingual-e5")) or "-e5-" in base:
        return E5_TEMPLATES
    return "", ""


def embed_queries(embedder: Any, texts: Sequence[str]) -> np.ndarray:
    """Embed query texts: with the embedder's ``embed_query`` when it has one, else ``embed``."""
    fn = getattr(embedder, "embed_query", None)
    return np.asarray(fn(list(texts)) if fn is not None else embedder.embed(list(texts)), dtype=np.float32)


class TemplatedEmbedder:
    """Wrap an embedder so passages get ``passage_template`` and queries ``query_template``
    put before them. ``name``, ``dimension`` and the provider counters are the inner one's."""

    def __init__(self, inner: Any, passage_template: str = "", query_template: str = "") -> None:
        for name, t in (("embedding_prompt_template", passage_template), ("query_prompt_template", query_template)):
            if not isinstance(t, str):
                raise ValueError(f"{name} must be a string, got {type(t).__name__}")
        self.inner = inner
        self.passage_template = passage_template
        self.query_template = query_template

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dimension(self) -> int:
        return int(self.inner.dimension)

    @property
    def requests(self) -> int:
        return int(getattr(self.inner, "requests", 0))

    @property
    def bytes_sent(self) -> int:
        return int(getattr(self.inner, "bytes_sent", 0))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed([self.passage_template + t for t in texts])

    def embed_query(self, texts: Sequence[str]) -> np.ndarray:
        return embed_queries(self.inner, [self.query_template + t for t in texts])

    def __getattr__(self, attr: str) -> Any:
        # Anything else (model, batch_size, close, known/remember of adapters) is the inner one's.
        if attr == "inner":
            raise AttributeError(attr)
        return getattr(self.inner, attr)

    def __repr__(self) -> str:
        return f"TemplatedEmbedder({self.inner!r}, {self.passage_template!r}, {self.query_template!r})"


def with_templates(embedder: Any, passage_template: str | None, query_template: str | None) -> Any:
    """``embedder`` itself when both templates are empty, else wrapped."""
    if not passage_template and not query_template:
        return embedder
    return TemplatedEmbedder(embedder, passage_template or "", query_template or "")
