"""`command_service.migrate_on_start`: the app migrates an empty database at start-up."""

import uuid
from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from command_service.entrypoints.http.app import create_app
from tests.integration.command_service.helpers import create_user
from tests.support.services import Endpoints
from tests.support.settings import settings_for

TABLES = {"events", "snapshots", "outbox", "unique_claims", "command_log", "idempotency_keys"}


@pytest.fixture
async def empty_database(endpoints: Endpoints, run_id: str) -> AsyncIterator[str]:
    """The name of a database with no tables, dropped after the test."""
    name = f"cqrs_test_{run_id}_{uuid.uuid4().hex[:6]}"
    server = create_async_engine(endpoints.mysql_url)
    async with server.begin() as conn:
        await conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    try:
        yield name
    finally:
        async with server.begin() as conn:
            await conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        await server.dispose()


async def tables_of(endpoints: Endpoints, database: str) -> set[str]:
    server = create_async_engine(endpoints.mysql_url)
    try:
        async with server.connect() as conn:
            found = await conn.execute(
                text("SELECT table_name FROM information_schema.tables WHERE table_schema = :db"),
                {"db": database},
            )
            return set(found.scalars())
    finally:
        await server.dispose()


async def test_the_app_creates_the_tables_of_an_empty_database(
    empty_database: str, endpoints: Endpoints, service_env: dict[str, str]
) -> None:
    assert await tables_of(endpoints, empty_database) == set()
    settings = settings_for(
        service_env,
        DB_NAME=empty_database,
        CQRS__COMMAND_SERVICE__MIGRATE_ON_START="true",
        CQRS__COMMAND_SERVICE__RELAY_ENABLED="false",
    )
    async with AsyncTestClient(app=create_app(settings)) as c:
        assert (await create_user(c))["version"] == 1
    assert await tables_of(endpoints, empty_database) >= TABLES
