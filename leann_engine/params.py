"""Build, search and compaction parameters: every default of the engine lives here and nowhere else.

Each is a frozen dataclass validated once in ``__post_init__``; a bad value raises ``ValueError``
naming the field and what was expected. Callers change a default with ``dataclasses.replace``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar

METRICS: tuple[str, ...] = ("cosine", "mips")


SEARCH_MODES: tuple[str, ...] = ("dense", "bm25", "hybrid")


PRUNING_STRATEGIES: tuple[str, ...] = ("global", "local")


FUSION_NAMES: tuple[str, ...] = ("blend", "rrf")


# Seed of the HNSW build and of PQ training; recorded in the manifest so a compaction repeats it.
GRAPH_SEED = 100


# LEANN's names for build options: alias -> (our field, conversion).
_BUILD_ALIASES: dict[str, tuple[str, Any]] = {
    "efConstruction": ("build_complexity", lambda v: v),
    "complexity": ("build_complexity", lambda v: v),
    "M": ("graph_degree", lambda v: 2 * v if isinstance(v, int) and not isinstance(v, bool) else v),
}


def _is_int(value: Any) -> bool:
    try:
        import numpy as np

        ints: tuple[type, ...] = (int, np.integer)
    except ImportError:  # pragma: no cover - numpy is a core dependency
        ints = (int,)
    return isinstance(value, ints) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return _is_int(value) or (isinstance(value, float) and value == value)


def check_int(name: str, value: Any, low: int, *, none_ok: bool = False) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``value`` is an integer ``>= low`` (or None)."""
    if value is None and none_ok:
        return
    if not _is_int(value) or value < low:
        extra = " or None" if none_ok else ""
        raise ValueError(f"{name} must be an integer >= {low}{extra}, got {value!r}")


def check_number(name: str, value: Any, low: float, high: float | None = None, *, none_ok: bool = False) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``value`` is a number in ``[low, high]``."""
    if value is None and none_ok:
        return
    if not _is_number(value) or value < low or (high is not None and value > high):
        span = f">= {low}" if high is None else f"in [{low}, {high}]"
        extra = " or None" if none_ok else ""
        raise ValueError(f"{name} must be a number {span}{extra}, got {value!r}")


def _check_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")


class _Params:
    """Shared helpers of the parameter dataclasses."""

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]

    def replace(self, **changes: Any) -> Any:
        """A copy with ``changes``; unknown names raise ``ValueError`` listing the known ones."""
        unknown = sorted(set(changes) - set(self.field_names()))
        if unknown:
            raise ValueError(
                f"unknown {type(self).__name__} option {unknown[0]!r}; known: {', '.join(self.field_names())}"
            )
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


@dataclass(frozen=True)
class BuildParams(_Params):
    """How an index is built, and rebuilt by every compaction.

    ``graph_degree``: most neighbours a hub node keeps (HNSW level-0 ``2*M``).
    ``build_complexity``: HNSW ``efConstruction``.
    ``pruned_degree``: neighbour budget of non-hub nodes after high-degree-preserving pruning;
    ``None`` keeps HNSW's lists. ``hub_fraction``: share of nodes, by degree, that keep
    ``graph_degree``. ``num_threads``: hnswlib build threads (-1: all cores).
    ``pq_bytes``: the most code bytes per passage the build-time probe may choose for the
    two-level search (``None``/0: graph only; indexes under 32 passages get no codes). ``hub_cache_mb``: float16 embeddings of hub
    nodes stored with the index (0: none). ``metric``: ``"cosine"`` or ``"mips"``.
    ``is_recompute``: drop embeddings after the build and recompute at search time.
    ``is_compact``: varint-coded neighbour lists (else plain int32). ``stopwords``: BM25 stop
    words (``None``, language codes such as ``"en,ja"``, or a collection of words).
    ``keyword_index``: write the BM25 file. ``calibrate``: probe the model for hybrid fusion.
    """

    graph_degree: int = 32
    build_complexity: int = 200
    pruned_degree: int | None = 12
    hub_fraction: float = 0.02
    num_threads: int = -1
    pq_bytes: int | None = 48
    hub_cache_mb: float = 0.0
    metric: str = "cosine"
    is_recompute: bool = True
    is_compact: bool = True
    stopwords: str | tuple[str, ...] | None = None
    keyword_index: bool = True
    calibrate: bool = True

    def __post_init__(self) -> None:
        check_int("graph_degree", self.graph_degree, 4)
        check_int("build_complexity", self.build_complexity, 1)
        check_int("pruned_degree", self.pruned_degree, 2, none_ok=True)
        check_number("hub_fraction", self.hub_fraction, 0.0, 1.0)
        if not _is_int(self.num_threads) or (self.num_threads < 1 and self.num_threads != -1):
            raise ValueError(f"num_threads must be -1 (all cores) or an integer >= 1, got {self.num_threads!r}")
        check_int("pq_bytes", self.pq_bytes, 0, none_ok=True)
        check_number("hub_cache_mb", self.hub_cache_mb, 0.0)
        if self.metric not in METRICS:
            raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {self.metric!r}")
        for name in ("is_recompute", "is_compact", "keyword_index", "calibrate"):
            _check_bool(name, getattr(self, name))
        stop = self.stopwords
        if stop is not None and not isinstance(stop, str):
            if not isinstance(stop, Iterable) or not all(isinstance(w, str) for w in stop):
                raise ValueError(f"stopwords must be None, language codes or a collection of words, got {stop!r}")
            object.__setattr__(self, "stopwords", tuple(sorted(set(stop))))
        from leann_engine.keyword.tokenize import Tokenizer

        Tokenizer(self.stopwords)  # unknown language codes fail here, naming stopwords

    @classmethod
    def from_options(cls, **options: Any) -> BuildParams:
        """Parameters from keyword options, accepting LEANN's ``M``, ``efConstruction`` and
        ``complexity``; an unknown option raises ``ValueError`` listing the known ones."""
        known = cls.field_names()
        out: dict[str, Any] = {}
        for key, value in options.items():
            if key in _BUILD_ALIASES:
                name, convert = _BUILD_ALIASES[key]
                out[name] = convert(value)
            elif key in known:
                out[key] = value
            else:
                raise ValueError(
                    f"unknown LeannBuilder option {key!r}; known: {', '.join(known)} "
                    f"(and LEANN's {', '.join(_BUILD_ALIASES)})"
                )
        return cls(**out)

    @classmethod
    def from_manifest(cls, m: Mapping[str, Any]) -> BuildParams:
        """The parameters an index was built with (older manifests hold fewer; defaults fill in)."""
        build = dict(m.get("build") or {})
        keyword = m.get("keyword") or {}
        tok = keyword.get("tokenizer") or {}
        stop: str | tuple[str, ...] | None = None
        if tok.get("custom_stopwords"):
            stop = tuple(tok["custom_stopwords"])
        elif tok.get("stopwords"):
            stop = ",".join(tok["stopwords"])
        hybrid = m.get("hybrid") or {}
        return cls(
            graph_degree=build["graph_degree"],
            build_complexity=build["build_complexity"],
            pruned_degree=build["pruned_degree"],
            hub_fraction=build["hub_fraction"],
            num_threads=build.get("num_threads", -1),
            # Indexes written before codes existed stay graph-only through compactions.
            pq_bytes=build.get("pq_bytes"),
            hub_cache_mb=float(build.get("hub_cache_mb", 0.0)),
            metric=m.get("metric", "cosine"),
            is_recompute=bool(m.get("is_recompute", True)),
            is_compact=bool(m.get("is_compact", True)),
            stopwords=stop,
            keyword_index=bool(hybrid.get("keyword_index", True)),
            calibrate=bool(hybrid.get("calibrate", True)),
        )

    def manifest_build(self) -> dict[str, Any]:
        """The manifest's ``build`` section (the graph parameters and the seed)."""
        return {
            "graph_degree": self.graph_degree,
            "build_complexity": self.build_complexity,
            "pruned_degree": self.pruned_degree,
            "hub_fraction": self.hub_fraction,
            "seed": GRAPH_SEED,
            "pq_bytes": self.pq_bytes or None,
            "hub_cache_mb": float(self.hub_cache_mb),
        }


@dataclass(frozen=True)
class SearchParams(_Params):
    """Options of :meth:`LeannSearcher.search`, with their defaults.

    top_k: how many results; fewer only when fewer passages match.
    complexity: the search queue length (HNSW's ``ef``; at least ``top_k`` is used).
        Higher finds more of the true nearest neighbours and re-embeds more passages.
    mode: ``"dense"`` (embedding similarity; the default unless the searcher was
        opened with another), ``"bm25"`` (keywords) or ``"hybrid"`` (both, fused).
    alpha: weight of the dense ranking in a hybrid fusion, in [0, 1]; ``None`` (the
        default) uses the index's calibrated weight (:mod:`leann_engine.calibrate`).
    fusion: ``"blend"`` (default), ``"rrf"``, or a callable, see :mod:`leann_engine.fusion`.
    rerank: re-order the best ``rerank_top_n`` candidates: ``True`` or ``"exact"``
        (cosine with the index's embedding model, no extra model), a cross-encoder
        model name or local path, or a :class:`~leann_engine.rerank.Reranker`.
    rerank_top_n: candidates the reranker sees (default ``max(top_k, 20)``).
    use_grep: return only passages that contain ``query`` literally (LEANN's grep),
        best keyword score first; ``grep_ignore_case`` and ``grep_regex`` (``query``
        is a Python regular expression) widen the match.
    recompute_embeddings: ``None`` uses stored embeddings when the index has them and
        recomputes otherwise; ``True`` always recomputes; ``False`` requires stored ones.
    batch_size: gather at least this many new nodes per model call (dynamic batching);
        0 embeds each search step's new neighbours together.
    beam_width: frontier nodes expanded per step (LEANN's name); their new neighbours
        are embedded in one batch.
    prune_ratio: two-level search (index with PQ codes, recomputing): the share of the
        approximate queue not re-embedded; ``None`` means 0.8 there, 0.0 elsewhere.
        With ``"global"`` the walk follows the codes with a queue of
        ``complexity / (1 - prune_ratio)`` and re-embeds its best ``complexity``; 0.0
        walks on exact scores only. Ignored (exact walk) on an index without codes.
    pruning_strategy: ``"global"`` (above) or ``"local"``: walk on exact scores and
        re-embed only the best ``1 - prune_ratio`` of each step's new neighbours.
    """

    MODES: ClassVar[tuple[str, ...]] = SEARCH_MODES

    top_k: int = 5
    complexity: int = 64
    mode: str = "dense"
    alpha: float | None = None
    fusion: Any = "blend"
    rerank: Any = None
    rerank_top_n: int | None = None
    use_grep: bool = False
    grep_ignore_case: bool = False
    grep_regex: bool = False
    recompute_embeddings: bool | None = None
    batch_size: int = 0
    beam_width: int = 1
    prune_ratio: float | None = None
    pruning_strategy: str = "global"

    def __post_init__(self) -> None:
        check_int("top_k", self.top_k, 1)
        check_int("complexity", self.complexity, 1)
        if self.mode not in SEARCH_MODES:
            raise ValueError(f"mode must be one of {', '.join(repr(m) for m in SEARCH_MODES)}, got {self.mode!r}")
        if self.alpha is not None and (not _is_number(self.alpha) or not 0 <= self.alpha <= 1):
            raise ValueError(f"alpha must be a number in [0, 1] or None (adaptive), got {self.alpha!r}")
        if not callable(self.fusion) and self.fusion not in FUSION_NAMES:
            raise ValueError(
                f"fusion must be one of {', '.join(repr(f) for f in FUSION_NAMES)} or a callable "
                f"(dense, keyword, alpha) -> [(row, score), ...], got {self.fusion!r}"
            )
        if self.rerank not in (None, False, True):
            from leann_engine.hybrid.rerank import check_rerank

            check_rerank(self.rerank)
        check_int("rerank_top_n", self.rerank_top_n, 1, none_ok=True)
        for name in ("use_grep", "grep_ignore_case", "grep_regex"):
            _check_bool(name, getattr(self, name))
        if self.recompute_embeddings is not None:
            _check_bool("recompute_embeddings", self.recompute_embeddings)
        check_int("batch_size", self.batch_size, 0)
        check_int("beam_width", self.beam_width, 1)
        if self.prune_ratio is not None and (not _is_number(self.prune_ratio) or not 0.0 <= self.prune_ratio < 1.0):
            raise ValueError(f"prune_ratio must be a number in [0, 1) or None, got {self.prune_ratio!r}")
        if self.pruning_strategy not in PRUNING_STRATEGIES:
            raise ValueError(
                f"pruning_strategy must be one of {', '.join(PRUNING_STRATEGIES)}, got {self.pruning_strategy!r}"
            )


@dataclass(frozen=True)
class CompactionPolicy(_Params):
    """When a growing index is rebuilt (compacted) into a new graph.

    An index with no graph yet gets one once ``first_graph_at`` passages are pending; later,
    once the delta and tombstones together reach ``ratio`` of the graph's size and at least
    ``min_rows``. ``enabled=False`` never compacts on its own (``compact()`` still works).
    """

    first_graph_at: int = 32
    ratio: float = 0.25
    min_rows: int = 1024
    enabled: bool = True

    def __post_init__(self) -> None:
        check_int("first_graph_at", self.first_graph_at, 1)
        if not _is_number(self.ratio) or self.ratio <= 0:
            raise ValueError(f"compact_ratio must be a number > 0, got {self.ratio!r}")
        check_int("compact_min_rows", self.min_rows, 0)
        _check_bool("auto_compact", self.enabled)

    def due(self, counts: Mapping[str, int]) -> bool:
        """Whether an index with these manifest ``counts`` should be compacted now."""
        if not self.enabled:
            return False
        base, pending = int(counts["base"]), int(counts["delta"]) + int(counts["deleted"])
        if base == 0:
            return int(counts["delta"]) - int(counts["deleted"]) >= self.first_graph_at
        return pending > 0 and pending >= max(self.min_rows, self.ratio * base)
