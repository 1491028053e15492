"""Typed list queries -> MongoDB filters, sorts and keyset cursors (pure, no I/O)."""

import base64
import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from cqrs_contracts import queries as q
from query_service.queries.filters import (
    BadQueryError,
    after_cursor,
    build_filter,
    make_cursor,
    sort_of,
)


def raw_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


def test_text_search_is_an_escaped_case_insensitive_substring() -> None:
    where = build_filter(q.ListUsers(name="a.*b", email="(x)"))
    assert where["name"] == {"$regex": re.escape("a.*b"), "$options": "i"}
    pattern = re.compile(where["name"]["$regex"], re.IGNORECASE)
    assert pattern.search("xA.*By")
    assert not pattern.search("aXXb")
    assert re.compile(where["email"]["$regex"]).search("a(x)b")


def test_ranges_and_equalities_are_fixed_fields_and_operators() -> None:
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    where = build_filter(
        q.ListOrders(
            user_id="u1",
            status="pending",
            currency="USD",
            min_amount=Decimal("10.5"),
            max_amount=Decimal("20"),
            created_from=start,
            created_to=end,
            limit=5,
            cursor=None,
            sort="amount",
            order="asc",
        )
    )
    assert where == {
        "user_id": "u1",
        "status": "pending",
        "currency": "USD",
        "amount": {"$gte": 10.5, "$lte": 20.0},
        "created_at": {"$gte": start, "$lt": end},
    }
    assert build_filter(q.ListUsers(min_age=20, max_age=30)) == {"age": {"$gte": 20, "$lte": 30}}
    assert build_filter(q.ListPayments()) == {}


def test_sort_is_whitelisted() -> None:
    assert sort_of(q.ListOrders()) == ("created_at", -1)
    assert sort_of(q.ListOrders(sort="amount", order="asc")) == ("amount", 1)
    assert sort_of(q.ListPayments()) == ("processed_at", -1)
    for field in ("_id", "password", "versions", "user_id"):
        with pytest.raises(BadQueryError) as bad:
            sort_of(q.ListOrders(sort=field))
        assert bad.value.field == "sort"


@pytest.mark.parametrize(
    "value",
    [datetime(2026, 3, 4, 5, 6, 7, 8000, tzinfo=UTC), Decimal("12.50"), "Ada", 42],
)
def test_cursors_round_trip(value: Any) -> None:
    cursor = make_cursor(value, "doc-1")
    expected = float(value) if isinstance(value, Decimal) else value
    assert after_cursor(cursor, "f", 1) == {
        "$or": [{"f": {"$gt": expected}}, {"f": expected, "_id": {"$gt": "doc-1"}}]
    }
    assert after_cursor(cursor, "f", -1)["$or"][0] == {"f": {"$lt": expected}}


def test_null_sort_values_page_in_mongodb_order() -> None:
    """Nulls sort first: ascending moves on to every non-null value, descending ends with them."""
    cursor = make_cursor(None, "doc-1")
    assert after_cursor(cursor, "f", 1) == {
        "$or": [{"f": None, "_id": {"$gt": "doc-1"}}, {"f": {"$ne": None}}]
    }
    assert after_cursor(cursor, "f", -1) == {"$or": [{"f": None, "_id": {"$lt": "doc-1"}}]}
    later = after_cursor(make_cursor("Ada", "doc-2"), "f", -1)["$or"]
    assert {"f": None} in later


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!!",
        raw_cursor([1, 2]),
        raw_cursor({}),
        raw_cursor(None),
        raw_cursor([1, 2, 3]),
        raw_cursor([{"dt": "not a date"}, "x"]),
        raw_cursor([{"dec": "abc"}, "x"]),
    ],
)
def test_malformed_cursors_are_bad_queries(cursor: str) -> None:
    with pytest.raises(BadQueryError) as bad:
        after_cursor(cursor, "created_at", -1)
    assert bad.value.field == "cursor"


@pytest.mark.parametrize("value", [{"$ne": None}, {"$regex": "^a"}, {"$gt": ""}, {"$where": "1"}])
def test_a_cursor_cannot_carry_an_operator(value: Any) -> None:
    """Only values a cursor can hold (scalars, dates, decimals) reach the filter."""
    with pytest.raises(BadQueryError):
        after_cursor(raw_cursor([value, "x"]), "name", 1)
