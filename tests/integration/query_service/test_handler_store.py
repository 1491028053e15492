"""The query-service's handler store (the read store) keeps the HandlerStore contract."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from cqrs_http.handlers.store import HandlerStore
from query_service.adapters.handler_store import MongoHandlerStore
from tests.support.handler_store_contract import HandlerStoreContract
from tests.support.services import Endpoints


class TestMongoHandlerStore(HandlerStoreContract):
    kind = "query"

    @pytest.fixture
    async def store(self, endpoints: Endpoints, mongo_database: str) -> AsyncIterator[HandlerStore]:
        # as the query-service opens it: datetimes come back aware
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            endpoints.mongodb_uri, tz_aware=True
        )
        store = MongoHandlerStore(client[mongo_database])
        await store.ensure_indexes()
        yield store
        await client.close()
