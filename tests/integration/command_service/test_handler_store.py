"""The command-service's handler store (MariaDB) keeps the HandlerStore contract."""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from command_service.adapters.handler_store import SqlHandlerStore
from cqrs_http.handlers.store import HandlerStore
from tests.support.handler_store_contract import HandlerStoreContract


class TestSqlHandlerStore(HandlerStoreContract):
    kind = "command"

    @pytest.fixture
    async def store(self, mysql_database: str, event_store_db: str) -> AsyncIterator[HandlerStore]:
        engine = create_async_engine(mysql_database)  # migrated by event_store_db
        yield SqlHandlerStore(engine)
        await engine.dispose()
