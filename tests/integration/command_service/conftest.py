"""A migrated event store and a command-service wired to this run's database and topic."""

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.engine import make_url

from command_service.entrypoints.http.app import create_app
from command_service.migrations import upgrade_to_head
from cqrs_contracts.settings import Settings
from tests.support.services import Endpoints
from tests.support.settings import settings_env, settings_for


@pytest.fixture(scope="session")
async def event_store_db(mysql_database: str) -> str:
    """This run's database, migrated to head (Alembic, as `just migrate` does)."""
    await asyncio.to_thread(upgrade_to_head, mysql_database)
    return make_url(mysql_database).database or ""


@pytest.fixture(scope="session")
def service_env(
    endpoints: Endpoints, event_store_db: str, kafka_topics: dict[str, str], mongo_database: str
) -> dict[str, str]:
    return settings_env(endpoints, event_store_db, kafka_topics["events"], mongo_database)


@pytest.fixture(scope="session")
def make_settings(service_env: dict[str, str]) -> Callable[..., Settings]:
    """Settings for this run; keyword overrides are env names (CQRS__SECTION__KEY)."""
    return lambda **overrides: settings_for(service_env, **overrides)


@pytest.fixture(scope="session")
async def client(make_settings: Callable[..., Settings]) -> AsyncIterator[AsyncTestClient]:
    """The real app (real MariaDB, real Kafka, relay running) behind Litestar's test client."""
    app = create_app(make_settings())
    async with AsyncTestClient(app=app) as test_client:
        yield test_client
