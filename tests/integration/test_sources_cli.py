"""``python -m leann_cli.sources.cli index-*`` in new processes with the real all-MiniLM-L6-v2 model:
index a ChatGPT export, search it with a date filter, re-run after new conversations (only the new
chunks are embedded), and index the real mail and Safari samples."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXPORTS = ROOT.parent / "shared" / "fixtures" / "exports"

TOPICS = [
    (
        "Sourdough",
        "How long should sourdough bread proof before baking?",
        "Let the dough rise overnight in the fridge, then bake it in a hot dutch oven.",
    ),
    (
        "Kernel",
        "How do I load a Linux kernel module?",
        "Use modprobe to load the driver module and rmmod to unload it.",
    ),
    (
        "Trains",
        "What is the fastest train from Zurich to Milan?",
        "The direct EuroCity through the Gotthard base tunnel takes about three hours.",
    ),
    (
        "Taxes",
        "Can I deduct my home office from income tax?",
        "A dedicated room used only for work is usually deductible; keep the receipts.",
    ),
]


def _conversation(i: int, title: str, q: str, a: str, day: int) -> dict:
    t = 1704067200 + day * 86400  # 2024-01-01 + day
    mapping = {
        "root": {"id": "root", "message": None, "parent": None, "children": ["u"]},
        "u": {
            "id": "u",
            "parent": "root",
            "children": ["a"],
            "message": {
                "id": f"u{i}",
                "author": {"role": "user"},
                "create_time": t,
                "content": {"content_type": "text", "parts": [q]},
                "metadata": {},
                "recipient": "all",
            },
        },
        "a": {
            "id": "a",
            "parent": "u",
            "children": [],
            "message": {
                "id": f"a{i}",
                "author": {"role": "assistant"},
                "create_time": t + 30,
                "content": {"content_type": "text", "parts": [a]},
                "metadata": {"model_slug": "gpt-4o"},
                "recipient": "all",
            },
        },
    }
    return {
        "id": f"conv{i}",
        "title": title,
        "create_time": t,
        "update_time": t + 30,
        "current_node": "a",
        "mapping": mapping,
    }


def run(cwd: Path, *args: str, module: str = "leann_cli.sources.cli") -> subprocess.CompletedProcess:
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        LEANN_NO_DAEMON="1",
    )
    env.pop("LEANN_BASE_DIR", None)
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def _counts(out: str) -> tuple[int, int, int]:
    m = re.search(r"(\d+) added, (\d+) removed, (\d+) unchanged", out)
    assert m, out
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


@pytest.mark.model
def test_chatgpt_index_search_by_date_and_incremental_rerun(tmp_path: Path) -> None:
    export = tmp_path / "conversations.json"
    export.write_text(json.dumps([_conversation(i, *t, day=i * 10) for i, t in enumerate(TOPICS[:3])]))
    # Through `leann` itself (the importers are its subcommands).
    first = run(tmp_path, "index-chatgpt", "chats", "--export-path", str(export), module="leann_cli.cli")
    assert first.returncode == 0, first.stderr
    added, removed, kept = _counts(first.stdout)
    assert added >= 3 and removed == 0 and kept == 0

    # The trains talk is on 2024-01-21; the filter on the date fields must pick it over the others.
    search = run(
        tmp_path,
        "search",
        "chats",
        "train through the Alps",
        "--json",
        "--top-k",
        "3",
        "--filter",
        "date_last>=2024-01-15",
        "--filter",
        "date<2024-01-25",
        module="leann_cli.cli",
    )
    assert search.returncode == 0, search.stderr
    results = json.loads(search.stdout)["results"]
    assert results and all(r["metadata"]["title"] == "Trains" for r in results)
    assert results[0]["metadata"]["date"] == "2024-01-21T00:00:00Z"
    # The same with --after/--before, readable: the hit's line shows its date and title.
    readable = run(
        tmp_path,
        "search",
        "chats",
        "train through the Alps",
        "--top-k",
        "1",
        "--after",
        "2024-01-15",
        "--before",
        "2024-01-25",
        module="leann_cli.cli",
    )
    assert readable.returncode == 0, readable.stderr
    first_line = readable.stdout.splitlines()[0]
    assert "2024-01-21 00:00" in first_line and "Trains" in first_line, readable.stdout
    unfiltered = json.loads(
        run(
            tmp_path, "search", "chats", "bread dough oven", "--json", "--top-k", "1", module="leann_cli.cli"
        ).stdout
    )
    assert unfiltered["results"][0]["metadata"]["title"] == "Sourdough"

    export.write_text(json.dumps([_conversation(i, *t, day=i * 10) for i, t in enumerate(TOPICS)]))
    second = run(tmp_path, "index-chatgpt", "chats", "--export-path", str(export))
    assert second.returncode == 0, second.stderr
    added2, removed2, kept2 = _counts(second.stdout)
    assert kept2 == added and removed2 == 0 and 1 <= added2 <= 2  # only the taxes talk was embedded
    tax = json.loads(
        run(
            tmp_path,
            "search",
            "chats",
            "deduct home office",
            "--json",
            "--top-k",
            "1",
            "--filter",
            "date_last>=2024-01-31",
            module="leann_cli.cli",
        ).stdout
    )
    assert tax["results"][0]["metadata"]["title"] == "Taxes"

    export.write_bytes(b"PK\x03\x04 truncated")
    bad = run(tmp_path, "index-chatgpt", "chats", "--export-path", str(export))
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "conversations.json" in bad.stderr
    assert "Traceback" not in bad.stderr


@pytest.mark.model
def test_real_mail_and_safari_samples(tmp_path: Path) -> None:
    if not EXPORTS.is_dir():
        pytest.skip(f"real export samples not found at {EXPORTS}")
    mail = run(tmp_path, "index-email", "mail", "--path", str(EXPORTS / "mail"))
    assert mail.returncode == 0, mail.stderr
    assert _counts(mail.stdout)[0] >= 14
    hits = json.loads(
        run(
            tmp_path,
            "search",
            "mail",
            "research meeting lecture request",
            "--json",
            "--top-k",
            "3",
            "--filter",
            "date>=2017-05-01",
            "--filter",
            "date<2017-06-01",
            module="leann_cli.cli",
        ).stdout
    )
    assert hits["results"] and all(r["metadata"]["date"].startswith("2017-05") for r in hits["results"])
    safari = run(
        tmp_path,
        "index-browser",
        "web",
        "safari",
        "--profile",
        str(EXPORTS / "browser" / "plaso-safari-History.v13.db"),
    )
    assert safari.returncode == 0, safari.stderr
    assert _counts(safari.stdout) == (13, 0, 0)
    again = run(
        tmp_path,
        "index-browser",
        "web",
        "safari",
        "--profile",
        str(EXPORTS / "browser" / "plaso-safari-History.v13.db"),
    )
    assert _counts(again.stdout) == (0, 0, 13)
