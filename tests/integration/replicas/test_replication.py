"""deploy/local's replica for real: what the primary commits arrives on the replica, the
application cannot write there, and it is another server."""

import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from cqrs_event_store.tables import events
from tests.integration.replicas.conftest import Pair, ReplicaControl, replica_has
from tests.integration.replicas.events import append, user_events


async def test_writes_on_the_primary_become_readable_on_the_replica(pair: Pair) -> None:
    user = str(uuid.uuid4())
    written = user_events(user, range(1, 4))
    top = await append(pair.primary, written)
    await replica_has(pair.replica, top)
    query = select(events.c.event_id).where(events.c.stream_id == user).order_by(events.c.version)
    async with pair.replica.connect() as conn:
        copied = (await conn.scalars(query)).all()
    assert copied == [e.event_id for e in written]


async def test_the_application_cannot_write_to_the_replica(pair: Pair) -> None:
    with pytest.raises(DBAPIError, match="read-only"):
        await append(pair.replica, user_events(str(uuid.uuid4()), range(1, 2)))


async def test_the_replica_is_another_server(pair: Pair, replica_control: ReplicaControl) -> None:
    async with pair.primary.connect() as conn:
        primary_id = await conn.scalar(text("SELECT @@server_id"))
    _, replica_id = await replica_control.server()
    assert replica_id != primary_id
