import numpy as np
import pytest

from leann_engine import codec


def test_varints_round_trip_including_large_values():
    rng = np.random.default_rng(0)
    vals = np.concatenate([rng.integers(0, 128, 500), rng.integers(0, 2**40, 500), [0, 127, 128, 2**63 - 1]]).astype(np.uint64)
    data = codec.encode_varints(vals)
    assert np.array_equal(codec.decode_varints(data, vals.size).astype(np.uint64), vals)


def test_small_values_take_one_byte():
    assert len(codec.encode_varints(np.arange(128))) == 128
    assert len(codec.encode_varints(np.array([128, 16383, 16384]))) == 2 + 2 + 3


def test_lists_round_trip_with_owner_relative_first_id():
    rng = np.random.default_rng(1)
    n = 300
    lists = [np.unique(rng.integers(0, n, rng.integers(0, 20))) for _ in range(n)]
    indptr = np.concatenate([[0], np.cumsum([len(x) for x in lists])])
    indices = np.concatenate(lists)
    data = codec.encode_lists(indptr, indices)
    ip, ix = codec.decode_lists(data, np.diff(indptr))
    assert np.array_equal(ip, indptr)
    assert np.array_equal(ix, indices)


def test_unsorted_lists_are_refused():
    with pytest.raises(ValueError, match="sorted"):
        codec.encode_lists(np.array([0, 2]), np.array([5, 3]))


def test_damaged_stream_is_detected():
    data = bytearray(codec.encode_varints(np.arange(1000, 1100)))
    with pytest.raises(ValueError, match="expected"):
        codec.decode_varints(bytes(data[:-1]), 100)
    with pytest.raises(ValueError, match="expected 101"):
        codec.decode_varints(bytes(data), 101)
