"""Metadata filters: ``{"key": {"op": value, ...}, ...}``, every condition must hold (AND).

Operators: ``== != < <= > >= in not_in contains contains_any contains_all starts_with ends_with
text_match text_match_insensitive exists is_empty``. A bare value ``{"key": value}`` means
equality. Conditions compose with the reserved keys ``"$and": [filter, ...]``,
``"$or": [filter, ...]`` and ``"$not": filter``, nested to any depth, next to plain keys (all
parts of one dict must hold). A filter is validated once by :func:`compile_filter`, which returns
a predicate over a metadata dict; malformed filters raise ``ValueError`` naming the part that is
wrong.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Mapping
from typing import Any

MetadataFilters = Mapping[str, Any]
Predicate = Callable[[Mapping[str, Any]], bool]

OPERATORS: tuple[str, ...] = (
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "in",
    "not_in",
    "contains",
    "contains_any",
    "contains_all",
    "starts_with",
    "ends_with",
    "text_match",
    "text_match_insensitive",
    "exists",
    "is_empty",
)
_COMBINATORS = ("$and", "$or", "$not")
_MISSING = object()
_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _comparable(a: Any, b: Any) -> bool:
    num = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    return (isinstance(a, num) and isinstance(b, num)) or (isinstance(a, str) and isinstance(b, str))


def _same(a: Any, b: Any) -> bool:
    """Equality that does not treat ``True`` as ``1``."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def _condition(key: str, op: str, value: Any) -> Predicate:
    where = f"metadata_filters[{key!r}][{op!r}]"
    if op in ("==", "!="):
        want_eq = op == "=="

        def eq(meta: Mapping[str, Any]) -> bool:
            got = meta.get(key, _MISSING)
            return (got is not _MISSING and _same(got, value)) == want_eq

        return eq
    if op in _ORDER:
        if not isinstance(value, (int, float, str)) or isinstance(value, bool):
            raise ValueError(f"{where} needs a number or a string, got {type(value).__name__}")
        cmp = _ORDER[op]

        def order(meta: Mapping[str, Any]) -> bool:
            got = meta.get(key, _MISSING)
            return got is not _MISSING and _comparable(got, value) and cmp(got, value)

        return order
    if op in ("in", "not_in"):
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise ValueError(f"{where} needs a list of values, got {type(value).__name__}")
        values = list(value)
        inside = op == "in"

        def member(meta: Mapping[str, Any]) -> bool:
            got = meta.get(key, _MISSING)
            if got is _MISSING:
                return not inside
            hit = any(_same(got, v) for v in values)
            return hit == inside

        return member
    if op == "contains":

        def contains(meta: Mapping[str, Any]) -> bool:
            got = meta.get(key, _MISSING)
            if isinstance(got, str):
                return isinstance(value, str) and value in got
            if isinstance(got, (list, tuple)):
                return value in got
            return False

        return contains
    if op in ("contains_any", "contains_all"):
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise ValueError(f"{where} needs a list of values, got {type(value).__name__}")
        wanted = list(value)
        agg = any if op == "contains_any" else all

        def contains_many(meta: Mapping[str, Any]) -> bool:
            got = meta.get(key, _MISSING)
            if isinstance(got, (list, tuple)):
                return agg(any(_same(g, w) for g in got) for w in wanted)
            if isinstance(got, str):
                return agg(isinstance(w, str) and w in got for w in wanted)
            return False

        return contains_many
    if op in ("text_match", "text_match_insensitive"):
        if not isinstance(value, str):
            raise ValueError(f"{where} needs a string, got {type(value).__name__}")
        fold = op == "text_match_insensitive"
        needle = value.casefold() if fold else value

        def text_match(meta: Mapping[str, Any]) -> bool:
            got = meta.get(key, _MISSING)
            if not isinstance(got, str):
                return False
            return needle in (got.casefold() if fold else got)

        return text_match
    if op in ("exists", "is_empty"):
        if not isinstance(value, bool):
            raise ValueError(f"{where} needs true or false, got {value!r}")
        check_empty = op == "is_empty"

        def presence(meta: Mapping[str, Any]) -> bool:
            got = meta.get(key, _MISSING)
            if check_empty:
                empty = (
                    got is _MISSING or got is None or (isinstance(got, (str, list, tuple, dict)) and not got)
                )
                return empty == value
            return (got is not _MISSING) == value

        return presence
    if op in ("starts_with", "ends_with"):
        if not isinstance(value, str):
            raise ValueError(f"{where} needs a string, got {type(value).__name__}")
        method = str.startswith if op == "starts_with" else str.endswith

        def affix(meta: Mapping[str, Any]) -> bool:
            got = meta.get(key, _MISSING)
            return isinstance(got, str) and method(got, value)

        return affix
    raise ValueError(
        f"metadata_filters[{key!r}] uses unknown operator {op!r}; expected one of {', '.join(OPERATORS)}"
    )


def _compile(filters: Any, where: str) -> Predicate:
    if not isinstance(filters, Mapping):
        raise ValueError(
            f"{where} must be a dict like {{'source': {{'==': 'a.md'}}}}, got {type(filters).__name__}"
        )
    conds: list[Predicate] = []
    for key, spec in filters.items():
        if not isinstance(key, str):
            raise ValueError(f"{where} keys must be strings, got {key!r}")
        if key in _COMBINATORS:
            conds.append(_combine(key, spec, f"{where}[{key!r}]"))
        elif isinstance(spec, Mapping):
            if not spec:
                raise ValueError(f"{where}[{key!r}] is an empty condition; give an operator")
            for op, value in spec.items():
                conds.append(_condition(key, op, value))
        else:
            conds.append(_condition(key, "==", spec))
    if len(conds) == 1:
        return conds[0]
    return lambda meta: all(c(meta) for c in conds)


def _combine(op: str, spec: Any, where: str) -> Predicate:
    if op == "$not":
        inner = _compile(spec, where)
        return lambda meta: not inner(meta)
    if isinstance(spec, (str, bytes, Mapping)) or not hasattr(spec, "__iter__"):
        raise ValueError(f"{where} needs a list of filters, got {type(spec).__name__}")
    parts = [_compile(f, f"{where}[{i}]") for i, f in enumerate(spec)]
    if not parts:
        raise ValueError(f"{where} is an empty list; give at least one filter")
    agg = all if op == "$and" else any
    return lambda meta: agg(p(meta) for p in parts)


def compile_filter(filters: MetadataFilters | None) -> Predicate | None:
    """Validate ``filters`` and return a predicate (``None`` when there is nothing to filter)."""
    if filters is None:
        return None
    if isinstance(filters, Mapping) and not filters:
        return None
    return _compile(filters, "metadata_filters")


def check_filters(metadata_filters: MetadataFilters | None) -> None:
    """Raise ``ValueError`` naming the malformed part of ``metadata_filters``; no index needed."""
    compile_filter(metadata_filters)


def filter_key(filters: MetadataFilters | None) -> str:
    """A stable text key for caching the rows a filter matches."""
    return json.dumps(filters, sort_keys=True, default=repr)
