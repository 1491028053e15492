"""A migrated event store and a command-service wired to this run's database and topic."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from command_service.entrypoints.http.app import create_app
from command_service.migrations import upgrade_to_head
from cqrs_contracts.settings import Settings
from tests.support.services import Endpoints
from tests.support.settings import settings_for


@pytest.fixture(scope="session")
async def client(make_settings: Callable[..., Settings]) -> AsyncIterator[AsyncTestClient]:
    """The real app (real MariaDB, real Kafka, relay running) behind Litestar's test client."""
    app = create_app(make_settings())
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


@dataclass(frozen=True)
class PrivateStore:
    """A migrated database and a topic of their own: no other relay drains its outbox."""

    env: dict[str, str]  # service_env pointed at this database and topic
    url: str
    topic: str

    def settings(self, **overrides: str) -> Settings:
        return settings_for(self.env, **overrides)


@pytest.fixture
async def private_store(
    endpoints: Endpoints, run_id: str, service_env: dict[str, str]
) -> AsyncIterator[PrivateStore]:
    suffix = uuid.uuid4().hex[:6]
    name, topic = f"cqrs_test_{run_id}_{suffix}", f"cqrs-events-{run_id}-{suffix}"
    server = create_async_engine(endpoints.mysql_url)
    async with server.begin() as conn:
        await conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    url = f"{endpoints.mysql_url}/{name}"
    await asyncio.to_thread(upgrade_to_head, url)
    admin = AIOKafkaAdminClient(bootstrap_servers=endpoints.kafka_brokers)
    await admin.start()
    await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    env = service_env | {"DB_NAME": name, "KAFKA_TOPIC": topic}
    try:
        yield PrivateStore(env, url, topic)
    finally:
        await admin.delete_topics([topic])
        await admin.close()
        async with server.begin() as conn:
            await conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        await server.dispose()
