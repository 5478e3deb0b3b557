"""What the HTTP embedding providers share: batching, the dimension check and the counters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from leann_engine.embed.http import JsonClient
from leann_engine.errors import ProviderError


def check_batch_size(batch_size: Any) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"embedding_options batch_size must be an integer >= 1, got {batch_size!r}")
    return batch_size


class RemoteEmbedder:
    """An embedder that sends batches of texts to a server (subclasses set the request shape).

    ``requests`` and ``bytes_sent`` count what this embedder sent since it was made.
    Vectors are returned as the server gives them; the engine normalises them for cosine.
    """

    mode = "remote"
    path = "/embed"

    def __init__(self, model: str, client: JsonClient, batch_size: int, dimension: int | None) -> None:
        if not isinstance(model, str) or not model:
            raise ValueError(f"embedding_model must be the provider's model name, got {model!r}")
        self.name = model
        self.client = client
        self.batch_size = check_batch_size(batch_size)
        self._dimension = dimension

    @property
    def url(self) -> str:
        return self.client.base_url + self.path

    @property
    def requests(self) -> int:
        return self.client.requests

    @property
    def bytes_sent(self) -> int:
        return self.client.bytes_sent

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            # Unknown until the server answers once: one short request.
            self._dimension = int(self.embed(["dimension probe"]).shape[1])
        return self._dimension

    def payload(self, texts: list[str]) -> dict[str, Any]:
        raise NotImplementedError

    def vectors(self, answer: Any, n: int) -> list[Any]:
        raise NotImplementedError

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self._dimension or 0), dtype=np.float32)
        parts = []
        for s in range(0, len(texts), self.batch_size):
            batch = texts[s : s + self.batch_size]
            parts.append(self._embed_batch(batch))
        return np.concatenate(parts, axis=0)

    def _embed_batch(self, batch: list[str]) -> np.ndarray:
        answer = self.client.post(self.path, self.payload(batch))
        try:
            rows = self.vectors(answer, len(batch))
            out = np.asarray(rows, dtype=np.float32)
        except (KeyError, TypeError, ValueError, IndexError) as e:
            raise ProviderError(
                f"POST {self.url}: the answer does not hold {len(batch)} embeddings ({e!r}): "
                f"{str(answer)[:200]}"
            ) from None
        if out.ndim != 2 or out.shape[0] != len(batch):
            raise ProviderError(
                f"POST {self.url}: model {self.name!r} returned {out.shape[0] if out.ndim else 0} "
                f"embeddings for {len(batch)} texts"
            )
        if self._dimension is None:
            self._dimension = int(out.shape[1])
        elif out.shape[1] != self._dimension:
            raise ProviderError(
                f"POST {self.url}: model {self.name!r} returned {out.shape[1]}-d vectors, expected "
                f"{self._dimension}-d (the index's or the `dimensions` option's size): use the "
                "model the index was built with"
            )
        return out

    def close(self) -> None:
        self.client.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, url={self.url!r})"
