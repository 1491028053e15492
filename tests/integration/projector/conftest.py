"""A projector (consumer + admin app) and a command-service, both wired to this run's
database, topic, read-store database and Redis prefix."""

from collections.abc import AsyncIterator, Callable

import pytest
from litestar.testing import AsyncTestClient
from pymongo import AsyncMongoClient

from command_service.entrypoints.http.app import create_app as create_command_app
from cqrs_contracts.settings import Settings
from projector.entrypoints.http.app import create_app as create_projector_app
from tests.integration.command_service.conftest import (  # noqa: F401 - shared fixtures
    event_store_db,
    make_settings,
    service_env,
)


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


@pytest.fixture
def read_db(mongo_client: AsyncMongoClient, mongo_database: str):  # type: ignore[no-untyped-def]
    return mongo_client[mongo_database]
