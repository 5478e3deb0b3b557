"""A background process that keeps the embedding model and open indexes warm for the CLI.

``leann search`` starts it on demand and sends it the query over a Unix socket in a private
folder (mode 0700; no TCP port, so nothing on the network can reach it). It serves one request at
a time, exits after ``idle_timeout`` seconds without one, on ``leann daemon stop`` or on SIGTERM,
and removes its socket when it goes. It is started in its own session with stdin from
``/dev/null`` and stdout/stderr to a log file in that folder, so it never holds the caller's
terminal or pipes (a caller reading ``leann search``'s output sees EOF when the CLI exits).

Protocol: one JSON object per connection and line, answered by one JSON object and line:
``{"op": "ping"}``, ``{"op": "search", "index": PATH, "query": ..., options}``,
``{"op": "embed", "model": NAME, "texts": [...]}``, ``{"op": "stop"}``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from ._extras import quiet_libraries

if TYPE_CHECKING:
    from leann_engine import SearchResults

DEFAULT_IDLE_TIMEOUT = 900.0  # seconds, as LEANN's daemon TTL
SOCKET_NAME = "daemon.sock"
LOG_NAME = "daemon.log"
_START_TIMEOUT = 120.0
_MAX_REQUEST = 64 << 20


class DaemonUnavailable(RuntimeError):
    """No daemon answers on the socket."""


def supported() -> bool:
    return hasattr(socket, "AF_UNIX") and os.name == "posix"


def runtime_dir() -> Path:
    """The daemon's private folder: ``$LEANN_DAEMON_DIR``, else ``$XDG_RUNTIME_DIR/leann``, else
    ``~/.leann/run``."""
    env = os.environ.get("LEANN_DAEMON_DIR")
    if env:
        path = Path(env)
    elif os.environ.get("XDG_RUNTIME_DIR"):
        path = Path(os.environ["XDG_RUNTIME_DIR"]) / "leann"
    else:
        path = Path.home() / ".leann" / "run"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o700)
    return path


def socket_path() -> Path:
    return runtime_dir() / SOCKET_NAME


# ---------------------------------------------------------------------------- client


def _recv_line(conn: socket.socket) -> bytes:
    buf = bytearray()
    while True:
        part = conn.recv(1 << 16)
        if not part:
            break
        buf += part
        if buf.endswith(b"\n") or len(buf) > _MAX_REQUEST:
            break
    return bytes(buf)


def request(
    message: dict[str, Any], *, timeout: float | None = None, path: Path | None = None
) -> dict[str, Any]:
    """Send one request to the daemon and return its answer (``DaemonUnavailable`` if none runs)."""
    path = path or socket_path()
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(timeout)
    try:
        try:
            conn.connect(str(path))
        except OSError as e:
            raise DaemonUnavailable(f"no daemon at {path}: {e}") from e
        conn.sendall(json.dumps(message).encode("utf-8") + b"\n")
        data = _recv_line(conn)
    finally:
        conn.close()
    if not data:
        raise DaemonUnavailable("the daemon closed the connection without an answer")
    reply = json.loads(data)
    if not isinstance(reply, dict):
        raise DaemonUnavailable("the daemon sent a malformed answer")
    return reply


def ping(path: Path | None = None) -> dict[str, Any] | None:
    try:
        reply = request({"op": "ping"}, timeout=5.0, path=path)
    except (DaemonUnavailable, OSError, ValueError):
        return None
    return reply if reply.get("ok") else None


def _child_env() -> dict[str, str]:
    # The daemon runs from "/" (so it holds no project folder): make the import path absolute.
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[1])
    parts = [str(Path(p).resolve()) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([package_root, *[p for p in parts if p != package_root]])
    quiet_libraries(env)
    return env


def ensure_running(idle_timeout: float = DEFAULT_IDLE_TIMEOUT) -> dict[str, Any]:
    """Return the running daemon's ping answer, starting the daemon first if none answers.

    A daemon of another version is stopped and replaced. Concurrent callers are serialised by a
    lock file, so only one daemon is started.
    """
    folder = runtime_dir()
    sock = folder / SOCKET_NAME
    info = ping(sock)
    if info and info.get("version") == __version__:
        return info
    import fcntl

    with open(folder / "daemon.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        info = ping(sock)
        if info and info.get("version") == __version__:
            return info
        if info:
            stop(sock)
        with contextlib.suppress(FileNotFoundError):
            sock.unlink()
        log = open(folder / LOG_NAME, "ab")
        try:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "leann_cli.daemon",
                    "--socket",
                    str(sock),
                    "--idle-timeout",
                    str(idle_timeout),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd="/",
                env=_child_env(),
                start_new_session=True,
                close_fds=True,
            )
        finally:
            log.close()
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            info = ping(sock)
            if info:
                return info
            if proc.poll() is not None:
                tail = _log_tail(folder / LOG_NAME)
                raise DaemonUnavailable(
                    f"the leann daemon exited at start (status {proc.returncode}): {tail}"
                )
            time.sleep(0.02)
        raise DaemonUnavailable(
            f"the leann daemon did not answer within {_START_TIMEOUT:.0f} s; see {folder / LOG_NAME}"
        )


def _log_tail(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    return lines[-1] if lines else "no log"


def stop(path: Path | None = None, timeout: float = 10.0) -> bool:
    """Ask the daemon to exit; True when one was running. Waits until its socket is gone."""
    path = path or socket_path()
    try:
        request({"op": "stop"}, timeout=timeout, path=path)
    except (DaemonUnavailable, OSError, ValueError):
        return False
    deadline = time.monotonic() + timeout
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return True


class DaemonSearcher:
    """``LeannSearcher.search`` for one index, answered by the warm daemon (started on demand).

    Returns the same ``SearchResults``, with the engine's ``SearchStats``, as a searcher in this
    process; ``last_engine_s`` is the engine's own time in the daemon.
    """

    def __init__(self, index: Path, idle_timeout: float = DEFAULT_IDLE_TIMEOUT) -> None:
        ensure_running(idle_timeout)
        self.index = Path(index)
        self.last_engine_s = 0.0

    def search(
        self,
        query: str,
        top_k: int | None = None,
        complexity: int | None = None,
        metadata_filters: dict[str, Any] | None = None,
        *,
        mode: str | None = None,
        rerank: str | None = None,
        use_grep: bool = False,
    ) -> SearchResults:
        """Raises the daemon's error: FileNotFoundError for a missing index, ValueError otherwise."""
        from .service import results_from_message

        message = {"query": query, "top_k": top_k, "complexity": complexity, "mode": mode}
        message.update(filters=metadata_filters, rerank=rerank or None, grep=bool(use_grep))
        reply = request({"op": "search", "index": str(self.index), **message})
        if not reply.get("ok"):
            error = reply.get("error", "the daemon could not search")
            raise (FileNotFoundError if reply.get("type") == "FileNotFoundError" else ValueError)(error)
        self.last_engine_s = float(reply.get("engine_s", 0.0))
        return results_from_message(reply)


# ---------------------------------------------------------------------------- server


class _Server:
    def __init__(self, sock_path: Path, idle_timeout: float) -> None:
        from .service import SearcherPool

        self.sock_path = sock_path
        self.idle_timeout = idle_timeout
        self.pool = SearcherPool()
        self.running = True
        self.started = time.time()
        self.requests = 0
        self.active = 0
        self.last = time.monotonic()
        self.state_lock = threading.Lock()
        self.work_lock = threading.Lock()

    def handle(self, msg: dict[str, Any]) -> dict[str, Any]:
        op = msg.get("op")
        if op == "ping":
            return {
                "ok": True,
                "version": __version__,
                "pid": os.getpid(),
                "uptime_s": round(time.time() - self.started, 1),
                "requests": self.requests,
                "indexes": self.pool.paths(),
                "idle_timeout_s": self.idle_timeout,
            }
        if op == "stop":
            self.running = False
            return {"ok": True}
        if op == "search":
            from .service import SearchRequest, results_to_message

            request = SearchRequest.from_message(msg)
            t = time.perf_counter()
            results = self.pool.search(str(msg["index"]), request)
            return {"ok": True, "engine_s": time.perf_counter() - t, **results_to_message(results)}
        if op == "embed":
            import numpy as np

            from leann_engine import make_embedder

            # The model's own query encoding (e5's "query: ") when the client asks for queries.
            emb = make_embedder(str(msg["model"]))
            embed = getattr(emb, "embed_query", emb.embed) if msg.get("query") else emb.embed
            vecs = np.ascontiguousarray(embed(list(msg["texts"])), dtype="<f4")
            return {
                "ok": True,
                "name": emb.name,
                "dimension": int(vecs.shape[1]) if vecs.ndim == 2 and vecs.shape[0] else int(emb.dimension),
                "vectors": base64.b64encode(vecs.tobytes()).decode("ascii"),
            }
        raise ValueError(f"unknown op {op!r}")

    def serve(self) -> None:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)
        try:
            listener.bind(str(self.sock_path))
        finally:
            os.umask(old_umask)
        listener.listen(16)
        listener.settimeout(min(1.0, self.idle_timeout))
        self.last = time.monotonic()
        print(f"leann daemon {__version__} pid {os.getpid()} on {self.sock_path}", flush=True)
        try:
            while self.running:
                if self.active == 0 and time.monotonic() - self.last > self.idle_timeout:
                    print(f"idle for {self.idle_timeout:.0f} s: exiting", flush=True)
                    break
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                with self.state_lock:
                    self.active += 1
                # A thread per connection, so a ping is answered while a search runs; the
                # engine work itself is serialised by work_lock.
                threading.Thread(target=self._serve_one, args=(conn,), daemon=True).start()
        finally:
            listener.close()
            with contextlib.suppress(FileNotFoundError):
                self.sock_path.unlink()
            with self.work_lock:
                self.pool.close()

    def _serve_one(self, conn: socket.socket) -> None:
        try:
            with conn:
                conn.settimeout(None)
                try:
                    msg = json.loads(_recv_line(conn))
                    if not isinstance(msg, dict):
                        raise ValueError("request must be a JSON object")
                    self.requests += 1
                    if msg.get("op") in ("ping", "stop"):
                        reply = self.handle(msg)
                    else:
                        with self.work_lock:
                            reply = self.handle(msg)
                except Exception as e:  # every failure goes back to the caller as one line
                    reply = {"ok": False, "error": str(e) or type(e).__name__, "type": type(e).__name__}
                with contextlib.suppress(OSError):
                    conn.sendall(json.dumps(reply).encode("utf-8") + b"\n")
        finally:
            with self.state_lock:
                self.active -= 1
                self.last = time.monotonic()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m leann_cli.daemon", description="leann's warm-model daemon"
    )
    parser.add_argument("--socket", type=Path, default=None)
    parser.add_argument("--idle-timeout", type=float, default=DEFAULT_IDLE_TIMEOUT)
    args = parser.parse_args(argv)
    server = _Server(args.socket or socket_path(), max(1.0, args.idle_timeout))

    def on_term(_sig: int, _frame: Any) -> None:
        server.running = False
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_term)
    server.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
