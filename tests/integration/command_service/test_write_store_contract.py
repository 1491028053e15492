"""The MySQL write store passes the write store's contract (as the in-memory one does in
tests/unit/command_service/test_memory_store.py), on a migrated database of its own: its
events go to no topic, so in the run's database they would be events no projector ever
sees (and every consistency check against that event store would count them missing)."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from command_service.adapters.write_store import SqlWriteStore
from command_service.application.ports import WriteStore
from command_service.migrations import upgrade_to_head
from cqrs_event_store import tables as t
from tests.support.services import Endpoints
from tests.support.write_store_contract import StoredRows, WriteStoreContract

SNAPSHOT_EVERY = 3  # small, so the contract's streams cross snapshots


class SqlRows:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def logged(self, command_ids: list[str]) -> set[str]:
        query = select(t.command_log.c.command_id).where(
            t.command_log.c.command_id.in_(command_ids)
        )
        async with self._engine.connect() as conn:
            return set((await conn.execute(query)).scalars())

    async def outbox(self, stream_id: str) -> list[str]:
        query = (
            select(t.outbox.c.event_id)
            .where(t.outbox.c.message_key == stream_id)
            .order_by(t.outbox.c.id)
        )
        async with self._engine.connect() as conn:
            return list((await conn.execute(query)).scalars())


@pytest.fixture(scope="module")
async def contract_engine(endpoints: Endpoints, run_id: str) -> AsyncIterator[AsyncEngine]:
    name = f"cqrs_test_{run_id}_contract"
    server = create_async_engine(endpoints.mysql_url)
    async with server.begin() as conn:
        await conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    await asyncio.to_thread(upgrade_to_head, f"{endpoints.mysql_url}/{name}")
    engine = create_async_engine(f"{endpoints.mysql_url}/{name}", pool_size=10)
    try:
        yield engine
    finally:
        await engine.dispose()
        async with server.begin() as conn:
            await conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        await server.dispose()


class TestSqlWriteStore(WriteStoreContract):
    @pytest.fixture
    def store(self, contract_engine: AsyncEngine) -> WriteStore:
        return SqlWriteStore(contract_engine, "contract-events", SNAPSHOT_EVERY)

    @pytest.fixture
    def rows(self, contract_engine: AsyncEngine) -> StoredRows:
        return SqlRows(contract_engine)
