"""Event stores of a test's own: a database on the test server with `events` and
`data_keys` as declared, dropped afterwards (events put there never reach the run's
read models, whose consistency checks replay the run's store); a sharded one (a database
per shard on the one server); a data key minted on a shard; and a sealed user event as
the command-service stores one."""

import base64
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, insert, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.events import PERSONAL_FIELDS
from cqrs_event_store.event_codec import event_row
from cqrs_event_store.privacy.cipher import DataKey, data_key, new_material
from cqrs_event_store.privacy.master_key import MasterKeyProvider
from cqrs_event_store.privacy.sealing import seal_fields
from cqrs_event_store.shards import ShardMap
from cqrs_event_store.tables import command_log, data_keys, events, metadata


@contextlib.asynccontextmanager
async def own_event_store(
    mysql_url: str, name: str, tables: Sequence[Table] = (events, data_keys)
) -> AsyncIterator[AsyncEngine]:
    server = create_async_engine(mysql_url)
    async with server.begin() as conn:
        await conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    engine = create_async_engine(f"{mysql_url}/{name}")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all, tables=list(tables))
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


@contextlib.asynccontextmanager
async def own_shards(mysql_url: str, name: str, count: int = 2) -> AsyncIterator[list[AsyncEngine]]:
    """A sharded event store of a test's own: `count` databases on the test server, each
    with `events`, `data_keys` and `command_log`; their engines, by shard number."""
    async with contextlib.AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(
                own_event_store(mysql_url, f"{name}_s{n}", (events, data_keys, command_log))
            )
            for n in range(count)
        ]


async def append(engine: AsyncEngine, envelopes: Sequence[EventEnvelope]) -> list[int]:
    """Insert the events (as the command-service stores them); their positions."""
    positions = []
    async with engine.begin() as conn:
        for e in envelopes:
            result = await conn.execute(insert(events).values(**event_row(e)))
            key = result.inserted_primary_key
            assert key is not None
            positions.append(int(key[0]))
    return positions


async def shard_key(
    engine: AsyncEngine, master: MasterKeyProvider, subject: str, shards: ShardMap, shard: int
) -> DataKey:
    """A data key for `subject`, minted on `shard` (its id names it) and stored there."""
    key_id, material = shards.mint(shard), new_material()
    async with engine.begin() as conn:
        await conn.execute(
            insert(data_keys).values(
                key_id=key_id,
                subject=subject,
                wrapped_key=base64.b64encode(master.wrap(material, subject)).decode(),
                master_key_id=master.key_id,
                created_at=datetime.now(UTC).replace(tzinfo=None),
            )
        )
    return data_key(key_id, subject, material)
