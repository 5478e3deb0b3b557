"""Embeddings from an Ollama server: ``POST {host}/api/embed`` with a batched ``input`` list."""

from __future__ import annotations

import os
from typing import Any

from leann_engine.embed.http import JsonClient
from leann_engine.embed.remote import RemoteEmbedder

OLLAMA_HOST = "http://localhost:11434"
# Inputs per request: one request embeds the whole batch (an older Ollama path sent one request
# per text, the bug this avoids); 64 keeps one request's work under typical timeouts on CPU.
DEFAULT_BATCH_SIZE = 64


def ollama_host(host: str | None = None) -> str:
    """``host``, else ``OLLAMA_HOST`` (a bare ``host:port`` gets ``http://``), else the default."""
    h = host or os.environ.get("OLLAMA_HOST") or OLLAMA_HOST
    if "://" not in h:
        h = "http://" + h
    return h.rstrip("/")


class OllamaEmbedder(RemoteEmbedder):
    """``embedding_mode="ollama"``.

    Args:
        model: an Ollama embedding model (``nomic-embed-text``, ``all-minilm``, ...).
        host: default the ``OLLAMA_HOST`` environment variable, else ``http://localhost:11434``.
        batch_size: texts per request (default 64). timeout, max_retries, backoff: see
            :class:`~leann_engine.embed.http.JsonClient`.
        truncate: let Ollama cut texts longer than the model's context (default) instead of failing.
    """

    mode = "ollama"
    path = "/api/embed"

    def __init__(
        self,
        model: str = "nomic-embed-text",
        *,
        host: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        timeout: float = 120.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        truncate: bool = True,
        dimensions: int | None = None,
    ) -> None:
        base = ollama_host(host)
        client = JsonClient(
            base,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            setup_hint=(
                f"Is Ollama running? Start it with `ollama serve` (and `ollama pull {model}`), or set "
                f"OLLAMA_HOST / embedding_options={{'host': ...}} (CLI: --embedding-host); now {base}"
            ),
        )
        super().__init__(model, client, batch_size, dimensions)
        self.host = base
        self.truncate = bool(truncate)

    def payload(self, texts: list[str]) -> dict[str, Any]:
        return {"model": self.name, "input": texts, "truncate": self.truncate}

    def vectors(self, answer: Any, n: int) -> list[Any]:
        return list(answer["embeddings"])

    def manifest_entry(self) -> dict[str, Any]:
        """What an index records to reconnect."""
        return {"host": self.host}
