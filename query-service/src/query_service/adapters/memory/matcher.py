"""The subset of MongoDB filters the query filters (queries/filters.py, queries/declared.py)
produce, evaluated in memory as the read store evaluates them: $and, $or, equality and
$eq/$ne/$gt/$gte/$lt/$lte/$in, $regex (with $options "i"), and the read store's sort order.

A missing field is null. Null equals only null; comparisons never match it. Values of
different kinds never equal or compare (numbers are one kind: int, float and Decimal).
Anything else raises, so a new operator cannot silently match everything."""

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

_COMPARE = {
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
}
_FLAGS = {"i": re.IGNORECASE}
# the read store's order of kinds (BSON's): null, numbers, strings, ..., booleans, dates
_RANK = {type(None): 0, int: 1, float: 1, Decimal: 1, str: 2, bool: 8, datetime: 9}


def as_stored(value: Any) -> Any:
    """`value` as the read store holds it: datetimes in UTC, to the millisecond."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        moment = aware.astimezone(UTC)
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    if isinstance(value, dict):
        return {k: as_stored(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_stored(v) for v in value]
    return value


def _rank(value: Any) -> int:
    rank = _RANK.get(type(value))
    if rank is None:
        raise ValueError(f"a {type(value).__name__} is not compared in memory")
    return rank


def _equal(value: Any, operand: Any) -> bool:
    operand = as_stored(operand)
    return _rank(value) == _rank(operand) and value == operand


def _holds(value: Any, op: str, operand: Any) -> bool:
    if op == "$eq":
        return _equal(value, operand)
    if op == "$ne":
        return not _equal(value, operand)
    if op == "$in":
        return any(_equal(value, o) for o in operand)
    if op in _COMPARE:
        operand = as_stored(operand)
        comparable = value is not None and operand is not None and _rank(value) == _rank(operand)
        return comparable and bool(_COMPARE[op](value, operand))
    raise ValueError(f"operator {op} is not evaluated in memory")


def _regex(value: Any, condition: dict[str, Any]) -> bool:
    flags = 0
    for option in condition.get("$options", ""):
        flags |= _FLAGS[option]
    return isinstance(value, str) and re.search(condition["$regex"], value, flags) is not None


def _field_matches(value: Any, condition: Any) -> bool:
    if not (isinstance(condition, dict) and condition and all(k[0] == "$" for k in condition)):
        return _equal(value, condition)
    if "$regex" in condition:
        return _regex(value, condition)
    return all(_holds(value, op, operand) for op, operand in condition.items())


def matches(doc: dict[str, Any], where: dict[str, Any]) -> bool:
    """Whether the stored document `doc` (keyed by "_id") matches the filter `where`."""
    for key, condition in where.items():
        if key == "$and":
            found = all(matches(doc, part) for part in condition)
        elif key == "$or":
            found = any(matches(doc, part) for part in condition)
        elif key.startswith("$"):
            raise ValueError(f"operator {key} is not evaluated in memory")
        else:
            found = _field_matches(doc.get(key), condition)
        if not found:
            return False
    return True


def sort_key(doc: dict[str, Any], field: str) -> tuple[Any, ...]:
    """The read store's order by (field, _id): kinds first, then values."""
    value = doc.get(field)
    return _rank(value), value is None or value, doc["_id"]
