"""The reliability suite's world: private servers (started here, stopped at the end even
on failure), one namespace on them per run, and the four processes of the system."""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pymongo import AsyncMongoClient
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from command_service.migrations import upgrade_to_head
from tests.chaos.private_infra import STATE, PrivateInfra
from tests.chaos.system import Namespace, System, system_env
from tests.support.services import Endpoints


@pytest.fixture(scope="session")
def private_infra() -> Iterator[PrivateInfra]:
    infra = PrivateInfra.prepare()
    try:
        infra.up()
        yield infra
    finally:
        infra.down()


@pytest.fixture
async def namespace(private_infra: PrivateInfra) -> AsyncIterator[Namespace]:
    """A migrated database on both event-store shards and a topic (3 partitions) of this
    test's own; dropped after with fresh connections (the servers were killed in between)."""
    ns = Namespace(uuid.uuid4().hex[:10])
    endpoints = private_infra.endpoints
    topics = [ns.topic, f"{ns.topic}.dlq"]
    for server in _event_store_servers(endpoints):
        await _mysql(server, f"CREATE DATABASE `{ns.database}` CHARACTER SET utf8mb4")
        await asyncio.to_thread(upgrade_to_head, f"{server}/{ns.database}")
    admin = AIOKafkaAdminClient(bootstrap_servers=endpoints.kafka_brokers)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(t, num_partitions=3, replication_factor=1) for t in topics]
        )
    finally:
        await admin.close()
    try:
        yield ns
    finally:
        if os.environ.get("CHAOS_KEEP_DATA"):  # to look into a failed run afterwards
            print(f"kept the chaos data of run {ns.run_id}")
        else:
            await _drop(endpoints, ns, topics)


async def _drop(endpoints: Endpoints, ns: Namespace, topics: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=endpoints.kafka_brokers)
    await admin.start()
    try:
        await admin.delete_topics(topics)
    finally:
        await admin.close()
    mongo: AsyncMongoClient[Any] = AsyncMongoClient(endpoints.mongodb_uri)
    await mongo.drop_database(ns.read_database)
    await mongo.close()
    for server in _event_store_servers(endpoints):
        await _mysql(server, f"DROP DATABASE IF EXISTS `{ns.database}`")
    redis = Redis.from_url(endpoints.redis_url)
    keys = [k async for k in redis.scan_iter(match=f"{ns.redis_prefix}:*", count=1000)]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


def _event_store_servers(endpoints: Endpoints) -> list[str]:
    """Shard 0 (the private primary) and shard 1 (the private mariadb-shard)."""
    return [endpoints.mysql_url, endpoints.shard_url()]


async def _mysql(server_url: str, statement: str) -> None:
    server = create_async_engine(server_url)
    try:
        async with server.begin() as conn:
            await conn.execute(text(statement))
    finally:
        await server.dispose()


@pytest.fixture
async def event_store(
    private_infra: PrivateInfra, namespace: Namespace
) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(f"{private_infra.endpoints.mysql_url}/{namespace.database}")
    yield engine
    await engine.dispose()


@pytest.fixture
async def system(private_infra: PrivateInfra, namespace: Namespace) -> AsyncIterator[System]:
    env = system_env(private_infra.config, private_infra.endpoints, namespace)
    running = System(env, logs=STATE / "logs" / namespace.run_id)
    try:
        await running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture
async def event_stores(
    private_infra: PrivateInfra, namespace: Namespace
) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """The namespace's event store on each shard's server: (shard 0, shard 1)."""
    engines = tuple(
        create_async_engine(f"{server}/{namespace.database}")
        for server in _event_store_servers(private_infra.endpoints)
    )
    yield engines[0], engines[1]
    for engine in engines:
        await engine.dispose()


@pytest.fixture
async def sharded_system(
    private_infra: PrivateInfra, namespace: Namespace
) -> AsyncIterator[System]:
    """The four processes on an event store of two shards (mariadb and mariadb-shard)."""
    env = system_env(private_infra.config, private_infra.endpoints, namespace, shards=True)
    running = System(env, logs=STATE / "logs" / namespace.run_id)
    try:
        await running.start()
        yield running
    finally:
        running.stop()
