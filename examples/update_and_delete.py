"""Add, replace and delete passages on a built, recompute-only index, then compact it.

    python examples/update_and_delete.py

Uses the real all-MiniLM-L6-v2 model on a handful of notes; runs in a few seconds.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from leann_engine import LeannBuilder, LeannIndex  # noqa: E402

NOTES = {
    "ssh": "Split ~/.ssh/config into several files with the Include directive.",
    "git": "Use git worktree to check out two branches side by side.",
    "tmux": "Detach a tmux session with Ctrl-b d and attach again later.",
    "vim": "In vim, :%s/old/new/g replaces every match in the file.",
}


def show(index: LeannIndex, query: str) -> None:
    hits = index.search(query, top_k=2)
    print(f"  {query!r}: " + ", ".join(f"{r.id} ({r.score:.2f})" for r in hits))


def main() -> None:
    path = Path(tempfile.mkdtemp(prefix="leann-updates-")) / "notes.leann"
    builder = LeannBuilder()
    for note_id, text in NOTES.items():
        builder.add_text(text, metadata={"topic": note_id}, id=note_id)
    builder.build_index(path)

    index = LeannIndex(path)
    print(f"built {index.count()} notes")
    show(index, "how do I organise my ssh configuration?")

    index.add_texts(["Use ssh -J to jump through a bastion host."], [{"topic": "ssh"}], ids=["ssh-jump"])
    index.add_texts(["Split ~/.ssh/config per project with Include ~/.ssh/conf.d/*."], ids=["ssh"])  # replaces
    index.delete(["vim"])
    print(f"after add, replace, delete: {index.count()} notes, counts {index.manifest['counts']}")
    show(index, "how do I organise my ssh configuration?")
    show(index, "search and replace in an editor")  # "vim" is gone

    index.compact()
    print(f"after compaction: {json.dumps(index.manifest['counts'])}")
    show(index, "how do I organise my ssh configuration?")


if __name__ == "__main__":
    main()
