"""The eight query types with the original body `{type, data}`, their filters, sorts and
keyset cursors, over data written through the command-service and awaited by token."""

import asyncio
from dataclasses import dataclass
from decimal import Decimal

import pytest
from litestar.testing import AsyncTestClient

from tests.integration.query_service.helpers import (
    READ_MODELS,
    answer,
    ask,
    error_of,
    ids,
    items,
    new_order,
    new_payment,
    new_user,
    send,
    tag,
)


@dataclass(frozen=True)
class World:
    user: str
    name: str
    orders: list[str]  # 10.00 USD, 25.50 EUR, 40.00 USD (cancelled)
    payments: list[str]  # on orders[0]: 4.00 credit_card, 3.00 upi
    token: str  # every write above


@pytest.fixture(scope="module")
async def world(commands: AsyncTestClient, queries: AsyncTestClient) -> World:
    name = f"Ada {tag()}"
    user, t0 = await new_user(commands, name=name, age=36)
    # orders at least 2 ms apart: the read store keeps milliseconds, and the time-window
    # and sort tests need distinct creation times
    o1, t1 = await new_order(commands, user, "10.00", "USD")
    await asyncio.sleep(0.002)
    o2, t2 = await new_order(commands, user, "25.50", "EUR")
    await asyncio.sleep(0.002)
    o3, t3 = await new_order(commands, user, "40.00", "USD")
    _, t4 = await send(commands, "CancelOrder", order_id=o3, reason="changed mind")
    p1, t5 = await new_payment(commands, o1, "4.00", method="credit_card")
    p2, t6 = await new_payment(commands, o1, "3.00", method="upi")
    return World(user, name, [o1, o2, o3], [p1, p2], ",".join([t0, t1, t2, t3, t4, t5, t6]))


# --- the eight queries ----------------------------------------------------------------------


async def test_get_user(queries: AsyncTestClient, world: World) -> None:
    body = await answer(queries, "GetUser", {"id": world.user}, world.token)
    assert body["type"] == "GetUser"
    assert {"result", "version", "from_cache", "query_id", "stale"} <= set(body)
    assert (body["result"]["id"], body["result"]["name"], body["result"]["age"]) == (
        world.user,
        world.name,
        36,
    )
    assert body["version"] == 1
    assert body["stale"] is False


async def test_list_users(queries: AsyncTestClient, world: World) -> None:
    body = await answer(queries, "ListUsers", {"name": world.name}, world.token)
    assert ids(body["result"]["items"]) == [world.user]
    assert body["result"]["next_cursor"] is None
    assert body["from_cache"] in (True, False)


async def test_get_order(queries: AsyncTestClient, world: World) -> None:
    body = await answer(queries, "GetOrder", {"id": world.orders[1]}, world.token)
    order = body["result"]
    assert (order["user_id"], order["amount"], order["currency"], order["status"]) == (
        world.user,
        "25.50",
        "EUR",
        "pending",
    )
    assert body["version"] == 1


async def test_list_orders(queries: AsyncTestClient, world: World) -> None:
    rows = await items(queries, "ListOrders", {"user_id": world.user}, world.token)
    assert sorted(ids(rows)) == sorted(world.orders)
    # default sort: created_at, newest first
    assert ids(rows) == list(reversed(world.orders))


async def test_get_payment(queries: AsyncTestClient, world: World) -> None:
    body = await answer(queries, "GetPayment", {"id": world.payments[1]}, world.token)
    payment = body["result"]
    assert (payment["order_id"], payment["user_id"], payment["amount"], payment["method"]) == (
        world.orders[0],
        world.user,
        "3.00",
        "upi",
    )


async def test_list_payments(queries: AsyncTestClient, world: World) -> None:
    rows = await items(queries, "ListPayments", {"order_id": world.orders[0]}, world.token)
    assert sorted(ids(rows)) == sorted(world.payments)


@pytest.mark.parametrize("key", ["user_id", "id"])
async def test_get_user_orders(queries: AsyncTestClient, world: World, key: str) -> None:
    body = await answer(queries, "GetUserOrders", {key: world.user}, world.token)
    doc = body["result"]
    assert (doc["id"], doc["name"]) == (world.user, world.name)
    assert doc["order_count"] == 3
    assert sorted(o["order_id"] for o in doc["orders"]) == sorted(world.orders)
    assert doc["totals"]["EUR"]["amount"] == "25.50"


@pytest.mark.parametrize("key", ["order_id", "id"])
async def test_get_order_payments(queries: AsyncTestClient, world: World, key: str) -> None:
    body = await answer(queries, "GetOrderPayments", {key: world.orders[0]}, world.token)
    doc = body["result"]
    assert sorted(p["payment_id"] for p in doc["payments"]) == sorted(world.payments)
    assert (doc["paid"], doc["balance"]) == ("7.00", "3.00")


# --- filters --------------------------------------------------------------------------------


async def test_list_orders_filters(queries: AsyncTestClient, world: World) -> None:
    o1, o2, o3 = world.orders
    mine = {"user_id": world.user}

    async def found(**filters: object) -> set[str]:
        return set(ids(await items(queries, "ListOrders", {**mine, **filters}, world.token)))

    assert await found(status="cancelled") == {o3}
    assert await found(status="pending") == {o2}
    assert await found(status="partially_paid") == {o1}
    assert await found(currency="USD") == {o1, o3}
    assert await found(currency="EUR") == {o2}
    assert await found(min_amount="20") == {o2, o3}
    assert await found(max_amount="25.50") == {o1, o2}
    assert await found(min_amount="10.01", max_amount="39.99") == {o2}
    assert await found(currency="GBP") == set()


async def test_list_orders_by_creation_time(queries: AsyncTestClient, world: World) -> None:
    rows = await items(queries, "ListOrders", {"user_id": world.user, "order": "asc"}, world.token)
    created = {r["id"]: r["created_at"] for r in rows}
    start, end = created[world.orders[1]], created[world.orders[2]]
    window = await items(
        queries,
        "ListOrders",
        {"user_id": world.user, "created_from": start, "created_to": end},
        world.token,
    )
    # created_from inclusive, created_to exclusive
    expected = {i for i, at in created.items() if start <= at < end}
    assert world.orders[1] in expected
    assert set(ids(window)) == expected
    later = await items(queries, "ListOrders", {"user_id": world.user, "created_from": end})
    assert world.orders[2] in ids(later)
    assert world.orders[0] not in ids(later)


async def test_list_payments_filters(queries: AsyncTestClient, world: World) -> None:
    p1, p2 = world.payments
    by_order = {"order_id": world.orders[0]}
    assert ids(await items(queries, "ListPayments", {**by_order, "method": "upi"})) == [p2]
    credit = await items(queries, "ListPayments", {**by_order, "method": "credit_card"})
    assert ids(credit) == [p1]
    assert await items(queries, "ListPayments", {"order_id": world.orders[1]}) == []


async def test_list_users_filters(commands: AsyncTestClient, queries: AsyncTestClient) -> None:
    marker = tag()
    young, t1 = await new_user(commands, f"Young {marker}", 20, f"young.{marker}@example.com")
    mid, t2 = await new_user(commands, f"Mid {marker}", 30, f"mid.{marker}@example.com")
    old, t3 = await new_user(commands, f"Old {marker}", 40, f"old.{marker}@example.com")
    _, t4 = await send(commands, "DeleteUser", user_id=old)
    token = ",".join([t1, t2, t3, t4])

    async def found(**filters: object) -> set[str]:
        return set(ids(await items(queries, "ListUsers", filters, token)))

    assert await found(name=marker) == {young, mid, old}
    assert await found(name=f"mid {marker.upper()}") == {mid}  # case-insensitive substring
    assert await found(email=f"OLD.{marker}") == {old}
    assert await found(email=marker, min_age=25) == {mid, old}
    assert await found(name=marker, max_age=35) == {young, mid}
    assert await found(name=marker, min_age=25, max_age=35) == {mid}
    assert await found(name=marker, status="deleted") == {old}
    assert await found(name=marker, status="active") == {young, mid}


# --- sorts ----------------------------------------------------------------------------------


async def test_sort_by_amount_both_ways(queries: AsyncTestClient, world: World) -> None:
    mine = {"user_id": world.user, "sort": "amount"}
    up = await items(queries, "ListOrders", {**mine, "order": "asc"}, world.token)
    down = await items(queries, "ListOrders", {**mine, "order": "desc"}, world.token)
    assert [Decimal(r["amount"]) for r in up] == [Decimal("10"), Decimal("25.5"), Decimal("40")]
    assert ids(down) == list(reversed(ids(up)))


@pytest.mark.parametrize("field", ["_id", "password", "versions", "user_id"])
async def test_sort_outside_the_whitelist_is_422(queries: AsyncTestClient, field: str) -> None:
    error = error_of(await ask(queries, "ListOrders", {"sort": field}), 422)
    assert error["code"] == "validation_failed"
    assert error["details"]["fields"][0]["field"] == "sort"


# --- cursors and limits ---------------------------------------------------------------------


async def walk(queries: AsyncTestClient, type_: str, data: dict[str, object], token: str) -> list:
    """Every item of a list query, page by page; fails after 20 pages."""
    seen: list[dict[str, object]] = []
    cursor = None
    for _ in range(20):
        body = await answer(queries, type_, {**data, "cursor": cursor} if cursor else data, token)
        page = body["result"]
        assert len(page["items"]) <= data["limit"]  # type: ignore[operator]
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the cursor never ended")


async def test_cursor_walks_every_order_once(
    commands: AsyncTestClient, queries: AsyncTestClient
) -> None:
    user, token = await new_user(commands)
    # equal amounts on purpose: ties are broken by id, across page boundaries too
    amounts = ["5.00", "5.00", "5.00", "7.00", "7.00", "9.00", "9.00"]
    made = []
    for amount in amounts:
        order, t = await new_order(commands, user, amount)
        made.append(order)
        token = f"{token},{t}"

    for extra in ({}, {"sort": "amount", "order": "asc"}, {"sort": "amount", "order": "desc"}):
        query = {"user_id": user, "limit": 3, **extra}
        walked = ids(await walk(queries, "ListOrders", query, token))
        assert len(walked) == len(set(walked)) == 7, (extra, walked)
        assert set(walked) == set(made)
        # the same order as one page holding everything, and as a second walk
        one_page = ids(await items(queries, "ListOrders", {**query, "limit": 100}))
        assert walked == one_page, extra
        assert ids(await walk(queries, "ListOrders", query, token)) == walked


@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_cursor_pages_documents_without_the_sort_value(
    commands: AsyncTestClient,
    queries: AsyncTestClient,
    order: str,
    projector_admin: AsyncTestClient,
) -> None:
    """A document with no created_at (an admin correction in the README's shape, minus the
    date) is listed by one page; page by page it must be too."""
    marker = tag()
    dated, token = await new_user(commands, name=f"Dated {marker}")
    undated = f"user-{tag()}"
    body = {"id": undated, "name": f"Undated {marker}", "email": "u@example.com", "age": 20}
    saved = await projector_admin.post(READ_MODELS, json={"type": "UserReadModel", "data": body})
    assert saved.status_code == 200, saved.text

    query = {"name": marker, "order": order}
    assert sorted(ids(await items(queries, "ListUsers", query, token))) == sorted([dated, undated])
    walked = ids(await walk(queries, "ListUsers", {**query, "limit": 1}, token))
    assert sorted(walked) == sorted([dated, undated])


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!!",
        "bm90IGpzb24=",  # not json
        "WzEsIDJd",  # [1, 2]
        "e30=",  # {}
        "W3siZHQiOiAibm9wZSJ9LCAieCJd",  # [{"dt": "nope"}, "x"]
        "W3siZGVjIjogImFiYyJ9LCAieCJd",  # [{"dec": "abc"}, "x"]
    ],
)
async def test_a_garbage_cursor_is_422(queries: AsyncTestClient, cursor: str) -> None:
    error = error_of(await ask(queries, "ListOrders", {"cursor": cursor}), 422)
    assert error["details"]["fields"][0]["field"] == "cursor"


@pytest.mark.parametrize("limit", [0, 101, -1])
async def test_limit_out_of_bounds_is_422(queries: AsyncTestClient, limit: int) -> None:
    error = error_of(await ask(queries, "ListUsers", {"limit": limit}), 422)
    assert error["details"]["fields"][0]["field"] == "limit"


async def test_limit_100_is_fine(queries: AsyncTestClient) -> None:
    assert (await ask(queries, "ListUsers", {"limit": 100, "name": tag()})).status_code == 200


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "type_", ["GetUser", "GetOrder", "GetPayment", "GetUserOrders", "GetOrderPayments"]
)
async def test_not_found_is_404_with_the_error_shape(queries: AsyncTestClient, type_: str) -> None:
    error = error_of(await ask(queries, type_, {"id": f"missing-{tag()}"}), 404)
    assert error["code"] == "not_found"
    assert "not found" in error["message"]


async def test_unknown_type_is_400(queries: AsyncTestClient) -> None:
    error = error_of(await ask(queries, "GetEverything", {}), 400)
    assert error["code"] == "unknown_type"
    assert "GetUser" in error["details"]["supported"]


@pytest.mark.parametrize(
    "body", [{}, {"type": ""}, {"type": "GetUser", "data": "x"}, {"type": 3, "data": {}}]
)
async def test_malformed_envelope_is_422(queries: AsyncTestClient, body: dict) -> None:
    """A broken envelope is invalid input (as on the command side), with the fields named."""
    response = await queries.post("/api/v1/cqrs/queries", json=body)
    error = error_of(response, 422)
    assert error["code"] == "validation_failed"
    assert error["details"]["fields"]


async def test_get_by_id_needs_an_id(queries: AsyncTestClient) -> None:
    error = error_of(await ask(queries, "GetUser", {}), 422)
    assert error["details"]["fields"][0]["field"] == "id"


async def test_every_bad_parameter_gets_its_own_entry(queries: AsyncTestClient) -> None:
    """Six bad parameters in one query: one 422 naming each of them once."""
    bad = {
        "limit": 0,
        "min_age": -1,
        "status": "zombie",
        "created_from": "not a date",
        "order": "sideways",
        "colour": "red",  # not a parameter of ListUsers
    }
    error = error_of(await ask(queries, "ListUsers", bad), 422)
    assert error["code"] == "validation_failed"
    fields = error["details"]["fields"]
    assert sorted(f["field"] for f in fields) == sorted(bad)
    assert all(f["message"] and f["rule"] for f in fields), fields
    rules = {f["field"]: f["rule"] for f in fields}
    assert rules["colour"] == "extra_forbidden"
    assert rules["status"] == rules["order"] == "literal_error"
