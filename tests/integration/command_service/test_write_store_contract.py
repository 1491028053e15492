"""The MySQL write store passes the write store's contract (as the in-memory one does in
tests/unit/command_service/test_memory_store.py), on this run's migrated database."""

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from command_service.adapters.write_store import SqlWriteStore
from command_service.application.ports import WriteStore
from cqrs_event_store import tables as t
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


class TestSqlWriteStore(WriteStoreContract):
    @pytest.fixture
    def store(self, event_store_db: str, mysql_engine: AsyncEngine) -> WriteStore:
        return SqlWriteStore(mysql_engine, f"contract-{event_store_db}", SNAPSHOT_EVERY)

    @pytest.fixture
    def rows(self, mysql_engine: AsyncEngine) -> StoredRows:
        return SqlRows(mysql_engine)
