"""Store options, split the same way by both adapters, and the one rule for an existing index.

A store's keyword options are engine options of three kinds: build options
(:class:`leann_engine.BuildParams`, used when the store creates its index), search defaults
(:class:`leann_engine.SearchParams`, every field but ``top_k``, which the framework names) and
:class:`leann_engine.LeannIndex` options. On a folder that already holds an index, a build
option is accepted only if it equals the value the index was built with; otherwise
``ValueError`` names it (the index cannot change how it was built by being reopened).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from leann_engine import BuildParams, IndexInfo, IndexNotFoundError, SearchParams, index_info

#: LeannIndex options a store passes through.
INDEX_OPTIONS: tuple[str, ...] = (
    "auto_compact",
    "compact_ratio",
    "compact_min_rows",
    "embedding_cache_mb",
    "enable_warmup",
    "lock_timeout",
    "policy",
    "show_progress",
)


def search_option_names() -> tuple[str, ...]:
    """Search options a store takes as defaults or per call (``top_k`` is the framework's ``k``)."""
    return tuple(n for n in SearchParams.field_names() if n != "top_k")


def split_options(
    options: Mapping[str, Any], store: str, extra: Iterable[str] = ()
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """``(build, search_defaults, index_options)``; an unknown option raises ``ValueError``."""
    build_names, search_names = BuildParams.field_names(), search_option_names()
    others = set(options) - set(search_names) - set(INDEX_OPTIONS)
    unknown = sorted(k for k in others if not _is_build_option(k, options[k]))
    if unknown:
        known = (*build_names, *search_names, *INDEX_OPTIONS, *extra)
        raise ValueError(f"unknown {store} option(s) {', '.join(unknown)}; known: {', '.join(known)}")
    build = {k: v for k, v in options.items() if k in others}
    search = {k: v for k, v in options.items() if k in search_names}
    index = {k: v for k, v in options.items() if k in INDEX_OPTIONS}
    BuildParams.from_options(**build)  # bad values fail now, naming the option
    SearchParams(**search)
    return build, search, index


def _is_build_option(name: str, value: Any) -> bool:
    """A BuildParams field, or one of LEANN's names the engine maps onto one (``M``, ...)."""
    if name in BuildParams.field_names():
        return True
    try:
        BuildParams.from_options(**{name: value})
    except ValueError as e:
        # The engine names an unknown option; any other error is a bad value of a known one.
        return not ("unknown" in str(e) and repr(name) in str(e))
    return True


def _fields_of(name: str, value: Any) -> list[str]:
    """The BuildParams fields that option ``name`` sets (itself, or what a LEANN alias maps to)."""
    if name in BuildParams.field_names():
        return [name]
    default, given = BuildParams(), BuildParams.from_options(**{name: value})
    return [f for f in BuildParams.field_names() if getattr(given, f) != getattr(default, f)]


def existing_index(path: Path) -> IndexInfo | None:
    """The index at ``path``, or ``None`` when the folder holds none yet."""
    try:
        return index_info(path)
    except IndexNotFoundError:
        return None


def check_build_options(info: IndexInfo, build: Mapping[str, Any], store: str) -> None:
    """Raise ``ValueError`` for a build option that differs from how the index was built."""
    if not build:
        return
    wanted = BuildParams.from_options(**build)
    for option, value in build.items():
        for name in _fields_of(option, value):
            have = info.is_recompute if name == "is_recompute" else getattr(info.build, name)
            if getattr(wanted, name) != have:
                raise ValueError(
                    f"{store} option {option}={value!r} differs from the index at {info.path}, built "
                    f"with {name}={have!r}: build options apply only when a store creates its index "
                    "(drop the option, or use a new index_path)"
                )
