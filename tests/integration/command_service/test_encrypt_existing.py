"""`command-service privacy encrypt-existing` on rows written before sealing: afterwards
no plain name or email is left in any table, every read still reveals them, and a
second run changes nothing."""

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert, text

from command_service.adapters.encrypt_existing import encrypt_existing
from command_service.adapters.log_reader import CommandFilter, EventFilter
from command_service.adapters.outbox_rows import outbox_row
from command_service.adapters.private_records import REDACTED
from command_service.application.ports import ClaimTakenError
from command_service.bootstrap import Container, build
from command_service.domain.decisions import email_claim
from command_service.domain.model import User
from cqrs_contracts.envelopes import EventEnvelope, EventMetadata
from cqrs_event_store import tables as t
from cqrs_event_store.event_codec import event_row
from cqrs_event_store.timestamps import naive_utc
from tests.integration.command_service.conftest import PrivateStore

NOW = datetime.now(UTC)
TABLES = ("events", "outbox", "unique_claims", "command_log", "snapshots", "idempotency_keys")


@pytest.fixture
async def container(private_store: PrivateStore) -> AsyncIterator[Container]:
    built = build(private_store.settings(CQRS__COMMAND_SERVICE__RELAY_ENABLED="false"))
    yield built
    await built.engine.dispose()
    await built.redis.aclose()


def created(user_id: str, name: str, email: str) -> EventEnvelope:
    data = {"user_id": user_id, "name": name, "email": email, "age": 30}
    return EventEnvelope(
        event_id=str(uuid.uuid4()),
        stream_type="user",
        stream_id=user_id,
        version=1,
        type="UserCreated",
        schema_version=2,
        data=data | {"created_at": NOW.isoformat()},
        metadata=EventMetadata(),
        occurred_at=NOW,
    )


async def write_old_rows(container: Container, user_id: str, name: str, email: str) -> None:
    """What a service without sealing wrote for one CreateUser (and a refused one)."""
    event = created(user_id, name, email)
    request = {"type": "CreateUser", "data": {"name": name, "email": email, "age": 30}}
    log = {
        "type": "CreateUser",
        "http_status": 200,
        "idempotency_key": None,
        "actor": None,
        "error": None,
        "received_at": naive_utc(NOW),
        "duration_ms": 1,
    }
    answer = {"command_id": "c1", "events": [event.model_dump(mode="json")]}
    async with container.engine.begin() as conn:
        await conn.execute(insert(t.events).values(**event_row(event)))
        stored = event.model_copy(update={"position": 1})
        await conn.execute(insert(t.outbox).values(**outbox_row(stored, "topic", naive_utc(NOW))))
        await conn.execute(
            insert(t.unique_claims).values(scope="user_email", value=email, owner=user_id)
        )
        await conn.execute(
            insert(t.command_log).values(
                command_id=str(uuid.uuid4()),
                status="accepted",
                aggregate_id=user_id,
                request=request,
                event_ids=[event.event_id],
                **log,
            ),
        )
        await conn.execute(
            insert(t.command_log).values(
                command_id=str(uuid.uuid4()),
                status="rejected",
                aggregate_id=None,
                request=request,
                event_ids=[],
                **log | {"http_status": 409},
            ),
        )
        state = {"user_id": user_id, "name": name, "email": email, "age": 30, "deleted": False}
        await conn.execute(
            insert(t.snapshots).values(
                stream_id=user_id,
                stream_type="user",
                version=1,
                state=state,
                taken_at=naive_utc(NOW),
            )
        )
        await conn.execute(
            insert(t.idempotency_keys).values(
                idempotency_key=f"k-{user_id}",
                command_id="c1",
                http_status=200,
                response=json.dumps(answer),
                expires_at=naive_utc(NOW.replace(year=NOW.year + 1)),
            )
        )


async def dump(container: Container) -> str:
    rows: list[Any] = []
    async with container.engine.connect() as conn:
        for table in TABLES:
            rows += (await conn.execute(text(f"SELECT * FROM `{table}`"))).all()
    return "\n".join(repr(tuple(row)) for row in rows)


async def test_old_plain_rows_are_sealed_in_place_and_still_read_as_before(
    container: Container,
) -> None:
    user_id, name, email = str(uuid.uuid4()), "Old Otto", f"otto{uuid.uuid4().hex[:8]}@x.io"
    await write_old_rows(container, user_id, name, email)
    assert email in await dump(container)  # the control: the old rows hold it

    counts = await encrypt_existing(container.engine, container.commands.store.keys, batch=1)  # type: ignore[attr-defined]
    assert counts == {
        "events": 1,
        "outbox": 1,
        "unique_claims": 1,
        "command_log": 2,
        "snapshots": 1,
        "idempotency_keys": 1,
    }
    stored = await dump(container)
    assert name not in stored
    assert email not in stored

    page = await container.reader.events(EventFilter(aggregate_id=user_id), 10, None)
    assert [(e["data"]["name"], e["data"]["email"]) for e in page.items] == [(name, email)]
    logged = (await container.reader.commands(CommandFilter(), 10, None)).items
    assert sorted(c["request"]["data"]["email"] for c in logged) == sorted([email, REDACTED])
    async with container.commands.store.session() as session:
        assert await session.load("user", user_id) == User(user_id, name, email, 30)
    replay = await container.commands.store.find_answer(f"k-{user_id}", NOW)
    assert replay is not None
    assert replay.body["events"][0]["data"]["email"] == email
    # the claim holds the hash: the email is still taken
    async with container.commands.store.session() as session:
        with pytest.raises(ClaimTakenError):
            await session.claim((email_claim(email, "someone-else"),), ())

    again = await encrypt_existing(container.engine, container.commands.store.keys)  # type: ignore[attr-defined]
    assert set(again.values()) == {0}
    assert await dump(container) == stored
