"""LeannChat and `leann ask` against a real HTTP server on 127.0.0.1 that speaks Ollama's chat API."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from leann_cli.chat import LeannChat, LLMUnavailableError
from leann_engine import LeannBuilder, LeannSearcher

ROOT = Path(__file__).resolve().parents[2]
ANSWER = ["The index ", "stores no embeddings ", "[1]."]


class FakeOllama(BaseHTTPRequestHandler):
    """POST /api/chat: records the request and streams NDJSON chunks, as Ollama does."""

    received: list[dict] = []
    known_models = {"tiny:1b"}

    def do_POST(self):  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append({"path": self.path, "body": body})
        if self.path != "/api/chat":
            self.send_response(404)
            self.end_headers()
            return
        if body.get("model") not in self.known_models:
            payload = json.dumps({"error": f"model '{body.get('model')}' not found"}).encode()
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        for _i, piece in enumerate(ANSWER):
            line = {
                "model": body["model"],
                "created_at": "2026-01-01T00:00:00Z",
                "message": {"role": "assistant", "content": piece},
                "done": False,
            }
            self.wfile.write((json.dumps(line) + "\n").encode())
            self.wfile.flush()
        done = {
            "model": body["model"],
            "created_at": "2026-01-01T00:00:00Z",
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
        }
        self.wfile.write((json.dumps(done) + "\n").encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def ollama_server():
    FakeOllama.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOllama)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PASSAGES = [
    (
        "The index stores no embeddings, only a pruned graph and the text.",
        {"source": "docs/design.md", "start_line": 3, "end_line": 4},
    ),
    (
        "Onions and garlic go in the pan before the tomatoes.",
        {"source": "recipes/sauce.md", "start_line": 1, "end_line": 1},
    ),
    (
        "Compaction rebuilds the graph over the live passages.",
        {"source": "docs/compact.md", "start_line": 10, "end_line": 12},
    ),
]


@pytest.fixture
def small_index(tmp_path, embedder):
    b = LeannBuilder(embedding_model=embedder)
    for text, meta in PASSAGES:
        b.add_text(text, meta)
    path = tmp_path / "chat.leann"
    b.build_index(path)
    return path


def test_ask_streams_the_answer_and_sends_a_prompt_citing_sources(small_index, embedder, ollama_server):
    chat = LeannChat(
        small_index,
        llm_config={"type": "ollama", "model": "tiny:1b", "host": ollama_server},
        searcher=LeannSearcher(small_index, embedder),
    )
    pieces = list(chat.stream("the index stores no embeddings, only a pruned graph?", top_k=2))
    assert pieces == ANSWER
    assert chat.ask("the index stores no embeddings, only a pruned graph?", top_k=2) == "".join(ANSWER)
    req = FakeOllama.received[-1]
    assert req["path"] == "/api/chat" and req["body"]["model"] == "tiny:1b" and req["body"]["stream"] is True
    system, user = req["body"]["messages"]
    assert system["role"] == "system" and "[1]" in system["content"]
    assert user["content"].endswith("Question: the index stores no embeddings, only a pruned graph?")
    assert "[1] docs/design.md:3-4\nThe index stores no embeddings" in user["content"]
    assert "[2]" in user["content"] and "[3]" not in user["content"]
    assert chat.last_results[0].metadata["source"] == "docs/design.md"


def test_llm_kwargs_reach_ollama_for_one_question(small_index, embedder, ollama_server):
    chat = LeannChat(
        small_index,
        {"type": "ollama", "model": "tiny:1b", "host": ollama_server},
        searcher=LeannSearcher(small_index, embedder),
    )
    chat.ask("pruned graph?", top_k=1, llm_kwargs={"temperature": 0, "seed": 7})
    chat.ask("pruned graph?", top_k=1)
    first, second = (r["body"].get("options") or {} for r in FakeOllama.received[-2:])
    assert first == {"temperature": 0, "seed": 7} and second == {}


def test_unreachable_ollama_says_how_to_fix(small_index, embedder):
    host = f"http://127.0.0.1:{free_port()}"
    chat = LeannChat(
        small_index,
        {"type": "ollama", "model": "tiny:1b", "host": host},
        searcher=LeannSearcher(small_index, embedder),
    )
    with pytest.raises(LLMUnavailableError, match=r"not reachable at http://127\.0\.0\.1:\d+.*ollama serve"):
        chat.ask("anything")


def test_unknown_model_says_pull_it(small_index, embedder, ollama_server):
    chat = LeannChat(
        small_index,
        {"type": "ollama", "model": "missing:7b", "host": ollama_server},
        searcher=LeannSearcher(small_index, embedder),
    )
    with pytest.raises(LLMUnavailableError, match=r"ollama pull missing:7b"):
        chat.ask("anything")


@pytest.mark.model
def test_leann_ask_cli_streams_from_ollama(tmp_path, real_model, ollama_server):
    """`leann ask` end to end: real model retrieval in a new process, answer from the server."""
    b = LeannBuilder(embedding_model=real_model)
    for text, meta in PASSAGES:
        b.add_text(text, meta)
    b.build_index(tmp_path / ".leann" / "indexes" / "notes" / "documents.leann")
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", LEANN_NO_DAEMON="1")
    cmd = [
        sys.executable,
        "-m",
        "leann_cli.cli",
        "ask",
        "notes",
        "how do I cook the sauce?",
        "--model",
        "tiny:1b",
        "--host",
        ollama_server,
        "--top-k",
        "1",
    ]
    out = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("".join(ANSWER))
    assert "[1] recipes/sauce.md:1" in out.stdout
    user = FakeOllama.received[-1]["body"]["messages"][1]["content"]
    assert "Onions and garlic" in user and "how do I cook the sauce?" in user

    bad = subprocess.run(
        cmd[:-4] + ["--host", f"http://127.0.0.1:{free_port()}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode == 1
    assert bad.stderr.count("\n") == 1 and "ollama serve" in bad.stderr and "Traceback" not in bad.stderr
