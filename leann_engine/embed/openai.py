"""Embeddings from any OpenAI-compatible server: ``POST {base_url}/embeddings``
(OpenAI, LM Studio, vLLM, llama.cpp's server, Ollama's ``/v1``)."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from leann_engine.embed.http import JsonClient
from leann_engine.embed.remote import RemoteEmbedder
from leann_engine.errors import ProviderError

OPENAI_BASE_URL = "https://api.openai.com/v1"
# Inputs per request: OpenAI accepts up to 2,048 (and 300,000 tokens); 256 chunks of ~250
# tokens stay well inside both and inside local servers' batch limits.
DEFAULT_BATCH_SIZE = 256
KEY_HINT = (
    "set the OPENAI_API_KEY environment variable, or pass embedding_options={'api_key': ...} "
    "(CLI: --embedding-api-key)"
)


def _official(base_url: str) -> bool:
    return (urlsplit(base_url).hostname or "").endswith("api.openai.com")


class OpenAIEmbedder(RemoteEmbedder):
    """``embedding_mode="openai"``.

    Args:
        model: the server's model name (``text-embedding-3-small``, or what a local server serves).
        base_url: default the ``OPENAI_BASE_URL`` environment variable, else OpenAI's endpoint.
        api_key: default ``OPENAI_API_KEY``; required by OpenAI's endpoint, optional for local
            servers. Held in memory only: an index records the base URL, never the key.
        dimensions: ask the model for vectors this size (models that take it, e.g. the
            ``text-embedding-3`` family); every answer is checked against it.
        batch_size: texts per request (default 256). timeout, max_retries, backoff: see
            :class:`~leann_engine.embed.http.JsonClient`.
    """

    mode = "openai"
    path = "/embeddings"

    def __init__(
        self,
        model: str = "text-embedding-3-small",
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        dimensions: int | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        base = (base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_BASE_URL).rstrip("/")
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        if not key and _official(base):
            raise ProviderError(f"embedding_mode='openai' at {base} needs an API key: {KEY_HINT}")
        if dimensions is not None and (isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1):
            raise ValueError(f"embedding_options dimensions must be a positive integer, got {dimensions!r}")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        client = JsonClient(
            base,
            headers=headers,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            setup_hint=f"Start the server, or set OPENAI_BASE_URL / embedding_options={{'base_url': ...}} (CLI: --embedding-api-base); now {base}",
            auth_hint=KEY_HINT,
        )
        super().__init__(model, client, batch_size, dimensions)
        self.base_url = base
        self.requested_dimensions = dimensions

    def payload(self, texts: list[str]) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.name, "input": texts, "encoding_format": "float"}
        if self.requested_dimensions is not None:
            body["dimensions"] = self.requested_dimensions
        return body

    def vectors(self, answer: Any, n: int) -> list[Any]:
        data = sorted(answer["data"], key=lambda d: d.get("index", 0))
        return [d["embedding"] for d in data]

    def manifest_entry(self) -> dict[str, Any]:
        """What an index records to reconnect (never the key)."""
        entry: dict[str, Any] = {"base_url": self.base_url}
        if self.requested_dimensions is not None:
            entry["dimensions"] = self.requested_dimensions
        return entry
