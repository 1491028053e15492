"""The read-store package against this run's real read store and Redis."""

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from cqrs_contracts.settings import Settings
from cqrs_read_store.codec import make_client
from cqrs_read_store.writer import ViewStore


@pytest.fixture
async def read_db(
    make_settings: Callable[..., Settings],
) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    """This run's read-store database, through the package's client."""
    mongo = make_settings().database.mongodb
    client: AsyncMongoClient[dict[str, Any]] = make_client(mongo)
    yield client[mongo.database]
    await client.close()


@pytest.fixture
async def staging(read_db: AsyncDatabase[dict[str, Any]]) -> AsyncIterator[ViewStore]:
    """A writer on a fresh staging set (collections named with a suffix of their own)."""
    store = ViewStore(read_db, suffix=f"_s{uuid.uuid4().hex[:10]}")
    yield store
    await store.drop_all()
