"""``LeannIndex`` on a sharded index: every write goes to the shard its id hashes to.

``LeannIndex(path)`` returns a :class:`ShardedIndex` when ``path`` holds a sharded index. Adds,
replacements and deletes route each id with :func:`~leann_engine.shard.layout.shard_of`, the
rule the build used, so a replaced passage is tombstoned in the shard that holds it. Each shard
commits as a normal index; the top manifest's counts are then rewritten under the index's lock.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from leann_engine.build.passages import prepare_passages
from leann_engine.embed.base import Embedder
from leann_engine.index import LeannIndex
from leann_engine.params import CompactionPolicy, check_number
from leann_engine.search.searcher import LeannSearcher
from leann_engine.shard.layout import refresh_counts, shard_of, shard_paths
from leann_engine.store.lock import write_lock


class ShardedIndex(LeannIndex):
    """A read-write sharded index (see the module's docstring); reads and searches go through
    :attr:`searcher`, a :class:`~leann_engine.shard.searcher.ShardedSearcher`."""

    def __init__(
        self,
        index_path: str | Path,
        embedding: Embedder | str | None = None,
        *,
        enable_warmup: bool = False,
        policy: CompactionPolicy | None = None,
        auto_compact: bool | None = None,
        compact_ratio: float | None = None,
        compact_min_rows: int | None = None,
        show_progress: bool = False,
        lock_timeout: float = 60.0,
        **search_defaults: Any,
    ) -> None:
        check_number("lock_timeout", lock_timeout, 0.0)
        old = {"enabled": auto_compact, "ratio": compact_ratio, "min_rows": compact_min_rows}
        self.policy = (policy or CompactionPolicy()).replace(**{k: v for k, v in old.items() if v is not None})
        self.searcher = LeannSearcher(index_path, embedding, enable_warmup=enable_warmup, **search_defaults)
        self.path = self.searcher.path
        self.lock_timeout = float(lock_timeout)
        self.show_progress = show_progress

    def _shard_index(self, i: int) -> LeannIndex:
        path = shard_paths(self.path, self.manifest)[i]
        return LeannIndex(path, self.embedder, policy=self.policy, show_progress=self.show_progress,
                          lock_timeout=self.lock_timeout)

    def _each(self, groups: list[list[int]], write: Any) -> list[Any]:
        """``write(shard_index, positions)`` for every shard with work, then the top counts."""
        out = []
        for i, pos in enumerate(groups):
            if not pos:
                continue
            index = self._shard_index(i)
            try:
                out.append(write(index, pos))
            finally:
                index.close()
        with write_lock(self.path, self.lock_timeout):
            refresh_counts(self.path)
        self.refresh()
        return out

    def add_texts(
        self,
        texts: Sequence[str],
        metadatas: Sequence[dict[str, Any] | None] | None = None,
        ids: Sequence[Any] | None = None,
    ) -> list[str]:
        """Add passages, each to the shard its id hashes to (same id: replaced there)."""
        texts, metas, given = prepare_passages(texts, metadatas, ids)
        if not texts:
            return []
        if given is None:
            given = [uuid.uuid4().hex for _ in texts]
        self.refresh()
        n = self.searcher.num_shards
        groups: list[list[int]] = [[] for _ in range(n)]
        for j, pid in enumerate(given):
            groups[shard_of(pid, n)].append(j)
        self._each(groups, lambda index, pos: index.add_texts(
            [texts[j] for j in pos], [metas[j] for j in pos], [given[j] for j in pos]))
        return list(given)

    def delete(self, ids: Iterable[Any]) -> int:
        """Delete passages by id from the shards that hold them; returns how many."""
        if isinstance(ids, str):
            raise ValueError("ids must be a list of ids, got a single string")
        wanted = list(dict.fromkeys(str(i) for i in ids))
        self.refresh()
        n = self.searcher.num_shards
        groups: list[list[int]] = [[] for _ in range(n)]
        for j, pid in enumerate(wanted):
            groups[shard_of(pid, n)].append(j)
        return sum(self._each(groups, lambda index, pos: index.delete([wanted[j] for j in pos])))

    def compact(self, *, is_recompute: bool | None = None) -> bool:
        """Compact every shard that has pending work; ``True`` when any committed."""
        self.refresh()
        done = self._each([[0]] * self.searcher.num_shards, lambda index, _: index.compact(is_recompute=is_recompute))
        return any(done)
