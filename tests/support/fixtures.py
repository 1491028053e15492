"""The fixtures every test folder shares (registered by tests/conftest.py):
real services, one namespace per run (databases, collections, topics, Redis prefix), and
the three services wired to them."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from litestar.testing import AsyncTestClient
from pymongo import AsyncMongoClient
from redis.asyncio import Redis
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from command_service.entrypoints.http.app import create_app as create_command_app
from command_service.migrations import upgrade_to_head
from cqrs_contracts.settings import Settings
from projector.entrypoints.http.app import create_app as create_projector_app
from query_service.entrypoints.http.app import create_app as create_query_app
from tests.support.databases import database
from tests.support.services import Endpoints, real_services
from tests.support.settings import settings_env, settings_for, shard_address


@pytest.fixture(scope="session")
def run_id() -> str:
    """A short id that names this run's databases, collections, topics and keys."""
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def endpoints() -> Iterator[Endpoints]:
    with real_services() as found:
        yield found


@pytest.fixture(scope="session")
async def mysql_database(endpoints: Endpoints, run_id: str) -> AsyncIterator[str]:
    """The URL of a fresh MariaDB/MySQL database, dropped after the run."""
    async with database(endpoints.mysql_url, f"cqrs_test_{run_id}") as url:
        yield url


@pytest.fixture(scope="session")
def mysql_shard_url(endpoints: Endpoints) -> str:
    """The event store's second shard: a server URL (no database), like endpoints.mysql_url."""
    return endpoints.shard_url()


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


@pytest.fixture(scope="session")
async def event_store_db(mysql_database: str) -> str:
    """This run's database, migrated to head (Alembic, as `just migrate` does)."""
    await asyncio.to_thread(upgrade_to_head, mysql_database)
    return make_url(mysql_database).database or ""


@pytest.fixture(scope="session")
async def event_store_shard_db(mysql_shard_url: str, event_store_db: str) -> AsyncIterator[str]:
    """This run's database on the second shard's server too (the same name, as every shard
    of an event store has), migrated to head, dropped after the run: with event_store_db,
    the run's store on two shards. Its URL is f"{mysql_shard_url}/{name}"."""
    async with database(mysql_shard_url, event_store_db, migrated=True):
        yield event_store_db


@pytest.fixture(scope="session")
def service_env(
    endpoints: Endpoints,
    event_store_db: str,
    kafka_topics: dict[str, str],
    mongo_database: str,
    run_id: str,
) -> dict[str, str]:
    """Every service of this run on its resources, with Redis keys (cache, rate-limit
    counters, notifications) under this run's prefix: runs never share a budget."""
    env = settings_env(endpoints, event_store_db, kafka_topics["events"], mongo_database)
    return {**env, "CQRS__REDIS__PREFIX": f"test:{run_id}"}


@pytest.fixture(scope="session")
def sharded_service_env(
    endpoints: Endpoints, service_env: dict[str, str], event_store_shard_db: str
) -> dict[str, str]:
    """service_env with the run's event store on two shards (database.mysql.shards names
    the second); the same topics, read store and Redis prefix."""
    return {**service_env, "CQRS__DATABASE__MYSQL__SHARDS": shard_address(endpoints)}


@pytest.fixture(scope="session")
def make_settings(service_env: dict[str, str]) -> Callable[..., Settings]:
    """Settings for this run; keyword overrides are env names (CQRS__SECTION__KEY)."""
    return lambda **overrides: settings_for(service_env, **overrides)


@pytest.fixture(scope="session")
def projector_settings(make_settings: Callable[..., Settings], run_id: str) -> Settings:
    return make_settings(
        KAFKA_GROUP_ID=f"projector-{run_id}",
        CQRS__REDIS__PREFIX=f"test:{run_id}",
        CQRS__PROJECTOR__RETRY_BACKOFF="0.05",
    )


@pytest.fixture(scope="session")
async def commands(make_settings: Callable[..., Settings]) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_command_app(make_settings())) as client:
        yield client


@pytest.fixture(scope="session")
async def projector_admin(projector_settings: Settings) -> AsyncIterator[AsyncTestClient]:
    """The projector consuming this run's topic for the whole session."""
    async with AsyncTestClient(app=create_projector_app(projector_settings)) as client:
        yield client


@pytest.fixture(scope="session")
async def queries(
    projector_settings: Settings, projector_admin: AsyncTestClient
) -> AsyncIterator[AsyncTestClient]:
    """The query-service app (same read store and prefix as the running projector)."""
    async with AsyncTestClient(app=create_query_app(projector_settings)) as client:
        yield client


@pytest.fixture(scope="session")
def query_env(service_env: dict[str, str], projector_settings: Settings) -> dict[str, str]:
    """Environment for another query-service (app or process) on this run's read side."""
    return {**service_env, "CQRS__REDIS__PREFIX": projector_settings.redis.prefix}
