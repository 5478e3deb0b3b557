"""Readers on real PDF, DOCX, PPTX, HTML and JSON files; chunk metadata; the missing-extra message."""

from __future__ import annotations

import json
import sys

import pytest

from leann_cli.ingest.pipeline import chunk_document
from leann_cli.ingest.readers import MissingExtraError, read_document
from leann_cli.settings import BuildOptions


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


def test_code_metadata_has_language_and_lines(tmp_path):
    (tmp_path / "m.py").write_text("import os\n\n\ndef f(x):\n    return x\n")
    (tmp_path / "m.go").write_text("package main\n\nfunc main() {}\n")
    py = chunk_document(tmp_path / "m.py", "m.py", BuildOptions())
    assert py[0][1] == {"source": "m.py", "file_type": ".py", "start_line": 1, "end_line": 5, "language": "python"}
    go = chunk_document(tmp_path / "m.go", "m.go", BuildOptions())
    assert go[0][1]["language"] == "go" and go[0][1]["end_line"] == 3
