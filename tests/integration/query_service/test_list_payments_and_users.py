"""ListPayments and ListUsers: every filter test_queries.py leaves out (payments by user,
status, currency, amount and processed time; users by creation time) and every whitelisted
sort of both, each way."""

import asyncio
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import pytest
from litestar.testing import AsyncTestClient

from tests.integration.query_service.helpers import (
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

GAP = 0.002  # the read store keeps milliseconds: time windows need distinct instants


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass(frozen=True)
class Payments:
    user: str
    card: str  # 10.00 USD credit_card, completed
    upi: str  # 20.00 USD upi, fully refunded
    wallet: str  # 5.00 EUR wallet, 2.00 refunded
    token: str  # every write above


@pytest.fixture(scope="module")
async def paid(commands: AsyncTestClient, queries: AsyncTestClient) -> Payments:
    """One user's three payments over two orders, processed in this order, GAP apart."""
    user, t0 = await new_user(commands, name=f"Payer {tag()}")
    usd, t1 = await new_order(commands, user, "50.00", "USD")
    eur, t2 = await new_order(commands, user, "30.00", "EUR")
    card, t3 = await new_payment(commands, usd, "10.00", "USD", "credit_card")
    await asyncio.sleep(GAP)
    upi, t4 = await new_payment(commands, usd, "20.00", "USD", "upi")
    await asyncio.sleep(GAP)
    wallet, t5 = await new_payment(commands, eur, "5.00", "EUR", "wallet")
    _, t6 = await send(commands, "RefundPayment", payment_id=upi, amount="20.00")
    _, t7 = await send(commands, "RefundPayment", payment_id=wallet, amount="2.00")
    return Payments(user, card, upi, wallet, ",".join([t0, t1, t2, t3, t4, t5, t6, t7]))


async def payments_found(queries: AsyncTestClient, paid: Payments, **filters: object) -> set[str]:
    rows = await items(queries, "ListPayments", {"user_id": paid.user, **filters}, paid.token)
    return set(ids(rows))


async def test_list_payments_by_user(queries: AsyncTestClient, paid: Payments) -> None:
    assert await payments_found(queries, paid) == {paid.card, paid.upi, paid.wallet}
    rows = await items(queries, "ListPayments", {"user_id": f"nobody-{tag()}"})
    assert rows == []


async def test_list_payments_by_status(queries: AsyncTestClient, paid: Payments) -> None:
    assert await payments_found(queries, paid, status="completed") == {paid.card}
    assert await payments_found(queries, paid, status="refunded") == {paid.upi}
    assert await payments_found(queries, paid, status="partially_refunded") == {paid.wallet}
    assert await payments_found(queries, paid, status="failed") == set()


async def test_list_payments_by_currency(queries: AsyncTestClient, paid: Payments) -> None:
    assert await payments_found(queries, paid, currency="USD") == {paid.card, paid.upi}
    assert await payments_found(queries, paid, currency="EUR") == {paid.wallet}
    assert await payments_found(queries, paid, currency="GBP") == set()


async def test_list_payments_by_amount_range(queries: AsyncTestClient, paid: Payments) -> None:
    # both bounds inclusive
    assert await payments_found(queries, paid, min_amount="10") == {paid.card, paid.upi}
    assert await payments_found(queries, paid, max_amount="10.00") == {paid.card, paid.wallet}
    assert await payments_found(queries, paid, min_amount="5.01", max_amount="19.99") == {paid.card}
    assert await payments_found(queries, paid, min_amount="20.01") == set()


async def test_list_payments_by_processed_time(queries: AsyncTestClient, paid: Payments) -> None:
    rows = await items(queries, "ListPayments", {"user_id": paid.user}, paid.token)
    at = {r["id"]: r["processed_at"] for r in rows}
    assert when(at[paid.card]) < when(at[paid.upi]) < when(at[paid.wallet])

    # processed_from inclusive, processed_to exclusive
    window = {"processed_from": at[paid.upi], "processed_to": at[paid.wallet]}
    assert await payments_found(queries, paid, **window) == {paid.upi}
    assert await payments_found(queries, paid, processed_from=at[paid.upi]) == {
        paid.upi,
        paid.wallet,
    }
    assert await payments_found(queries, paid, processed_to=at[paid.upi]) == {paid.card}
    # combined with another filter
    assert await payments_found(
        queries, paid, processed_from=at[paid.card], currency="USD", status="refunded"
    ) == {paid.upi}


@pytest.mark.parametrize(
    ("sort", "ascending"),
    [
        (None, ["card", "upi", "wallet"]),  # the default: processed_at
        ("processed_at", ["card", "upi", "wallet"]),
        ("amount", ["wallet", "card", "upi"]),  # 5, 10, 20
    ],
)
async def test_payment_sorts_both_ways(
    queries: AsyncTestClient, paid: Payments, sort: str | None, ascending: list[str]
) -> None:
    expected = [getattr(paid, name) for name in ascending]
    base = {"user_id": paid.user} | ({"sort": sort} if sort else {})
    up = await items(queries, "ListPayments", {**base, "order": "asc"}, paid.token)
    down = await items(queries, "ListPayments", {**base, "order": "desc"}, paid.token)
    assert ids(up) == expected
    assert ids(down) == list(reversed(expected))
    if sort is None:  # and desc is the default order
        assert ids(await items(queries, "ListPayments", base, paid.token)) == ids(down)
    if sort == "amount":
        assert [Decimal(r["amount"]) for r in up] == [Decimal(5), Decimal(10), Decimal(20)]


@dataclass(frozen=True)
class Users:
    marker: str
    bea: str  # created first;  "c." email, age 20
    cal: str  # created second; "a." email, age 40
    abe: str  # created third;  "b." email, age 30
    token: str


@pytest.fixture(scope="module")
async def people(commands: AsyncTestClient) -> Users:
    """Three users whose creation, name, email and age orders all differ."""
    m = tag()
    made = []
    for name, mail, age in (("Bea", "c", 20), ("Cal", "a", 40), ("Abe", "b", 30)):
        made.append(await new_user(commands, f"{name} {m}", age, f"{mail}.{m}@example.com"))
        await asyncio.sleep(GAP)
    (bea, t1), (cal, t2), (abe, t3) = made
    return Users(m, bea, cal, abe, ",".join([t1, t2, t3]))


async def test_list_users_by_creation_time(queries: AsyncTestClient, people: Users) -> None:
    rows = await items(queries, "ListUsers", {"name": people.marker}, people.token)
    at = {r["id"]: r["created_at"] for r in rows}
    assert when(at[people.bea]) < when(at[people.cal]) < when(at[people.abe])

    async def found(**window: str) -> set[str]:
        rows = await items(queries, "ListUsers", {"name": people.marker, **window}, people.token)
        return set(ids(rows))

    # created_from inclusive, created_to exclusive
    assert await found(created_from=at[people.cal], created_to=at[people.abe]) == {people.cal}
    assert await found(created_from=at[people.cal]) == {people.cal, people.abe}
    assert await found(created_to=at[people.cal]) == {people.bea}
    assert await found(created_from=at[people.abe], created_to=at[people.abe]) == set()


@pytest.mark.parametrize(
    ("sort", "ascending"),
    [
        (None, ["bea", "cal", "abe"]),  # the default: created_at
        ("created_at", ["bea", "cal", "abe"]),
        ("name", ["abe", "bea", "cal"]),
        ("email", ["cal", "abe", "bea"]),
        ("age", ["bea", "abe", "cal"]),
    ],
)
async def test_user_sorts_both_ways(
    queries: AsyncTestClient, people: Users, sort: str | None, ascending: list[str]
) -> None:
    expected = [getattr(people, name) for name in ascending]
    base = {"name": people.marker} | ({"sort": sort} if sort else {})
    up = await items(queries, "ListUsers", {**base, "order": "asc"}, people.token)
    down = await items(queries, "ListUsers", {**base, "order": "desc"}, people.token)
    assert ids(up) == expected
    assert ids(down) == list(reversed(expected))
    if sort is None:  # and desc is the default order
        assert ids(await items(queries, "ListUsers", base, people.token)) == ids(down)


@pytest.mark.parametrize(
    ("type_", "field"),
    [
        ("ListUsers", "status"),
        ("ListUsers", "password"),
        ("ListUsers", "_id"),
        ("ListPayments", "method"),
        ("ListPayments", "created_at"),
        ("ListPayments", "user_id"),
    ],
)
async def test_sorts_outside_the_whitelist_are_422(
    queries: AsyncTestClient, type_: str, field: str
) -> None:
    error = error_of(await ask(queries, type_, {"sort": field}), 422)
    assert error["code"] == "validation_failed"
    assert [f["field"] for f in error["details"]["fields"]] == ["sort"]
