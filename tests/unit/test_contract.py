"""One contract over build configurations (txtai's runTests style): every combination of
recompute, PQ codes, keyword index and compact graph builds, searches in every mode, filters,
adds, deletes, compacts and reopens with the same answers."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import WordHashEmbedder, make_corpus

from leann_engine import LeannBuilder, LeannIndex, LeannSearcher

# (is_recompute, pq_bytes, keyword_index, is_compact); PQ codes need >= 1,024 passages.
CONFIGS = [
    (True, 16, True, True),
    (True, 0, True, False),
    (False, 16, False, True),
    (False, 0, False, False),
    (True, 16, False, False),
    (False, 0, True, True),
]
QUERIES = ["recipe onion garlic", "query neighbour recall", "driver module patch"]


def _answers(s: LeannSearcher | LeannIndex) -> dict[str, list[str]]:
    out = {}
    for q in QUERIES:
        for mode in ("dense", "bm25", "hybrid"):
            out[f"{mode}:{q}"] = [r.id for r in s.search(q, top_k=5, mode=mode)]
        out[f"filtered:{q}"] = [r.id for r in s.search(q, top_k=5, metadata_filters={"topic": "kernel"})]
    return out


@pytest.mark.parametrize("recompute,pq,keyword,compact", CONFIGS, ids=lambda v: str(v))
def test_config_contract(tmp_path: Path, recompute: bool, pq: int, keyword: bool, compact: bool) -> None:
    emb = WordHashEmbedder()
    texts, metas = make_corpus(1100 if pq else 200)
    path = tmp_path / "c.leann"
    b = LeannBuilder(embedding_model=emb, is_recompute=recompute, pq_bytes=pq, keyword_index=keyword, is_compact=compact)
    b.add_texts(texts, metas, ids=[f"p{i}" for i in range(len(texts))])
    b.build_index(path)
    with LeannSearcher(path, emb) as s:
        before = _answers(s)
        assert bool(s.manifest["files"].get("pq")) == bool(pq)
        assert bool(s.manifest["files"].get("bm25")) == keyword
        assert bool(s.manifest["files"].get("embeddings")) == (not recompute)
        assert all(len(v) == 5 for v in before.values())
        assert all(r.metadata["topic"] == "kernel" for r in s.get(before[f"filtered:{QUERIES[0]}"]))
        assert before["dense:recipe onion garlic"][0] in s.select({"topic": "cooking"})
    with LeannSearcher(path, emb) as s:
        assert _answers(s) == before  # reopen: same answers
    ix = LeannIndex(path, emb, auto_compact=False)
    ix.add_texts(["zebra giraffe savanna"], metadatas=[{"topic": "zoo"}], ids=["z1"])
    gone = before["dense:recipe onion garlic"][0]
    assert ix.delete([gone]) == 1
    for mode in ("dense", "bm25", "hybrid"):
        assert ix.search("zebra giraffe", top_k=1, mode=mode)[0].id == "z1"
        assert gone not in [r.id for r in ix.search("recipe onion garlic", top_k=5, mode=mode)]
    ix.compact()
    after = _answers(ix)
    assert ix.count() == len(texts) and ix.manifest["counts"]["delta"] == 0
    ix.close()
    with LeannSearcher(path, emb) as s:
        assert _answers(s) == after and s.select({"topic": "zoo"}) == ["z1"]
