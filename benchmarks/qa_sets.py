"""Question-to-passage sets with relevance judgments taken from document structure.

- ``python-faq`` (English): the Python 3.11 FAQ from Debian's ``python3.11-doc``. Each question
  (an ``<h3>`` heading) is a query; the chunks of its answer section (heading removed) are the
  relevant passages. Distractors: chunks of the tutorial, HOWTOs, language and library reference.
- ``manpages-ja`` (Japanese) and ``manpages-zh`` (Chinese): Debian's translated manual pages. The
  one-line description of a page's NAME section is a known-item query; the chunks of the rest of
  that page are relevant. Every other page is a distractor.

Packages are fetched with ``apt-get download`` into the benchmark cache (no root needed).
"""

from __future__ import annotations

import glob
import gzip
import pickle
import random
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.corpus import CACHE  # noqa: E402
from leann_cli.ingest.chunk import chunk_text  # noqa: E402


@dataclass
class QASet:
    name: str
    language: str
    chunks: list[str]
    groups: list[str]  # the document each chunk comes from
    queries: list[str]
    relevant: list[str]  # the group each query's answer is
    # English queries whose answer is a page of this (Japanese or Chinese) set: cross-lingual.
    cross_queries: list[str] = field(default_factory=list)
    cross_relevant: list[str] = field(default_factory=list)


def _package(name: str) -> Path:
    root = CACHE / "pkgs" / name
    if root.exists():
        return root
    work = CACHE / "pkgs"
    work.mkdir(parents=True, exist_ok=True)
    if not sorted(work.glob(f"{name}_*.deb")):
        subprocess.run(["apt-get", "download", name], cwd=work, check=True, capture_output=True)
    deb = sorted(work.glob(f"{name}_*.deb"))[-1]
    root.mkdir()
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    return root


def _html_text(node) -> str:  # type: ignore[no-untyped-def]
    for a in node.select("a.headerlink"):
        a.decompose()
    return re.sub(r"[ \t]+", " ", node.get_text(" ")).strip()


def python_faq(max_chunks: int = 1500, seed: int = 7) -> QASet:
    from bs4 import BeautifulSoup

    html = _package("python3.11-doc") / "usr/share/doc/python3.11/html"
    chunks: list[str] = []
    groups: list[str] = []
    queries: list[str] = []
    relevant: list[str] = []
    for page in sorted((html / "faq").glob("*.html")):
        if page.name == "index.html":
            continue
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for sec in soup.select("section"):
            h3 = sec.find("h3", recursive=False)
            if h3 is None:
                continue
            question = _html_text(h3)
            h3.decompose()
            answer = _html_text(sec)
            parts = chunk_text(answer)
            if not parts or len(question) < 10:
                continue
            gid = f"faq/{page.stem}#{sec.get('id')}"
            queries.append(question)
            relevant.append(gid)
            chunks += parts
            groups += [gid] * len(parts)
    pool: list[tuple[str, str]] = []
    for sub in ("tutorial", "howto", "reference", "library"):
        for page in sorted((html / sub).glob("*.html")):
            soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
            body = soup.select_one('div[role="main"]') or soup.body
            if body is None:
                continue
            pool += [(p, f"{sub}/{page.stem}") for p in chunk_text(_html_text(body))]
    rng = random.Random(seed)
    rng.shuffle(pool)
    for text, gid in pool[: max(0, max_chunks - len(chunks))]:
        chunks.append(text)
        groups.append(gid)
    return QASet("python-faq", "en", chunks, groups, queries, relevant)


_MACRO_ARGS = re.compile(r"^\.(?:B|I|BI|IB|BR|RB|IR|RI|SM|SB)\s+(.*)$")


def _groff_text(lines: list[str]) -> str:
    out = []
    for line in lines:
        if line.startswith(('.\\"', "'\\\"")):
            continue
        m = _MACRO_ARGS.match(line)
        if m:
            line = m.group(1).replace('"', "")
        elif line.startswith((".", "'")):
            continue
        line = re.sub(r"\\f(?:\[[^\]]*\]|\(..|.)", "", line)
        line = re.sub(r"\\\(..|\\\[[^\]]*\]", " ", line)
        line = line.replace("\\-", "-").replace("\\&", "").replace("\\e", "\\").replace("\\ ", " ")
        line = re.sub(r"\\[,/|^~0]", "", line)
        out.append(line)
    return re.sub(r"\s+", " ", " ".join(out)).strip()


_MAN = {
    "en": (("manpages", "manpages-dev"), "man*/*.gz"),
    "ja": (("manpages-ja", "manpages-ja-dev"), "ja/man*/*.gz"),
    "zh": (("manpages-zh",), "zh_CN/man*/*.gz"),
}
PAGE_CHUNKS = 4
_CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def _man_pages(lang: str) -> list[tuple[str, str, list[str]]]:
    """``(file name, NAME description, body chunks)`` of every page of a language."""
    pkgs, pattern = _MAN[lang]
    pages: list[tuple[str, str, list[str]]] = []
    seen: set[str] = set()  # pages sharing one description (aliases) are one known item
    for pkg in pkgs:
        root = _package(pkg) / "usr/share/man"
        for f in sorted(glob.glob(str(root / pattern))):
            try:
                raw = gzip.open(f, "rt", encoding="utf-8", errors="strict").read()
            except (UnicodeDecodeError, OSError, EOFError):
                continue
            if raw.startswith(".so "):
                continue  # an alias page
            lines = raw.splitlines()
            heads = [i for i, x in enumerate(lines) if x.startswith(".SH")]
            if len(heads) < 2:
                continue
            name_lines = _groff_text(lines[heads[0] + 1 : heads[1]])
            m = re.match(r"^(.*?)\s+-+\s+(.+)$", name_lines)
            if not m:
                continue
            desc = m.group(2)
            if lang != "en" and len(_CJK.findall(desc)) < 4:
                continue
            if lang == "en" and len(desc.split()) < 3:
                continue
            # The opening chunks of a page: enough to judge it, and the sets stay small to embed.
            body = chunk_text(_groff_text(lines[heads[1] :]))[:PAGE_CHUNKS]
            if body and desc not in seen:
                seen.add(desc)
                pages.append((Path(f).name, desc, body))
    return pages


def manpages(lang: str, max_chunks: int = 600, n_queries: int = 80, seed: int = 7) -> QASet:
    """Known-item set: a page's NAME description asks for the rest of the page.

    For Japanese and Chinese, the English description of the same page (matched by file name in
    Debian's English ``manpages``/``manpages-dev``) gives the cross-lingual queries, stored on the
    set as ``cross_queries``/``cross_relevant`` (their pages are always in the corpus).
    """
    pages = _man_pages(lang)
    rng = random.Random(seed)
    rng.shuffle(pages)
    chosen = pages[:n_queries]
    cross: list[tuple[str, str]] = []
    if lang != "en":
        english = {name: desc for name, desc, _ in _man_pages("en")}
        cross = [(english[g], g) for g, _, _ in pages if g in english][:n_queries]
    keep = {c[0] for c in chosen} | {g for _, g in cross}
    chunks: list[str] = []
    groups: list[str] = []
    for gid, _, body in pages:
        if len(chunks) >= max_chunks and gid not in keep:
            continue
        chunks += body
        groups += [gid] * len(body)
    qs = QASet(
        f"manpages-{lang}", lang, chunks, groups, [q for _, q, _ in chosen], [g for g, _, _ in chosen]
    )
    qs.cross_queries = [q for q, _ in cross]
    qs.cross_relevant = [g for _, g in cross]
    return qs


def debian_faq(max_chunks: int = 1000, seed: int = 7) -> QASet:
    """The Debian FAQ (``debian-faq``): each numbered question heading asks for its section;
    distractors are chunks of Debian's English manual pages."""
    from bs4 import BeautifulSoup

    html = _package("debian-faq") / "usr/share/doc/debian/FAQ"
    chunks: list[str] = []
    groups: list[str] = []
    queries: list[str] = []
    relevant: list[str] = []
    for page in sorted(html.glob("*.en.html")):
        if page.name.startswith(("index", "faqinfo")):
            continue
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for sec in soup.select("div.section"):
            h = sec.select_one("h2.title, h3.title")
            if h is None or sec.select_one("div.section"):
                continue  # a parent section: its subsections are the questions
            question = re.sub(r"^[\d.]+\s*", "", _html_text(h))
            h.decompose()
            parts = chunk_text(_html_text(sec))
            if not parts or len(question) < 10:
                continue
            gid = f"debian-faq/{page.stem}#{len(queries)}"
            queries.append(question)
            relevant.append(gid)
            chunks += parts
            groups += [gid] * len(parts)
    pool = [(c, f"man/{name}") for name, _, body in _man_pages("en") for c in body]
    rng = random.Random(seed)
    rng.shuffle(pool)
    for text, gid in pool[: max(0, max_chunks - len(chunks))]:
        chunks.append(text)
        groups.append(gid)
    return QASet("debian-faq", "en", chunks, groups, queries, relevant)


# Bump a set's version when its construction changes: its parsed copy in the cache is keyed by it.
SET_VERSIONS = {"python-faq": "1500-v1", "debian-faq": "1000-v1", "manpages": "600x4-v1"}


def _cached(name: str, version: str, make) -> QASet:  # type: ignore[no-untyped-def]
    """A set parsed once and kept in the benchmark cache (parsing the Python docs takes minutes
    on loaded cores)."""
    path = CACHE / f"qa-{name}-{version}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    qs = make()
    CACHE.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(qs))
    return qs


def load_sets() -> list[QASet]:
    v = SET_VERSIONS
    return [
        _cached("python-faq", v["python-faq"], python_faq),
        _cached("debian-faq", v["debian-faq"], debian_faq),
        *[_cached(f"manpages-{lang}", v["manpages"], lambda lang=lang: manpages(lang)) for lang in ("en", "ja", "zh")],
    ]


if __name__ == "__main__":
    for s in load_sets():
        print(s.name, len(s.chunks), "chunks", len(s.queries), "queries; e.g.", s.queries[:3])
        if s.cross_queries:
            print("  cross-lingual", len(s.cross_queries), "e.g.", s.cross_queries[:2], s.cross_relevant[:2])
