"""Stored webhook deliveries keep no plaintext of a forgotten user: `forget_user` erases
the personal values in the stored event of every dead letter of theirs, in the real read
store, leaving other users' dead letters and everything else as they were."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.privacy import ERASED
from projector.webhooks.adapters.outcomes import DEAD_LETTERS, WebhookOutcomes
from projector.webhooks.application.handlers import EventHandler
from tests.support.services import Endpoints

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.fixture
async def db(endpoints: Endpoints, run_id: str) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(endpoints.mongodb_uri)
    name = f"cqrs_test_{run_id}_whf{uuid.uuid4().hex[:6]}"
    yield client[name]
    await client.drop_database(name)
    await client.close()


def user_event(uid: str, version: int, type_: str, **data: Any) -> EventEnvelope:
    return EventEnvelope(
        event_id=str(uuid.uuid4()),
        stream_type="user",
        stream_id=uid,
        version=version,
        type=type_,
        schema_version=1,
        data={"user_id": uid, **data},
        occurred_at=NOW,
    )


async def test_forgetting_a_user_erases_their_stored_deliveries_only(
    db: AsyncDatabase[dict[str, Any]],
) -> None:
    outcomes = WebhookOutcomes(db)
    hook = EventHandler("h1", ("*",), "http://127.0.0.1:9/h", ("secret-secret-1",), NOW)
    uid, other = str(uuid.uuid4()), str(uuid.uuid4())
    name_only = user_event(uid, 2, "UserUpdated", name="Ada L.", email=None, age=37)
    for event in (
        user_event(uid, 1, "UserCreated", name="Ada", email="ada@example.com", age=36),
        name_only,
        user_event(other, 1, "UserCreated", name="Bob", email="bob@example.com", age=40),
    ):
        await outcomes.dead_lettered(hook, event, 3, "503")

    await outcomes.forget_user(uid)

    stored = {d["event"]["event_id"]: d async for d in db[DEAD_LETTERS].find({})}
    mine = [d["event"]["data"] for d in stored.values() if d["stream_id"] == uid]
    assert sorted((d["age"], d["name"], d["email"]) for d in mine) == [
        (36, ERASED, ERASED),
        (37, ERASED, None),
    ]
    (theirs,) = [d["event"]["data"] for d in stored.values() if d["stream_id"] == other]
    assert (theirs["name"], theirs["email"]) == ("Bob", "bob@example.com")
    assert "Ada" not in str(list(stored.values()))
    redrive = await outcomes.dead_letter(f"h1:{name_only.event_id}")
    assert redrive is not None
    assert redrive[1].data["name"] == ERASED  # a re-drive sends the erased form
