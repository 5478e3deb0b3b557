"""The frame shared by the index's binary files (graph, PQ codes, keyword index, hub cache).

Layout (little-endian): 8 magic bytes, uint32 format version, uint32 header length, a JSON
header, the body, and a trailing CRC-32 of everything before it.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from leann_engine.errors import IndexFormatError

_PREFIX = 16  # magic + version + header length


def frame(magic: bytes, version: int, header: dict[str, Any], parts: Iterable[bytes]) -> bytes:
    """Serialise ``header`` and the body ``parts`` inside the frame."""
    head = json.dumps(header, separators=(",", ":")).encode()
    body = magic + struct.pack("<II", version, len(head)) + head + b"".join(parts)
    return body + struct.pack("<I", zlib.crc32(body))


def unframe(
    data: bytes, path: Path, magic: bytes, version: int, what: str
) -> tuple[dict[str, Any], memoryview]:
    """Check magic, checksum and version; return the header and the body.

    ``what`` names the kind of file in errors ("leann_engine graph file", ...).
    """
    if len(data) < _PREFIX + 4 or not data.startswith(magic):
        raise IndexFormatError(f"{path} is not a {what} (bad magic bytes): rebuild the index")
    (crc,) = struct.unpack("<I", data[-4:])
    if zlib.crc32(data[:-4]) != crc:
        raise IndexFormatError(
            f"{path} is corrupt (checksum mismatch): rebuild the index or restore it from a backup"
        )
    found, head_len = struct.unpack("<II", data[8:_PREFIX])
    if found > version:
        raise IndexFormatError(
            f"{path} has {what} format {found}, newer than this code reads ({version}): upgrade leann_engine"
        )
    end = _PREFIX + head_len
    if end > len(data) - 4:
        raise IndexFormatError(f"{path} is truncated: rebuild the index or restore it from a backup")
    try:
        header = json.loads(data[_PREFIX:end])
    except ValueError as e:
        raise IndexFormatError(f"{path} is corrupt (header: {e}): rebuild the index") from e
    if not isinstance(header, dict):
        raise IndexFormatError(f"{path} is corrupt (header is not an object): rebuild the index")
    return header, memoryview(data)[end:-4]


def read_framed_bytes(path: Path) -> bytes:
    """The bytes of an index file; a missing one raises IndexFormatError."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError as e:
        raise IndexFormatError(f"{path} is missing: the index is incomplete, rebuild it") from e
    except OSError as e:
        raise IndexFormatError(f"cannot read {path}: {e}") from e
