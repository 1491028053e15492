"""Declared query parameters -> a MongoDB filter of whitelisted fields, operators and
typed values only (pure, no I/O)."""

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from cqrs_contracts.handlers import parse_query_declaration
from query_service.queries.declared import BadParamsError, parse_declared
from query_service.queries.filters import make_cursor

DECL = parse_query_declaration(
    {
        "name": "UsersByAge",
        "read_model": "UserReadModel",
        "filters": {
            "id": {"operators": ["eq", "in"]},
            "age": {"operators": ["eq", "gte", "lt"]},
            "name": {"operators": ["prefix", "contains"]},
            "created_at": {"operators": ["gte"]},
        },
        "sortable": ["created_at", "age"],
        "projection": ["name"],
        "default_limit": 5,
        "max_limit": 10,
    }
)


def fields(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(BadParamsError) as refused:
        parse_declared(DECL, data)
    return {f["field"]: f["rule"] for f in refused.value.fields}


def test_no_parameters_is_every_document_by_the_default_sort_and_limit() -> None:
    query = parse_declared(DECL, {})
    assert (query.where, query.sort, query.limit) == ({}, ("created_at", -1), 5)


def test_conditions_are_typed_and_combined_with_and() -> None:
    query = parse_declared(
        DECL,
        {
            "id": {"in": ["a", "b"]},
            "age": {"gte": 18, "lt": 65},
            "name": {"prefix": "A.b"},
            "created_at": {"gte": "2024-05-01T00:00:00"},
        },
    )
    assert query.where == {
        "$and": [
            {"_id": {"$in": ["a", "b"]}},
            {"age": {"$gte": 18}},
            {"age": {"$lt": 65}},
            {"name": {"$regex": "^" + re.escape("A.b")}},
            {"created_at": {"$gte": datetime(2024, 5, 1, tzinfo=UTC)}},
        ]
    }


def test_a_bare_value_is_equality_and_contains_is_escaped_and_case_blind() -> None:
    query = parse_declared(DECL, {"age": 30, "name": {"contains": "(x)"}})
    assert query.where["$and"] == [
        {"age": {"$eq": 30}},
        {"name": {"$regex": re.escape("(x)"), "$options": "i"}},
    ]


def test_a_cursor_continues_after_the_last_document() -> None:
    query = parse_declared(DECL, {"sort": "age", "order": "asc", "cursor": make_cursor(30, "u9")})
    assert query.sort == ("age", 1)
    assert query.where == {
        "$and": [{"$or": [{"age": {"$gt": 30}}, {"age": 30, "_id": {"$gt": "u9"}}]}]
    }


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"email": "a@b.c"}, {"email": "extra_forbidden"}),
        ({"age": {"$gt": 1}}, {"age.$gt": "operator"}),
        ({"age": {"lte": 1}}, {"age.lte": "operator"}),
        ({"age": "30"}, {"age": "type"}),
        ({"age": True}, {"age": "type"}),
        ({"age": 1.5}, {"age": "type"}),
        ({"name": {"prefix": 1}}, {"name.prefix": "type"}),
        ({"name": "Ada"}, {"name.eq": "operator"}),
        ({"created_at": {"gte": "yesterday"}}, {"created_at.gte": "type"}),
        ({"id": {"in": []}}, {"id.in": "type"}),
        ({"id": {"in": ["a", {"$ne": 1}]}}, {"id.in.1": "type"}),
        ({"sort": "name"}, {"sort": "enum"}),
        ({"limit": 11}, {"limit": "type"}),
        ({"limit": 0}, {"limit": "type"}),
        ({"cursor": 5}, {"cursor": "type"}),
        ({"email": 1, "age": "x"}, {"email": "extra_forbidden", "age": "type"}),
    ],
)
def test_anything_outside_the_declaration_is_named(
    data: dict[str, Any], expected: dict[str, str]
) -> None:
    assert fields(data) == expected
