"""Second-stage rerankers: re-score the best candidates of a search.

- ``"exact"`` (:class:`ExactReranker`): similarity of the query vector to each candidate's
  embedding by the index's own model (stored, cached from the walk, or recomputed). No extra
  model, so it is always available.
- a cross-encoder (:class:`CrossEncoderReranker`): sentence-transformers ``CrossEncoder`` over
  ``(query, passage)`` pairs, loaded from a model name or local path once per process.

Any object with ``score(query, texts) -> sequence of floats`` (higher is better) can be passed as
``rerank=``. The searcher hands every reranker the same :class:`Candidates`: the passage texts,
which also carry their index rows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Reranker(Protocol):
    """Scores passages against a query; higher is better."""

    def score(self, query: str, texts: Sequence[str]) -> Sequence[float]: ...


class Candidates(tuple[str, ...]):
    """Passage texts to rerank, in order, with their index rows in ``rows``."""

    rows: tuple[int, ...]

    def __new__(cls, texts: Iterable[str], rows: Iterable[int]) -> Candidates:
        self = super().__new__(cls, texts)
        self.rows = tuple(int(r) for r in rows)
        if len(self.rows) != len(self):
            raise ValueError(f"Candidates: {len(self)} texts but {len(self.rows)} rows")
        return self


class ExactReranker:
    """Scores candidates by the dot product of the query vector with their embeddings.

    Args:
        query_vector: returns the query's vector in the index's metric space (called once per
            :meth:`score`, so a searcher can embed the query lazily).
        vectors_for: returns the metric-space embeddings of index rows, one per row; a searcher
            passes one that reuses the embeddings its graph walk already computed.
    """

    def __init__(
        self,
        query_vector: Callable[[], np.ndarray],
        vectors_for: Callable[[Sequence[int]], np.ndarray],
    ) -> None:
        self.query_vector = query_vector
        self.vectors_for = vectors_for

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        rows = getattr(texts, "rows", None)
        if rows is None:
            raise ValueError("ExactReranker scores index passages: pass Candidates(texts, rows)")
        if not rows:
            return []
        vecs = np.asarray(self.vectors_for(list(rows)), dtype=np.float32)
        return [float(s) for s in vecs @ self.query_vector()]


_MODELS: dict[tuple[str, str, int | None], Any] = {}


_LOCK = threading.Lock()


class CrossEncoderReranker:
    """A sentence-transformers ``CrossEncoder`` (e.g. ``cross-encoder/ms-marco-MiniLM-L-6-v2``).

    Args:
        model: a model name or a local directory.
        batch_size: pairs per forward pass.
        max_length: token limit per pair (the model's own when ``None``).
        device: ``"cpu"``, ``"cuda"``, ... (sentence-transformers picks when ``None``).
    """

    def __init__(
        self,
        model: str | Path,
        *,
        batch_size: int = 32,
        max_length: int | None = None,
        device: str | None = None,
    ) -> None:
        if not isinstance(model, (str, Path)) or not str(model):
            raise ValueError(f"rerank model must be a model name or a local path, got {model!r}")
        self.name = str(Path(model).resolve()) if Path(model).exists() else str(model)
        self.batch_size = int(batch_size)
        self.max_length = max_length
        self.device = device
        self._model: Any = None

    @property
    def model(self) -> Any:
        if self._model is None:
            key = (self.name, self.device or "", self.max_length)
            with _LOCK:
                if key not in _MODELS:
                    from sentence_transformers import CrossEncoder

                    try:
                        _MODELS[key] = CrossEncoder(self.name, max_length=self.max_length, device=self.device)
                    except (OSError, ValueError) as e:
                        raise ValueError(
                            f"cannot load cross-encoder {self.name!r}: {e}. Pass a local model folder "
                            "or a model name available offline"
                        ) from e
                self._model = _MODELS[key]
        return self._model

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        out = self.model.predict(
            [(query, t) for t in texts],
            batch_size=self.batch_size,
            show_progress_bar=False,
            convert_to_numpy=True,
        )
        return [float(x) for x in out.reshape(len(texts), -1)[:, -1]]


def make_reranker(
    choice: str | Path | Reranker,
    *,
    query_vector: Callable[[], np.ndarray] | None = None,
    vectors_for: Callable[[Sequence[int]], np.ndarray] | None = None,
) -> Reranker:
    """``"exact"`` (with the two callbacks of :class:`ExactReranker`), a cross-encoder model
    name/path, or a ready reranker object."""
    if isinstance(choice, str) and choice == "exact":
        if query_vector is None or vectors_for is None:
            raise ValueError("rerank='exact' needs the index's embeddings: pass query_vector and vectors_for")
        return ExactReranker(query_vector, vectors_for)
    if isinstance(choice, (str, Path)):
        return CrossEncoderReranker(choice)
    if isinstance(choice, Reranker):
        return choice
    raise ValueError(
        f"rerank must be True, 'exact', a cross-encoder model name or path, or an object with "
        f"score(query, texts), got {choice!r}"
    )


def check_rerank(choice: str | Path | Reranker) -> None:
    """Raise ``ValueError`` unless ``choice`` names or is a reranker (no model is loaded)."""
    if not (isinstance(choice, str) and choice == "exact"):
        make_reranker(choice)
