"""Two orders (and two payments) stamped in the same millisecond: the live projector, which
reads each document back from the real read store (dates cut to the millisecond) between
events, lists them exactly as a replay in memory does (the consistency check). The kill -9
chaos run once ended with a user's orders in a different order than its replay."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from cqrs_contracts.events import EventData, OrderCreated, PaymentProcessed, UserCreated
from cqrs_contracts.read_models import OrderPaymentReadModel, UserOrderReadModel
from cqrs_event_store.reader import EventReader
from cqrs_event_store.tables import events
from cqrs_read_store.precision import as_stored
from cqrs_read_store.writer import ViewStore
from projector.application.memory_views import MemoryViews
from projector.application.projector import Projector
from tests.integration.projector.helpers import feed, stored_events

LATE = datetime(2026, 12, 7, 15, 11, 46, 337_743, tzinfo=UTC)  # as in the chaos run
EARLY = LATE.replace(microsecond=337_004)  # the same millisecond, stored after LATE


def _new_id() -> str:
    return str(uuid.uuid4())


async def _store(engine: AsyncEngine, stream_id: str, event: EventData) -> None:
    """`event` as version 1 of `stream_id`, appended to a real event store (one of the
    test's own: the run's store is replayed by other tests' consistency checks, and these
    events never reach the run's topic)."""
    row = {
        "event_id": _new_id(),
        "stream_type": event.STREAM_TYPE,
        "stream_id": stream_id,
        "version": 1,
        "type": event.event_type(),
        "schema_version": event.SCHEMA_VERSION,
        "data": event.model_dump(mode="json"),
        "metadata": {},
        "occurred_at": datetime.now(UTC).replace(tzinfo=None),
    }
    async with engine.begin() as conn:
        await conn.execute(insert(events).values(**row))


async def test_same_millisecond_orders_and_payments_are_listed_as_a_replay_lists_them(
    own_event_store: AsyncEngine, view_stores: Callable[[], ViewStore]
) -> None:
    event_source = EventReader(own_event_store, keys=None)  # nothing sealed here
    uid, first, second, oid = _new_id(), _new_id(), _new_id(), _new_id()
    pay1, pay2 = _new_id(), _new_id()
    user = UserCreated(user_id=uid, name="Ada", email="ada@example.com", age=36, created_at=LATE)
    await _store(own_event_store, uid, user)
    for order_id, at in ((first, LATE), (second, EARLY), (oid, LATE)):
        order = OrderCreated(
            order_id=order_id, user_id=uid, amount=Decimal(10), currency="EUR", created_at=at
        )
        await _store(own_event_store, order_id, order)
    for payment_id, at in ((pay1, LATE), (pay2, EARLY)):
        payment = PaymentProcessed(
            payment_id=payment_id,
            order_id=oid,
            user_id=uid,
            amount=Decimal(1),
            currency="EUR",
            method="upi",
            processed_at=at,
        )
        await _store(own_event_store, payment_id, payment)
    log = await stored_events(event_source, uid, first, second, oid, pay1, pay2)

    live = view_stores()
    await feed(live, event_source, log)  # one event at a time: each read back from the store
    reference = MemoryViews()
    await Projector(views=[reference], history=event_source, notifier=None).handle_batch(log)

    for model, doc_id in ((UserOrderReadModel, uid), (OrderPaymentReadModel, oid)):
        stored, _ = await live.load(model, doc_id)
        replayed, _ = await reference.load(model, doc_id)
        assert replayed is not None
        assert stored == as_stored(replayed)
    user_orders, _ = await live.load(UserOrderReadModel, uid)
    assert isinstance(user_orders, UserOrderReadModel)
    assert [o.order_id for o in user_orders.orders if o.order_id != oid] == sorted([first, second])
