"""An embedder for builds that borrows the running daemon's warm model (``leann build`` uses it)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from .daemon import request


class DaemonEmbedder:
    """An :class:`~leann_engine.Embedder` that embeds through the running daemon's warm model."""

    def __init__(self, model: str, path: Path | None = None) -> None:
        self._model = model
        self._path = path
        reply = self._call(["dimension probe"])
        self.name: str = reply["name"]
        self.dimension: int = int(reply["dimension"])

    def _call(self, texts: list[str], query: bool = False) -> dict[str, Any]:
        msg = {"op": "embed", "model": self._model, "texts": texts, "query": query}
        reply = request(msg, path=self._path)
        if not reply.get("ok"):
            raise RuntimeError(reply.get("error", "the daemon could not embed"))
        return reply

    def embed(self, texts: list[str], *, query: bool = False) -> Any:
        import numpy as np

        reply = self._call(list(texts), query)
        flat = np.frombuffer(base64.b64decode(reply["vectors"]), dtype="<f4")
        return flat.reshape(len(texts), int(reply["dimension"])).astype(np.float32)

    def embed_query(self, texts: list[str]) -> Any:
        return self.embed(texts, query=True)
