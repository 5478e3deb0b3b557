"""A small streaming client for Ollama's ``/api/chat`` (JSON lines), on the standard library.

The ``ollama`` package is not needed: ``leann serve`` stays within the standard library.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

from .backend import DEFAULT_OLLAMA_HOST, DEFAULT_OLLAMA_MODEL, LLMUnavailableError


def normalize_host(host: str | None) -> str:
    """``localhost:11434`` or ``http://h:p/`` -> ``http://h:p`` (Ollama's OLLAMA_HOST may lack a scheme)."""
    host = (host or os.environ.get("OLLAMA_HOST") or DEFAULT_OLLAMA_HOST).strip().rstrip("/")
    if "://" not in host:
        host = "http://" + host
    if not host.startswith(("http://", "https://")):
        raise ValueError(f"ollama host must be an http(s) address, got {host!r}")
    return host


class OllamaStream:
    """Open a chat stream with :meth:`open` (raises before any text when Ollama is not there),
    then iterate :meth:`pieces` for the answer's text."""

    def __init__(self, host: str | None = None, model: str | None = None, timeout: float = 300.0) -> None:
        self.host = normalize_host(host)
        self.model = model or DEFAULT_OLLAMA_MODEL
        self.timeout = timeout
        self._response: Any = None

    def _not_running(self, e: BaseException) -> LLMUnavailableError:
        return LLMUnavailableError(
            f"Ollama is not running at {self.host} ({type(e).__name__}): start it with `ollama serve` "
            f"(install from ollama.com), then `ollama pull {self.model}`; or start `leann serve` "
            "with --ollama-host pointing to a running one"
        )

    def open(self, messages: list[dict[str, str]]) -> None:
        body = json.dumps({"model": self.model, "messages": messages, "stream": True}).encode()
        req = urllib.request.Request(
            self.host + "/api/chat", data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            self._response = urllib.request.urlopen(req, timeout=self.timeout)
        except urllib.error.HTTPError as e:
            detail = _error_text(e)
            if e.code == 404:
                raise LLMUnavailableError(
                    f"Ollama at {self.host} has no model {self.model!r}: run `ollama pull {self.model}` "
                    f"or choose an installed one ({detail})"
                ) from e
            raise LLMUnavailableError(f"Ollama at {self.host} answered {e.code}: {detail}") from e
        except (TimeoutError, urllib.error.URLError, ConnectionError) as e:
            raise self._not_running(e) from e

    def pieces(self) -> Iterator[str]:
        """The answer's text as it arrives; raises :class:`LLMUnavailableError` on a broken stream."""
        if self._response is None:
            raise RuntimeError("call open() first")
        try:
            with self._response as resp:
                for raw in resp:
                    if not raw.strip():
                        continue
                    part = json.loads(raw)
                    if part.get("error"):
                        raise LLMUnavailableError(f"Ollama at {self.host}: {part['error']}")
                    text = (part.get("message") or {}).get("content") or part.get("response") or ""
                    if text:
                        yield text
                    if part.get("done"):
                        return
        except (OSError, ValueError) as e:
            raise LLMUnavailableError(f"the answer stream from Ollama at {self.host} broke: {e}") from e


def _error_text(e: urllib.error.HTTPError) -> str:
    try:
        data = json.loads(e.read() or b"{}")
        return str(data.get("error") or e.reason)
    except (OSError, ValueError):
        return str(e.reason)
