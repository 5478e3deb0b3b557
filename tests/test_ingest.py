"""Ingestion: discovery (.gitignore, hidden, binaries), readers on real files, chunking with line
numbers (prose, CJK, syntax-tree code), and incremental builds that re-embed only what changed."""

from __future__ import annotations

import json
import sys

import pytest

from leann_cli.chunk_code import chunk_code, chunk_lines, chunk_prose
from leann_cli.ingest import BuildOptions, build_from_docs, chunk_document
from leann_cli.readers import MissingExtraError, SkipCounts, discover, read_document
from leann_engine import LeannSearcher

# ---------------------------------------------------------------------------- files


def write_pdf(path, pages: list[list[str]]) -> None:
    """A real PDF with one text line per entry, written with pypdf's object model."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    w = PdfWriter()
    for lines in pages:
        page = w.add_blank_page(612, 792)
        font = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
        fonts = DictionaryObject({NameObject("/F1"): w._add_object(font)})
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
        ops = " ".join(f"BT /F1 12 Tf 72 {720 - 20 * i} Td ({t}) Tj ET" for i, t in enumerate(lines))
        stream = DecodedStreamObject()
        stream.set_data(ops.encode())
        page[NameObject("/Contents")] = w._add_object(stream)
    w.write(str(path))


def write_docx(path, paragraphs: list[str]) -> None:
    import docx

    d = docx.Document()
    for p in paragraphs:
        d.add_paragraph(p)
    table = d.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "cell alpha"
    table.rows[0].cells[1].text = "cell beta"
    d.save(str(path))


def write_pptx(path, slides: list[tuple[str, str]]) -> None:
    from pptx import Presentation

    prs = Presentation()
    for title, body in slides:
        slide = prs.slides.add_slide(prs.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
    prs.save(str(path))


PY_SOURCE = (
    '''"""Module docstring."""
import os


def small_one(a, b):
    """Add two numbers."""
    return a + b


class Store:
    """A store that keeps things."""

    def put(self, key, value):
        self.data[key] = value
        return value

    def get(self, key):
        return self.data.get(key)
'''
    + "\n".join(
        f"\n\ndef generated_{i}(x):\n    total = 0\n    for j in range(x):\n        total += j * {i}\n    return total"
        for i in range(12)
    )
    + "\n"
)


# ---------------------------------------------------------------------------- discovery


def test_discover_respects_gitignore_hidden_types_and_binaries(tmp_path):
    root = tmp_path / "docs"
    (root / "sub" / "build").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("x")
    (root / "a.md").write_text("alpha")
    (root / "b.txt").write_text("beta")
    (root / ".secret.md").write_text("hidden")
    (root / ".gitignore").write_text("*.log\nbuild/\n")
    (root / "run.log").write_text("log")
    (root / "sub" / ".gitignore").write_text("private.md\n")
    (root / "sub" / "private.md").write_text("private")
    (root / "sub" / "c.py").write_text("x = 1\n")
    (root / "sub" / "build" / "out.md").write_text("built")
    (root / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0")
    (root / "notes.xyz").write_text("unknown type")
    skips = SkipCounts()
    found = [p.relative_to(root).as_posix() for p in discover([root], skips=skips)]
    assert found == ["a.md", "b.txt", "sub/c.py"]
    assert skips.binary == 1 and skips.other_type == 1
    assert skips.ignored == 2  # run.log, sub/private.md (build/ is pruned as a folder)
    assert skips.hidden == 3  # .secret.md and the two .gitignore files
    only_md = [p.name for p in discover([root], (".md",))]
    assert only_md == ["a.md"]
    with_hidden = [p.name for p in discover([root], (".md",), include_hidden=True)]
    assert ".secret.md" in with_hidden and "private.md" not in with_hidden


def test_enclosing_repository_rules_apply_unless_the_folder_itself_is_ignored(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("cache/\n*.tmp.md\n")
    (tmp_path / "docs" / "cache").mkdir(parents=True)
    (tmp_path / "docs" / "a.md").write_text("a")
    (tmp_path / "docs" / "b.tmp.md").write_text("b")
    (tmp_path / "docs" / "cache" / "c.md").write_text("c")
    assert [p.name for p in discover([tmp_path / "docs"])] == ["a.md"]
    # Named explicitly, an ignored folder is indexed (its own .gitignore files still count).
    assert [p.name for p in discover([tmp_path / "docs" / "cache"])] == ["c.md"]


def test_missing_docs_path_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        list(discover([tmp_path / "nope"]))


# ---------------------------------------------------------------------------- readers


def test_readers_on_real_office_html_and_json_files(tmp_path):
    write_pdf(tmp_path / "r.pdf", [["Graphs replace vectors.", "Second line."], ["Kernels and drivers."]])
    write_docx(tmp_path / "r.docx", ["Docx paragraph about pruning.", "Another paragraph."])
    write_pptx(
        tmp_path / "r.pptx", [("Slide title one", "Recompute embeddings"), ("Second slide", "Hub nodes")]
    )
    (tmp_path / "r.html").write_text(
        "<html><head><title>T</title><style>p{}</style><script>var x=1;</script></head>"
        "<body><h1>Heading</h1><p>Paragraph text.</p></body></html>"
    )
    (tmp_path / "r.jsonl").write_text(
        json.dumps({"text": "first record", "author": "ann", "n": 1})
        + "\n\n"
        + json.dumps({"title": "no text"})
        + "\n"
    )
    (tmp_path / "r.json").write_text(json.dumps({"config": {"depth": 3}}))

    pdf = read_document(tmp_path / "r.pdf")
    assert [s.metadata["page"] for s in pdf] == [1, 2]
    assert "Graphs replace vectors." in pdf[0].text and pdf[1].text.strip() == "Kernels and drivers."
    assert pdf[1].first_line == 3  # page 1 has two lines

    docx_text = read_document(tmp_path / "r.docx")[0].text
    assert "Docx paragraph about pruning." in docx_text and "cell alpha | cell beta" in docx_text

    slides = read_document(tmp_path / "r.pptx")
    assert [s.metadata["slide"] for s in slides] == [1, 2]
    assert "Slide title one" in slides[0].text and "Hub nodes" in slides[1].text

    html = read_document(tmp_path / "r.html")[0]
    assert "Heading" in html.text and "Paragraph text." in html.text
    assert "var x" not in html.text and "p{}" not in html.text and html.metadata["title"] == "T"

    records = read_document(tmp_path / "r.jsonl")
    assert records[0].text == "first record" and records[0].metadata == {"author": "ann", "n": 1}
    assert records[1].first_line == 3 and "title" in records[1].text
    assert '"depth": 3' in read_document(tmp_path / "r.json")[0].text

    chunks = chunk_document(tmp_path / "r.pdf", "r.pdf", BuildOptions())
    assert chunks[1][1] == {"page": 2, "source": "r.pdf", "file_type": ".pdf", "start_line": 3, "end_line": 3}


def test_missing_extra_names_the_extra(tmp_path, monkeypatch):
    write_pdf(tmp_path / "r.pdf", [["text"]])
    monkeypatch.setitem(sys.modules, "pypdf", None)
    with pytest.raises(MissingExtraError, match=r"leann-graph-index\[ingest\]"):
        read_document(tmp_path / "r.pdf")


# ---------------------------------------------------------------------------- chunking


def test_prose_chunks_carry_exact_line_numbers():
    lines = [f"Line {i} says something about topic {i % 4}." for i in range(40)]
    text = "\n".join(lines)
    chunks = chunk_prose(text, 120, 20)
    assert len(chunks) > 5
    for c in chunks:
        span = "\n".join(lines[c.start_line - 1 : c.end_line])
        assert c.text in span and len(c.text) <= 120


def test_cjk_prose_is_cut_at_sentence_ends():
    sentence = "検索は文書の中から答えを見つける。"  # 17 characters, ends with the Japanese full stop
    text = sentence * 30
    chunks = chunk_prose(text, 60, 10)
    assert all(len(c.text) <= 60 for c in chunks)
    # Every chunk but the last ends at a sentence end, not mid-word.
    assert all(c.text.endswith("。") for c in chunks[:-1])


def test_python_chunks_are_whole_functions_and_classes():
    chunks = chunk_code(PY_SOURCE, "python", 300)
    src_lines = PY_SOURCE.splitlines()
    for c in chunks:
        assert len(c.text) <= 300
        assert c.text.strip() == "\n".join(src_lines[c.start_line - 1 : c.end_line]).strip()
    texts = [c.text for c in chunks]
    # The class fits in 300 characters: it is one chunk, whole.
    assert any("class Store" in t and "def put" in t and "def get" in t for t in texts)
    for i in range(12):
        holding = [t for t in texts if f"def generated_{i}(" in t]
        assert len(holding) == 1 and "return total" in holding[0].split(f"def generated_{i}(")[1]


def test_big_class_is_split_into_whole_methods():
    methods = "\n".join(
        f"    def method_{i}(self, x):\n        value = x * {i}\n        return value + {i}\n"
        for i in range(20)
    )
    src = f"class Big:\n    '''doc'''\n{methods}"
    chunks = chunk_code(src, "python", 200)
    assert len(chunks) > 3 and chunks[0].text.startswith("class Big:")
    for i in range(20):
        holding = [c for c in chunks if f"def method_{i}(" in c.text]
        assert len(holding) == 1 and f"return value + {i}" in holding[0].text


@pytest.mark.parametrize(
    ("language", "source", "names"),
    [
        ("java", "class A {\n  int f() { return 1; }\n  int g() { return 2; }\n}\n", ["f()", "g()"]),
        ("csharp", "namespace N {\n class A {\n  int F() { return 1; }\n }\n}\n", ["F()"]),
        (
            "typescript",
            "export function f(x: number): number {\n  return x;\n}\ninterface I { a: string }\n",
            ["f(", "I"],
        ),
        ("tsx", "const App = () => <div>hi</div>;\nexport default App;\n", ["App"]),
        (
            "javascript",
            "function f(a) {\n  return a;\n}\nclass K { m() { return 2; } }\n",
            ["f(a)", "class K"],
        ),
    ],
)
def test_other_grammars_parse_and_keep_units(language, source, names):
    chunks = chunk_code(source, language, 400)
    assert len(chunks) == 1  # everything fits: one chunk, the whole file
    assert chunks[0].start_line == 1 and chunks[0].end_line == source.rstrip("\n").count("\n") + 1
    for n in names:
        assert n in chunks[0].text


def test_line_chunking_for_code_without_a_grammar():
    src = "\n".join(f"int v{i} = {i};" for i in range(100))
    chunks = chunk_lines(src, 200)
    assert chunks[0].start_line == 1 and chunks[-1].end_line == 100
    assert all(len(c.text) <= 200 for c in chunks)
    assert all(b.start_line == a.end_line + 1 for a, b in zip(chunks, chunks[1:]))


def test_code_metadata_has_language_and_lines(tmp_path):
    (tmp_path / "m.py").write_text(PY_SOURCE)
    chunks = chunk_document(tmp_path / "m.py", "m.py", BuildOptions(code_chunk_size=300))
    meta = chunks[0][1]
    assert meta["language"] == "python" and meta["file_type"] == ".py" and meta["start_line"] == 1


# ---------------------------------------------------------------------------- incremental build


def _docs(root):
    root.mkdir(parents=True, exist_ok=True)
    (root / "storage.md").write_text(
        "Storage keeps the graph and the text. " * 5
        + "\n\n"
        + "No embeddings are stored on disk. " * 5
        + "\n"
    )
    (root / "search.md").write_text(
        "Search walks the graph.\nEach step embeds the new neighbours in one batch.\n"
    )
    (root / "code.py").write_text(PY_SOURCE)
    (root / "skip.bin").write_bytes(b"\0\1\2")


def test_incremental_build_embeds_only_changed_files(tmp_path, embedder):
    docs = tmp_path / "docs"
    _docs(docs)
    folder = tmp_path / ".leann" / "indexes" / "t"
    opts = BuildOptions(code_chunk_size=300)
    first = build_from_docs(folder, [docs], opts, embedding=embedder, base=tmp_path)
    assert first.full_rebuild and first.files_new == 3 and first.skipped["binary"] == 1
    total = first.chunks_total
    assert first.chunks_embedded == total == embedder.calls

    embedder.calls = 0
    again = build_from_docs(
        folder, [docs], BuildOptions(code_chunk_size=300), embedding=embedder, base=tmp_path
    )
    assert not again.full_rebuild and again.files_unchanged == 3 and embedder.calls == 0

    # Same bytes, new mtime: hashed, found unchanged, not re-embedded.
    (docs / "search.md").write_text((docs / "search.md").read_text())
    assert build_from_docs(folder, [docs], opts, embedding=embedder, base=tmp_path).chunks_embedded == 0
    assert embedder.calls == 0

    (docs / "storage.md").write_text("Storage keeps only a pruned graph. Compaction drops tombstones.\n")
    embedder.seen.clear()
    report = build_from_docs(folder, [docs], opts, embedding=embedder, base=tmp_path)
    assert report.files_changed == 1 and report.files_unchanged == 2
    assert embedder.seen == ["Storage keeps only a pruned graph. Compaction drops tombstones."]
    assert report.chunks_removed == 1  # the old file had two chunks, the new one has one

    (docs / "search.md").unlink()
    (docs / "new.txt").write_text("A new file about varint coding.")
    embedder.seen.clear()
    report = build_from_docs(folder, [docs], opts, embedding=embedder, base=tmp_path)
    assert (
        report.files_removed == 1
        and report.files_new == 1
        and embedder.seen == ["A new file about varint coding."]
    )

    s = LeannSearcher(folder / "documents.leann", embedder)
    sources = {r.metadata["source"] for r in s.get(s.ids())}
    assert sources == {"docs/storage.md", "docs/code.py", "docs/new.txt"}
    hit = s.search("varint coding", top_k=1)[0]
    assert hit.id == "docs/new.txt#0" and hit.metadata["start_line"] == 1
    assert s.count() == report.chunks_total
    s.close()

    # Another chunk size changes every chunk: a full rebuild.
    report = build_from_docs(
        folder, [docs], BuildOptions(chunk_size=64, chunk_overlap=8), embedding=embedder, base=tmp_path
    )
    assert report.full_rebuild


def test_unreadable_file_is_counted_not_fatal(tmp_path, embedder):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "ok.md").write_text("fine text")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (docs / "bad.jsonl").write_text("{not json}\n")
    warnings = []
    report = build_from_docs(tmp_path / "idx", [docs], embedding=embedder, base=tmp_path, log=warnings.append)
    assert report.files_new == 1 and report.skipped["unreadable"] == 2
    assert any("broken.pdf" in w for w in warnings) and any("bad.jsonl" in w for w in warnings)


def test_build_with_nothing_to_index_is_a_clear_error(tmp_path, embedder):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no documents to index"):
        build_from_docs(tmp_path / "idx", [tmp_path / "empty"], embedding=embedder)
    with pytest.raises(ValueError, match="chunk_overlap"):
        BuildOptions(chunk_size=100, chunk_overlap=100)
