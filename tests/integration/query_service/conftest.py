"""The whole read path for this run: command-service -> Kafka -> projector -> read store
-> query-service, all on this run's database, topic, read-store database and prefix."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest
from litestar.testing import AsyncTestClient

from query_service.adapters.documents import init_documents
from query_service.entrypoints.http.app import create_app as create_query_app
from tests.support.settings import settings_for


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
