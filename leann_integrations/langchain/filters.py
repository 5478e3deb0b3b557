"""LangChain's ``$``-operator metadata filters, translated to the engine's ``metadata_filters``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: LangChain comparison operators and the engine operator each maps to.
FILTER_OPERATORS: dict[str, str] = {
    "$eq": "==",
    "$ne": "!=",
    "$gt": ">",
    "$gte": ">=",
    "$lt": "<",
    "$lte": "<=",
    "$in": "in",
    "$nin": "not_in",
    "$exists": "exists",
}
#: Logical operators: a list of filters that must all / any hold.
FILTER_LOGIC: tuple[str, ...] = ("$and", "$or")
_LIST_OPERATORS = ("$in", "$nin")


def to_engine_filter(filter: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Translate a LangChain metadata filter into the engine's ``metadata_filters``.

    ``{"key": value}`` is equality; ``{"key": {"$gte": 2, "$lt": 5}}`` uses the operators in
    :data:`FILTER_OPERATORS`; ``{"$and": [f, ...]}`` and ``{"$or": [f, ...]}`` combine filters.
    Conditions on several keys must all hold. Anything else raises ``ValueError``, worded in
    LangChain's operators (the engine checks the translated values again when it searches).
    """
    if filter is None:
        return None
    if callable(filter) and not isinstance(filter, Mapping):
        raise ValueError(
            "filter must be a dict such as {'source': 'a.md'} or {'year': {'$gte': 2020}}; "
            "a function cannot be applied inside the index"
        )
    return _translate(filter, "filter")


def _translate(flt: Any, where: str) -> dict[str, Any]:
    if not isinstance(flt, Mapping) or not flt:
        raise ValueError(f"{where} must be a non-empty dict like {{'source': 'a.md'}}, got {flt!r}")
    out: dict[str, Any] = {}
    logic: list[dict[str, Any]] = []
    for key, spec in flt.items():
        if not isinstance(key, str):
            raise ValueError(f"{where} keys must be strings, got {key!r}")
        if key in FILTER_LOGIC:
            if isinstance(spec, (str, bytes, Mapping)) or not isinstance(spec, Sequence) or not spec:
                raise ValueError(f"{where}[{key!r}] must be a non-empty list of filters, got {spec!r}")
            logic.append({key: [_translate(f, f"{where}[{key!r}][{i}]") for i, f in enumerate(spec)]})
        elif key.startswith("$"):
            raise ValueError(
                f"{where} uses unsupported operator {key!r} at the top level; expected a metadata "
                f"key or one of {', '.join(FILTER_LOGIC)}"
            )
        elif isinstance(spec, Mapping):
            out[key] = _condition(spec, f"{where}[{key!r}]")
        else:
            out[key] = {"==": spec}
    if not logic:
        return out
    parts = ([out] if out else []) + logic
    return parts[0] if len(parts) == 1 else {"$and": parts}


def _condition(spec: Mapping[str, Any], where: str) -> dict[str, Any]:
    if not spec:
        raise ValueError(f"{where} is an empty condition; give an operator such as '$eq'")
    cond: dict[str, Any] = {}
    for op, value in spec.items():
        if op not in FILTER_OPERATORS:
            raise ValueError(
                f"{where} uses unsupported operator {op!r}; supported: {', '.join(FILTER_OPERATORS)}"
            )
        if op in _LIST_OPERATORS:
            if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
                raise ValueError(f"{where}[{op!r}] needs a list of values, got {value!r}")
            value = list(value)
        elif op == "$exists" and not isinstance(value, bool):
            raise ValueError(f"{where}['$exists'] needs true or false, got {value!r}")
        cond[FILTER_OPERATORS[op]] = value
    return cond
