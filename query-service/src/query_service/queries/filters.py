"""Typed list queries -> MongoDB filters and sorts, from whitelisted fields only.

Every value has been validated as a scalar of the right type by the query contract;
here each is placed under one fixed field and one fixed operator. Text search is a
case-insensitive substring with the text escaped, so it cannot become a pattern."""

import base64
import json
import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from cqrs_contracts import queries as q

# query field -> (document field, operator)
_RANGES: dict[str, tuple[str, str]] = {
    "min_age": ("age", "$gte"),
    "max_age": ("age", "$lte"),
    "min_amount": ("amount", "$gte"),
    "max_amount": ("amount", "$lte"),
    "created_from": ("created_at", "$gte"),
    "created_to": ("created_at", "$lt"),
    "processed_from": ("processed_at", "$gte"),
    "processed_to": ("processed_at", "$lt"),
}
_EQUALS = ("status", "user_id", "order_id", "currency", "method")
_CONTAINS = ("name", "email")
_PAGING = ("limit", "cursor", "sort", "order")


class BadQueryError(ValueError):
    """A parameter the query cannot use (bad sort field, foreign cursor); a 422."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _stored(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def build_filter(query: q.ListQuery) -> dict[str, Any]:
    conditions: dict[str, Any] = {}
    for name, value in query.model_dump(exclude_none=True, exclude=set(_PAGING)).items():
        if name in _EQUALS:
            conditions[name] = value
        elif name in _CONTAINS:
            conditions[name] = {"$regex": re.escape(value), "$options": "i"}
        elif name in _RANGES:
            field, op = _RANGES[name]
            conditions.setdefault(field, {})[op] = _stored(value)
        else:  # a new contract field nobody mapped: refuse rather than ignore
            raise BadQueryError(name, f"{name} is not a filter of {type(query).__name__}")
    return conditions


def sort_of(query: q.ListQuery) -> tuple[str, int]:
    field = query.sort or query.SORTS[0]
    if field not in query.SORTS:
        raise BadQueryError("sort", f"sort must be one of {', '.join(query.SORTS)}")
    return field, -1 if query.order == "desc" else 1


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, Decimal):
        return {"dec": str(value)}
    return value


def _decode(value: Any) -> Any:
    """A cursor value back to what it was: only scalars, never an operator object."""
    if isinstance(value, dict) and set(value) == {"dt"} and isinstance(value["dt"], str):
        return datetime.fromisoformat(value["dt"])
    if isinstance(value, dict) and set(value) == {"dec"} and isinstance(value["dec"], str):
        number = Decimal(value["dec"])
        if not number.is_finite():
            raise ValueError("not a finite number")
        return float(number)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise ValueError("a cursor holds scalars only")


def make_cursor(sort_value: Any, doc_id: str) -> str:
    raw = json.dumps([_encode(sort_value), doc_id])
    return base64.urlsafe_b64encode(raw.encode()).decode()


def after_cursor(cursor: str, field: str, direction: int) -> dict[str, Any]:
    """The condition selecting documents after the cursor in (field, _id) order.

    MongoDB sorts a missing or null field before every value, so in ascending order
    the nulls come first and in descending order last; comparisons never match null,
    which is why the null cases are spelt out."""
    try:
        value, doc_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        value = _decode(value)
    except (ValueError, TypeError, KeyError, ArithmeticError) as bad:
        raise BadQueryError("cursor", "malformed cursor") from bad
    if not isinstance(doc_id, str):
        raise BadQueryError("cursor", "malformed cursor")
    op = "$lt" if direction < 0 else "$gt"
    same = {field: value, "_id": {op: doc_id}}
    if value is None:
        later = [same] if direction < 0 else [same, {field: {"$ne": None}}]
        return {"$or": later}
    later = [{field: {op: value}}, same]
    if direction < 0:
        later.append({field: None})
    return {"$or": later}
