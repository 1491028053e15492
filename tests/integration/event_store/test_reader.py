"""`EventReader` against MariaDB: a stream's events between two versions (gap filling),
the newest position, counts, and the paged replay by position (rebuilds, the
consistency check), every envelope at its current schema version."""

import uuid
from datetime import UTC, datetime
from itertools import pairwise

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_event_store.event_codec import event_row
from cqrs_event_store.reader import EventReader
from cqrs_event_store.tables import events


def order_events(stream_id: str, versions: range) -> list[EventEnvelope]:
    return [
        EventEnvelope(
            event_id=str(uuid.uuid4()),
            stream_type="order",
            stream_id=stream_id,
            version=v,
            type="OrderUpdated",
            schema_version=1,
            data={"order_id": stream_id, "description": f"v{v}"},
            occurred_at=datetime.now(UTC),
        )
        for v in versions
    ]


async def append(engine: AsyncEngine, envelopes: list[EventEnvelope]) -> None:
    async with engine.begin() as conn:
        for e in envelopes:
            await conn.execute(insert(events).values(**event_row(e)))


async def interleaved(engine: AsyncEngine, *streams: str, versions: int) -> None:
    """`versions` events of each stream, the streams taking turns (v1 of each, v2, ...)."""
    per_stream = [order_events(s, range(1, versions + 1)) for s in streams]
    await append(engine, [e for turn in zip(*per_stream, strict=True) for e in turn])


async def test_an_empty_store_has_position_zero_and_nothing_to_replay(store: AsyncEngine) -> None:
    reader = EventReader(store, keys=None)
    assert await reader.max_position() == 0
    assert await reader.count(0, 100) == 0
    assert [page async for page in reader.replay(0, 100, 10)] == []
    assert await reader.stream_between("nobody", 0, 10) == []


async def test_stream_between_gives_the_versions_strictly_inside_in_order(
    store: AsyncEngine,
) -> None:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    await interleaved(store, a, b, versions=6)
    reader = EventReader(store, keys=None)

    between = await reader.stream_between(a, 2, 6)
    assert [(e.stream_id, e.version) for e in between] == [(a, 3), (a, 4), (a, 5)]
    assert [e.data["description"] for e in between] == ["v3", "v4", "v5"]
    assert all(e.position for e in between)
    assert await reader.stream_between(a, 3, 4) == []
    assert [e.version for e in await reader.stream_between(b, 0, 1_000)] == [1, 2, 3, 4, 5, 6]


async def test_max_position_and_count_follow_the_positions(store: AsyncEngine) -> None:
    await interleaved(store, str(uuid.uuid4()), str(uuid.uuid4()), versions=5)
    reader = EventReader(store, keys=None)
    newest = await reader.max_position()
    everything = [e async for page in reader.replay(0, newest, 100) for e in page]

    assert len(everything) == 10
    assert everything[-1].position == newest
    assert await reader.count(0, newest) == 10
    third, seventh = everything[2].position or 0, everything[6].position or 0
    assert await reader.count(third, seventh) == 4  # after the 3rd, up to the 7th


async def test_replay_pages_by_position_within_the_bounds(store: AsyncEngine) -> None:
    await interleaved(store, str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()), versions=4)
    reader = EventReader(store, keys=None)
    every = [e async for page in reader.replay(0, await reader.max_position(), 1_000) for e in page]
    positions = [e.position or 0 for e in every]
    assert len(positions) == 12
    assert all(p < q for p, q in pairwise(positions))

    after, up_to = positions[1], positions[9]  # the 3rd ... the 10th
    pages = [page async for page in reader.replay(after, up_to, 3)]
    assert [len(p) for p in pages] == [3, 3, 2]
    assert [e.position for p in pages for e in p] == positions[2:10]
    assert [page async for page in reader.replay(up_to, up_to, 3)] == []


async def test_what_the_reader_gives_is_at_the_current_schema_version(store: AsyncEngine) -> None:
    uid = str(uuid.uuid4())
    v1 = EventEnvelope(
        event_id=str(uuid.uuid4()),
        stream_type="user",
        stream_id=uid,
        version=1,
        type="UserCreated",
        schema_version=1,
        data={"user_id": uid, "name": "Old", "email": "old@example.com", "created_at": "2023"},
        occurred_at=datetime.now(UTC),
    )
    await append(store, [v1])
    reader = EventReader(store, keys=None)
    [by_stream] = await reader.stream_between(uid, 0, 2)
    [[by_position]] = [page async for page in reader.replay(0, await reader.max_position(), 10)]
    assert by_stream == by_position
    assert (by_stream.schema_version, by_stream.data["age"]) == (2, None)
