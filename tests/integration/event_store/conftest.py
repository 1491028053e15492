"""Databases of their own for the event-store package's tests: one migrated by the
command-service's Alembic migrations, and a factory of empty ones."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from command_service.migrations import upgrade_to_head
from tests.support.services import Endpoints

MakeDatabase = Callable[[], Awaitable[str]]  # a fresh, empty database: its name


@pytest.fixture
async def make_database(endpoints: Endpoints, run_id: str) -> AsyncIterator[MakeDatabase]:
    """Makes empty databases on the test server; every one is dropped after the test."""
    server = create_async_engine(endpoints.mysql_url)
    made: list[str] = []

    async def make() -> str:
        name = f"cqrs_test_{run_id}_es{uuid.uuid4().hex[:6]}"
        async with server.begin() as conn:
            await conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
        made.append(name)
        return name

    yield make
    async with server.begin() as conn:
        for name in made:
            await conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
    await server.dispose()


@pytest.fixture
async def migrated(endpoints: Endpoints, make_database: MakeDatabase) -> str:
    """The name of a fresh database migrated to head, as `just migrate` does."""
    name = await make_database()
    await asyncio.to_thread(upgrade_to_head, f"{endpoints.mysql_url}/{name}")
    return name


@pytest.fixture
async def store(endpoints: Endpoints, migrated: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a migrated event store no other test writes to."""
    engine = create_async_engine(f"{endpoints.mysql_url}/{migrated}")
    yield engine
    await engine.dispose()
