"""A projector (consumer + admin app) and a command-service, both wired to this run's
database, topic, read-store database and Redis prefix; event stores of their own."""

import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from pymongo import AsyncMongoClient
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from cqrs_contracts.settings import PrivacySettings, Settings
from cqrs_event_store.privacy.keyring import KeyRing
from cqrs_event_store.privacy.master_key import master_key_from
from cqrs_event_store.reader import EventReader
from cqrs_read_store.codec import make_client
from cqrs_read_store.writer import ViewStore
from tests.support.event_stores import own_event_store as own_store
from tests.support.services import Endpoints


@pytest.fixture
def read_db(mongo_client: AsyncMongoClient, mongo_database: str):
    return mongo_client[mongo_database]


@pytest.fixture
async def event_source(
    mysql_database: str,
    event_store_db: str,  # migrated first
) -> AsyncIterator[EventReader]:
    """A reader of this run's (migrated) event store, as the projector fills gaps: with
    the keys (the default master key, as the services under test use)."""
    engine = create_async_engine(mysql_database)
    yield EventReader(engine, KeyRing(engine, master_key_from(PrivacySettings())))
    await engine.dispose()


@pytest.fixture
async def view_stores(projector_settings: Settings) -> AsyncIterator[Callable[[], ViewStore]]:
    """Makes ViewStores on fresh collection suffixes of this run's read store; dropped after."""
    mongo = projector_settings.database.mongodb
    client = make_client(mongo)
    made: list[ViewStore] = []

    def make() -> ViewStore:
        made.append(ViewStore(client[mongo.database], suffix=f"_t{uuid.uuid4().hex[:10]}"))
        return made[-1]

    yield make
    for store in made:
        await store.drop_all()
    await client.close()


@pytest.fixture
async def own_event_store(endpoints: Endpoints, run_id: str) -> AsyncIterator[AsyncEngine]:
    """An event store of its own, with `events` and `data_keys` as declared: events put
    here never reach the run's read models (whose consistency tests replay the run's
    store)."""
    name = f"cqrs_test_{run_id}_{uuid.uuid4().hex[:6]}"
    async with own_store(endpoints.mysql_url, name) as engine:
        yield engine
