"""The HTTP side of ``leann serve``: standard-library server, safety checks, static page, JSON and streams."""

from __future__ import annotations

import hmac
import json
import socket
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .api import Api, ApiError
from .backend import LLMUnavailableError, SearcherPool

LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_BODY = 1 << 20
COOKIE = "leann_token"
STATIC = {  # the only files served: request paths are looked up here, never joined to a folder
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/static/app.css": ("app.css", "text/css; charset=utf-8"),
    "/static/icon.svg": ("icon.svg", "image/svg+xml"),
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cache-Control": "no-store",
}


def is_loopback(host: str) -> bool:
    return host in LOOPBACK or host.startswith("127.")


class LeannServer(ThreadingHTTPServer):
    """One local server over the indexes of a folder; ``url`` is where the page is."""

    daemon_threads = True

    def __init__(self, api: Api, host: str = "127.0.0.1", port: int = 8000, token: str | None = None) -> None:
        if not is_loopback(host) and not token:
            raise ValueError(
                f"--host {host} makes the server reachable from other machines: pass --token SECRET "
                "(every request must then carry it), or keep the default 127.0.0.1"
            )
        if ":" in host:
            self.address_family = socket.AF_INET6
        self.api = api
        self.token = token
        self.host = host
        super().__init__((host, port), Handler)
        self.port = int(self.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def allowed_host(self, header: str | None) -> bool:
        """The Host header a browser sends for this server (blocks DNS-rebinding pages on loopback)."""
        if self.token:  # reachable by name from other machines; the token guards it
            return True
        if not header:
            return False
        name, _, port = header.rpartition(":")
        return port == str(self.port) and name.strip("[]") in (*LOOPBACK, self.host)


class Handler(BaseHTTPRequestHandler):
    server: LeannServer
    server_version = "leann-serve"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        return  # quiet: the path may hold search text or the token

    # ------------------------------------------------------------------ replies

    def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in {**SECURITY_HEADERS, **(extra or {})}.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data, ensure_ascii=False).encode(), "application/json; charset=utf-8")

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": message, "status": status})

    # ------------------------------------------------------------------ checks

    def _token_ok(self, query: dict[str, list[str]]) -> tuple[bool, bool]:
        """(allowed, set_cookie): header, cookie, or ``?token=`` on the page itself (which sets the cookie)."""
        want = self.server.token
        if not want:
            return True, False
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer ") and hmac.compare_digest(auth[7:].encode(), want.encode()):
            return True, False
        jar = SimpleCookie(self.headers.get("Cookie", ""))
        if COOKIE in jar and hmac.compare_digest(jar[COOKIE].value.encode(), want.encode()):
            return True, False
        given = (query.get("token") or [""])[-1]
        if self.path.split("?")[0] == "/" and given and hmac.compare_digest(given.encode(), want.encode()):
            return True, True
        return False, False

    def _same_origin(self) -> bool:
        """No cross-origin access: browsers name the requesting site; scripts (no Origin) pass."""
        if self.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
            return False
        origin = self.headers.get("Origin")
        return origin is None or origin == f"http://{self.headers.get('Host', '')}"

    def _checked(self) -> tuple[str, dict[str, list[str]], bool] | None:
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        if not self.server.allowed_host(self.headers.get("Host")):
            self._error(403, "unexpected Host header: open the page by the address leann serve printed")
            return None
        if not self._same_origin():
            self._error(403, "cross-origin requests are refused")
            return None
        ok, set_cookie = self._token_ok(query)
        if not ok:
            self._error(401, "a valid token is required: open the page as /?token=TOKEN or send 'Authorization: Bearer TOKEN'")
            return None
        return url.path, query, set_cookie

    # ------------------------------------------------------------------ methods

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        checked = self._checked()
        if checked is None:
            return
        path, query, set_cookie = checked
        try:
            if path in STATIC:
                return self._static(path, set_cookie)
            routes = {
                "/api/indexes": lambda: self.server.api.indexes(),
                "/api/search": lambda: self.server.api.search(query),
                "/api/build": lambda: self.server.api.build_status(query),
            }
            if path in ("/api/ask", "/api/remove"):
                raise ApiError(405, f"{path} takes POST with a JSON body")
            if path not in routes:
                raise ApiError(404, f"no such page or API endpoint: {path}")
            self._json(200, routes[path]())
        except ApiError as e:
            self._error(e.status, e.message)
        except Exception as e:  # answered as JSON; the server keeps running
            self._error(500, f"{type(e).__name__}: {e}")

    do_HEAD = do_GET

    def do_POST(self) -> None:  # noqa: N802
        checked = self._checked()
        if checked is None:
            return
        path = checked[0]
        try:
            body = self._body()
            if path == "/api/ask":
                return self._ask(body)
            routes = {"/api/build": self.server.api.build_start, "/api/remove": self.server.api.remove}
            if path in ("/api/indexes", "/api/search") or path in STATIC:
                raise ApiError(405, f"{path} takes GET")
            if path not in routes:
                raise ApiError(404, f"no such API endpoint: {path}")
            status = 202 if path == "/api/build" else 200
            self._json(status, routes[path](body))
        except ApiError as e:
            self._error(e.status, e.message)
        except Exception as e:
            self._error(500, f"{type(e).__name__}: {e}")

    def do_OPTIONS(self) -> None:  # noqa: N802 - a CORS preflight: never allowed
        self._error(403, "cross-origin requests are refused")

    def _body(self) -> dict[str, Any]:
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise ApiError(415, "POST bodies must be JSON with 'Content-Type: application/json'")
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            raise ApiError(400, "Content-Length must be a number") from None
        if length > MAX_BODY:
            raise ApiError(413, f"body larger than {MAX_BODY} bytes")
        try:
            data = json.loads(self.rfile.read(length) or b"{}")
        except ValueError as e:
            raise ApiError(400, f"body is not valid JSON: {e}") from None
        if not isinstance(data, dict):
            raise ApiError(400, "body must be a JSON object")
        return data

    def _static(self, path: str, set_cookie: bool) -> None:
        name, ctype = STATIC[path]
        data = resources.files(__package__).joinpath("static", name).read_bytes()
        extra = {}
        if set_cookie:
            extra["Set-Cookie"] = f"{COOKIE}={self.server.token}; Path=/; HttpOnly; SameSite=Strict"
        self._send(200, data, ctype, extra)

    def _ask(self, body: dict[str, Any]) -> None:
        """A stream of JSON lines: sources, then text pieces, then done (or error)."""
        head, stream = self.server.api.ask(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson; charset=utf-8")
        for k, v in SECURITY_HEADERS.items():
            self.send_header(k, v)
        self.end_headers()
        self.close_connection = True  # HTTP/1.0: the end of the stream is the end of the connection

        def line(obj: dict[str, Any]) -> None:
            self.wfile.write(json.dumps(obj, ensure_ascii=False).encode() + b"\n")
            self.wfile.flush()

        try:
            line(head)
            for piece in stream.pieces():
                line({"type": "text", "text": piece})
            line({"type": "done"})
        except LLMUnavailableError as e:
            line({"type": "error", "error": str(e)})
        except (BrokenPipeError, ConnectionResetError):
            return  # the page went away


def make_server(
    base: str | Path | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    token: str | None = None,
    pool: Any = None,
    ollama_host: str | None = None,
    ollama_model: str | None = None,
    build_embedding: Any = None,
) -> LeannServer:
    """A ready server (not yet serving: call ``serve_forever``); ``port=0`` picks a free port."""
    pool = pool if pool is not None else SearcherPool(base)
    api = Api(pool, ollama_host=ollama_host, ollama_model=ollama_model, build_embedding=build_embedding)
    return LeannServer(api, host, port, token)
