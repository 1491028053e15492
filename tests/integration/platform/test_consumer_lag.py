"""Backlogs in health and stats: the projector's consumer lag per partition (the group's
committed offsets against each partition's end, as the broker sees them) and the
command-service's outbox backlog."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import OffsetAndMetadata
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from command_service.migrations import upgrade_to_head
from cqrs_contracts.settings import Settings
from projector.adapters.consumer_lag import PartitionLag, consumer_lag
from tests.support.services import Endpoints

AppFactory = Callable[[Settings], AbstractAsyncContextManager[AsyncTestClient]]


@pytest.fixture
async def topic(endpoints: Endpoints, run_id: str) -> AsyncIterator[str]:
    name = f"cqrs-lag-{run_id}-{uuid.uuid4().hex[:6]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=endpoints.kafka_brokers)
    await admin.start()
    await admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=1)])
    yield name
    await admin.delete_topics([name])
    await admin.close()


async def test_lag_per_partition_is_end_minus_the_groups_committed_offset(
    endpoints: Endpoints, topic: str
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=endpoints.kafka_brokers)
    await producer.start()
    try:
        for partition, count in ((0, 5), (1, 2)):
            for n in range(count):
                await producer.send_and_wait(topic, f"m{n}".encode(), partition=partition)
    finally:
        await producer.stop()
    group = f"lag-{uuid.uuid4().hex[:8]}"
    committer = AIOKafkaConsumer(
        bootstrap_servers=endpoints.kafka_brokers, group_id=group, enable_auto_commit=False
    )
    await committer.start()
    try:
        committer.assign([TopicPartition(topic, 0)])
        await committer.commit({TopicPartition(topic, 0): OffsetAndMetadata(3, "")})
    finally:
        await committer.stop()

    lags = await consumer_lag(endpoints.kafka_brokers, topic, group, timeout_s=10)

    assert lags == [
        PartitionLag(partition=0, end=5, committed=3, lag=2),
        PartitionLag(partition=1, end=2, committed=None, lag=2),
        PartitionLag(partition=2, end=0, committed=None, lag=0),
    ]


async def test_projector_health_and_stats_report_the_lag_of_each_partition(
    projector_admin: AsyncTestClient,
) -> None:
    health = await projector_admin.get("/api/v1/cqrs/health")
    assert health.status_code == 200, health.text
    lag = health.json()["checks"]["consumer_lag"]
    assert lag["status"] == "up"
    assert set(lag["partitions"]) == {"0", "1", "2"}
    assert lag["total"] == sum(p["lag"] for p in lag["partitions"].values())
    stats = (await projector_admin.get("/api/v1/cqrs/stats")).json()
    assert stats["consumer_lag"]["status"] == "up"
    assert set(stats["consumer_lag"]["partitions"]) == {"0", "1", "2"}
    assert {"events_processed", "events_dead_lettered", "uptime_seconds"} <= set(stats)


@pytest.fixture
async def private_event_store(endpoints: Endpoints, run_id: str) -> AsyncIterator[dict[str, str]]:
    """A migrated database no relay drains: its outbox only grows."""
    name = f"cqrs_test_{run_id}_{uuid.uuid4().hex[:6]}"
    server = create_async_engine(endpoints.mysql_url)
    async with server.begin() as conn:
        await conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    await asyncio.to_thread(upgrade_to_head, f"{endpoints.mysql_url}/{name}")
    yield {"DB_NAME": name}
    async with server.begin() as conn:
        await conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
    await server.dispose()


async def test_command_health_and_stats_report_the_outbox_backlog(
    private_event_store: dict[str, str],
    make_settings: Callable[..., Settings],
    command_app: AppFactory,
    run_id: str,
) -> None:
    settings = make_settings(
        **private_event_store,
        CQRS__COMMAND_SERVICE__RELAY_ENABLED="false",
        CQRS__REDIS__PREFIX=f"test:{run_id}:outbox",
    )
    async with command_app(settings) as client:
        before = (await client.get("/api/v1/cqrs/health")).json()["checks"]["outbox"]["backlog"]
        assert before == 0
        command = {
            "type": "CreateUser",
            "data": {"name": "Omar Vale", "email": f"{uuid.uuid4().hex[:10]}@x.io", "age": 39},
        }
        assert (await client.post("/api/v1/cqrs/commands", json=command)).status_code == 200
        health = (await client.get("/api/v1/cqrs/health")).json()
        assert health["checks"]["outbox"]["backlog"] == 1
        assert (await client.get("/api/v1/cqrs/stats")).json()["outbox_backlog"] == 1
