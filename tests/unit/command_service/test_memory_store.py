"""The in-memory write store passes the write store's contract (as the MySQL one does in
tests/integration/command_service/test_write_store_contract.py)."""

import pytest

from command_service.adapters.memory_store import MemoryWriteStore
from command_service.application.ports import WriteStore
from tests.support.write_store_contract import StoredRows, WriteStoreContract


class MemoryRows:
    def __init__(self, store: MemoryWriteStore) -> None:
        self._store = store

    async def logged(self, command_ids: list[str]) -> set[str]:
        return set(command_ids) & set(self._store.tables.command_log)

    async def outbox(self, stream_id: str) -> list[str]:
        rows = self._store.tables.outbox
        return [row["event_id"] for row in rows if row["message_key"] == stream_id]


class TestMemoryWriteStore(WriteStoreContract):
    @pytest.fixture
    def memory(self) -> MemoryWriteStore:
        return MemoryWriteStore()

    @pytest.fixture
    def store(self, memory: MemoryWriteStore) -> WriteStore:
        return memory

    @pytest.fixture
    def rows(self, memory: MemoryWriteStore) -> StoredRows:
        return MemoryRows(memory)
