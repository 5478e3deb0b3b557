"""The issue-12 storage and codes: passage blocks with a trained dictionary, compact id forms,
packed 4-bit codes chosen by a probe, and the stopping rule of the ordered re-embedding."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest
from conftest import make_corpus

from leann_engine.embed.base import normalize_rows
from leann_engine.errors import IndexFormatError
from leann_engine.graph.walk import rerank_in_order
from leann_engine.quant.pq import adc_scores
from leann_engine.quant.pq4 import train_packed
from leann_engine.quant.probe import choose_codes
from leann_engine.store.files.passages import PassageBlocks, decode_ids, encode_ids, encode_passages
from leann_engine.store.files.pq import decode_pq_file, encode_pq_file


def clustered(n: int, dim: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((25, dim))
    x = centers[rng.integers(0, 25, n)] + 0.4 * rng.standard_normal((n, dim))
    return normalize_rows(x.astype(np.float32))


@pytest.mark.parametrize(
    "ids, kind, max_bytes",
    [
        ([str(i) for i in np.random.default_rng(0).permutation(1000)], "positions", 1000 * 10 // 8 + 2),
        ([str(uuid.uuid4()) for _ in range(50)], "uuid", 16 * 50),
        ([uuid.uuid4().hex for _ in range(50)], "uuid_hex", 16 * 50),
        ([f"doc-{i}" for i in range(500)], "json", 1500),
        (["1", "2", "3"], "ints", 1),  # numbers, but not the positions 0..n-1 (after deletes)
        ([str(i * 1000) for i in range(100)], "ints", 100 * 17 // 8 + 1),
        (["1", "02", "3"], "json", 100),  # "02" would not survive a round trip as a number
        (["1", "\u0661", "3"], "json", 100),  # an Arabic-Indic digit is a digit, not ASCII
        (["1", "-2", "3"], "json", 100),
    ],
)
def test_ids_take_their_smallest_form_and_round_trip(ids, kind, max_bytes):
    head, body = encode_ids(ids)
    assert head["ids"] == kind and len(body) <= max_bytes
    assert decode_ids(head, body, len(ids)) == ids


def _blocks(tmp_path: Path, n: int):
    texts, metas = make_corpus(n, seed=4)
    ids = [f"p{i}" for i in range(n)]
    data, table = encode_passages(ids, texts, metas)
    (tmp_path / "b.pz").write_bytes(data)
    return texts, metas, ids, data, table


def test_passage_blocks_round_trip_and_compress(tmp_path):
    texts, metas, ids, data, table = _blocks(tmp_path, 700)
    pb = PassageBlocks(table, tmp_path / "b.pzt", tmp_path / "b.pz", 700)
    raw_bytes = sum(len(t.encode()) for t in texts)
    assert len(data) < 0.5 * raw_bytes  # repetitive corpus: the dictionary pays off (and is in data)
    for row in (0, 31, 32, 699):
        b = row // pb.block_rows
        lines = pb.block(b, data[pb.offsets[b] : pb.offsets[b + 1]])
        rec = pb.parse(lines[row % pb.block_rows], row)
        assert rec == {"id": ids[row], "text": texts[row], "metadata": metas[row]}


def test_damaged_block_and_table_are_named(tmp_path):
    _, _, _, data, table = _blocks(tmp_path, 200)
    pb = PassageBlocks(table, tmp_path / "b.pzt", tmp_path / "b.pz", 200)
    bad = bytearray(data[pb.offsets[2] : pb.offsets[3]])
    bad[3] ^= 0x10
    with pytest.raises(IndexFormatError, match=r"b\.pz is corrupt: block 2 \(passages 64\.\.95\)"):
        pb.block(2, bytes(bad))
    dmg = bytearray(data)
    dmg[5] ^= 0x08
    with pytest.raises(IndexFormatError, match="dictionary fails its checksum"):
        PassageBlocks(table, tmp_path / "b.pzt", tmp_path / "b.pz", 200, head_bytes=bytes(dmg))
    broken = bytearray(table)
    broken[len(table) // 2] ^= 1
    with pytest.raises(IndexFormatError, match="checksum mismatch"):
        PassageBlocks(bytes(broken), tmp_path / "b.pzt", tmp_path / "b.pz", 200)
    with pytest.raises(IndexFormatError, match="lists 200 passages"):
        PassageBlocks(table, tmp_path / "b.pzt", tmp_path / "b.pz", 201)


@pytest.mark.parametrize("seed", [None, 7])
def test_packed_codes_rank_like_the_vectors_and_file_round_trips(tmp_path, seed):
    x = clustered(3000, 64)
    quant = train_packed(x, 16, seed=seed)
    codes = quant.encode(x)
    assert codes.shape == (3000, 16) and codes.dtype == np.uint8
    q = x[:20] + 0.05
    hits = 0
    for qi in q:
        est = adc_scores(quant.table(qi), codes)  # one look-up per packed byte
        np.testing.assert_allclose(est, quant.decode(codes) @ qi, rtol=1e-3, atol=1e-3)
        hits += len(set(np.argsort(-(x @ qi))[:10]) & set(np.argsort(-est)[:40]))
    assert hits / 200 >= 0.6  # chance: 40 / 3000
    quant.margin = 0.0123
    data = encode_pq_file(quant, codes, {"chosen": {"bytes": 16}})
    back, codes2 = decode_pq_file(data, tmp_path / "c.pq", n=3000, dim=64)
    np.testing.assert_array_equal(codes2, codes)
    assert back.seed == seed and back.margin == pytest.approx(0.0123) and back.m == 16
    np.testing.assert_allclose(back.table(q[0]), quant.table(q[0]), atol=1e-2)
    bad = bytearray(data)
    bad[-100] ^= 0x21
    with pytest.raises(IndexFormatError, match="checksum mismatch"):
        decode_pq_file(bytes(bad), tmp_path / "c.pq", n=3000, dim=64)


def test_probe_picks_the_smallest_code_that_keeps_recall_and_measures_a_margin():
    easy = clustered(2000, 32, seed=1)
    quant, codes, report = choose_codes(easy, max_bytes=16, seed=3)
    tried = report["tried"]
    assert report["chosen"] in tried and codes.shape[1] == report["chosen"]["bytes"]
    reaching = [t for t in tried if t["recall"] >= 0.9]
    if reaching:
        assert report["chosen"]["cost"] == min(t["cost"] for t in reaching)
    else:
        assert report["chosen"]["recall"] == max(t["recall"] for t in tried)
    assert quant.margin is not None and quant.margin > 0


def test_rerank_in_order_stops_when_no_candidate_can_enter_the_top_k():
    exact = np.array([0.9, 0.85, 0.8, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 0.0] * 3)
    est = exact - 0.01  # codes underestimate by at most 0.01
    cand = np.arange(exact.size)
    calls = []

    def score(ids):
        calls.append(ids.size)
        return exact[ids]

    full = rerank_in_order(cand, est, score, budget=30)
    assert sum(calls) == 30 and [r for _, r in full[:3]] == [0, 10, 20]
    calls.clear()
    early = rerank_in_order(cand, est, score, budget=30, top_k=3, margin=0.02, batch=4)
    assert sum(calls) < 30 and [r for _, r in early[:3]] == [r for _, r in full[:3]]
    calls.clear()
    # A margin wider than every gap scores the whole budget.
    rerank_in_order(cand, est, score, budget=20, top_k=3, margin=5.0, batch=4)
    assert sum(calls) == 20
