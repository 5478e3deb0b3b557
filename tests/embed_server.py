"""Real HTTP embedding servers on 127.0.0.1 for tests: the OpenAI ``POST /v1/embeddings`` and
the Ollama ``POST /api/embed`` protocols, answering with vectors from any embedder."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class EmbeddingServer:
    """One protocol (``"openai"`` or ``"ollama"``) served over keep-alive HTTP/1.1.

    ``requests`` holds every request's parsed body (and its ``Authorization`` header) and
    ``connections`` counts TCP connections. ``fail_first`` requests answer ``fail_status``;
    ``delay`` seconds pass before each answer; ``api_key`` makes others get a 401;
    ``dimension_override`` cuts vectors to that size (a wrong-dimension server).
    """

    def __init__(
        self,
        protocol: str,
        embedder: Any,
        *,
        fail_first: int = 0,
        fail_status: int = 503,
        delay: float = 0.0,
        api_key: str | None = None,
        dimension_override: int | None = None,
    ) -> None:
        assert protocol in ("openai", "ollama")
        self.protocol, self.embedder = protocol, embedder
        self.fail_first, self.fail_status, self.delay = fail_first, fail_status, delay
        self.api_key, self.dimension_override = api_key, dimension_override
        self.requests: list[dict[str, Any]] = []
        self.connections = 0
        self.texts_embedded = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with server._lock:
                    server.connections += 1

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, answer = server.answer(self.path, body, self.headers.get("Authorization"))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The base URL a client is given (OpenAI's includes ``/v1``)."""
        root = f"http://127.0.0.1:{self.port}"
        return root + "/v1" if self.protocol == "openai" else root

    def answer(self, path: str, body: bytes, auth: str | None) -> tuple[int, Any]:
        req = json.loads(body)
        with self._lock:
            self.requests.append({"path": path, "body": req, "auth": auth, "bytes": len(body)})
            n = len(self.requests)
        if self.delay:
            time.sleep(self.delay)
        want = "/v1/embeddings" if self.protocol == "openai" else "/api/embed"
        if path != want:
            return 404, {"error": f"no route {path}"}
        if self.api_key is not None and auth != f"Bearer {self.api_key}":
            return 401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}
        if n <= self.fail_first:
            return self.fail_status, {"error": "server busy, try again"}
        texts = req["input"] if isinstance(req["input"], list) else [req["input"]]
        vecs = self.embedder.embed(texts)
        with self._lock:
            self.texts_embedded += len(texts)
        rows = [[float(x) for x in v[: self.dimension_override or len(v)]] for v in vecs]
        if self.protocol == "ollama":
            return 200, {"model": req["model"], "embeddings": rows}
        data = [{"object": "embedding", "index": i, "embedding": r} for i, r in enumerate(rows)]
        return 200, {"object": "list", "data": data[::-1], "model": req["model"]}

    def texts(self) -> list[str]:
        """Every text the server was asked to embed, in order."""
        return [t for r in self.requests for t in r["body"].get("input", [])]

    def __enter__(self) -> EmbeddingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
