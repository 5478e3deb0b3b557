"""LlamaIndex ``MetadataFilters`` (nested, AND/OR/NOT) as the engine's ``metadata_filters``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
)

from .nodes import RESERVED_KEYS

# LlamaIndex operator -> engine operator.
OPERATOR_MAP: dict[FilterOperator, str] = {
    FilterOperator.EQ: "==",
    FilterOperator.NE: "!=",
    FilterOperator.GT: ">",
    FilterOperator.GTE: ">=",
    FilterOperator.LT: "<",
    FilterOperator.LTE: "<=",
    FilterOperator.IN: "in",
    FilterOperator.NIN: "not_in",
    FilterOperator.CONTAINS: "contains",
    FilterOperator.ANY: "contains_any",
    FilterOperator.ALL: "contains_all",
    FilterOperator.TEXT_MATCH: "text_match",
    FilterOperator.TEXT_MATCH_INSENSITIVE: "text_match_insensitive",
    FilterOperator.IS_EMPTY: "is_empty",
}


def translate_filters(filters: MetadataFilters | None) -> dict[str, Any] | None:
    """LlamaIndex ``MetadataFilters`` (nested, AND/OR/NOT) as an engine ``metadata_filters`` dict."""
    if filters is None:
        return None
    if not isinstance(filters, MetadataFilters):
        raise ValueError(f"filters must be a LlamaIndex MetadataFilters, got {type(filters).__name__}")
    parts: list[dict[str, Any]] = []
    for f in filters.filters:
        if isinstance(f, MetadataFilters):
            sub = translate_filters(f)
            if sub:
                parts.append(sub)
            continue
        parts.append(_condition(f))
    if not parts:
        return None
    condition = filters.condition or FilterCondition.AND
    if condition == FilterCondition.AND:
        return all_of(parts)
    if condition == FilterCondition.OR:
        return parts[0] if len(parts) == 1 else {"$or": parts}
    if condition == FilterCondition.NOT:
        # As SimpleVectorStore: a node matches when none of the filters does.
        return {"$not": parts[0] if len(parts) == 1 else {"$or": parts}}
    raise ValueError(f"filters.condition {condition!r} is not one of and, or, not")


def all_of(parts: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The conjunction of engine filters (empty ones dropped; ``None`` if nothing is left)."""
    parts = [p for p in parts if p]
    if not parts:
        return None
    if len(parts) == 1:
        return dict(parts[0])
    return _flat_and(parts) or {"$and": list(parts)}


def _flat_and(parts: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """Merge AND-ed single-key conditions into one flat engine filter, if no key/op repeats."""
    out: dict[str, dict[str, Any]] = {}
    for part in parts:
        if len(part) != 1:
            return None
        ((key, cond),) = part.items()
        if key.startswith("$") or not isinstance(cond, Mapping):
            return None
        slot = out.setdefault(key, {})
        if any(op in slot for op in cond):
            return None
        slot.update(cond)
    return out


def _condition(f: MetadataFilter) -> dict[str, Any]:
    if f.key in RESERVED_KEYS:
        raise ValueError(f"filter key {f.key!r} is reserved by LeannVectorStore")
    op = OPERATOR_MAP.get(FilterOperator(f.operator))
    if op is None:
        raise ValueError(
            f"filter operator {f.operator!r} on {f.key!r} is not supported; "
            f"expected one of {', '.join(o.name for o in OPERATOR_MAP)}"
        )
    value: Any = True if op == "is_empty" else f.value
    return {f.key: {op: value}}
