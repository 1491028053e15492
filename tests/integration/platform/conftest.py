"""The three services as the platform tests run them: authentication on (JWT, HS256)."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest
from litestar.testing import AsyncTestClient

from command_service.entrypoints.http.app import create_app as create_command_app
from cqrs_contracts.settings import Settings
from projector.entrypoints.http.app import create_app as create_projector_app
from query_service.entrypoints.http.app import create_app as create_query_app


@pytest.fixture(scope="session")
def secured(make_settings: Callable[..., Settings], run_id: str) -> Callable[..., Settings]:
    """Settings with auth on (and `overrides`, env names): no rate limits unless asked
    (the matrix sends many requests); retention that keeps everything (a call to
    /cleanup must not trim other tests' logs); no relay (the run's own drains the outbox);
    a consumer group and Redis prefix of their own."""

    def settings(**overrides: str) -> Settings:
        return make_settings(
            **{
                "CQRS__SECURITY__AUTH_ENABLED": "true",
                "CQRS__SECURITY__JWT_SECRET": "a-test-secret-of-at-least-thirty-two-bytes",
                "CQRS__SECURITY__RATE_LIMITS__ENABLED": "false",
                "CQRS__REDIS__PREFIX": f"test:{run_id}:secured",
                "KAFKA_GROUP_ID": f"projector-{run_id}-secured",
                "CQRS__CQRS__MAX_COMMANDS": str(10**9),
                "CQRS__CQRS__MAX_QUERIES": str(10**9),
                "CQRS__COMMAND_SERVICE__RELAY_ENABLED": "false",
                "CQRS__LOGGING__FORMAT": "text",
                **overrides,
            }
        )

    return settings


@pytest.fixture(scope="session")
def secured_settings(secured: Callable[..., Settings]) -> Settings:
    return secured()


@pytest.fixture(scope="session")
def query_app() -> Callable[[Settings], AbstractAsyncContextManager[AsyncTestClient]]:
    @asynccontextmanager
    async def running(settings: Settings) -> AsyncIterator[AsyncTestClient]:
        async with AsyncTestClient(app=create_query_app(settings)) as client:
            yield client

    return running


@pytest.fixture(scope="session")
def command_app() -> Callable[[Settings], AbstractAsyncContextManager[AsyncTestClient]]:
    @asynccontextmanager
    async def running(settings: Settings) -> AsyncIterator[AsyncTestClient]:
        async with AsyncTestClient(app=create_command_app(settings)) as client:
            yield client

    return running


@pytest.fixture(scope="session")
def projector_app() -> Callable[[Settings], AbstractAsyncContextManager[AsyncTestClient]]:
    @asynccontextmanager
    async def running(settings: Settings) -> AsyncIterator[AsyncTestClient]:
        async with AsyncTestClient(app=create_projector_app(settings)) as client:
            yield client

    return running
