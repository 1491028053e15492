"""The whole read path for this run: command-service -> Kafka -> projector -> read store
-> query-service, all on this run's database, topic, read-store database and prefix."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest
from litestar.testing import AsyncTestClient

from cqrs_contracts.settings import Settings
from query_service.adapters.documents import init_documents
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
from tests.support.settings import settings_for


@pytest.fixture(scope="session")
async def queries(
    projector_settings: Settings, projector_admin: AsyncTestClient
) -> AsyncIterator[AsyncTestClient]:
    """The query-service app (same read store and prefix as the running projector)."""
    async with AsyncTestClient(app=create_query_app(projector_settings)) as client:
        yield client


@pytest.fixture(scope="session")
def query_env(service_env: dict[str, str], projector_settings: Settings) -> dict[str, str]:  # noqa: F811
    """Environment for another query-service (app or process) on this run's read side."""
    return {**service_env, "CQRS__REDIS__PREFIX": projector_settings.redis.prefix}


def rebind_documents(client: AsyncTestClient) -> None:
    """Point Beanie's (process-global) document classes back at `client`'s app.

    Every query-service app binds them to its own Mongo client when it starts, so after a
    second app in this process has started (and closed its client) the first one reads
    through a dead client; see test_app_instances.py."""
    container = client.app.dependencies["container"].dependency()
    client.blocking_portal.call(init_documents, container.db)


@pytest.fixture
async def query_client_with(
    query_env: dict[str, str],
    queries: AsyncTestClient,
) -> AsyncIterator[Callable[..., AbstractAsyncContextManager[AsyncTestClient]]]:
    """Another query-service app with settings overrides (env names, CQRS__SECTION__KEY).
    After the test, the shared `queries` app gets its read store back."""
    made: list[AsyncTestClient] = []

    @asynccontextmanager
    async def make(**overrides: str) -> AsyncIterator[AsyncTestClient]:
        app = create_query_app(settings_for(query_env, **overrides))
        async with AsyncTestClient(app=app) as client:
            made.append(client)
            yield client

    yield make
    if made:
        rebind_documents(queries)
