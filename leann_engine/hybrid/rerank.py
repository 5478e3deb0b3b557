"""Second-stage rerankers: re-score the best candidates of a search.

- ``"exact"`` (:class:`ExactReranker`): cosine similarity with the index's own embedding model.
  Candidates found by keywords only get embedded; the rest already have exact scores. No extra
  model, so it is always available.
- a cross-encoder (:class:`CrossEncoderReranker`): sentence-transformers ``CrossEncoder`` over
  ``(query, passage)`` pairs, loaded from a model name or local path once per process.

Any object with ``score(query, texts) -> sequence of floats`` (higher is better) can be passed as
``rerank=``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Reranker(Protocol):
    """Scores passages against a query; higher is better."""

    def score(self, query: str, texts: Sequence[str]) -> Sequence[float]: ...


class ExactReranker:
    """Marker for re-scoring with the index's embedding model (done by the searcher)."""

    def score(self, query: str, texts: Sequence[str]) -> Sequence[float]:
        raise TypeError("ExactReranker is applied by LeannSearcher, which has the embeddings")


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


def make_reranker(choice: str | Path | Reranker) -> Reranker:
    """``"exact"``, a cross-encoder model name/path, or a ready reranker object."""
    if isinstance(choice, str) and choice == "exact":
        return ExactReranker()
    if isinstance(choice, (str, Path)):
        return CrossEncoderReranker(choice)
    if isinstance(choice, Reranker):
        return choice
    raise ValueError(
        f"rerank must be True, 'exact', a cross-encoder model name or path, or an object with "
        f"score(query, texts), got {choice!r}"
    )
