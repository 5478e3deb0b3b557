"""Test helpers for ``leann serve``: a fake Ollama on 127.0.0.1, a server running in a thread, HTTP calls."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeOllama(ThreadingHTTPServer):
    """Answers ``POST /api/chat`` with a JSON-lines stream of ``pieces``; keeps every request body."""

    daemon_threads = True

    def __init__(self, pieces: list[str], delay: float = 0.0, models: tuple[str, ...] = ("fake:1b",)) -> None:
        self.pieces = pieces
        self.delay = delay
        self.models = models
        self.requests: list[dict[str, Any]] = []
        super().__init__(("127.0.0.1", 0), _OllamaHandler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class _OllamaHandler(BaseHTTPRequestHandler):
    server: FakeOllama

    def log_message(self, *args: Any) -> None:
        return

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(body)
        if self.path != "/api/chat" or body.get("model") not in self.server.models:
            data = json.dumps({"error": f"model {body.get('model')!r} not found"}).encode()
            self.send_response(404)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        for piece in self.server.pieces:
            part = {"model": body["model"], "message": {"role": "assistant", "content": piece}, "done": False}
            self.wfile.write(json.dumps(part).encode() + b"\n")
            self.wfile.flush()
            time.sleep(self.server.delay)
        self.wfile.write(json.dumps({"model": body["model"], "done": True}).encode() + b"\n")


@contextlib.contextmanager
def running(server: Any) -> Iterator[Any]:
    """Serve ``server`` in a thread for the duration of the block."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def call(
    url: str, *, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None, raw: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of one request; HTTP errors are returned, not raised."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    hdrs = dict(headers or {})
    if body is not None:
        hdrs.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, headers=hdrs, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def call_json(url: str, **kw: Any) -> tuple[int, Any]:
    status, _headers, data = call(url, **kw)
    return status, json.loads(data)
