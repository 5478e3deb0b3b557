"""Discovery: .gitignore rules (own and enclosing repository), hidden files, types, binaries."""

from __future__ import annotations

import pytest

from leann_cli.ingest.discover import SkipCounts, discover, normalize_file_types


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


def test_file_types_are_normalised():
    assert normalize_file_types(".md, py,.MD") == (".md", ".py")
    assert normalize_file_types(None) is None
    with pytest.raises(ValueError, match="file_types is empty"):
        normalize_file_types(" , ")
