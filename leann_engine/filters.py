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


# A factory takes (key, op, value) with ``value`` already checked against the operator's
# kind (see _VALUE_CHECKS) and returns the predicate.
_Factory = Callable[[str, str, Any], Predicate]


def _equality(key: str, op: str, value: Any) -> Predicate:
    want_eq = op == "=="

    def eq(meta: Mapping[str, Any]) -> bool:
        got = meta.get(key, _MISSING)
        return (got is not _MISSING and _same(got, value)) == want_eq

    return eq


def _order(key: str, op: str, value: Any) -> Predicate:
    cmp = _ORDER[op]

    def order(meta: Mapping[str, Any]) -> bool:
        got = meta.get(key, _MISSING)
        return got is not _MISSING and _comparable(got, value) and cmp(got, value)

    return order


def _member(key: str, op: str, value: Any) -> Predicate:
    values = list(value)
    inside = op == "in"

    def member(meta: Mapping[str, Any]) -> bool:
        got = meta.get(key, _MISSING)
        if got is _MISSING:
            return not inside
        return any(_same(got, v) for v in values) == inside

    return member


def _contains(key: str, op: str, value: Any) -> Predicate:
    def contains(meta: Mapping[str, Any]) -> bool:
        got = meta.get(key, _MISSING)
        if isinstance(got, str):
            return isinstance(value, str) and value in got
        if isinstance(got, (list, tuple)):
            return value in got
        return False

    return contains


def _contains_many(key: str, op: str, value: Any) -> Predicate:
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


def _affix(key: str, op: str, value: Any) -> Predicate:
    method = str.startswith if op == "starts_with" else str.endswith

    def affix(meta: Mapping[str, Any]) -> bool:
        got = meta.get(key, _MISSING)
        return isinstance(got, str) and method(got, value)

    return affix


def _text_match(key: str, op: str, value: Any) -> Predicate:
    fold = op == "text_match_insensitive"
    needle = value.casefold() if fold else value

    def text_match(meta: Mapping[str, Any]) -> bool:
        got = meta.get(key, _MISSING)
        if not isinstance(got, str):
            return False
        return needle in (got.casefold() if fold else got)

    return text_match


def _presence(key: str, op: str, value: Any) -> Predicate:
    check_empty = op == "is_empty"

    def presence(meta: Mapping[str, Any]) -> bool:
        got = meta.get(key, _MISSING)
        if check_empty:
            empty = got is _MISSING or got is None or (isinstance(got, (str, list, tuple, dict)) and not got)
            return empty == value
        return (got is not _MISSING) == value

    return presence


# The kind of value each operator takes: None when it takes anything.
_ANY, _SCALAR, _LIST, _STRING, _BOOL = None, "scalar", "list", "string", "bool"


# One entry per operator, in the order error messages list them.
_OPERATOR_TABLE: dict[str, tuple[str | None, _Factory]] = {
    "==": (_ANY, _equality),
    "!=": (_ANY, _equality),
    "<": (_SCALAR, _order),
    "<=": (_SCALAR, _order),
    ">": (_SCALAR, _order),
    ">=": (_SCALAR, _order),
    "in": (_LIST, _member),
    "not_in": (_LIST, _member),
    "contains": (_ANY, _contains),
    "contains_any": (_LIST, _contains_many),
    "contains_all": (_LIST, _contains_many),
    "starts_with": (_STRING, _affix),
    "ends_with": (_STRING, _affix),
    "text_match": (_STRING, _text_match),
    "text_match_insensitive": (_STRING, _text_match),
    "exists": (_BOOL, _presence),
    "is_empty": (_BOOL, _presence),
}


OPERATORS: tuple[str, ...] = tuple(_OPERATOR_TABLE)


def _check_value(kind: str | None, value: Any, where: str) -> None:
    """Raise ``ValueError`` unless ``value`` is of the ``kind`` its operator takes."""
    if kind == _SCALAR and (not isinstance(value, (int, float, str)) or isinstance(value, bool)):
        raise ValueError(f"{where} needs a number or a string, got {type(value).__name__}")
    if kind == _LIST and (isinstance(value, (str, bytes)) or not hasattr(value, "__iter__")):
        raise ValueError(f"{where} needs a list of values, got {type(value).__name__}")
    if kind == _STRING and not isinstance(value, str):
        raise ValueError(f"{where} needs a string, got {type(value).__name__}")
    if kind == _BOOL and not isinstance(value, bool):
        raise ValueError(f"{where} needs true or false, got {value!r}")


def _condition(key: str, op: str, value: Any) -> Predicate:
    entry = _OPERATOR_TABLE.get(op) if isinstance(op, str) else None
    if entry is None:
        raise ValueError(
            f"metadata_filters[{key!r}] uses unknown operator {op!r}; expected one of {', '.join(OPERATORS)}"
        )
    kind, factory = entry
    _check_value(kind, value, f"metadata_filters[{key!r}][{op!r}]")
    return factory(key, op, value)


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
