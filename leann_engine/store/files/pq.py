"""The PQ codes file: the shared frame (magic ``LEANNPQ1``), a JSON header, the codebooks as
float16 ``(m, ksub, dsub)`` and the codes as uint8 ``(n, m)``."""

from __future__ import annotations

from pathlib import Path
import numpy as np
from leann_engine.errors import IndexFormatError
from leann_engine.store.framing import frame
from leann_engine.store.framing import read_framed_bytes
from leann_engine.store.framing import unframe
from leann_engine.quant.pq import ProductQuantizer


MAGIC = b"LEANNPQ1"


VERSION = 1


def encode_pq_file(pq: ProductQuantizer, codes: np.ndarray) -> bytes:
    header = {"dim": pq.dim, "m": pq.m, "ksub": pq.ksub, "dsub": pq.dsub, "n": int(codes.shape[0])}
    parts = [pq.codebooks.astype("<f2").tobytes(), np.ascontiguousarray(codes, dtype=np.uint8).tobytes()]
    return frame(MAGIC, VERSION, header, parts)


def decode_pq_file(data: bytes, path: Path, *, n: int, dim: int) -> tuple[ProductQuantizer, np.ndarray]:
    """Parse a codes file; damage, or a shape other than ``n`` x ``dim``, raises IndexFormatError."""
    head, body = unframe(data, path, MAGIC, VERSION, "leann_engine PQ codes file")
    try:
        m, ksub, dsub, rows = (int(head[k]) for k in ("m", "ksub", "dsub", "n"))
        if int(head["dim"]) != dim or rows != n or m * dsub < dim:
            raise ValueError(f"holds {rows} x {head['dim']}-d codes, the index has {n} x {dim}")
        book_bytes = m * ksub * dsub * 2
        if len(body) - book_bytes != n * m:
            raise ValueError("codes size does not match the header")
        books = np.frombuffer(body, dtype="<f2", count=m * ksub * dsub)
        codes = np.frombuffer(body, dtype=np.uint8, count=n * m, offset=book_bytes).reshape(n, m)
    except (ValueError, KeyError, TypeError) as e:
        raise IndexFormatError(f"{path} is corrupt ({e}): rebuild the index") from e
    if codes.size and int(codes.max()) >= ksub:
        raise IndexFormatError(f"{path} is corrupt: a code is outside its codebook")
    pq = ProductQuantizer(dim=dim, codebooks=books.reshape(m, ksub, dsub).astype(np.float32))
    return pq, codes


def read_pq(path: Path, *, n: int, dim: int) -> tuple[ProductQuantizer, np.ndarray]:
    return decode_pq_file(read_framed_bytes(path), Path(path), n=n, dim=dim)
