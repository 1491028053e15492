"""The query-service's History adapter over two shards (two databases on the test server):
a document's past read on its streams' shard, and a health check per shard, so a shard
that does not answer fails its own check only."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.settings import PrivacySettings
from cqrs_event_store.shards import ShardMap
from query_service.adapters.history import EventStoreHistory
from query_service.queries.ports import HistoryUnavailableError
from tests.support.event_stores import append, own_shards
from tests.support.services import Endpoints

SHARDS = ShardMap(2)
T0 = datetime(2025, 2, 1, tzinfo=UTC)


@pytest.fixture
async def engines(endpoints: Endpoints, run_id: str) -> AsyncIterator[list[AsyncEngine]]:
    name = f"cqrs_test_{run_id}_qh{uuid.uuid4().hex[:6]}"
    async with own_shards(endpoints.mysql_url, name) as made:
        yield made


def user_events(uid: str, versions: int) -> list[EventEnvelope]:
    return [
        EventEnvelope(
            event_id=SHARDS.mint(SHARDS.of(uid)),
            stream_type="user",
            stream_id=uid,
            version=v,
            type="UserUpdated",
            schema_version=1,
            data={"user_id": uid, "age": 20 + v, "updated_at": T0.isoformat()},
            occurred_at=T0 + timedelta(seconds=v),
        )
        for v in range(1, versions + 1)
    ]


async def test_the_past_of_a_stream_is_read_on_its_shard(engines: list[AsyncEngine]) -> None:
    uid = SHARDS.mint(1)
    await append(engines[0], user_events(SHARDS.mint(0), 4))
    await append(engines[1], user_events(uid, 3))
    history = EventStoreHistory(engines, timeout_s=5.0, privacy=PrivacySettings())

    bound = await history.event_at(uid, 2)
    assert bound is not None
    folded = await history.of_streams([uid], limit=10, through=bound)
    assert [e.version for e in folded] == [1, 2]
    assert await history.reached([uid], T0 + timedelta(seconds=9)) == (3, 3)
    assert history.check_names == ["event_store", "event_store_shard_1"]
    for ping in history.pings().values():
        await ping


async def test_a_shard_down_fails_its_own_check(
    engines: list[AsyncEngine], endpoints: Endpoints
) -> None:
    gone = create_async_engine(
        f"{endpoints.mysql_url}/cqrs_no_such_db_{uuid.uuid4().hex[:6]}",
        connect_args={"connect_timeout": 2},
    )
    history = EventStoreHistory([engines[0], gone], timeout_s=3.0, privacy=PrivacySettings())
    try:
        await history.ping(0)
        with pytest.raises(HistoryUnavailableError):
            await history.ping(1)
        with pytest.raises(HistoryUnavailableError):
            await history.event_at(SHARDS.mint(1), 1)
    finally:
        await gone.dispose()
