"""The whole read path for this run: command-service -> Kafka -> projector -> read store
-> query-service, all on this run's database, topic, read-store database and prefix."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest
from litestar.testing import AsyncTestClient

from query_service.entrypoints.http.app import create_app as create_query_app
from tests.support.settings import settings_for


@pytest.fixture
def query_client_with(
    query_env: dict[str, str],
) -> Callable[..., AbstractAsyncContextManager[AsyncTestClient]]:
    """Another query-service app with settings overrides (env names, CQRS__SECTION__KEY)."""

    @asynccontextmanager
    async def make(**overrides: str) -> AsyncIterator[AsyncTestClient]:
        app = create_query_app(settings_for(query_env, **overrides))
        async with AsyncTestClient(app=app) as client:
            yield client

    return make
