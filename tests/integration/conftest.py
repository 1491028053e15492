"""Per-run resources on the real services: a MariaDB database, a MongoDB database,
Kafka topics and a Redis key prefix that no other run sees."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pymongo import AsyncMongoClient
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.support.services import Endpoints


@pytest.fixture(scope="session")
async def mysql_database(endpoints: Endpoints, run_id: str) -> AsyncIterator[str]:
    """The URL of a fresh MariaDB/MySQL database, dropped after the run."""
    name = f"cqrs_test_{run_id}"
    server = create_async_engine(endpoints.mysql_url)
    async with server.begin() as conn:
        await conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    yield f"{endpoints.mysql_url}/{name}"
    async with server.begin() as conn:
        await conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
    await server.dispose()


@pytest.fixture
async def mysql_engine(mysql_database: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(mysql_database, pool_size=10)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def mongo_database(endpoints: Endpoints, run_id: str) -> AsyncIterator[str]:
    """The name of a fresh read-store database, dropped after the run."""
    name = f"cqrs_test_{run_id}"
    yield name
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(endpoints.mongodb_uri)
    await client.drop_database(name)
    await client.close()


@pytest.fixture
async def mongo_client(endpoints: Endpoints) -> AsyncIterator[AsyncMongoClient[dict[str, object]]]:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(endpoints.mongodb_uri)
    yield client
    await client.close()


@pytest.fixture(scope="session")
async def kafka_topics(endpoints: Endpoints, run_id: str) -> AsyncIterator[dict[str, str]]:
    """This run's event and dead-letter topics (3 partitions each), deleted after the run."""
    topics = {"events": f"cqrs-events-{run_id}", "dlq": f"cqrs-events-{run_id}.dlq"}
    admin = AIOKafkaAdminClient(bootstrap_servers=endpoints.kafka_brokers)
    await admin.start()
    await admin.create_topics(
        [NewTopic(t, num_partitions=3, replication_factor=1) for t in topics.values()]
    )
    yield topics
    await admin.delete_topics(list(topics.values()))
    await admin.close()


@pytest.fixture
async def redis_client(endpoints: Endpoints, run_id: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(endpoints.redis_url, decode_responses=True)
    yield client
    keys = [k async for k in client.scan_iter(match=f"test:{run_id}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()
