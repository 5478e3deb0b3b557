"""Benchmark corpus: the Linux kernel documentation from Debian's ``linux-doc`` package.

The text is real prose none of us wrote. It is fetched with ``apt-get download`` (no root or install
needed) and unpacked into a cache folder, chunked at 256 characters with 25 overlap, and sampled
deterministically. Queries are section headings of the same documents (they are written by the
kernel's authors, not by us), which reads like what a user types into a search box.
"""

from __future__ import annotations

import glob
import hashlib
import os
import random
import re
import subprocess
from pathlib import Path

from leann_cli.ingest.chunk import chunk_text  # noqa: E402

CACHE = Path(os.environ.get("LEANN_BENCH_CACHE", Path(__file__).resolve().parent / ".cache"))
_HEADING_UNDERLINE = re.compile(r"^(=+|-+|~+|\^+|\*+|#+)\s*$")


def linux_doc_root() -> Path:
    """Return the folder of the kernel's reStructuredText sources, fetching the package if needed."""
    for base in (Path("/usr/share/doc"), CACHE / "linux-doc" / "usr/share/doc"):
        found = sorted(glob.glob(str(base / "linux-doc-*/html/_sources")))
        if found:
            return Path(found[-1])
    CACHE.mkdir(parents=True, exist_ok=True)
    work = CACHE / "deb"
    work.mkdir(exist_ok=True)
    pkg = subprocess.run(
        ["apt-cache", "depends", "linux-doc"], capture_output=True, text=True, check=True
    ).stdout
    names = re.findall(r"Depends: (linux-doc-[\d.]+)", pkg)
    if not names:
        raise RuntimeError("could not find the versioned linux-doc package with apt-cache")
    subprocess.run(["apt-get", "download", names[0]], cwd=work, check=True)
    deb = sorted(work.glob(f"{names[0]}_*.deb"))[-1]
    subprocess.run(["dpkg-deb", "-x", str(deb), str(CACHE / "linux-doc")], check=True)
    return linux_doc_root()


def _headings(text: str) -> list[str]:
    lines = text.splitlines()
    out = []
    for i in range(1, len(lines)):
        title = lines[i - 1].strip()
        if (
            _HEADING_UNDERLINE.match(lines[i])
            and 15 <= len(title) <= 120
            and len(lines[i].strip()) >= len(title) - 2
            and re.search(r"[A-Za-z]{3}", title)
        ):
            out.append(title)
    return out


def load_corpus(
    n_chunks: int = 20000, n_queries: int = 200, seed: int = 0, chunk_size: int = 256
) -> tuple[list[str], list[dict], list[str]]:
    """Return ``(chunks, metadatas, queries)`` sampled from the kernel documentation."""
    root = linux_doc_root()
    files = sorted(root.rglob("*.txt"))
    chunks: list[str] = []
    metas: list[dict] = []
    headings: list[str] = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        rel = str(path.relative_to(root))
        headings.extend(_headings(text))
        for j, piece in enumerate(chunk_text(text, chunk_size, 25)):
            if len(piece) >= 40:
                chunks.append(piece)
                metas.append({"source": rel, "chunk": j, "area": rel.split("/")[0]})
    rng = random.Random(seed)
    if n_chunks < len(chunks):
        picked = sorted(rng.sample(range(len(chunks)), n_chunks))
        chunks = [chunks[i] for i in picked]
        metas = [metas[i] for i in picked]
    headings = sorted(set(headings))
    queries = rng.sample(headings, min(n_queries, len(headings)))
    return chunks, metas, queries


def load_pool(
    n_base: int, n_extra: int, n_queries: int = 200, seed: int = 0
) -> tuple[list[str], list[dict], list[str]]:
    """``load_corpus(n_base)`` followed by ``n_extra`` more chunks none of it holds.

    The base is the same sample as ``load_corpus(n_base)`` (so its cached vectors are reused);
    the extras are drawn deterministically from the rest of the documentation.
    """
    base, base_metas, queries = load_corpus(n_base, n_queries, seed)
    every, every_metas, _ = load_corpus(10**9, 1, seed)
    have = set(base)
    rest = [i for i, c in enumerate(every) if c not in have]
    if n_extra > len(rest):
        raise ValueError(f"the corpus has only {len(rest)} chunks beyond the base of {n_base}")
    picked = sorted(random.Random(seed + 1).sample(rest, n_extra))
    return base + [every[i] for i in picked], base_metas + [every_metas[i] for i in picked], queries


def corpus_key(texts: list[str], model: str) -> str:
    h = hashlib.sha256(model.encode())
    for t in texts:
        h.update(t.encode("utf-8", "replace"))
        h.update(b"\0")
    return h.hexdigest()[:16]


if __name__ == "__main__":
    c, m, q = load_corpus()
    print(len(c), "chunks;", len(q), "queries; e.g.", q[:5])
