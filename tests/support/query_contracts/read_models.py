"""The ReadModels port: documents read back as stored, MongoDB filters of the subset the
query filters produce, and (field, _id) order with keyset paging. Subclasses give
`read_models` and `put` (stores a new document as the projector does)."""

import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from cqrs_contracts import queries as q
from cqrs_contracts.handlers import parse_query_declaration
from cqrs_contracts.read_models import OrderReadModel, ReadModel, UserReadModel
from query_service.queries.declared import parse_declared
from query_service.queries.filters import after_cursor, build_filter, make_cursor
from query_service.queries.ports import ReadModels

Put = Callable[[ReadModel], Awaitable[None]]
T0 = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
SECOND = timedelta(seconds=1)
# five users; ties on created_at (b, e) and age (c, e); nulls in age (a), created_at (d)
USERS: dict[str, dict[str, Any]] = {
    "a": {"name": "Ann A.b", "age": None, "created_at": T0},
    "b": {"name": "bob AXB", "age": 20, "created_at": T0 + SECOND},
    "c": {"name": "Cid", "age": 30, "status": "deleted", "created_at": T0 + 2 * SECOND},
    "d": {"name": "Abby", "age": 40, "created_at": None},
    "e": {"name": "Eve", "age": 30, "created_at": T0 + SECOND},
}
USERS_BY = parse_query_declaration(
    {
        "name": "ContractUsers",
        "read_model": "UserReadModel",
        "filters": {"age": {"operators": ["ne", "in"]}, "name": {"operators": ["contains"]}},
        "projection": ["name"],
    }
)
FILTERS: list[tuple[dict[str, Any], str]] = [
    ({}, "abcde"),
    ({"status": "deleted"}, "c"),
    ({"age": {"$gte": 30}}, "cde"),
    ({"age": {"$gt": 20, "$lte": 40}}, "cde"),
    ({"age": {"$lt": 30}}, "b"),
    ({"age": None}, "a"),
    ({"age": {"$ne": None}}, "bcde"),
    ({"age": {"$ne": 20}}, "acde"),
    ({"age": {"$in": [20, 40]}}, "bd"),
    ({"age": {"$eq": 30}}, "ce"),
    ({"name": {"$regex": re.escape("a.b"), "$options": "i"}}, "a"),  # the dot is no pattern
    ({"name": {"$regex": "^" + re.escape("Ab")}}, "d"),
    ({"name": {"$regex": "^" + re.escape("ab")}}, ""),  # a prefix is case-sensitive
    ({"$or": [{"age": 20}, {"status": "deleted"}]}, "bc"),
    ({"created_at": {"$gte": T0 + SECOND, "$lt": T0 + 2 * SECOND}}, "be"),
    ({"created_at": None}, "d"),
    (build_filter(q.ListUsers(status="active", max_age=30)), "be"),
    (build_filter(q.ListUsers(name="A.B")), "a"),
    (parse_declared(USERS_BY, {"age": {"ne": 30}, "name": {"contains": "B"}}).where, "abd"),
    (parse_declared(USERS_BY, {"age": {"in": [40, 20]}}).where, "bd"),
]
# (sort, the users in that order): nulls first ascending and last descending, ties by _id
ORDERS: list[tuple[tuple[str, int], str]] = [
    (("created_at", 1), "dabec"),
    (("created_at", -1), "cebad"),
    (("age", 1), "abced"),
    (("age", -1), "decba"),
    (("name", 1), "daceb"),  # binary order: capitals before small letters
    (("_id", -1), "edcba"),
]


def a_tag() -> str:
    return f"rm{uuid.uuid4().hex[:12]}"


def within(tag: str, where: dict[str, Any]) -> dict[str, Any]:
    """`where` among this test's documents only (their ids start with the tag)."""
    mine = {"_id": {"$regex": "^" + re.escape(tag)}}
    return {"$and": [mine, where]} if where else mine


async def put_users(put: Put, tag: str) -> None:
    for letter, fields in USERS.items():
        await put(UserReadModel(id=f"{tag}-{letter}", email=f"{letter}@{tag}.test", **fields))


def letters(tag: str, docs: list[ReadModel]) -> str:
    return "".join(d.id.removeprefix(f"{tag}-") for d in docs)


class ReadModelsContract:
    @pytest.fixture
    def read_models(self) -> ReadModels:
        raise NotImplementedError("a subclass gives its read models")

    @pytest.fixture
    def put(self) -> Put:
        raise NotImplementedError("a subclass gives how a document is stored")

    async def test_a_document_is_read_back_as_stored(
        self, read_models: ReadModels, put: Put
    ) -> None:
        doc = OrderReadModel(
            id=a_tag(),
            user_id="u1",
            amount=Decimal("12.50"),
            currency="EUR",
            versions={"o": 3},
            created_at=T0 + timedelta(microseconds=123_456),
        )
        await put(doc)
        found = await read_models.get("OrderReadModel", doc.id)
        # the read store keeps datetimes to the millisecond
        assert found == doc.model_copy(update={"created_at": T0 + timedelta(milliseconds=123)})
        assert await read_models.get("OrderReadModel", a_tag()) is None
        assert await read_models.get("UserReadModel", doc.id) is None

    async def test_count_counts_the_documents_of_one_read_model(
        self, read_models: ReadModels, put: Put
    ) -> None:
        before = await read_models.count("UserReadModel")
        orders = await read_models.count("OrderReadModel")
        await put_users(put, a_tag())
        assert await read_models.count("UserReadModel") == before + len(USERS)
        assert await read_models.count("OrderReadModel") == orders

    @pytest.mark.parametrize(("where", "expected"), FILTERS)
    async def test_a_filter_selects_what_the_read_store_selects(
        self, read_models: ReadModels, put: Put, where: dict[str, Any], expected: str
    ) -> None:
        tag = a_tag()
        await put_users(put, tag)
        page = await read_models.page("UserReadModel", within(tag, where), ("_id", 1), 10)
        assert (letters(tag, page.items), page.has_more) == (expected, False)

    @pytest.mark.parametrize(
        ("where", "expected"),
        [
            ({"amount": {"$gte": 10.5}}, "yz"),  # a float against stored exact decimals
            (build_filter(q.ListOrders(max_amount=Decimal("10.5"))), "xy"),
            ({"amount": {"$in": [10, 12.25]}}, "xz"),
            ({"amount": 10.5}, "y"),
        ],
    )
    async def test_amounts_compare_as_numbers(
        self, read_models: ReadModels, put: Put, where: dict[str, Any], expected: str
    ) -> None:
        tag = a_tag()
        for letter, amount in (("x", "10"), ("y", "10.50"), ("z", "12.25")):
            await put(OrderReadModel(id=f"{tag}-{letter}", amount=Decimal(amount)))
        page = await read_models.page("OrderReadModel", within(tag, where), ("_id", 1), 10)
        assert letters(tag, page.items) == expected

    @pytest.mark.parametrize(("sort", "expected"), ORDERS)
    async def test_documents_come_in_sort_order_then_by_id(
        self, read_models: ReadModels, put: Put, sort: tuple[str, int], expected: str
    ) -> None:
        tag = a_tag()
        await put_users(put, tag)
        page = await read_models.page("UserReadModel", within(tag, {}), sort, 10)
        assert letters(tag, page.items) == expected

    @pytest.mark.parametrize(("sort", "expected"), ORDERS)
    async def test_keyset_pages_follow_each_other_in_that_order(
        self, read_models: ReadModels, put: Put, sort: tuple[str, int], expected: str
    ) -> None:
        """Pages of two, each after the cursor of the last one (as QueryService pages)."""
        tag = a_tag()
        await put_users(put, tag)
        field = "id" if sort[0] == "_id" else sort[0]
        seen, cursor, more = "", "", []
        for _ in range(len(USERS)):
            where = within(tag, after_cursor(cursor, *sort) if cursor else {})
            page = await read_models.page("UserReadModel", where, sort, 2)
            seen += letters(tag, page.items)
            more.append(page.has_more)
            if not page.has_more:
                break
            last = page.items[-1]
            cursor = make_cursor(getattr(last, field), last.id)
        assert seen == expected
        assert more == [True, True, False]
