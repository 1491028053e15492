"""The query log's buffer: entries wait in memory and are written in batches; a full
buffer drops (and counts) instead of making a query wait; flush() writes everything
recorded before it; close() writes what is left; a store that does not answer is
counted, never waited on by a query. Against the real read store."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from pymongo import AsyncMongoClient

from query_service.adapters.query_log import COLLECTION, QueryLog
from tests.integration.query_service.helpers import QUERIES, answer, error_of, tag
from tests.support.polling import eventually

STATS = "/api/v1/cqrs/stats"


def entry(n: int = 0) -> dict[str, Any]:
    return {
        "query_id": str(uuid.uuid4()),
        "type": "GetUser",
        "data": {"id": f"u{n}"},
        "actor": None,
        "status": 200,
        "source": "cache",
        "stale": False,
        "duration_ms": 0.5,
        "at": datetime.now(UTC),
    }


@pytest.fixture
async def log_db(mongo_client: AsyncMongoClient, mongo_database: str) -> AsyncIterator[str]:
    name = f"{mongo_database}_buf{tag()[:6]}"
    yield name
    await mongo_client.drop_database(name)


async def stored(mongo_client: AsyncMongoClient, db: str) -> set[str]:
    return {d["_id"] async for d in mongo_client[db][COLLECTION].find({}, {"_id": 1})}


async def test_a_full_buffer_drops_and_counts(mongo_client: AsyncMongoClient, log_db: str) -> None:
    log = QueryLog(mongo_client[log_db], 1000, batch_size=100, buffer_size=3)
    made = [entry(i) for i in range(5)]
    for e in made:
        log.record(e)  # no writer running: nothing leaves the buffer
    assert log.stats() | {"buffer_size": 3} == {
        "buffered": 3,
        "buffer_size": 3,
        "written": 0,
        "dropped": 2,
        "failed": 0,
    }
    await log.flush()
    assert await stored(mongo_client, log_db) == {e["query_id"] for e in made[:3]}
    assert (log.stats()["buffered"], log.stats()["written"]) == (0, 3)
    log.record(made[3])  # room again
    assert log.stats()["buffered"] == 1


async def test_flush_writes_everything_recorded_before_it_in_batches(
    mongo_client: AsyncMongoClient, log_db: str
) -> None:
    log = QueryLog(mongo_client[log_db], 1000, batch_size=2, buffer_size=100)
    made = [entry(i) for i in range(5)]
    for e in made:
        log.record(e)
    await log.flush()
    assert await stored(mongo_client, log_db) == {e["query_id"] for e in made}
    one = await log.get(made[0]["query_id"])
    assert one is not None
    assert (one["query_id"], one["data"], one["source"]) == (
        made[0]["query_id"],
        {"id": "u0"},
        "cache",
    )


async def test_the_writer_writes_on_its_own_and_close_writes_the_rest(
    mongo_client: AsyncMongoClient, log_db: str
) -> None:
    log = QueryLog(mongo_client[log_db], 1000, flush_interval=0.05, batch_size=50)
    log.start()
    first = entry()
    log.record(first)

    async def written() -> bool:
        return first["query_id"] in await stored(mongo_client, log_db)

    await eventually(written, timeout=10, what="the entry flushed")  # a bound, not a timing claim

    rest = [entry(i) for i in range(120)]  # more than two batches
    for e in rest:
        log.record(e)
    await log.close(10)
    assert await stored(mongo_client, log_db) == {e["query_id"] for e in [first, *rest]}
    assert log.stats() | {"buffer_size": 0} == {
        "buffered": 0,
        "buffer_size": 0,
        "written": 121,
        "dropped": 0,
        "failed": 0,
    }


async def test_a_store_that_does_not_answer_is_counted_and_never_blocks_a_query() -> None:
    # nothing listens on port 1: every write fails after the server-selection bound
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        "mongodb://127.0.0.1:1", serverSelectionTimeoutMS=200, connectTimeoutMS=200
    )
    try:
        log = QueryLog(client["nowhere"], 1000, flush_interval=0.01, batch_size=10)
        log.start()
        for i in range(25):
            log.record(entry(i))  # returns at once: it only buffers
        await log.flush()
        assert (log.stats()["failed"], log.stats()["written"]) == (25, 0)
        await log.close(5)
    finally:
        await client.close()


async def test_the_api_flushes_before_it_reads_and_counts_drops_in_stats(
    query_client_with: Callable[..., AbstractAsyncContextManager[AsyncTestClient]], log_db: str
) -> None:
    """A one-entry buffer that is written only when asked (a batch of 1000, an interval of
    an hour): the first query waits in the buffer, the next two are dropped; reading the
    log writes the first before it looks."""
    settings = {
        "MONGODB_DB": log_db,
        "CQRS__QUERY_SERVICE__LOG_BUFFER_SIZE": "1",
        "CQRS__QUERY_SERVICE__LOG_BATCH_SIZE": "1000",
        "CQRS__QUERY_SERVICE__LOG_FLUSH_INTERVAL": "1h",
    }
    async with query_client_with(**settings) as small:
        made = [
            (await answer(small, "ListUsers", {"name": f"nobody {i}"}))["query_id"]
            for i in range(3)
        ]
        log = (await small.get(STATS)).json()["query_log"]
        assert (log["buffered"], log["dropped"], log["buffer_size"]) == (1, 2, 1)

        found = await small.get(f"{QUERIES}/{made[0]}")
        assert found.status_code == 200, found.text
        assert found.json()["query_id"] == made[0]
        for dropped in made[1:]:
            assert error_of(await small.get(f"{QUERIES}/{dropped}"), 404)["code"] == "not_found"
        log = (await small.get(STATS)).json()["query_log"]
        assert (log["written"], log["dropped"], log["failed"]) == (1, 2, 0)


async def test_shutdown_writes_the_buffer(
    query_client_with: Callable[..., AbstractAsyncContextManager[AsyncTestClient]],
    mongo_client: AsyncMongoClient,
    log_db: str,
) -> None:
    settings = {"MONGODB_DB": log_db, "CQRS__QUERY_SERVICE__LOG_FLUSH_INTERVAL": "1h"}
    async with query_client_with(**settings) as app:
        query_id = (await answer(app, "ListUsers", {"name": "nobody"}))["query_id"]
        assert (await app.get(STATS)).json()["query_log"]["buffered"] == 1
    assert query_id in await stored(mongo_client, log_db)


async def test_concurrent_queries_are_all_logged(
    queries: AsyncTestClient,
) -> None:
    """Many queries at once: each is in the log once flushed (none lost between batches)."""
    made = await asyncio.gather(
        *(answer(queries, "ListUsers", {"name": f"nobody {tag()}"}) for _ in range(60))
    )
    page = await queries.get(QUERIES, params={"type": "ListUsers", "limit": 100})
    listed = {e["query_id"] for e in page.json()["items"]}
    assert {m["query_id"] for m in made} <= listed
