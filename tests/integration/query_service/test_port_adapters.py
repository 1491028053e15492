"""The real adapters of the QueryService ports keep the same contracts as the in-memory
ones, against the running read store and Redis, with the projector's own writes and
announcements (tests/support/query_contracts/projector_side.py); the history against this
run's event store, and the past answers' one hash per document."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from redis.asyncio import Redis
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from cqrs_contracts import channels
from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.read_models import ReadModel
from cqrs_contracts.settings import PrivacySettings
from cqrs_event_store.event_codec import event_row
from cqrs_event_store.tables import events
from cqrs_read_store.announce import forget_past
from cqrs_read_store.reader import ReadStore
from query_service.adapters.cache import ReadCache
from query_service.adapters.consistency import ConsistencyWaiter
from query_service.adapters.history import EventStoreHistory
from query_service.adapters.past_answers import RedisPastAnswers
from query_service.adapters.query_log import QueryLog
from query_service.queries.ports import HistoryUnavailableError
from tests.support.event_stores import own_event_store
from tests.support.query_contracts.cache import CacheContract, Invalidate
from tests.support.query_contracts.history import Append, HistoryContract
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


@pytest.fixture(scope="module")
async def history_store(endpoints: Endpoints, run_id: str) -> AsyncIterator[AsyncEngine]:
    """An event store of its own (the run's is replayed by rebuilds: the contract's
    events must not reach the read models), its `events` table as declared."""
    async with own_event_store(endpoints.mysql_url, f"cqrs_test_{run_id}_hist") as engine:
        yield engine


class TestEventStoreHistory(HistoryContract):
    @pytest.fixture
    def history(self, history_store: AsyncEngine) -> EventStoreHistory:
        return EventStoreHistory(history_store, timeout_s=5.0, privacy=PrivacySettings())

    @pytest.fixture
    def append(self, history_store: AsyncEngine) -> Append:
        async def append(envelopes: list[EventEnvelope]) -> None:
            async with history_store.begin() as conn:
                for e in envelopes:  # one INSERT each: positions in this order
                    await conn.execute(insert(events).values(**event_row(e)))

        return append


async def test_a_store_that_does_not_answer_is_history_unavailable() -> None:
    engine = create_async_engine(
        "mysql+aiomysql://cqrs:cqrs_password@127.0.0.1:1/none", connect_args={"connect_timeout": 1}
    )
    history = EventStoreHistory(engine, timeout_s=3.0, privacy=PrivacySettings())
    with pytest.raises(HistoryUnavailableError):
        await history.event_at("any", 1)
    with pytest.raises(HistoryUnavailableError):
        await history.ping()
    await engine.dispose()


async def test_past_answers_are_one_hash_per_document_forgotten_at_once(
    redis: Redis, prefix: str
) -> None:
    answers = RedisPastAnswers(redis, prefix, ttl_s=60)
    doc_id = f"d{uuid.uuid4().hex[:8]}"
    assert await answers.get("UserReadModel", doc_id, "v:1") is None
    await answers.put("UserReadModel", doc_id, "v:1", b"one")
    await answers.put("UserReadModel", doc_id, "t:9:2", b"two")
    await answers.put("OrderReadModel", doc_id, "v:1", b"other model")
    assert await answers.get("UserReadModel", doc_id, "v:1") == b"one"
    key = channels.past_answers(prefix, "UserReadModel", doc_id)
    assert await redis.hlen(key) == 2
    assert 0 < await redis.ttl(key) <= 60
    assert await forget_past(redis, prefix, "UserReadModel", doc_id) is True
    assert await answers.get("UserReadModel", doc_id, "t:9:2") is None
    assert await answers.get("OrderReadModel", doc_id, "v:1") == b"other model"
    assert await forget_past(redis, prefix, "UserReadModel", doc_id) is False
