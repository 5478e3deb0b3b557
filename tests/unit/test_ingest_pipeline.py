"""build_from_docs with a small deterministic embedder: incremental updates re-embed only what
changed, unreadable files are counted, and a rebuild keeps its recorded options."""

from __future__ import annotations

import pytest
from test_chunk_code import PY_SOURCE

from leann_cli.ingest.pipeline import build_from_docs
from leann_cli.ingest.sources import read_sources
from leann_cli.settings import BuildOptions
from leann_engine import LeannSearcher, index_info


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


def test_an_update_with_resolved_options_keeps_the_stored_ones(tmp_path, embedder):
    docs = tmp_path / "docs"
    _docs(docs)
    (docs / ".hidden.md").write_text("A hidden note about varints.")
    folder = tmp_path / "idx"
    first = BuildOptions(include_hidden=True, is_recompute=False, graph_degree=12, build_complexity=48)
    build_from_docs(folder, [docs], first, embedding=embedder, base=tmp_path)
    record = read_sources(folder)
    assert record.options["graph_degree"] == 12 and "embedding_model" not in record.options["chunking"]

    embedder.calls = 0
    report = build_from_docs(folder, [docs], BuildOptions.resolve(record.options), embedding=embedder, base=tmp_path)
    assert not report.full_rebuild and report.files_removed == 0 and embedder.calls == 0
    assert read_sources(folder).options == record.options
    assert index_info(folder / "documents.leann").is_recompute is False


def test_a_version_1_record_does_not_force_a_rebuild(tmp_path, embedder):
    import json

    docs = tmp_path / "docs"
    _docs(docs)
    folder = tmp_path / "idx"
    build_from_docs(folder, [docs], BuildOptions(), embedding=embedder, base=tmp_path)
    data = json.loads((folder / "sources.json").read_text())
    data["version"] = 1
    data["options"]["chunking"]["embedding_model"] = data["options"].pop("embedding_model")
    (folder / "sources.json").write_text(json.dumps(data))
    report = build_from_docs(
        folder, [docs], BuildOptions.resolve(read_sources(folder).options), embedding=embedder, base=tmp_path
    )
    assert not report.full_rebuild and report.files_unchanged == 3
    assert json.loads((folder / "sources.json").read_text())["version"] == 2
