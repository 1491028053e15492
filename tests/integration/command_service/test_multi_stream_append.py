"""A payment appends to two streams (payment and order) in one transaction: when the
order stream's append clashes, the payment event already written in that transaction
is rolled back too, with its outbox row."""

import uuid
from datetime import UTC, datetime

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from command_service.adapters.write_store import SqlWriteStore
from command_service.application.command_handlers import process_payment
from command_service.application.ports import VersionConflictError
from command_service.domain.decisions import Context
from command_service.entrypoints.http.app import create_app
from cqrs_contracts.commands import ProcessPayment
from cqrs_contracts.envelopes import EventMetadata
from cqrs_event_store.tables import events, outbox
from tests.integration.command_service.conftest import PrivateStore
from tests.integration.command_service.helpers import (
    accept,
    create_order,
    create_user,
    pay_data,
)


async def pay_while_another_writer_updates_the_order(
    store: SqlWriteStore, client: AsyncTestClient, payment: ProcessPayment, context: Context
) -> None:
    """Decide the payment in one transaction; before it appends, another writer commits
    the order's next version; then append the payment stream, then the order stream."""
    async with store.session() as session:
        decision = await process_payment(session, payment, context)  # loads the order @1
        order_id = payment.order_id
        assert [s.stream_id for s in decision.changes] == [context.new_id, order_id]
        await accept(client, "UpdateOrder", {"id": order_id, "description": "other"})
        await session.append(decision.changes, EventMetadata(), context.now)


async def test_a_clash_on_the_order_stream_leaves_neither_stream_written(
    private_store: PrivateStore,
) -> None:
    settings = private_store.settings(CQRS__COMMAND_SERVICE__RELAY_ENABLED="false")
    engine = create_async_engine(private_store.url)
    store = SqlWriteStore(engine, private_store.topic, snapshot_every=0)
    payment_id = str(uuid.uuid4())
    context = Context(now=datetime.now(UTC), new_id=payment_id)
    try:
        async with AsyncTestClient(app=create_app(settings)) as c:
            user_id = (await create_user(c))["aggregate_id"]
            order_id = (await create_order(c, user_id, "100.00"))["aggregate_id"]
            payment = ProcessPayment.model_validate(pay_data(order_id, "40.00"))
            with pytest.raises(VersionConflictError) as clash:
                await pay_while_another_writer_updates_the_order(store, c, payment, context)
            assert clash.value.stream_id == order_id

        async with engine.connect() as conn:
            stored = (
                await conn.execute(
                    select(events.c.stream_id, events.c.version, events.c.type)
                    .where(events.c.stream_id.in_([payment_id, order_id]))
                    .order_by(events.c.position)
                )
            ).all()
            keys = (await conn.execute(select(outbox.c.message_key))).scalars().all()
    finally:
        await engine.dispose()
    assert [tuple(r) for r in stored] == [
        (order_id, 1, "OrderCreated"),
        (order_id, 2, "OrderUpdated"),  # the other writer's; no PaymentProcessed, no payment
    ]
    assert sorted(keys) == sorted([user_id, order_id, order_id])  # no outbox row either
