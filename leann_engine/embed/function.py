"""A plain function as an embedder."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


class FunctionEmbedder:
    """Wrap a plain function ``list[str] -> array-like`` as an :class:`Embedder`."""

    def __init__(self, fn: Callable[[list[str]], Any], dimension: int, name: str = "function") -> None:
        if not callable(fn):
            raise ValueError(f"fn must be callable (list[str] -> vectors), got {type(fn).__name__}")
        if isinstance(dimension, bool) or not isinstance(dimension, int) or dimension < 1:
            raise ValueError(f"dimension must be a positive integer, got {dimension!r}")
        self._fn = fn
        self.dimension = dimension
        self.name = name

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.asarray(self._fn(list(texts)), dtype=np.float32)
