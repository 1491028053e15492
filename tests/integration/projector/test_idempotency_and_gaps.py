"""Projector.handle over the real read store and the real event store (no Kafka):
redelivery changes nothing, gaps are filled from MySQL, any delivery order converges."""

import random
from collections.abc import Callable

import pytest
from litestar.testing import AsyncTestClient

from cqrs_contracts.read_models import UserReadModel
from cqrs_event_store.reader import EventReader
from cqrs_read_store.writer import ViewStore
from tests.integration.projector.helpers import (
    differences,
    documents,
    email,
    feed,
    send,
    snapshot,
    stored_events,
)


@pytest.fixture
async def history(commands: AsyncTestClient) -> dict[str, str]:
    """A user with three orders (EUR, USD, GBP), two payments, refunds, a cancellation."""
    ids = {"u": await send(commands, "CreateUser", name="Ada", email=email(), age=36)}
    await send(commands, "UpdateUser", user_id=ids["u"], name="Ada L.")
    ids["o1"] = await send(commands, "CreateOrder", user_id=ids["u"], amount="100", currency="EUR")
    ids["o2"] = await send(commands, "CreateOrder", user_id=ids["u"], amount="50", currency="USD")
    await send(commands, "UpdateOrder", order_id=ids["o2"], amount="60", description="more")
    pay = {"order_id": ids["o1"], "currency": "EUR"}
    ids["p1"] = await send(commands, "ProcessPayment", **pay, amount="40", method="upi")
    await send(commands, "RefundPayment", payment_id=ids["p1"], amount="15")
    ids["p2"] = await send(commands, "ProcessPayment", **pay, amount="60", method="wallet")
    await send(commands, "RefundPayment", payment_id=ids["p1"], amount="25")
    ids["o3"] = await send(commands, "CreateOrder", user_id=ids["u"], amount="20", currency="GBP")
    await send(commands, "CancelOrder", order_id=ids["o3"], reason="duplicate")
    return ids


async def test_every_event_twice_gives_the_same_documents_as_once(
    history: dict[str, str],
    event_source: EventReader,
    view_stores: Callable[[], ViewStore],
) -> None:
    events = await stored_events(event_source, *history.values())
    assert len(events) == 15
    once, twice = view_stores(), view_stores()

    await feed(once, event_source, events)
    await feed(twice, event_source, [e for e in events for _ in (1, 2)])
    await feed(twice, event_source, events)  # a whole replay on top

    ids = list(history.values())
    expected = await snapshot(once, ids)
    assert len(expected) == 10  # 1 user, 3 orders, 2 payments, 1 user_orders, 3 order_payments
    assert await snapshot(twice, ids) == expected  # documents and revisions: no extra save


async def test_a_streams_last_event_first_fills_the_gap_from_the_event_store(
    commands: AsyncTestClient,
    event_source: EventReader,
    view_stores: Callable[[], ViewStore],
) -> None:
    uid = await send(commands, "CreateUser", name="Grace", email=email(), age=84)
    await send(commands, "UpdateUser", user_id=uid, name="Grace H.")
    await send(commands, "UpdateUser", user_id=uid, email=email(), age=85)
    v1, v2, v3 = await stored_events(event_source, uid)
    assert [e.version for e in (v1, v2, v3)] == [1, 2, 3]
    in_order, v3_first = view_stores(), view_stores()

    await feed(in_order, event_source, [v1, v2, v3])
    await feed(v3_first, event_source, [v3])
    filled = await snapshot(v3_first, [uid])
    await feed(v3_first, event_source, [v1, v2])

    assert differences(documents(filled), documents(await snapshot(in_order, [uid]))) == {}
    assert {rev for _, rev in filled.values()} == {1}  # v1..v3 stored in one write
    assert await snapshot(v3_first, [uid]) == filled  # v1, v2 afterwards: skipped
    user = filled["UserReadModel", uid][0]
    assert isinstance(user, UserReadModel)
    assert (user.name, user.age, user.versions) == ("Grace H.", 85, {uid: 3})


@pytest.mark.parametrize("order", ["reversed", "seed-1", "seed-2", "seed-3"])
async def test_any_delivery_order_of_a_whole_history_converges(
    order: str,
    history: dict[str, str],
    event_source: EventReader,
    view_stores: Callable[[], ViewStore],
) -> None:
    events = await stored_events(event_source, *history.values())
    shuffled = list(reversed(events))
    if order != "reversed":
        random.Random(order).shuffle(shuffled)
    in_order, other = view_stores(), view_stores()

    await feed(in_order, event_source, events)
    await feed(other, event_source, shuffled)

    ids = list(history.values())
    expected = documents(await snapshot(in_order, ids))
    assert {name for name, _ in expected} == {
        "UserReadModel",
        "OrderReadModel",
        "PaymentReadModel",
        "UserOrderReadModel",
        "OrderPaymentReadModel",
    }
    assert differences(documents(await snapshot(other, ids)), expected) == {}
