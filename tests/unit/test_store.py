"""Index files: the shared frame for every binary file, legacy hub files, one home for keyword settings."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import WordHashEmbedder, make_corpus

from leann_engine import IndexFormatError, LeannBuilder, LeannSearcher
from leann_engine.keyword.bm25 import bm25_scores
from leann_engine.store.files import hubs
from leann_engine.store.framing import unframe

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "format_v1.leann"


def _old_hub_file(rows: np.ndarray, vecs: np.ndarray) -> bytes:
    """A hub file as the code before the shared frame wrote it."""
    body = b"LEANNHUB" + struct.pack("<III", 1, rows.size, vecs.shape[1])
    body += rows.astype("<i4").tobytes() + vecs.astype("<f2").tobytes()
    return body + struct.pack("<I", zlib.crc32(body))


def test_hub_file_is_on_the_shared_frame(tmp_path: Path) -> None:
    rows, vecs = np.array([1, 5, 9]), np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32)
    data = hubs.encode_hub_file(rows, vecs)
    head, _ = unframe(data, tmp_path / "x.hubs", hubs.HUB_MAGIC, hubs.HUB_VERSION, "hub file")
    assert head == {"rows": 3, "dim": 8}
    p = tmp_path / "x.hubs"
    p.write_bytes(data)
    got_rows, got = hubs.read_hub_file(p, n=10, dim=8)
    assert got_rows.tolist() == [1, 5, 9] and np.allclose(got, vecs, atol=1e-2)
    p.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(IndexFormatError, match="checksum"):
        hubs.read_hub_file(p, n=10, dim=8)


def test_hub_files_written_before_the_frame_still_open(tmp_path: Path) -> None:
    rows, vecs = np.array([0, 2]), np.ones((2, 4), dtype=np.float32)
    p = tmp_path / "old.hubs"
    p.write_bytes(_old_hub_file(rows, vecs))
    got_rows, got = hubs.read_hub_file(p, n=3, dim=4)
    assert got_rows.tolist() == [0, 2] and np.allclose(got, 1.0)
    fixture = next(FIXTURE.glob("*.hubs"))
    assert struct.unpack("<I", fixture.read_bytes()[8:12])[0] == 1  # the fixture holds a v1 file
    with pytest.raises(IndexFormatError, match="does not match"):
        hubs.read_hub_file(p, n=3, dim=5)


@pytest.fixture
def keyword_index(tmp_path: Path) -> Path:
    texts, metas = make_corpus(80)
    b = LeannBuilder(embedding_model=WordHashEmbedder(), stopwords="en", pq_bytes=0)
    b.add_texts(texts, metas)
    return Path(b.build_index(tmp_path / "kw.leann"))


def test_keyword_settings_live_in_the_manifest_only(keyword_index: Path) -> None:
    m = json.loads((keyword_index / "manifest.json").read_text())
    assert m["keyword"]["tokenizer"]["stopwords"] == ["en"] and m["keyword"]["k1"] == 1.2
    head, _ = unframe((keyword_index / m["files"]["bm25"]).read_bytes(), keyword_index, b"LEANNBM5", 2, "bm25")
    assert not {"k1", "b", "tokenizer"} & set(head)


def test_search_scores_with_the_manifests_k1_and_b(keyword_index: Path) -> None:
    mf = keyword_index / "manifest.json"
    m = json.loads(mf.read_text())
    m["keyword"].update(k1=2.0, b=0.0)
    mf.write_text(json.dumps(m))
    with LeannSearcher(keyword_index, WordHashEmbedder()) as s:
        res = s.search("recipe onion garlic", top_k=3, mode="bm25")
        snap = s._snap
        want = bm25_scores(snap.keyword_segments(), snap.tokenizer("recipe onion garlic"), ~snap.dead, k1=2.0, b=0.0)
    assert [r.score for r in res] == pytest.approx(np.sort(want)[::-1][:3].tolist(), rel=1e-5)
    default = bm25_scores(snap.keyword_segments(), snap.tokenizer("recipe onion garlic"), ~snap.dead)
    assert not np.allclose(np.sort(default)[::-1][:3], np.sort(want)[::-1][:3])
