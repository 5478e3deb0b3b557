"""Build options of an index, and the one rule that resolves them for a new build.

A build records its options in ``sources.json``; the next build of the same index, from the CLI
or from the MCP server, starts from those and changes only what the caller gives
(:meth:`BuildOptions.resolve`). Graph defaults come from the engine's ``BuildParams``, chunk
defaults from :mod:`leann_cli.ingest.chunk`; none is typed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from leann_engine import BuildParams

from .ingest.chunk.base import (
    DEFAULT_CHUNK_OVERLAP,
    DEFAULT_CHUNK_SIZE,
    DEFAULT_CODE_CHUNK_SIZE,
    check_chunk_size,
)
from .ingest.discover import normalize_file_types

_ENGINE = BuildParams()
_CHUNKING = ("chunk_size", "chunk_overlap", "code_chunk_size")
# Where the embeddings come from (recorded; an API key never is).
_PROVIDER = (
    "embedding_mode",
    "embedding_api_base",
    "embedding_host",
    "embedding_prompt_template",
    "query_prompt_template",
)


@dataclass
class BuildOptions:
    """How documents become chunks and chunks become an index (recorded for the next build)."""

    chunk_size: int = DEFAULT_CHUNK_SIZE
    chunk_overlap: int = DEFAULT_CHUNK_OVERLAP
    code_chunk_size: int = DEFAULT_CODE_CHUNK_SIZE
    file_types: tuple[str, ...] | None = None
    include_hidden: bool = False
    embedding_model: str | None = None
    graph_degree: int = _ENGINE.graph_degree
    build_complexity: int = _ENGINE.build_complexity
    is_recompute: bool = _ENGINE.is_recompute
    embedding_mode: str = "sentence-transformers"
    embedding_api_base: str | None = None
    embedding_host: str | None = None
    embedding_prompt_template: str | None = None
    query_prompt_template: str | None = None

    def __post_init__(self) -> None:
        from leann_engine import EMBEDDING_MODES

        if self.embedding_mode not in EMBEDDING_MODES:
            raise ValueError(
                f"embedding_mode must be one of {', '.join(EMBEDDING_MODES)}, got {self.embedding_mode!r}"
            )
        self.file_types = normalize_file_types(self.file_types)
        check_chunk_size("chunk_size", self.chunk_size)
        check_chunk_size("code_chunk_size", self.code_chunk_size)
        if (
            isinstance(self.chunk_overlap, bool)
            or not isinstance(self.chunk_overlap, int)
            or not 0 <= self.chunk_overlap < self.chunk_size
        ):
            raise ValueError(
                f"chunk_overlap must be an integer in [0, chunk_size={self.chunk_size}), got {self.chunk_overlap!r}"
            )
        # The engine validates its own options and names the bad one.
        BuildParams(
            graph_degree=self.graph_degree,
            build_complexity=self.build_complexity,
            is_recompute=self.is_recompute,
        )

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def chunking_key(self) -> dict[str, Any]:
        """The chunker's settings."""
        return {name: getattr(self, name) for name in _CHUNKING}

    def rebuild_key(self) -> dict[str, Any]:
        """What decides the chunks and their vectors: a change here means a full rebuild."""
        return {
            **self.chunking_key(),
            "embedding_model": self.embedding_model,
            "is_recompute": self.is_recompute,
            "embedding_mode": self.embedding_mode,
            "embedding_prompt_template": self.embedding_prompt_template or "",
            "query_prompt_template": self.query_prompt_template or "",
        }

    def embedding_options(self, api_key: str | None = None) -> dict[str, Any]:
        """``LeannBuilder``'s ``embedding_options``: server, templates and ``api_key`` (given per
        run, never recorded)."""
        opts: dict[str, Any] = {}
        if self.embedding_mode == "openai" and self.embedding_api_base:
            opts["base_url"] = self.embedding_api_base
        if self.embedding_mode == "ollama" and self.embedding_host:
            opts["host"] = self.embedding_host
        if self.embedding_mode == "openai" and api_key:
            opts["api_key"] = api_key
        if self.embedding_prompt_template is not None:
            opts["embedding_prompt_template"] = self.embedding_prompt_template
        if self.query_prompt_template is not None:
            opts["query_prompt_template"] = self.query_prompt_template
        return opts

    def engine_options(self) -> dict[str, Any]:
        """The options ``LeannBuilder`` takes."""
        return {
            "graph_degree": self.graph_degree,
            "build_complexity": self.build_complexity,
            "is_recompute": self.is_recompute,
        }

    def to_record(self) -> dict[str, Any]:
        """The options as ``sources.json`` keeps them."""
        return {
            "chunking": self.chunking_key(),
            "embedding_model": self.embedding_model,
            "file_types": list(self.file_types) if self.file_types else None,
            "include_hidden": self.include_hidden,
            **self.engine_options(),
            # Only what differs from in-process sentence-transformers, so older records stay as they were.
            **{k: getattr(self, k) for k in _PROVIDER if getattr(self, k) not in (None, "sentence-transformers")},
        }

    @staticmethod
    def values_from_record(record: Mapping[str, Any] | None) -> dict[str, Any]:
        """The option values a ``sources.json`` record holds (those it lacks are left out)."""
        if not record:
            return {}
        chunking = dict(record.get("chunking") or {})
        values: dict[str, Any] = {k: chunking[k] for k in _CHUNKING if chunking.get(k) is not None}
        # Version-1 records kept the model among the chunking settings.
        model = record.get("embedding_model", chunking.get("embedding_model"))
        if model is not None:
            values["embedding_model"] = model
        for key in ("file_types", "include_hidden", "graph_degree", "build_complexity", "is_recompute", *_PROVIDER):
            if record.get(key) is not None:
                values[key] = record[key]
        return values

    @classmethod
    def resolve(
        cls, stored: Mapping[str, Any] | None, overrides: Mapping[str, Any] | None = None
    ) -> BuildOptions:
        """The options of the next build: the ``stored`` record's, then each override not None.

        Args:
            stored: the ``options`` of the index's ``sources.json`` (None: a new index, defaults).
            overrides: option values the caller gave; None means "not given, keep the stored one".

        Raises:
            ValueError: an unknown option (the message lists the known ones) or a bad value.
        """
        given = {k: v for k, v in (overrides or {}).items() if v is not None}
        unknown = sorted(set(given) - set(cls.field_names()))
        if unknown:
            raise ValueError(
                f"unknown build option(s) {', '.join(unknown)}; known: {', '.join(cls.field_names())}"
            )
        return cls(**{**cls.values_from_record(stored), **given})
