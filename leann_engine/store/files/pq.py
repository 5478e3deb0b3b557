"""The codes file: the shared frame (magic ``LEANNPQ1``), a JSON header, float16 codebooks
``(m, ksub, dsub)`` and the codes as uint8 ``(n, bytes per code)``.

Version 1 holds 8-bit PQ (one byte per subspace). Version 2 adds ``"kind": "pq4"``: 4-bit PQ,
two subspaces a byte, with the rotation seed and the probe's error margin in the header.
Version 3 stores the 4-bit codebooks as int8 with a float32 scale per subspace
(``"books": "int8"``; :func:`~leann_engine.quant.pq4.int8_books`). All are read; new 4-bit
codes whose codebooks lie on that grid are written as 3.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np

from leann_engine.errors import IndexFormatError
from leann_engine.quant.pq import ProductQuantizer
from leann_engine.quant.pq4 import PackedPQ, from_int8, int8_books
from leann_engine.store.framing import frame, read_framed_bytes, unframe

MAGIC = b"LEANNPQ1"


VERSION = 3


def encode_pq_file(
    pq: ProductQuantizer | PackedPQ, codes: np.ndarray, probe: dict[str, Any] | None = None
) -> bytes:
    """Serialise a quantizer and its codes (version 1 for 8-bit PQ, 2 for 4-bit packed)."""
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    books = [pq.codebooks.astype("<f2").tobytes()] if not isinstance(pq, PackedPQ) else []
    if isinstance(pq, PackedPQ):
        inner = pq.pq
        header: dict[str, Any] = {"kind": "pq4", "seed": pq.seed, "margin": pq.margin, "probe": probe}
        q, scale = int8_books(inner.codebooks)
        if np.array_equal(from_int8(q, scale), inner.codebooks):
            header["books"], version = "int8", 3
            books = [scale.astype("<f4").tobytes(), q.tobytes()]
        else:  # codebooks trained before version 3 keep their float16 values
            version, books = 2, [inner.codebooks.astype("<f2").tobytes()]
    else:
        inner, header, version = pq, {}, 1
    header.update(
        {"dim": inner.dim, "m": inner.m, "ksub": inner.ksub, "dsub": inner.dsub, "n": int(codes.shape[0])}
    )
    return frame(MAGIC, version, header, [*books, codes.tobytes()])


def decode_pq_file(
    data: bytes, path: Path, *, n: int, dim: int
) -> tuple[ProductQuantizer | PackedPQ, np.ndarray]:
    """Parse a codes file; damage, or a shape other than ``n`` x ``dim``, raises IndexFormatError."""
    head, body = unframe(data, path, MAGIC, VERSION, "leann_engine PQ codes file")
    (version,) = struct.unpack("<I", data[8:12])
    packed = version >= 2 and head.get("kind") == "pq4"
    try:
        m, ksub, dsub, rows = (int(head[k]) for k in ("m", "ksub", "dsub", "n"))
        if int(head["dim"]) != dim or rows != n or m * dsub < dim:
            raise ValueError(f"holds {rows} x {head['dim']}-d codes, the index has {n} x {dim}")
        width = m // 2 if packed else m
        if packed and (m % 2 or ksub > 16):
            raise ValueError("a 4-bit code needs an even number of subspaces of at most 16 centroids")
        int8 = packed and head.get("books") == "int8"
        book_bytes = m * (4 + ksub * dsub) if int8 else m * ksub * dsub * 2
        if len(body) - book_bytes != n * width:
            raise ValueError("codes size does not match the header")
        if int8:
            scale = np.frombuffer(body, dtype="<f4", count=m)
            books = from_int8(np.frombuffer(body, dtype=np.int8, count=m * ksub * dsub, offset=4 * m)
                              .reshape(m, ksub, dsub), scale)
        else:
            books = np.frombuffer(body, dtype="<f2", count=m * ksub * dsub)
        codes = np.frombuffer(body, dtype=np.uint8, count=n * width, offset=book_bytes).reshape(n, width)
    except (ValueError, KeyError, TypeError) as e:
        raise IndexFormatError(f"{path} is corrupt ({e}): rebuild the index") from e
    top = (int((codes >> 4).max()), int((codes & 15).max())) if packed and codes.size else None
    if codes.size and (max(top) if top else int(codes.max())) >= ksub:
        raise IndexFormatError(f"{path} is corrupt: a code is outside its codebook")
    pq = ProductQuantizer(dim=dim, codebooks=books.reshape(m, ksub, dsub).astype(np.float32))
    if packed:
        margin = head.get("margin")
        seed = head.get("seed")
        return PackedPQ(
            pq, None if seed is None else int(seed), None if margin is None else float(margin)
        ), codes
    return pq, codes


def read_pq(path: Path, *, n: int, dim: int) -> tuple[ProductQuantizer | PackedPQ, np.ndarray]:
    return decode_pq_file(read_framed_bytes(path), Path(path), n=n, dim=dim)
