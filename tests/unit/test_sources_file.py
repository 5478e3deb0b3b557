"""sources.json: written atomically and durably, read back, old versions accepted, bad ones ignored."""

from __future__ import annotations

import json
import os

from leann_cli.ingest import sources
from leann_cli.ingest.sources import SOURCES_VERSION, SourcesRecord, file_sha256, read_sources, write_sources

RECORD = SourcesRecord(
    docs=["/p/docs"], base="/p", options={"graph_degree": 32}, files={"docs/a.md": {"sha256": "ab", "chunks": 2}}
)


def test_round_trip_and_no_temporary_left(tmp_path):
    write_sources(tmp_path, RECORD)
    assert read_sources(tmp_path) == RECORD
    assert [p.name for p in tmp_path.iterdir()] == ["sources.json"]
    assert json.loads((tmp_path / "sources.json").read_text())["version"] == SOURCES_VERSION


def test_write_is_fsynced_before_it_replaces_the_old_record(tmp_path, monkeypatch):
    write_sources(tmp_path, SourcesRecord(docs=["old"]))
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1])
    write_sources(tmp_path, RECORD)
    assert "replace" in events and "fsync" in events[: events.index("replace")]
    assert read_sources(tmp_path) == RECORD


def test_version_1_is_read_and_unknown_or_broken_files_are_not(tmp_path):
    (tmp_path / "sources.json").write_text(json.dumps({"version": 1, "docs": ["d"], "files": {}}))
    assert read_sources(tmp_path).docs == ["d"]
    (tmp_path / "sources.json").write_text(json.dumps({"version": 99}))
    assert read_sources(tmp_path) is None
    (tmp_path / "sources.json").write_text("{truncated")
    assert read_sources(tmp_path) is None
    assert read_sources(tmp_path / "missing") is None


def test_file_hash_is_sha256_of_the_bytes(tmp_path, monkeypatch):
    import hashlib

    monkeypatch.setattr(sources, "_HASH_BLOCK", 3)  # several blocks
    (tmp_path / "f").write_bytes(b"hello world")
    assert file_sha256(tmp_path / "f") == hashlib.sha256(b"hello world").hexdigest()
