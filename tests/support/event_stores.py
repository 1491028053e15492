"""Event stores of a test's own: a database on the test server with `events` and
`data_keys` as declared, dropped afterwards (events put there never reach the run's
read models, whose consistency checks replay the run's store); and a sealed user event
as the command-service stores one."""

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.events import PERSONAL_FIELDS
from cqrs_event_store.privacy.cipher import DataKey
from cqrs_event_store.privacy.sealing import seal_fields
from cqrs_event_store.tables import data_keys, events, metadata


@contextlib.asynccontextmanager
async def own_event_store(mysql_url: str, name: str) -> AsyncIterator[AsyncEngine]:
    server = create_async_engine(mysql_url)
    async with server.begin() as conn:
        await conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    engine = create_async_engine(f"{mysql_url}/{name}")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all, tables=[events, data_keys])
        yield engine
    finally:
        await engine.dispose()
        async with server.begin() as conn:
            await conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        await server.dispose()


def sealed_user_event(
    uid: str, version: int, type_: str, key: DataKey, at: datetime, **data: Any
) -> EventEnvelope:
    """Version `version` of user `uid`'s stream, its personal fields sealed by `key`."""
    return EventEnvelope(
        event_id=str(uuid.uuid4()),
        stream_type="user",
        stream_id=uid,
        version=version,
        type=type_,
        schema_version=2 if type_ == "UserCreated" else 1,
        data=seal_fields({"user_id": uid, **data}, PERSONAL_FIELDS[type_], key),
        occurred_at=at,
    )
