"""database.mongodb.read_preference and read_concern reach the query-service's client, and
only it: the projector's client reads the primary whatever the settings or the URI say."""

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from cqrs_contracts.settings import Settings
from cqrs_read_store.codec import make_client
from query_service.bootstrap import Container, build


def _settings(**mongodb: Any) -> Settings:
    return Settings.model_validate({"database": {"mongodb": mongodb}})


@pytest.fixture
async def built() -> AsyncIterator[Callable[[Settings], Container]]:
    """build(), with every client it made closed afterwards."""
    made: list[Container] = []

    def make(settings: Settings) -> Container:
        made.append(build(settings))
        return made[-1]

    yield make
    for container in made:
        await container.mongo.close()
        await container.redis.aclose()
        await container.history.engine.dispose()


async def test_the_query_service_reads_with_the_configured_preference_and_concern(
    built: Callable[[Settings], Container],
) -> None:
    mongo = built(_settings(read_preference="secondaryPreferred", read_concern="majority")).mongo

    assert mongo.read_preference.mongos_mode == "secondaryPreferred"
    assert mongo.read_concern.level == "majority"


async def test_by_default_the_query_service_reads_local_data_on_the_primary(
    built: Callable[[Settings], Container],
) -> None:
    mongo = built(Settings()).mongo

    assert mongo.read_preference.mongos_mode == "primary"
    assert mongo.read_concern.document == {"level": "local"}


async def test_the_projector_reads_the_primary_whatever_the_settings_say() -> None:
    settings = _settings(
        uri="mongodb://127.0.0.1:27017/?readPreference=nearest",
        read_preference="secondary",
        read_concern="majority",
    )
    client: AsyncMongoClient[dict[str, Any]] = make_client(settings.database.mongodb)
    try:
        assert client.read_preference.mongos_mode == "primary"
        assert client.read_concern.document == {}  # the server's own default
    finally:
        await client.close()
