"""Build inputs kept on disk instead of in Python lists, so a build's memory stays bounded.

* :class:`PassageSpool`: passages queued by :class:`~leann_engine.LeannBuilder`, as JSON lines
  in an anonymous temporary file (unlinked at creation, so a killed process leaves nothing
  behind), with an offset per passage for reads in any order;
* :class:`VectorFile`: a generation's vectors, written batch by batch into the stage folder
  and read back in batches or runs of rows (plain reads, which do not grow the process's
  resident memory); only the pruning, which reads neighbours' rows at random, maps it.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from leann_engine.store.io import EMBEDDING_DTYPE

Batch = tuple[list[str], list[str], list[dict[str, Any]]]


class PassageSpool:
    """Passages (text, metadata) appended to an anonymous temporary file; ids stay in memory.

    It offers what the build reads from :class:`~leann_engine.build.pipeline.Passages`:
    ``len``, ``ids``, :meth:`batches` (row order) and :meth:`rows` (any order).
    """

    def __init__(self, directory: str | Path | None = None) -> None:
        # TemporaryFile is unlinked at once: nothing to clean up after a crash.
        self._file = tempfile.TemporaryFile(prefix="leann-spool-", dir=directory)
        self._ends: list[int] = []  # cumulative byte ends; array('q') would save little
        self._end = 0
        self.ids: list[Any] = []

    def append(self, pid: str | None, text: str, meta: dict[str, Any]) -> None:
        """Queue one passage (``pid`` may stay ``None`` until :attr:`ids` is resolved)."""
        line = (json.dumps([text, meta], ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        self._file.seek(self._end)
        self._file.write(line)
        self._end += len(line)
        self._ends.append(self._end)
        self.ids.append(pid)

    def __len__(self) -> int:
        return len(self._ends)

    def truncate(self, count: int) -> None:
        """Forget every passage after the first ``count``."""
        del self._ends[count:], self.ids[count:]
        self._end = self._ends[-1] if self._ends else 0

    def _offsets(self, start: int, stop: int) -> tuple[int, int]:
        return (self._ends[start - 1] if start else 0), self._ends[stop - 1]

    def batches(self, size: int = 4096) -> Iterator[Batch]:
        """``(ids, texts, metas)`` of consecutive rows, ``size`` at a time."""
        self._file.flush()
        for s in range(0, len(self), size):
            e = min(len(self), s + size)
            a, b = self._offsets(s, e)
            raw = os.pread(self._file.fileno(), b - a, a)
            recs = [json.loads(line) for line in raw.splitlines()]
            yield self.ids[s:e], [r[0] for r in recs], [r[1] for r in recs]

    def rows(self, idx: Sequence[int]) -> Batch:
        """``(ids, texts, metas)`` of the given rows, in that order."""
        self._file.flush()
        fd = self._file.fileno()
        texts, metas = [], []
        for r in idx:
            a, b = self._offsets(int(r), int(r) + 1)
            text, meta = json.loads(os.pread(fd, b - a, a))
            texts.append(text)
            metas.append(meta)
        return [self.ids[int(r)] for r in idx], texts, metas

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()


class VectorFile:
    """``n x dim`` float32 rows in one file, written in batches, read in batches or mapped."""

    def __init__(self, path: Path, n: int, dim: int) -> None:
        self.path, self.n, self.dim = Path(path), int(n), int(dim)
        with open(self.path, "wb") as f:
            f.truncate(self.n * self.dim * 4)

    def write(self, start: int, rows: np.ndarray) -> None:
        data = np.ascontiguousarray(rows, dtype=EMBEDDING_DTYPE)
        with open(self.path, "r+b") as f:
            f.seek(start * self.dim * 4)
            f.write(data.tobytes())

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` as a new array (a read, not a mapping)."""
        count = max(0, min(stop, self.n) - start)
        with open(self.path, "rb") as f:
            return np.fromfile(f, dtype=EMBEDDING_DTYPE, count=count * self.dim, offset=start * self.dim * 4).reshape(
                count, self.dim
            )

    def rows(self, idx: np.ndarray) -> np.ndarray:
        """The vectors of ``idx`` (any order, repeats allowed) as a new array, read with one
        ``pread`` per run of consecutive rows: no map, so nothing joins the resident set but
        the result (a map faults in whole large folios around every row it touches)."""
        idx = np.asarray(idx, dtype=np.int64).ravel()
        want, back = np.unique(idx, return_inverse=True)
        out = np.empty((want.size, self.dim), dtype=EMBEDDING_DTYPE)
        if want.size:
            cut = np.flatnonzero(np.diff(want) != 1) + 1
            starts, stops = np.r_[0, cut], np.r_[cut, want.size]
            row = self.dim * 4
            buf = memoryview(out).cast("B")
            with open(self.path, "rb") as f:
                fd = f.fileno()
                for a, b in zip(starts.tolist(), stops.tolist()):
                    os.preadv(fd, [buf[a * row : b * row]], int(want[a]) * row)
        return out if np.array_equal(want, idx) else out[back.ravel()]

    def chunks(self, size: int = 16384) -> Iterator[tuple[int, np.ndarray]]:
        for s in range(0, self.n, size):
            yield s, self.read(s, s + size)

    def take(self, rows: np.ndarray, size: int = 16384) -> Iterator[np.ndarray]:
        """The vectors of ``rows`` (any order), ``size`` rows at a time, read without a map."""
        for s in range(0, len(rows), size):
            yield self.rows(np.asarray(rows[s : s + size]))

    def reader(self) -> RowReader:
        """Array-like reads (``x[a:b]``, ``x[rows]``, ``x.shape``) without a map."""
        return RowReader(self)

    @contextlib.contextmanager
    def mapped(self) -> Iterator[np.ndarray]:
        """A read-only memory map, unmapped on exit so its pages leave the resident set."""
        if self.n == 0:
            yield np.zeros((0, self.dim), dtype=np.float32)
            return
        m = np.memmap(self.path, dtype=EMBEDDING_DTYPE, mode="r", shape=(self.n, self.dim))
        try:
            yield m
        finally:
            del m  # the last reference: the map and its resident pages go now

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()


class RowReader:
    """A :class:`VectorFile` read like an array, a slice or an index array at a time, with
    plain reads: for arrows that pass over every row (ordering, calibration), whose map would
    otherwise hold the whole file resident."""

    def __init__(self, vf: VectorFile) -> None:
        self.vf = vf
        self.shape = (vf.n, vf.dim)

    def __len__(self) -> int:
        return self.vf.n

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, slice):
            start, stop, step = key.indices(self.vf.n)
            if step == 1:
                return self.vf.read(start, max(start, stop))
            key = np.arange(start, stop, step)
        if isinstance(key, (int, np.integer)):
            return self.vf.rows(np.array([key]))[0]
        return self.vf.rows(np.asarray(key))
