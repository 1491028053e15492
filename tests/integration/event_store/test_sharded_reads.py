"""`EventReader` and `KeyRing` over two shards (two databases on the test server): every
stream read on the shard its id names (a stream asked on the wrong shard would answer
[]), whole-store reads per shard, time travel over one shard and over mixed ones, and
key lookups that ask each shard only for its own keys, one query per shard."""

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.settings import PrivacySettings
from cqrs_event_store.privacy.keyring import KeyRing
from cqrs_event_store.privacy.master_key import master_key_from
from cqrs_event_store.reader import EventReader
from cqrs_event_store.shard_routers import ShardRouters
from cqrs_event_store.shards import ShardMap
from tests.support.event_stores import append, own_shards, sealed_user_event, shard_key
from tests.support.services import Endpoints

SHARDS = ShardMap(2)
MASTER = master_key_from(PrivacySettings())
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def engines(endpoints: Endpoints, run_id: str) -> AsyncIterator[list[AsyncEngine]]:
    name = f"cqrs_test_{run_id}_sh{uuid.uuid4().hex[:6]}"
    async with own_shards(endpoints.mysql_url, name) as made:
        yield made


def stream_events(stream_id: str, versions: range, at: datetime = T0) -> list[EventEnvelope]:
    """Events of one order stream, their ids minted on the stream's shard."""
    shard = SHARDS.of(stream_id)
    return [
        EventEnvelope(
            event_id=SHARDS.mint(shard),
            stream_type="order",
            stream_id=stream_id,
            version=v,
            type="OrderUpdated",
            schema_version=1,
            data={"order_id": stream_id, "description": f"v{v}"},
            occurred_at=at + timedelta(seconds=v),
        )
        for v in versions
    ]


async def test_a_stream_is_read_on_the_shard_its_id_names(engines: list[AsyncEngine]) -> None:
    home, far = SHARDS.mint(0), SHARDS.mint(1)
    await append(engines[0], stream_events(home, range(1, 4)))
    await append(engines[1], stream_events(far, range(1, 6)))
    reader = EventReader(ShardRouters.from_engines(engines), keys=None)

    assert [e.version for e in await reader.stream_between(far, 1, 5)] == [2, 3, 4]
    assert [e.version for e in await reader.stream_between(home, 0, 9)] == [1, 2, 3]
    at_far = await reader.event_at(far, 5)
    assert at_far is not None
    assert SHARDS.of(at_far.event_id) == 1
    assert await reader.event_at(home, 5) is None
    # an id from before sharding (uuid4) is shard 0's
    legacy = str(uuid.uuid4())
    await append(engines[0], stream_events(legacy, range(1, 3)))
    assert [e.version for e in await reader.stream_between(legacy, 0, 3)] == [1, 2]


async def test_whole_store_reads_take_a_position_per_shard(engines: list[AsyncEngine]) -> None:
    a, b = SHARDS.mint(0), SHARDS.mint(1)
    await append(engines[0], stream_events(a, range(1, 4)))
    await append(engines[1], stream_events(b, range(1, 8)))
    reader = EventReader(ShardRouters.from_engines(engines), keys=None)

    tops = await reader.max_positions()
    assert tops == {0: 3, 1: 7}
    assert await reader.count_shards({}, tops) == 10
    assert await reader.count_shards({0: 1, 1: 5}, tops) == 4
    replayed = [e async for page in reader.replay_shards({}, tops, 2) for e in page]
    assert [(e.stream_id, e.version) for e in replayed] == [
        *((a, v) for v in range(1, 4)),
        *((b, v) for v in range(1, 8)),
    ]
    pages = [page async for page in reader.replay_shards({0: 3, 1: 4}, tops, 2)]
    assert [[e.version for e in page] for page in pages] == [[5, 6], [7]]
    assert {e.stream_id for page in pages for e in page} == {b}


async def test_time_travel_reads_the_shard_of_the_streams(engines: list[AsyncEngine]) -> None:
    user, order = SHARDS.mint(1), SHARDS.mint(1)  # a user's order shares their shard
    await append(engines[0], stream_events(SHARDS.mint(0), range(1, 5)))  # shard 0 busier
    await append(engines[1], stream_events(user, range(1, 3)))
    await append(engines[1], stream_events(order, range(1, 4)))
    reader = EventReader(ShardRouters.from_engines(engines), keys=None)

    position, count = await reader.reached([user, order], T0 + timedelta(seconds=2))
    assert (position, count) == (4, 4)  # user v1 v2 (1, 2), order v1 v2 (3, 4) on shard 1
    bound = await reader.event_at(order, 2)
    assert bound is not None
    folded = await reader.of_streams([user, order], limit=10, through=bound)
    assert [(e.stream_id, e.version) for e in folded] == [
        (user, 1),
        (user, 2),
        (order, 1),
        (order, 2),
    ]
    assert len(await reader.of_streams([user, order], limit=10, up_to=3)) == 3


async def test_time_travel_over_mixed_shards_still_answers(engines: list[AsyncEngine]) -> None:
    near, far = SHARDS.mint(0), SHARDS.mint(1)
    await append(engines[0], stream_events(near, range(1, 4)))  # at +1s, +2s, +3s
    await append(engines[1], stream_events(far, range(1, 4), at=T0 + timedelta(seconds=0.5)))
    reader = EventReader(ShardRouters.from_engines(engines), keys=None)

    # each shard's highest position reached, summed: 2 (near v2) + 2 (far v2)
    assert await reader.reached([near, far], T0 + timedelta(seconds=2.6)) == (4, 4)
    assert await reader.reached([near, far], T0 + timedelta(seconds=3.6)) == (6, 6)
    every = await reader.of_streams([near, far], limit=10, until=T0 + timedelta(seconds=3))
    assert [(e.stream_id, e.version) for e in every] == [
        (near, 1),
        (far, 1),
        (near, 2),
        (far, 2),
        (near, 3),
    ]
    bound = await reader.event_at(near, 2)  # at +2s: far's events up to that time
    assert bound is not None
    through = await reader.of_streams([near, far], limit=10, through=bound)
    assert [(e.stream_id, e.version) for e in through] == [(near, 1), (far, 1), (near, 2)]
    with pytest.raises(ValueError, match="several"):
        await reader.of_streams([near, far], limit=10, up_to=2)


def count_queries(engines: list[AsyncEngine]) -> Counter[int]:
    """Statements run per shard (by shard number), from now on."""
    seen: Counter[int] = Counter()
    for shard, engine in enumerate(engines):

        def counted(*_: Any, shard: int = shard) -> None:
            seen[shard] += 1

        event.listen(engine.sync_engine, "before_cursor_execute", counted)
    return seen


async def test_keys_are_looked_up_on_their_shards_one_query_each(
    engines: list[AsyncEngine],
) -> None:
    ada, bob, cy = SHARDS.mint(0), SHARDS.mint(1), SHARDS.mint(1)
    keys = {
        u: await shard_key(engines[SHARDS.of(u)], MASTER, u, SHARDS, SHARDS.of(u))
        for u in (ada, bob, cy)
    }
    ring = KeyRing(engines, MASTER, ttl=30)
    queries = count_queries(engines)

    found = await ring.keys([k.key_id for k in keys.values()])
    assert set(found) == {k.key_id for k in keys.values()}
    assert queries == Counter({0: 1, 1: 1})
    await ring.keys([keys[bob].key_id])  # cached
    assert queries == Counter({0: 1, 1: 1})

    sealed = sealed_user_event(
        bob, 1, "UserCreated", keys[bob], T0, name="Bob", email="b@x.io", age=3
    )
    await append(engines[1], [sealed])
    fresh = KeyRing(engines, MASTER, ttl=30)
    queries.clear()
    read = await EventReader(ShardRouters.from_engines(engines), fresh).event_at(bob, 1)
    assert read is not None
    assert read.data["name"] == "Bob"
    assert queries == Counter({1: 2})  # the event and its key, both on bob's shard only
