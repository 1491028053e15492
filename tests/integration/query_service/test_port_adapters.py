"""The real adapters of the QueryService ports keep the same contracts as the in-memory
ones, against the running read store and Redis, with the projector's own writes and
announcements (tests/support/query_contracts/projector_side.py)."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from redis.asyncio import Redis

from cqrs_contracts.read_models import ReadModel
from cqrs_read_store.reader import ReadStore
from query_service.adapters.cache import ReadCache
from query_service.adapters.consistency import ConsistencyWaiter
from query_service.adapters.query_log import QueryLog
from tests.support.query_contracts.cache import CacheContract, Invalidate
from tests.support.query_contracts.projector_side import (
    announce_change,
    record_applied,
    store_document,
)
from tests.support.query_contracts.query_log import QueryLogContract, ReadBack
from tests.support.query_contracts.read_models import Put, ReadModelsContract
from tests.support.query_contracts.waiter import Applied, WaiterContract
from tests.support.services import Endpoints


@pytest.fixture
async def db(endpoints: Endpoints, mongo_database: str) -> AsyncIterator[AsyncDatabase[Any]]:
    # as the query-service opens it (bootstrap.py): datetimes come back aware
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        endpoints.mongodb_uri, tz_aware=True
    )
    yield client[mongo_database]
    await client.close()


@pytest.fixture
async def redis(endpoints: Endpoints) -> AsyncIterator[Redis]:
    """A client as the services open theirs (bytes replies)."""
    client = Redis.from_url(endpoints.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def prefix(redis: Redis, run_id: str) -> AsyncIterator[str]:
    """A Redis prefix of this test's own, its keys removed after it."""
    name = f"test:{run_id}:p{uuid.uuid4().hex[:8]}"
    yield name
    keys = [k async for k in redis.scan_iter(match=f"{name}:*")]
    if keys:
        await redis.delete(*keys)


class TestReadStore(ReadModelsContract):
    @pytest.fixture
    def read_models(self, db: AsyncDatabase[Any]) -> ReadStore:
        return ReadStore(db)

    @pytest.fixture
    def put(self, db: AsyncDatabase[Any]) -> Put:
        async def put(doc: ReadModel) -> None:
            await store_document(db, doc)

        return put


class TestRedisReadCache(CacheContract):
    @pytest.fixture
    def cache(self, redis: Redis, prefix: str) -> ReadCache:
        return ReadCache(redis, prefix, 60, enabled=True)

    @pytest.fixture
    def invalidate(self, redis: Redis, prefix: str) -> Invalidate:
        async def invalidate(read_model: str, doc_id: str) -> None:
            await announce_change(redis, prefix, read_model, doc_id)

        return invalidate


class TestRedisConsistencyWaiter(WaiterContract):
    @pytest.fixture
    def waiter(self, redis: Redis, prefix: str) -> ConsistencyWaiter:
        return ConsistencyWaiter(redis, prefix)

    @pytest.fixture
    def applied(self, redis: Redis, prefix: str) -> Applied:
        async def applied(stream_id: str, version: int) -> None:
            await record_applied(redis, prefix, stream_id, version)

        return applied


class TestReadStoreQueryLog(QueryLogContract):
    @pytest.fixture
    def log(self, db: AsyncDatabase[Any]) -> QueryLog:
        return QueryLog(db, 10_000)

    @pytest.fixture
    def read_back(self, log: QueryLog) -> ReadBack:
        async def read_back(query_id: str) -> dict[str, Any] | None:
            await log.flush()
            return await log.get(query_id)

        return read_back
