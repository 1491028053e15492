"""The events and commands lists (`LogReader`, behind GET /events and GET /commands) over
two shards (two databases on the test server): one cursor pages both shards with no
event lost or repeated, also while events are appended to both; filters keep their
meaning; one event is read on its id's shard; one command is found on any shard."""

import base64
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from command_service.adapters.log_reader import CommandFilter, EventFilter, LogReader
from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.settings import PrivacySettings
from cqrs_event_store.privacy.keyring import KeyRing
from cqrs_event_store.privacy.master_key import master_key_from
from cqrs_event_store.shard_routers import ShardRouters
from cqrs_event_store.shards import ShardMap
from cqrs_event_store.tables import command_log
from tests.support.event_stores import append, own_shards
from tests.support.services import Endpoints

SHARDS = ShardMap(2)
T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
async def engines(endpoints: Endpoints, run_id: str) -> AsyncIterator[list[AsyncEngine]]:
    name = f"cqrs_test_{run_id}_lg{uuid.uuid4().hex[:6]}"
    async with own_shards(endpoints.mysql_url, name) as made:
        yield made


@pytest.fixture
def reader(engines: list[AsyncEngine]) -> LogReader:
    keys = KeyRing(engines, master_key_from(PrivacySettings()), ttl=0)
    return LogReader(ShardRouters.from_engines(engines), keys)


def events_of(stream_id: str, versions: range, seconds: list[float]) -> list[EventEnvelope]:
    shard = SHARDS.of(stream_id)
    return [
        EventEnvelope(
            event_id=SHARDS.mint(shard),
            stream_type="order",
            stream_id=stream_id,
            version=v,
            type="OrderUpdated" if v > 1 else "OrderCreated",
            schema_version=1,
            data={"order_id": stream_id, "n": v},
            occurred_at=T0 + timedelta(seconds=s),
        )
        for v, s in zip(versions, seconds, strict=True)
    ]


async def walk(
    reader: LogReader, where: EventFilter, limit: int, between: Any = None
) -> list[list[dict[str, Any]]]:
    """Every page, following the cursor; `between(n)` runs after page n."""
    pages: list[list[dict[str, Any]]] = []
    cursor = None
    while True:
        page = await reader.events(where, limit, cursor)
        pages.append(page.items)
        if between is not None:
            await between(len(pages))
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor
        assert len(pages) < 100, "the cursor never ends"


async def two_shards_of_events(engines: list[AsyncEngine]) -> tuple[str, str]:
    near, far = SHARDS.mint(0), SHARDS.mint(1)
    await append(engines[0], events_of(near, range(1, 8), [0, 2, 4, 6, 8, 10, 12]))
    await append(engines[1], events_of(far, range(1, 6), [1, 3, 5, 7, 9]))
    return near, far


async def test_the_cursor_pages_both_shards_merged_by_time(
    engines: list[AsyncEngine], reader: LogReader
) -> None:
    near, far = await two_shards_of_events(engines)
    pages = await walk(reader, EventFilter(), limit=3)
    items = [i for page in pages for i in page]

    assert [len(p) for p in pages] == [3, 3, 3, 3]
    order = [(i["stream_id"], i["version"]) for i in items]
    near_seq = [(near, v) for v in range(1, 8)]
    far_seq = [(far, v) for v in range(1, 6)]
    assert order == [x for pair in zip(near_seq, far_seq, strict=False) for x in pair] + [
        (near, 6),
        (near, 7),
    ]
    assert [i["shard"] for i in items] == [SHARDS.of(i["stream_id"]) for i in items]
    assert all(SHARDS.of(i["event_id"]) == i["shard"] for i in items)


async def test_paging_while_appending_gives_every_event_exactly_once(
    engines: list[AsyncEngine], reader: LogReader
) -> None:
    near, far = await two_shards_of_events(engines)
    appended: list[str] = []
    versions = {near: 7, far: 5}

    async def append_both(page: int) -> None:
        if page > 4:
            return
        for stream in (near, far):
            versions[stream] += 1
            # an earlier time than any page so far: position order still finds it
            [new] = events_of(stream, range(versions[stream], versions[stream] + 1), [-page])
            await append(engines[SHARDS.of(stream)], [new])
            appended.append(new.event_id)

    before = {i["event_id"] for p in await walk(reader, EventFilter(), 100) for i in p}
    pages = await walk(reader, EventFilter(), limit=2, between=append_both)
    seen = [i["event_id"] for page in pages for i in page]

    assert len(appended) == 8
    assert len(seen) == len(set(seen)), "an event came twice"
    assert set(seen) == before | set(appended)
    for stream in (near, far):  # each shard's own order kept
        mine = [i["version"] for p in pages for i in p if i["stream_id"] == stream]
        assert mine == sorted(mine)


def count_queries(engines: list[AsyncEngine]) -> Counter[int]:
    seen: Counter[int] = Counter()
    for shard, engine in enumerate(engines):

        def counted(*_: Any, shard: int = shard) -> None:
            seen[shard] += 1

        event.listen(engine.sync_engine, "before_cursor_execute", counted)
    return seen


async def test_filters_keep_their_meaning_and_an_aggregate_asks_its_shard_only(
    engines: list[AsyncEngine], reader: LogReader
) -> None:
    near, far = await two_shards_of_events(engines)
    queries = count_queries(engines)

    by_far = [i for p in await walk(reader, EventFilter(aggregate_id=far), 2) for i in p]
    assert [i["version"] for i in by_far] == [1, 2, 3, 4, 5]
    assert queries[0] == 0
    assert queries[1] > 0

    created = [i for p in await walk(reader, EventFilter(type="OrderCreated"), 10) for i in p]
    assert {i["stream_id"] for i in created} == {near, far}
    # positions are each shard's own: 2..3 is near v2, v3 and far v2, v3
    window = [
        i for p in await walk(reader, EventFilter(from_position=2, to_position=3), 10) for i in p
    ]
    assert sorted((i["stream_id"] == far, i["position"]) for i in window) == [
        (False, 2),
        (False, 3),
        (True, 2),
        (True, 3),
    ]
    nowhere = EventFilter(aggregate_id=ShardMap(9).mint(8))  # names a shard beyond
    assert (await reader.events(nowhere, 10, None)).items == []


async def test_one_event_is_read_on_its_shard(
    engines: list[AsyncEngine], reader: LogReader
) -> None:
    _, far = await two_shards_of_events(engines)
    page = await reader.events(EventFilter(aggregate_id=far), 1, None)
    [wanted] = page.items
    found = await reader.event(wanted["event_id"])
    assert found is not None
    assert found.stream_id == far
    assert await reader.event(SHARDS.mint(1)) is None
    assert await reader.event(str(uuid.uuid4())) is None


async def test_a_cursor_from_before_sharding_reads_as_shard_0s(
    engines: list[AsyncEngine], reader: LogReader
) -> None:
    near, _ = await two_shards_of_events(engines)
    legacy = base64.urlsafe_b64encode(json.dumps([5]).encode()).decode()
    page = await reader.events(EventFilter(aggregate_id=near), 10, legacy)
    assert [i["version"] for i in page.items] == [6, 7]


def logged(command_id: str, seconds: int) -> dict[str, Any]:
    return {
        "command_id": command_id,
        "type": "UpdateOrder",
        "status": "accepted",
        "http_status": 200,
        "aggregate_id": None,
        "idempotency_key": None,
        "actor": "test",
        "request": {"type": "UpdateOrder", "data": {}},
        "error": None,
        "event_ids": [],
        "received_at": (T0 + timedelta(seconds=seconds)).replace(tzinfo=None),
        "duration_ms": 1,
    }


async def test_commands_merge_every_shard_newest_first_and_are_found_anywhere(
    engines: list[AsyncEngine], reader: LogReader
) -> None:
    at = {f"c{n:02d}": n for n in range(12)}
    for shard, engine in enumerate(engines):
        async with engine.begin() as conn:
            mine = [logged(c, s) for c, s in at.items() if s % 3 == shard]  # 0 and 1 only
            await conn.execute(insert(command_log), mine)

    ids: list[str] = []
    cursor = None
    while True:
        page = await reader.commands(CommandFilter(), 3, cursor)
        ids += [c["command_id"] for c in page.items]
        if (cursor := page.next_cursor) is None:
            break
    expected = sorted((c for c, s in at.items() if s % 3 != 2), key=at.__getitem__, reverse=True)
    assert ids == expected

    since = await reader.commands(CommandFilter(since=T0 + timedelta(seconds=6)), 50, None)
    assert [c["command_id"] for c in since.items] == ["c10", "c09", "c07", "c06"]
    on_far = await reader.command("c07")  # 7 % 3 == 1: shard 1's
    assert on_far is not None
    assert on_far["received_at"].startswith("2025-06-01T08:00:07")
    assert await reader.command("c02") is None
