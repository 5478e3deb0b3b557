"""On-disk form of a :class:`~leann_engine.graph.Graph`, checksummed.

Layout (little-endian): magic ``LEANNGRF``, uint32 format version, uint32 header length, a JSON
header, then per level a degree array and the neighbour stream, and a trailing CRC-32 of
everything before it. Level 0 covers every node; upper levels list their nodes first. With
``compact=True`` the lists are gap + varint coded (:mod:`leann_engine.codec`); otherwise plain
int32, which loads without decoding but takes about twice the space.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from leann_engine.errors import IndexFormatError
from leann_engine.graph.csr import Graph, Level
from leann_engine.store import codec
from leann_engine.store.framing import frame, read_framed_bytes, unframe

MAGIC = b"LEANNGRF"


VERSION = 1


def _pack_lists(
    indptr: np.ndarray, indices: np.ndarray, owners: np.ndarray | None, compact: bool
) -> tuple[dict[str, Any], list[bytes]]:
    deg = np.diff(indptr)
    wide = bool(deg.size and deg.max() > 255)
    deg_bytes = deg.astype(np.uint16 if wide else np.uint8).tobytes()
    if compact:
        stream = codec.encode_lists(indptr, indices, owners)
    else:
        stream = np.asarray(indices, dtype=np.int32).tobytes()
    return {"degree_dtype": "uint16" if wide else "uint8", "stream_bytes": len(stream)}, [deg_bytes, stream]


def encode_graph(graph: Graph, *, compact: bool = True) -> bytes:
    """Serialise ``graph``; ``compact`` selects varint-coded lists."""
    header: dict[str, Any] = {
        "n": graph.n,
        "entry_point": graph.entry_point,
        "compact": compact,
        "levels": [],
    }
    parts: list[bytes] = []
    info, blobs = _pack_lists(graph.indptr, graph.indices, None, compact)
    header["level0"] = info
    parts += blobs
    for lev in graph.upper:
        nodes = codec.encode_varints(
            np.diff(np.concatenate(([0], lev.nodes.astype(np.int64)))).astype(np.uint64)
        )
        info, blobs = _pack_lists(lev.indptr, lev.indices, lev.nodes, compact)
        info.update(count=int(lev.nodes.size), nodes_bytes=len(nodes))
        header["levels"].append(info)
        parts += [nodes, *blobs]
    return frame(MAGIC, VERSION, header, parts)


def _take(buf: memoryview, pos: int, size: int, path: Path) -> tuple[memoryview, int]:
    if size < 0 or pos + size > len(buf):
        raise IndexFormatError(f"{path} is truncated: rebuild the index or restore it from a backup")
    return buf[pos : pos + size], pos + size


def _lists(
    buf: memoryview,
    pos: int,
    count: int,
    info: dict[str, Any],
    owners: np.ndarray | None,
    compact: bool,
    path: Path,
) -> tuple[np.ndarray, np.ndarray, int]:
    dtype = np.uint16 if info["degree_dtype"] == "uint16" else np.uint8
    raw, pos = _take(buf, pos, count * np.dtype(dtype).itemsize, path)
    deg = np.frombuffer(raw, dtype=dtype).astype(np.int64)
    stream, pos = _take(buf, pos, int(info["stream_bytes"]), path)
    if compact:
        indptr, indices = codec.decode_lists(np.frombuffer(stream, dtype=np.uint8), deg, owners)
    else:
        indptr = np.zeros(count + 1, dtype=np.int64)
        np.cumsum(deg, out=indptr[1:])
        indices = np.frombuffer(stream, dtype=np.int32).copy()
        if indices.size != indptr[-1]:
            raise ValueError("edge count does not match degrees")
    return indptr, indices, pos


def decode_graph(data: bytes, path: Path) -> Graph:
    """Parse bytes written by :func:`encode_graph`; any damage raises :class:`IndexFormatError`."""
    header, buf = unframe(data, path, MAGIC, VERSION, "leann_engine graph file")
    pos = 0
    try:
        n, compact = int(header["n"]), bool(header["compact"])
        indptr, indices, pos = _lists(buf, pos, n, header["level0"], None, compact, path)
        upper = []
        for info in header["levels"]:
            count = int(info["count"])
            raw, pos = _take(buf, pos, int(info["nodes_bytes"]), path)
            nodes = np.cumsum(codec.decode_varints(np.frombuffer(raw, dtype=np.uint8), count))
            ip, ix, pos = _lists(buf, pos, count, info, nodes, compact, path)
            upper.append(Level(nodes=nodes, indptr=ip, indices=ix))
        graph = Graph(
            n=n, indptr=indptr, indices=indices, entry_point=int(header["entry_point"]), upper=upper
        )
    except IndexFormatError:
        raise
    except (ValueError, KeyError, TypeError) as e:
        raise IndexFormatError(f"{path} is corrupt ({e}): rebuild the index") from e
    if pos != len(buf):
        raise IndexFormatError(f"{path} has {len(buf) - pos} unexpected trailing bytes")
    if n and not (0 <= graph.entry_point < n):
        raise IndexFormatError(f"{path} is corrupt: entry point {graph.entry_point} outside [0, {n})")
    for ix in [graph.indices, *(lev.indices for lev in upper)]:
        if ix.size and (ix.min() < 0 or ix.max() >= n):
            raise IndexFormatError(f"{path} is corrupt: a neighbour id is outside [0, {n})")
    return graph


def read_graph(path: Path) -> Graph:
    return decode_graph(read_framed_bytes(path), Path(path))
