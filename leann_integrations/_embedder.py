"""One framework-embedder design for both adapters: a model's batch function with a memo.

Both frameworks hand the store vectors they have just computed (LangChain: the store's own first
embedding of a batch; LlamaIndex: a node's ``embedding``). The engine asks its embedder for those
same texts moments later (to build the graph, to calibrate); the memo answers them without a
second, possibly paid, model call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

EmbedFn = Callable[[list[str]], Any]


class MemoEmbedder:
    """A framework's ``texts -> vectors`` function seen as a :class:`leann_engine.Embedder`.

    Args:
        embed_fn: embeds a list of passages (LangChain ``embed_documents``, LlamaIndex
            ``get_text_embedding_batch``); returns one vector per text.
        name: the model name recorded in (and checked against) the index manifest.
        dimension: the vector size if known; otherwise taken from the first vectors seen, or
            probed with one call.
    """

    def __init__(self, embed_fn: EmbedFn, name: str, dimension: int | None = None) -> None:
        if not callable(embed_fn):
            raise ValueError(f"embed_fn must be callable, got {type(embed_fn).__name__}")
        if not isinstance(name, str) or not name:
            raise ValueError(f"name must be a non-empty string, got {name!r}")
        self.embed_fn = embed_fn
        self.name = name
        self._dimension = dimension
        self._memo: dict[str, np.ndarray] = {}

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._dimension = int(self._call(["dimension probe"]).shape[1])
        return self._dimension

    def remember(self, texts: Iterable[str], vectors: Any) -> None:
        """Serve these text -> vector pairs without calling the model, until :meth:`forget`."""
        rows = np.asarray(vectors, dtype=np.float32)
        texts = list(texts)
        if rows.ndim != 2 or rows.shape[0] != len(texts):
            raise ValueError(f"remember got {rows.shape[0] if rows.ndim else 0} vectors for {len(texts)} texts")
        self._memo.update(zip(texts, rows))
        if self._dimension is None and len(rows):
            self._dimension = int(rows.shape[1])

    def forget(self) -> None:
        self._memo.clear()

    @contextmanager
    def known(self, vectors: Mapping[str, Any]) -> Iterator[None]:
        """Remember ``text -> vector`` pairs while the block runs."""
        try:
            if vectors:
                texts = list(vectors)
                self.remember(texts, [vectors[t] for t in texts])
            yield
        finally:
            self.forget()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Each distinct unknown text once, in first-seen order.
        todo = list(dict.fromkeys(t for t in texts if t not in self._memo))
        fresh = dict(zip(todo, self._call(todo))) if todo else {}
        return np.stack([self._memo[t] if t in self._memo else fresh[t] for t in texts]).astype(
            np.float32, copy=False
        )

    def _call(self, texts: list[str]) -> np.ndarray:
        rows = np.asarray(self.embed_fn(texts), dtype=np.float32)
        if rows.ndim != 2 or rows.shape[0] != len(texts):
            raise ValueError(
                f"embedding model {self.name!r} returned {rows.shape[0] if rows.ndim else 0} vectors "
                f"for {len(texts)} texts"
            )
        return rows

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"
