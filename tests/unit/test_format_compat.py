"""An index written by the code before the engine's layout split still opens, searches and updates.

``tests/fixtures/format_v1.leann`` was written by ``tests/fixtures/make_format_v1.py`` at commit
c07fdb3 (graph, PQ codes, hub cache, keyword index, a delta segment and tombstones), together with
the answers that code gave; today's code must read the same files and give the same answers.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import WordHashEmbedder

from leann_engine import LeannIndex, LeannSearcher

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
EXPECTED = json.loads((FIXTURES / "format_v1.expected.json").read_text())


@pytest.fixture
def old_index(tmp_path: Path) -> Path:
    dst = tmp_path / "format_v1.leann"
    shutil.copytree(FIXTURES / "format_v1.leann", dst)
    return dst


def test_old_index_opens_with_the_same_files_and_count(old_index: Path) -> None:
    assert sorted(p.name for p in old_index.iterdir() if not p.name.startswith(".")) == EXPECTED["files"]
    with LeannSearcher(old_index, WordHashEmbedder(dimension=16)) as s:
        assert s.count() == EXPECTED["count"]
        assert [r.id for r in s.get(["d1", "p3", "p0"])] == ["d1", "p0"]  # p3 was deleted


@pytest.mark.parametrize("key", sorted(EXPECTED["queries"]))
def test_old_index_gives_the_same_answers(old_index: Path, key: str) -> None:
    mode, query = key.split(":", 1)
    with LeannSearcher(old_index, WordHashEmbedder(dimension=16)) as s:
        if mode == "filtered":
            res = s.search(query, top_k=5, metadata_filters={"topic": {"==": "kernel"}, "n": {"<": 100}})
        else:
            res = s.search(query, top_k=5, mode=mode)
    assert [r.id for r in res] == EXPECTED["queries"][key]


def test_old_index_takes_updates_deletes_and_compaction(old_index: Path) -> None:
    emb = WordHashEmbedder(dimension=16)
    idx = LeannIndex(old_index, emb, auto_compact=False)
    idx.add_texts(["zebra giraffe savanna"], metadatas=[{"topic": "zoo"}], ids=["z1"])
    assert idx.delete(["p0", "d1"]) == 2
    assert idx.count() == EXPECTED["count"] + 1 - 2
    assert idx.search("zebra giraffe", top_k=1)[0].id == "z1"
    idx.compact()
    assert idx.count() == EXPECTED["count"] - 1
    assert idx.search("zebra giraffe", top_k=1)[0].id == "z1"
    assert not idx.get(["p0"])
    idx.close()
    # The compaction rewrote the index in today's format: passages in checksummed blocks.
    m = json.loads((old_index / "manifest.json").read_text())
    assert m["format_version"] == 3 and "base_table" in m["files"] and "base_data" not in m["files"]
    with LeannSearcher(old_index, emb) as s:
        assert s.search("zebra giraffe", top_k=1, mode="bm25")[0].id == "z1"
