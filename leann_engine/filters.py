"""Metadata filters: ``{"key": {"op": value, ...}, ...}``, every condition must hold (AND).

Operators: ``== != < <= > >= in not_in contains starts_with ends_with``. A bare value
``{"key": value}`` means equality. A filter is validated once by :func:`compile_filter`, which
returns a predicate over a metadata dict; malformed filters raise ``ValueError`` naming the part
that is wrong.
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
    "starts_with",
    "ends_with",
)
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


def compile_filter(filters: MetadataFilters | None) -> Predicate | None:
    """Validate ``filters`` and return a predicate (``None`` when there is nothing to filter)."""
    if filters is None:
        return None
    if not isinstance(filters, Mapping):
        raise ValueError(
            f"metadata_filters must be a dict like {{'source': {{'==': 'a.md'}}}}, got {type(filters).__name__}"
        )
    conds: list[Predicate] = []
    for key, spec in filters.items():
        if not isinstance(key, str):
            raise ValueError(f"metadata_filters keys must be strings, got {key!r}")
        if isinstance(spec, Mapping):
            if not spec:
                raise ValueError(f"metadata_filters[{key!r}] is an empty condition; give an operator")
            for op, value in spec.items():
                conds.append(_condition(key, op, value))
        else:
            conds.append(_condition(key, "==", spec))
    if not conds:
        return None
    return lambda meta: all(c(meta) for c in conds)


def filter_key(filters: MetadataFilters | None) -> str:
    """A stable text key for caching the rows a filter matches."""
    return json.dumps(filters, sort_keys=True, default=repr)
