"""A merge rewrites the passage blocks and the keyword file in proportion to the change: untouched
blocks are copied as bytes, blocks that lost rows are re-encoded with the same dictionary, the
keyword postings of an add-only merge are spliced; the result equals a fresh encoding of the
live set."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import numpy as np
import pytest
from conftest import WordHashEmbedder, make_corpus

from leann_engine import IndexFormatError, LeannBuilder, LeannIndex, LeannSearcher
from leann_engine.keyword.tokenize import Tokenizer
from leann_engine.store.files.bm25 import FilePostings, encode_bm25
from leann_engine.store.files.bm25_merge import merge_bm25
from leann_engine.store.files.passage_merge import merge_passages
from leann_engine.store.files.passages import BLOCK_ROWS, PassageBlocks, encode_passages, record_line

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _write(tmp_path: Path, name: str, data: bytes, table: bytes, n: int) -> tuple[PassageBlocks, bytes]:
    (tmp_path / f"{name}.pz").write_bytes(data)
    (tmp_path / f"{name}.pzt").write_bytes(table)
    return PassageBlocks(table, tmp_path / f"{name}.pzt", tmp_path / f"{name}.pz", n), data


def _all(pb: PassageBlocks, data: bytes) -> list[dict]:
    out = []
    for b in range(pb.n_blocks):
        lines = pb.block(b, data[pb.offsets[b] : pb.offsets[b + 1]])
        out += [pb.parse(line, int(pb.starts[b]) + j) for j, line in enumerate(lines)]
    return out


def _raw(pb: PassageBlocks, data: bytes, b: int) -> bytes:
    return data[pb.offsets[b] : pb.offsets[b + 1]]


def _merge(tmp_path, pb, keep, ids, texts, metas, name="m"):
    out = io.BytesIO()
    table = merge_passages(pb, keep, [record_line(t, m) for t, m in zip(texts, metas)], ids, out)
    return _write(tmp_path, name, out.getvalue(), table, int(keep.sum()) + len(ids))


@pytest.fixture
def base(tmp_path):
    texts, metas = make_corpus(10 * BLOCK_ROWS + 40, seed=2)
    n = 10 * BLOCK_ROWS
    ids = [f"p{i}" for i in range(n)]
    pb, data = _write(tmp_path, "b", *encode_passages(ids, texts[:n], metas[:n]), n)
    return pb, data, ids, texts, metas


def test_untouched_blocks_are_copied_byte_for_byte(tmp_path, base):
    pb, data, ids, texts, metas = base
    n = pb.n
    keep = np.ones(n, dtype=bool)
    keep[[3 * BLOCK_ROWS + 1, 3 * BLOCK_ROWS + 7]] = False  # two rows of block 3
    new = list(range(n, n + 40))
    m, mdata = _merge(tmp_path, pb, keep, [f"p{i}" for i in new], [texts[i] for i in new], [metas[i] for i in new])
    assert m.dict_data == pb.dict_data
    for b in [0, 1, 2, *range(4, 10)]:  # every block but the one that lost rows, in its place
        assert _raw(m, mdata, b) == _raw(pb, data, b) and m.crcs[b] == pb.crcs[b]
    assert int(m.starts[4] - m.starts[3]) == BLOCK_ROWS - 2 and _raw(m, mdata, 3) != _raw(pb, data, 3)
    live = [i for i in range(n) if keep[i]] + new
    assert _all(m, mdata) == [
        {"id": f"p{i}", "text": texts[i], "metadata": metas[i]} for i in live
    ]


def test_merge_equals_a_fresh_encoding_of_the_live_set(tmp_path, base):
    pb, data, ids, texts, metas = base
    rng = np.random.default_rng(0)
    keep = rng.random(pb.n) > 0.1  # scattered deletes: runs of touched and short blocks
    keep[: 2 * BLOCK_ROWS] = True
    new = list(range(pb.n, pb.n + 40))
    m, mdata = _merge(tmp_path, pb, keep, [f"p{i}" for i in new], [texts[i] for i in new], [metas[i] for i in new])
    live = [i for i in range(pb.n) if keep[i]] + new
    want = [{"id": f"p{i}", "text": texts[i], "metadata": metas[i]} for i in live]
    fresh, fdata = _write(tmp_path, "f", *encode_passages([w["id"] for w in want], [texts[i] for i in live],
                                                        [metas[i] for i in live]), len(live))
    assert _all(m, mdata) == _all(fresh, fdata) == want
    assert m.ids == fresh.ids == [w["id"] for w in want]
    sizes = np.diff(m.starts)
    assert sizes.max() < BLOCK_ROWS + BLOCK_ROWS // 2
    assert _raw(m, mdata, 0) == _raw(pb, data, 0)
    assert len(mdata) < 1.1 * len(fdata)  # same dictionary, blocks of about the same size


def test_short_tail_blocks_are_joined_by_the_next_merge(tmp_path, base):
    pb, data, ids, texts, metas = base
    keep = np.ones(pb.n, dtype=bool)
    for step in range(8):  # eight merges of five passages each
        new = list(range(pb.n, pb.n + 5)) if step == 0 else list(range(320 + 5 * step, 325 + 5 * step))
        pb, data = _merge(tmp_path, pb, keep, [f"p{i}" for i in new], [texts[i] for i in new],
                          [metas[i] for i in new], name=f"g{step}")
        keep = np.ones(pb.n, dtype=bool)
    assert pb.n == 360 and pb.n_blocks == 12  # 11 full blocks and a tail of 8, not one per merge
    assert [r["id"] for r in _all(pb, data)] == [f"p{i}" for i in range(360)]


def test_damaged_blocks_are_caught_before_and_after_a_merge(tmp_path, base):
    pb, data, ids, texts, metas = base
    keep = np.ones(pb.n, dtype=bool)
    keep[5] = False
    m, mdata = _merge(tmp_path, pb, keep, [], [], [])
    bad = bytearray(mdata)
    bad[int(m.offsets[6]) + 3] ^= 0x20  # a block that was copied as bytes
    with pytest.raises(IndexFormatError, match=r"m\.pz is corrupt: block 6 \(passages 191\.\.222\)"):
        m.block(6, bytes(bad[m.offsets[6] : m.offsets[7]]))
    dmg = bytearray(data)
    dmg[int(pb.offsets[4]) + 2] ^= 0x04
    (tmp_path / "b.pz").write_bytes(bytes(dmg))
    with pytest.raises(IndexFormatError, match="block 4"):  # the merge checks what it copies
        _merge(tmp_path, pb, keep, [], [], [], name="m2")


def test_the_dictionary_is_kept_until_the_index_doubles(tmp_path):
    texts, metas = make_corpus(400, seed=5)
    pb, _ = _write(tmp_path, "b", *encode_passages([str(i) for i in range(100)], texts[:100], metas[:100]), 100)
    grown, gdata = _merge(tmp_path, pb, np.ones(100, bool), [str(i) for i in range(100, 199)], texts[100:199],
                          metas[100:199])
    assert grown.dict_data == pb.dict_data and grown.dict_rows == 100
    again, adata = _merge(tmp_path, grown, np.ones(199, bool), ["199", "200"], texts[199:201], metas[199:201], "a")
    assert again.dict_rows == 201 and again.dict_data != pb.dict_data  # retrained: every block new
    assert [r["text"] for r in _all(again, adata)] == texts[:201]


@pytest.mark.parametrize(
    "old_ids, new_ids, kind",
    [
        ([str(i) for i in range(200)], ["200", "201"], "ints"),  # positions with holes
        ([str(i) for i in range(200)], ["9000000"], "ints"),
        ([str(i) for i in range(200)], ["new-one"], "json"),
        ([str(uuid.UUID(int=i + 1)) for i in range(200)], [str(uuid.uuid4())], "uuid"),
        ([uuid.UUID(int=i + 1).hex for i in range(200)], [uuid.uuid4().hex], "uuid_hex"),
        ([uuid.UUID(int=i + 1).hex for i in range(200)], ["x"], "json"),
        ([f"doc-{i}" for i in range(200)], ["doc-new"], "json"),
    ],
)
def test_id_forms_survive_a_merge(tmp_path, old_ids, new_ids, kind):
    texts, metas = make_corpus(200 + len(new_ids), seed=6)
    pb, _ = _write(tmp_path, "b", *encode_passages(old_ids, texts[:200], metas[:200]), 200)
    keep = np.ones(200, dtype=bool)
    keep[[0, 50, 51, 199]] = False
    m, _ = _merge(tmp_path, pb, keep, new_ids, texts[200:], metas[200:])
    want = [old_ids[i] for i in range(200) if keep[i]] + new_ids
    assert m._id_head["ids"] == kind
    assert m.ids == want and m.id_of([0, 195, len(want) - 1]) == [want[0], want[195], want[-1]]
    m2 = PassageBlocks((tmp_path / "m.pzt").read_bytes(), tmp_path / "m.pzt", tmp_path / "m.pz", len(want))
    assert m2.id_of(list(range(len(want)))) == want  # read without the full list


def test_a_version_1_table_opens_and_merges(tmp_path):
    """passages_v1.pz/.pzt were written by the code before per-block first rows (version 1)."""
    texts, metas = make_corpus(150, seed=3)
    order = np.random.default_rng(3).permutation(150)
    data = (FIXTURES / "passages_v1.pz").read_bytes()
    table = (FIXTURES / "passages_v1.pzt").read_bytes()
    assert int.from_bytes(table[8:12], "little") == 1
    pb = PassageBlocks(table, FIXTURES / "passages_v1.pzt", FIXTURES / "passages_v1.pz", 150)
    assert pb.block_rows == 32 and pb.starts.tolist() == [0, 32, 64, 96, 128, 150]
    want = [{"id": str(i), "text": texts[i], "metadata": metas[i]} for i in order.tolist()]
    assert _all(pb, data) == want
    keep = np.ones(150, dtype=bool)
    keep[[40, 41, 149]] = False
    m, mdata = _merge(tmp_path, pb, keep, ["150"], ["a new passage"], [{"k": 1}])
    assert int.from_bytes((tmp_path / "m.pzt").read_bytes()[8:12], "little") == 2
    assert _raw(m, mdata, 0) == _raw(pb, data, 0) and _raw(m, mdata, 2) == _raw(pb, data, 2)
    assert _all(m, mdata) == [w for i, w in enumerate(want) if keep[i]] + [
        {"id": "150", "text": "a new passage", "metadata": {"k": 1}}
    ]


def _lists(fp: FilePostings) -> tuple[dict, list]:
    return {t: tuple(x.tolist() for x in fp.lookup(t)) for t in fp.terms()}, fp.doc_len.tolist()


@pytest.mark.parametrize("deletes", [False, True])
def test_keyword_merge_equals_a_fresh_keyword_file(tmp_path, deletes):
    texts, _ = make_corpus(700, seed=8)
    texts[650] += " brandnewterm zebra"
    tok = Tokenizer()
    docs = [tok(t) for t in texts]
    (tmp_path / "k.bm25").write_bytes(encode_bm25(docs[:600]))
    new_row = np.arange(600)
    if deletes:
        new_row[[0, 5, 299, 599]] = -1
        new_row[new_row >= 0] = np.arange(596)
    merged = merge_bm25(FilePostings(tmp_path / "k.bm25"), new_row, docs[600:])
    live = [docs[i] for i in range(600) if new_row[i] >= 0] + docs[600:]
    fresh = encode_bm25(live)
    (tmp_path / "m.bm25").write_bytes(merged)
    (tmp_path / "f.bm25").write_bytes(fresh)
    assert _lists(FilePostings(tmp_path / "m.bm25")) == _lists(FilePostings(tmp_path / "f.bm25"))
    if not deletes:  # spliced: the same bytes a fresh encoding gives
        assert merged == fresh


def test_index_merge_gives_the_records_of_a_fresh_build(tmp_path):
    texts, metas = make_corpus(700, seed=9)
    emb = WordHashEmbedder()
    b = LeannBuilder(embedding_model=emb, num_threads=1)
    b.add_texts(texts[:600], metas[:600])  # the builder's ids: positions
    b.build_index(tmp_path / "ix")
    ix = LeannIndex(tmp_path / "ix", emb, auto_compact=False)
    before = json.loads((tmp_path / "ix" / "manifest.json").read_text())
    ix.delete([str(i) for i in range(0, 600, 37)])
    added = ix.add_texts(texts[600:], metas[600:], ids=[str(i) for i in range(600, 700)])
    ix.compact()
    after = json.loads((tmp_path / "ix" / "manifest.json").read_text())
    assert after["generation"] > before["generation"] and after["delta"]["rows"] == 0
    assert after["last_merge"]["deleted"] == 17  # merged, not rebuilt
    live = sorted(set(range(700)) - set(range(0, 600, 37)))
    fb = LeannBuilder(embedding_model=emb, num_threads=1)
    fb.add_texts([texts[i] for i in live], [metas[i] for i in live], ids=[str(i) for i in live])
    fb.build_index(tmp_path / "fresh")
    with LeannSearcher(tmp_path / "ix", emb) as s, LeannSearcher(tmp_path / "fresh", emb) as f:
        got = {r.id: (r.text, r.metadata) for r in s.get([str(i) for i in range(700)])}
        want = {r.id: (r.text, r.metadata) for r in f.get([str(i) for i in range(700)])}
        assert got == want and len(got) == len(live) and set(added) <= set(got)
        blocks = s._snap.base.blocks
        assert blocks._id_head["ids"] == "ints"
        for q in ["kernel driver patch", "w7 number"]:  # the same keyword statistics
            a = {r.id: r.score for r in s.search(q, mode="bm25", top_k=len(live))}
            w = {r.id: r.score for r in f.search(q, mode="bm25", top_k=len(live))}
            assert a.keys() == w.keys() and all(a[k] == pytest.approx(w[k], rel=1e-5) for k in a)


def test_graph_renumbering_and_reachability_match_per_node_loops():
    from leann_engine.graph.csr import Graph, reachable, sets_to_csr
    from leann_engine.graph.insert import _renumbered_csr

    rng = np.random.default_rng(1)
    n = 400
    lists = [rng.integers(0, n, rng.integers(0, 6)) for _ in range(n)]
    keep = rng.random(n) > 0.2
    new_id = np.full(n, -1, dtype=np.int64)
    new_id[keep] = np.arange(int(keep.sum()))
    kept = [lists[u] for u in np.flatnonzero(keep).tolist()]
    want = sets_to_csr([set(x for x in new_id[a].tolist() if x >= 0) for a in kept])
    got = _renumbered_csr(kept, new_id)
    assert got[0].tolist() == want[0].tolist() and got[1].tolist() == want[1].tolist()
    g = Graph(n=int(keep.sum()), indptr=got[0], indices=got[1], entry_point=0)
    seen, todo = {0}, [0]
    while todo:
        for v in g.neighbors(todo.pop()).tolist():
            if v not in seen:
                seen.add(v)
                todo.append(v)
    assert set(np.flatnonzero(reachable(g, 0)).tolist()) == seen and 1 < len(seen) < g.n
