"""Operator objects, arrays and unknown keys never reach MongoDB (422), and the text
search treats its text literally (regex metacharacters escaped)."""

import base64
import json
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.integration.query_service.helpers import (
    ask,
    error_of,
    ids,
    items,
    new_user,
    tag,
)

OPERATORS: list[Any] = [{"$ne": None}, {"$where": "1"}, {"$gt": ""}, ["a"], {"$regex": ".*"}]


@pytest.mark.parametrize("value", OPERATORS)
@pytest.mark.parametrize(
    ("type_", "field"),
    [
        ("ListUsers", "name"),
        ("ListUsers", "email"),
        ("ListUsers", "status"),
        ("ListUsers", "min_age"),
        ("ListOrders", "user_id"),
        ("ListOrders", "min_amount"),
        ("ListPayments", "method"),
        ("GetUser", "id"),
        ("GetUserOrders", "user_id"),
        ("ListOrders", "sort"),
        ("ListOrders", "cursor"),
    ],
)
async def test_operator_values_are_422(
    queries: AsyncTestClient, type_: str, field: str, value: Any
) -> None:
    error = error_of(await ask(queries, type_, {field: value}), 422)
    assert error["code"] == "validation_failed"
    assert error["details"]["fields"][0]["field"].split(".")[0] == field


@pytest.mark.parametrize(
    "data",
    [
        {"$or": [{"name": "x"}, {"name": {"$ne": None}}]},
        {"$where": "sleep(1000)"},
        {"name": "x", "$and": [{"age": {"$gt": 0}}]},
        {"password": "x"},
        {"versions.x": 1},
    ],
)
async def test_unknown_top_level_keys_are_422(queries: AsyncTestClient, data: dict) -> None:
    error = error_of(await ask(queries, "ListUsers", data), 422)
    unknown = next(k for k in data if k != "name")
    assert [f["field"] for f in error["details"]["fields"]] == [unknown]
    assert error["details"]["fields"][0]["rule"] == "extra_forbidden"


@pytest.mark.parametrize("operator", [{"$ne": None}, {"$regex": "^"}, {"$exists": True}])
@pytest.mark.parametrize(("type_", "sort"), [("ListUsers", "name"), ("ListOrders", "created_at")])
async def test_a_cursor_cannot_smuggle_an_operator(
    queries: AsyncTestClient, type_: str, sort: str, operator: dict[str, Any]
) -> None:
    """A cursor is opaque but client-held: a hand-made one must not put an operator on the
    sort field (the README: nothing but whitelisted fields and operators reach MongoDB)."""
    cursor = base64.urlsafe_b64encode(json.dumps([operator, ""]).encode()).decode()
    response = await ask(queries, type_, {"sort": sort, "order": "asc", "cursor": cursor})
    error = error_of(response, 422)
    assert error["details"]["fields"][0]["field"] == "cursor"


async def test_text_search_is_literal(commands: AsyncTestClient, queries: AsyncTestClient) -> None:
    marker = tag()
    dotted, t1 = await new_user(commands, name=f"a.*b {marker}")
    plain, t2 = await new_user(commands, name=f"abc {marker}")
    token = f"{t1},{t2}"

    star = await items(queries, "ListUsers", {"name": ".*", "limit": 100}, token)
    assert dotted in ids(star)
    assert plain not in ids(star)
    assert all(".*" in row["name"] for row in star)

    async def found(text: str) -> list[str]:
        return ids(await items(queries, "ListUsers", {"name": text}, token))

    assert sorted(await found(marker)) == sorted([dotted, plain])
    assert await found(f".*B {marker.upper()}") == [dotted]  # literal, still case-insensitive
    assert await found(f"a.c {marker}") == []  # "." is not "any character"
    assert await found(f"^abc {marker}") == []
    assert await found(f"abc {marker}$") == []
    assert await found(f"[a] {marker}") == []


@pytest.mark.parametrize("text", ["(", "[", "\\", "*", "a{99999999}", "(?i)x", "$where"])
async def test_broken_patterns_are_just_text(queries: AsyncTestClient, text: str) -> None:
    response = await ask(queries, "ListUsers", {"name": text, "email": text})
    assert response.status_code == 200, response.text
    assert all(text.lower() in r["name"].lower() for r in response.json()["result"]["items"])
