"""The data keys on MariaDB: created in a writer's transaction, destroyed to a
tombstone, and read by `KeyRing` (one query per batch, cached, a forgotten subject
dropped at once); an absent key is an error, never read as erased. `EventReader` with
keys reveals what it reads."""

import base64
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.privacy import ERASED
from cqrs_event_store.event_codec import event_row
from cqrs_event_store.privacy import data_keys
from cqrs_event_store.privacy.keyring import KeyRing, MissingDataKeyError
from cqrs_event_store.privacy.master_key import StaticMasterKey
from cqrs_event_store.privacy.sealing import seal_fields
from cqrs_event_store.reader import EventReader
from cqrs_event_store.tables import data_keys as data_keys_table
from cqrs_event_store.tables import events

MASTER = StaticMasterKey(base64.b64encode(bytes(range(32))).decode())
NOW = datetime(2026, 12, 7, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_a_key_is_stored_wrapped_and_destroyed_to_a_tombstone(store: AsyncEngine) -> None:
    async with store.begin() as conn:
        key = await data_keys.create(conn, MASTER, "u1", NOW)
    async with store.connect() as conn:
        row = (await conn.execute(select(data_keys_table))).one()
        [found] = await data_keys.fetch(conn, MASTER, subjects=["u1"])
    assert row.subject == "u1"
    assert row.master_key_id == MASTER.key_id
    assert row.wrapped_key is not None
    assert row.destroyed_at is None
    assert found.key_id == key.key_id
    assert found.key is not None
    async with store.begin() as conn:
        await data_keys.destroy(conn, "u1", NOW)
        await data_keys.destroy(conn, "never-had-one", NOW)
    async with store.connect() as conn:
        rows = {r.subject: r for r in await conn.execute(select(data_keys_table))}
        fetched = await data_keys.fetch(conn, MASTER, subjects=["u1", "never-had-one"])
    assert rows["u1"].wrapped_key is None
    assert rows["u1"].destroyed_at is not None
    assert rows["never-had-one"].wrapped_key is None
    assert {f.subject: f.key for f in fetched} == {"u1": None, "never-had-one": None}


async def test_the_keyring_reveals_caches_and_drops_a_forgotten_key(store: AsyncEngine) -> None:
    async with store.begin() as conn:
        key = await data_keys.create(conn, MASTER, "u1", NOW)
    clock = Clock()
    ring = KeyRing(store, MASTER, ttl=30, clock=clock)
    sealed = seal_fields({"user_id": "u1", "name": "Ada"}, {"name"}, key)
    assert await ring.reveal_data(sealed) == {"user_id": "u1", "name": "Ada"}
    async with store.begin() as conn:
        await data_keys.destroy(conn, "u1", NOW)
    # within its ttl the cached key still opens (the projector forgets it on the event)
    assert (await ring.reveal_data(sealed))["name"] == "Ada"
    ring.forget("u1")
    assert (await ring.reveal_data(sealed))["name"] == ERASED
    # and without forget, the ttl alone ends it
    async with store.begin() as conn:
        other = await data_keys.create(conn, MASTER, "u2", NOW)
    sealed2 = seal_fields({"name": "Bob"}, {"name"}, other)
    assert (await ring.reveal_data(sealed2))["name"] == "Bob"
    async with store.begin() as conn:
        await data_keys.destroy(conn, "u2", NOW)
    clock.now = 31
    assert (await ring.reveal_data(sealed2))["name"] == ERASED


async def test_a_key_the_table_does_not_hold_is_an_error_not_erased(store: AsyncEngine) -> None:
    async with store.begin() as conn:
        key = await data_keys.create(conn, MASTER, "u1", NOW)
        await conn.execute(data_keys_table.delete())  # as if the key's row were not there yet
    ring = KeyRing(store, MASTER, ttl=30)
    sealed = seal_fields({"name": "Ada"}, {"name"}, key)
    with pytest.raises(MissingDataKeyError):
        await ring.reveal_data(sealed)


async def test_the_event_reader_reveals_with_keys_and_gives_sealed_without(
    store: AsyncEngine,
) -> None:
    async with store.begin() as conn:
        key = await data_keys.create(conn, MASTER, "u1", NOW)
        data = {"user_id": "u1", "name": "Ada", "email": "ada@example.com", "created_at": "x"}
        envelope = EventEnvelope(
            event_id=str(uuid.uuid4()),
            stream_type="user",
            stream_id="u1",
            version=1,
            type="UserCreated",
            schema_version=2,
            data=seal_fields(data, {"name", "email"}, key),
            occurred_at=NOW,
        )
        await conn.execute(insert(events).values(**event_row(envelope)))
    revealed = await EventReader(store, KeyRing(store, MASTER)).event_at("u1", 1)
    as_stored = await EventReader(store, keys=None).event_at("u1", 1)
    assert revealed is not None
    assert as_stored is not None
    assert revealed.data["name"] == "Ada"
    assert revealed.data["email"] == "ada@example.com"
    assert "Ada" not in str(as_stored.data)
    assert as_stored.data["user_id"] == "u1"
