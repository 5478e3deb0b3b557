"""A small JSON-over-HTTP client shared by the embedding providers (standard library only).

One keep-alive connection per client, timeouts, retries with exponential backoff on 429, 5xx,
timeouts and dropped connections, and counters of requests and bytes sent (``SearchStats``
reports them per search).
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from leann_engine.errors import ProviderError

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Longest wait a server's Retry-After may impose before one retry.
MAX_RETRY_AFTER_S = 30.0


def _server_message(body: bytes) -> str:
    """The error text of an OpenAI-style (``{"error": {"message"}}``) or Ollama-style
    (``{"error": "..."}``) body, else the body's start."""
    text = body.decode("utf-8", "replace").strip()
    try:
        obj = json.loads(text)
    except ValueError:
        return text[:300] or "(empty body)"
    err = obj.get("error", obj) if isinstance(obj, dict) else obj
    if isinstance(err, dict):
        err = err.get("message", err)
    return str(err)[:300]


class JsonClient:
    """POST JSON to one server over a reused connection.

    Args:
        base_url: ``http://`` or ``https://`` URL the request paths are joined to.
        headers: sent with every request (an ``Authorization`` header is never logged or stored).
        timeout: seconds to wait for a connection and for each response.
        max_retries: further attempts after a 429, 5xx, timeout or dropped connection.
        backoff: first retry delay in seconds, doubled at each retry.
        setup_hint: appended to "could not connect" errors (how to start or point at the server).
        auth_hint: appended to 401/403 errors (how to set the key).
    """

    def __init__(
        self,
        base_url: str,
        *,
        headers: dict[str, str] | None = None,
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        setup_hint: str = "",
        auth_hint: str = "",
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base URL must look like http://host:port/path, got {base_url!r}")
        for name, value in (("timeout", timeout), ("backoff", backoff)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be an integer >= 0, got {max_retries!r}")
        self.base_url = base_url.rstrip("/")
        self._scheme, self._host, self._port = parts.scheme, parts.hostname, parts.port
        self._prefix = parts.path.rstrip("/")
        self._headers = {"Content-Type": "application/json", **(headers or {})}
        self.timeout, self.max_retries, self.backoff = float(timeout), max_retries, float(backoff)
        self.setup_hint, self.auth_hint = setup_hint, auth_hint
        self.requests = 0
        self.bytes_sent = 0
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
            self._conn = cls(self._host, self._port, timeout=self.timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def post(self, path: str, payload: dict[str, Any]) -> Any:
        """POST ``payload`` to ``base_url + path`` and return the decoded JSON answer."""
        body = json.dumps(payload).encode()
        url = self.base_url + path
        with self._lock:
            for attempt in range(self.max_retries + 1):
                last = attempt == self.max_retries
                try:
                    status, data, retry_after = self._send(self._prefix + path, body)
                except ConnectionRefusedError as e:
                    self.close()
                    raise ProviderError(f"could not connect to {url}: {e}. {self.setup_hint}".strip()) from e
                except (TimeoutError, ConnectionError, http.client.HTTPException, OSError) as e:
                    self.close()  # a half-read answer leaves the connection unusable
                    if last:
                        what = f"no answer within {self.timeout:g} s" if isinstance(e, TimeoutError) else repr(e)
                        raise ProviderError(
                            f"POST {url} failed after {attempt + 1} attempt(s): {what}. {self.setup_hint}".strip()
                        ) from e
                    time.sleep(self.backoff * 2**attempt)
                    continue
                if status == 200:
                    try:
                        return json.loads(data)
                    except ValueError as e:
                        raise ProviderError(f"POST {url}: HTTP 200 but the body is not JSON: {data[:200]!r}") from e
                if status in RETRY_STATUSES and not last:
                    wait = retry_after if retry_after is not None else self.backoff * 2**attempt
                    time.sleep(min(wait, MAX_RETRY_AFTER_S))
                    continue
                hint = f" ({self.auth_hint})" if status in (401, 403) and self.auth_hint else ""
                raise ProviderError(f"POST {url}: HTTP {status}: {_server_message(data)}{hint}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, path: str, body: bytes) -> tuple[int, bytes, float | None]:
        conn = self._connection()
        self.requests += 1
        self.bytes_sent += len(body)
        conn.request("POST", path, body=body, headers=self._headers)
        resp = conn.getresponse()
        data = resp.read()
        if resp.getheader("Connection", "").lower() == "close":
            self.close()
        retry_after = None
        raw = resp.getheader("Retry-After")
        if raw:
            try:
                retry_after = max(0.0, float(raw))
            except ValueError:
                retry_after = None
        return resp.status, data, retry_after
