"""The whole read path for this run: command-service -> Kafka -> projector -> read store
-> query-service, all on this run's database, topic, read-store database and prefix."""

from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient

from cqrs_contracts.settings import Settings
from query_service.entrypoints.http.app import create_app as create_query_app
from tests.integration.command_service.conftest import (  # noqa: F401 - shared fixtures
    event_store_db,
    make_settings,
    service_env,
)
from tests.integration.projector.conftest import (  # noqa: F401 - shared fixtures
    commands,
    projector_admin,
    projector_settings,
)


@pytest.fixture(scope="session")
async def queries(
    projector_settings: Settings, projector_admin: AsyncTestClient
) -> AsyncIterator[AsyncTestClient]:
    """The query-service app (same read store and prefix as the running projector)."""
    async with AsyncTestClient(app=create_query_app(projector_settings)) as client:
        yield client
