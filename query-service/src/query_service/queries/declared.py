"""Declared queries: parameters checked against the declaration, then turned into a
MongoDB filter built only from its whitelisted fields and operators with typed values.

A filter parameter is a value (equality) or an object of declared operators:
{"status": "paid", "amount": {"gte": "10", "lt": 50}, "currency": {"in": ["EUR", "USD"]}}.
Paging: limit (up to the declared maximum), sort (a sortable field), order, cursor."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import TypeAdapter, ValidationError

from cqrs_contracts.handlers import QueryDeclaration, field_kinds
from cqrs_contracts.read_models import READ_MODELS
from query_service.queries.filters import BadQueryError, after_cursor

MAX_TEXT, MAX_IN = 500, 100
_MONGO_OPS = {"eq": "$eq", "ne": "$ne", "gt": "$gt", "gte": "$gte", "lt": "$lt", "lte": "$lte"}
_DATETIME = TypeAdapter(datetime)


class BadParamsError(ValueError):
    """Parameters outside the declaration: a 422 naming each field."""

    def __init__(self, fields: list[dict[str, str]]) -> None:
        super().__init__("invalid query")
        self.fields = fields


@dataclass(frozen=True)
class DeclaredQuery:
    declaration: QueryDeclaration
    where: dict[str, Any]
    sort: tuple[str, int]  # (document field, 1 | -1)
    limit: int
    params: dict[str, Any]  # as sent, for the cache key


class _ParamError(ValueError):
    def __init__(self, field: str, message: str, rule: str) -> None:
        super().__init__(message)
        self.entry = {"field": field, "message": message, "rule": rule}


def _typed(kind: str, value: Any, where: str) -> Any:
    """The value as the store holds it, or BadQueryError: scalars of `kind` only."""
    if kind == "string" and isinstance(value, str) and len(value) <= MAX_TEXT:
        return value
    if kind == "integer" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind == "decimal" and isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            number = Decimal("NaN")
        if number.is_finite():
            return float(number)  # as the built-in filters compare amounts
    if kind == "datetime" and isinstance(value, str):
        try:
            moment = _DATETIME.validate_python(value)
        except ValidationError:
            pass
        else:
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    raise _ParamError(where, f"must be a {kind}", "type")


def _store_field(name: str) -> str:
    return "_id" if name == "id" else name


def _condition(op: str, kind: str, value: Any, where: str) -> dict[str, Any]:
    if op == "in":
        if not isinstance(value, list) or not 0 < len(value) <= MAX_IN:
            raise _ParamError(where, f"must be a list of 1 to {MAX_IN} values", "type")
        return {"$in": [_typed(kind, v, f"{where}.{i}") for i, v in enumerate(value)]}
    typed = _typed(kind, value, where)
    if op == "prefix":
        return {"$regex": "^" + re.escape(typed)}
    if op == "contains":
        return {"$regex": re.escape(typed), "$options": "i"}
    return {_MONGO_OPS[op]: typed}


def _filter(decl: QueryDeclaration, name: str, value: Any) -> list[dict[str, Any]]:
    spec = decl.filters[name]
    kind = field_kinds(READ_MODELS[decl.read_model])[name] or ""
    ops = value if isinstance(value, dict) else {"eq": value}
    if not ops:
        raise _ParamError(name, "give at least one operator", "type")
    conditions = []
    for op, operand in ops.items():
        if op not in spec.operators:
            allowed = ", ".join(spec.operators)
            raise _ParamError(
                f"{name}.{op}", f"not an operator of {name}: use {allowed}", "operator"
            )
        where = name if op == "eq" and not isinstance(value, dict) else f"{name}.{op}"
        conditions.append({_store_field(name): _condition(op, kind, operand, where)})
    return conditions


def _limit(decl: QueryDeclaration, value: Any) -> int:
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 < value <= decl.max_limit
    if not ok:
        raise _ParamError("limit", f"must be an integer from 1 to {decl.max_limit}", "type")
    return int(value)


def _sort(decl: QueryDeclaration, data: dict[str, Any]) -> tuple[str, int]:
    sortable = decl.sortable or ["id"]
    field = data.get("sort", sortable[0])
    if field not in sortable:
        raise _ParamError("sort", f"sort must be one of {', '.join(sortable)}", "enum")
    order = data.get("order", "desc")
    if order not in ("asc", "desc"):
        raise _ParamError("order", "order must be asc or desc", "enum")
    return _store_field(field), -1 if order == "desc" else 1


def _paging(decl: QueryDeclaration, data: dict[str, Any]) -> tuple[tuple[str, int], int, Any]:
    sort = _sort(decl, data)
    limit = _limit(decl, data["limit"]) if "limit" in data else decl.default_limit
    cursor = data.get("cursor")
    if cursor is None:
        return sort, limit, None
    if not isinstance(cursor, str) or len(cursor) > MAX_TEXT:
        raise _ParamError("cursor", "malformed cursor", "type")
    try:  # a cursor holds scalars only; on "_id" its two values are the same id
        return sort, limit, after_cursor(cursor, *sort)
    except BadQueryError as bad:
        raise _ParamError("cursor", str(bad), "type") from bad


def parse_declared(decl: QueryDeclaration, data: dict[str, Any]) -> DeclaredQuery:
    """The query, or BadParamsError naming each parameter outside the declaration."""
    conditions: list[dict[str, Any]] = []
    problems: list[dict[str, str]] = []
    for name, value in data.items():
        if name in ("limit", "sort", "order", "cursor"):
            continue
        if name not in decl.filters:
            message = f"{name} is not a parameter of {decl.name}"
            problems.append({"field": name, "message": message, "rule": "extra_forbidden"})
            continue
        try:
            conditions += _filter(decl, name, value)
        except _ParamError as bad:
            problems.append(bad.entry)
    try:
        sort, limit, after = _paging(decl, data)
    except _ParamError as bad:
        problems.append(bad.entry)
    if problems:
        raise BadParamsError(problems)
    if after is not None:
        conditions.append(after)
    where = {"$and": conditions} if conditions else {}
    return DeclaredQuery(decl, where, sort, limit, data)
