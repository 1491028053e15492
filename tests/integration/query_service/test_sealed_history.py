"""Time travel's History adapter reveals what the event store holds sealed: plaintext at
every version while the user's key lives, the erased placeholder at every version once
it is destroyed; a key not stored (yet) is the history unavailable, never erased. On an
event store of its own (the run's is replayed by the consistency checks)."""

import base64
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.events import UserForgotten
from cqrs_contracts.privacy import ERASED
from cqrs_contracts.settings import PrivacySettings
from cqrs_event_store.event_codec import event_row
from cqrs_event_store.privacy import data_keys
from cqrs_event_store.privacy.cipher import DataKey, data_key, new_material
from cqrs_event_store.privacy.master_key import master_key_from
from cqrs_event_store.tables import data_keys as data_keys_table
from cqrs_event_store.tables import events
from query_service.adapters.history import EventStoreHistory
from query_service.queries.ports import HistoryUnavailableError
from tests.support.event_stores import own_event_store, sealed_user_event
from tests.support.services import Endpoints

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
PRIVACY = PrivacySettings()


@pytest.fixture
async def store(endpoints: Endpoints, run_id: str) -> AsyncIterator[AsyncEngine]:
    name = f"cqrs_test_{run_id}_sh{uuid.uuid4().hex[:6]}"
    async with own_event_store(endpoints.mysql_url, name) as engine:
        yield engine


def user_event(uid: str, version: int, type_: str, key: DataKey, **data: Any) -> EventEnvelope:
    return sealed_user_event(uid, version, type_, key, NOW, **data)


async def append(store: AsyncEngine, *envelopes: EventEnvelope) -> None:
    async with store.begin() as conn:
        for e in envelopes:
            await conn.execute(insert(events).values(**event_row(e)))


async def test_past_states_show_plaintext_then_erased_at_every_version(store: AsyncEngine) -> None:
    uid = str(uuid.uuid4())
    async with store.begin() as conn:
        key = await data_keys.create(conn, master_key_from(PRIVACY), uid, NOW)
    when = NOW.isoformat()
    await append(
        store,
        user_event(uid, 1, "UserCreated", key, name="Ada", email="a@x.io", age=36, created_at=when),
        user_event(uid, 2, "UserUpdated", key, name="Ada L.", updated_at=when),
    )
    alive = EventStoreHistory(store, timeout_s=5.0, privacy=PRIVACY)
    assert [e.data["name"] for e in await alive.of_streams([uid], limit=10)] == ["Ada", "Ada L."]

    async with store.begin() as conn:
        await data_keys.destroy(conn, uid, NOW)
    forgot = UserForgotten(user_id=uid, updated_at=NOW).model_dump(mode="json")
    await append(store, user_event(uid, 3, "UserForgotten", key, **forgot))

    # the replica that read the key before the forget reads it afresh: erased at once
    again = await alive.of_streams([uid], limit=10)
    assert {e.data["name"] for e in again} == {ERASED}
    fresh = EventStoreHistory(store, timeout_s=5.0, privacy=PRIVACY)  # a replica, no cache
    past = await fresh.of_streams([uid], limit=10)
    assert [(e.data["name"], e.data.get("email")) for e in past] == [
        (ERASED, ERASED),
        (ERASED, None),
        (ERASED, ERASED),
    ]
    first = await fresh.event_at(uid, 1)
    assert first is not None
    assert first.data["email"] == ERASED


async def test_a_key_not_stored_is_history_unavailable_not_erased(store: AsyncEngine) -> None:
    uid = str(uuid.uuid4())
    material = new_material()
    key = data_key(str(uuid.uuid4()), uid, material)
    when = NOW.isoformat()
    await append(
        store,
        user_event(uid, 1, "UserCreated", key, name="Ada", email="a@x.io", age=36, created_at=when),
    )
    history = EventStoreHistory(store, timeout_s=5.0, privacy=PRIVACY)

    with pytest.raises(HistoryUnavailableError):
        await history.event_at(uid, 1)
    master = master_key_from(PRIVACY)
    async with store.begin() as conn:
        await conn.execute(
            insert(data_keys_table).values(
                key_id=key.key_id,
                subject=uid,
                wrapped_key=base64.b64encode(master.wrap(material, uid)).decode(),
                master_key_id=master.key_id,
                created_at=NOW.replace(tzinfo=None),
            )
        )
    found = await history.event_at(uid, 1)
    assert found is not None
    assert found.data["name"] == "Ada"
