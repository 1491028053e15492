"""Crypto-shredding on the write side, on the real MariaDB: no byte of a user's name or
email is stored in plain text (events, outbox, claims, command log, snapshots,
idempotency answers) while every read reveals them; `ForgetUser` destroys the key with
its event in one transaction, and nothing more is done on a forgotten user."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, text

from command_service.adapters.log_reader import CommandFilter, EventFilter
from command_service.adapters.write_store import SqlWriteStore
from command_service.application.ports import StoredAnswer, VersionConflictError
from command_service.application.service import Caller
from command_service.bootstrap import Container, build
from command_service.domain import decisions as d
from command_service.domain.model import User
from cqrs_contracts import commands as cmd
from cqrs_contracts.envelopes import CommandRequest, EventMetadata
from cqrs_contracts.privacy import ERASED
from cqrs_event_store import tables as t
from tests.integration.command_service.conftest import PrivateStore
from tests.integration.command_service.helpers import unique_email

PLAIN_TABLES = ("events", "outbox", "unique_claims", "command_log", "snapshots")
STORED_TABLES = (*PLAIN_TABLES, "idempotency_keys")


@pytest.fixture
async def container(private_store: PrivateStore) -> AsyncIterator[Container]:
    built = build(
        private_store.settings(
            CQRS__COMMAND_SERVICE__RELAY_ENABLED="false",  # the outbox rows stay to be read
            CQRS__COMMAND_SERVICE__SNAPSHOT_EVERY="2",
        )
    )
    yield built
    await built.engine.dispose()
    await built.redis.aclose()


async def send(
    container: Container, type_: str, data: dict[str, Any], *, admin: bool = False, **env: Any
) -> StoredAnswer:
    request = CommandRequest.model_validate({"type": type_, "data": data, **env})
    return await container.commands.execute(request, Caller(actor="test", admin=admin))


async def accepted(container: Container, type_: str, data: dict[str, Any], **env: Any) -> Any:
    answer = await send(container, type_, data, **env)
    assert answer.http_status == 200, answer.body
    return answer.body


async def stored_text(container: Container, table: str) -> str:
    """Every row of `table` as text, the way a dump of the database shows it."""
    async with container.engine.connect() as conn:
        rows = (await conn.execute(text(f"SELECT * FROM `{table}`"))).all()
    return "\n".join(repr(tuple(row)) for row in rows)


async def assert_nowhere_in_plain_text(container: Container, *secrets: str) -> None:
    for table in STORED_TABLES:
        dump = await stored_text(container, table)
        for secret in secrets:
            assert secret.lower() not in dump.lower(), f"{secret!r} in plain text in {table}"


async def test_no_byte_of_a_name_or_email_is_stored_yet_every_read_reveals_them(
    container: Container,
) -> None:
    name, email = f"Ada {uuid.uuid4().hex[:8]}", unique_email()
    new_name, new_email = f"Grace {uuid.uuid4().hex[:8]}", unique_email()
    created = await accepted(
        container,
        "CreateUser",
        {"name": name, "email": email, "age": 30},
        idempotency_key="k-create",
    )
    user_id = created["aggregate_id"]
    update = {"id": user_id, "name": new_name, "email": new_email}
    await accepted(container, "UpdateUser", update, idempotency_key="k-update")
    taken = await send(container, "CreateUser", {"name": "Someone", "email": new_email, "age": 30})
    assert taken.http_status == 409
    assert new_email not in str(taken.body)

    for table in PLAIN_TABLES:  # every table the command wrote to holds a row of it
        assert user_id in await stored_text(container, table)
    assert await stored_text(container, "idempotency_keys")
    await assert_nowhere_in_plain_text(container, name, email, new_name, new_email)

    # the positive control: every read reveals what was sealed
    assert created["events"][0]["data"]["name"] == name  # the answer, as sent
    page = await container.reader.events(EventFilter(aggregate_id=user_id), 10, None)
    assert [(e["data"]["name"], e["data"]["email"]) for e in page.items] == [
        (name, email),
        (new_name, new_email),
    ]
    logged = await container.reader.command(created["command_id"])
    assert logged is not None
    assert logged["request"]["data"] == {"name": name, "email": email, "age": 30}
    replayed = await send(
        container,
        "CreateUser",
        {"name": name, "email": email, "age": 30},
        idempotency_key="k-create",
    )
    assert replayed.replayed
    assert replayed.body["events"][0]["data"]["email"] == email
    refused = (
        await container.reader.commands(
            CommandFilter(type="CreateUser", status="rejected"), 10, None
        )
    ).items
    assert [c["request"]["data"]["email"] for c in refused] == ["[redacted]"]
    async with container.commands.store.session() as session:
        state = await session.load("user", user_id)
    assert state == User(user_id, new_name, new_email, 30)  # from snapshot (version 2)


async def test_a_forgotten_user_reads_as_erased_and_every_command_on_them_is_refused(
    container: Container,
) -> None:
    email = unique_email()
    user_id = (
        await accepted(container, "CreateUser", {"name": "Forget Me", "email": email, "age": 30})
    )["aggregate_id"]
    await accepted(container, "UpdateUser", {"id": user_id, "age": 40})  # a snapshot (v2)

    not_admin = await send(container, "ForgetUser", {"id": user_id})
    assert (not_admin.http_status, not_admin.body["error"]["code"]) == (403, "forbidden")
    answer = await send(container, "ForgetUser", {"id": user_id}, admin=True)
    assert answer.http_status == 200, answer.body
    assert answer.body["events"][0]["type"] == "UserForgotten"

    async with container.engine.connect() as conn:
        key = (
            await conn.execute(select(t.data_keys).where(t.data_keys.c.subject == user_id))
        ).one()
        snap = await conn.scalar(
            select(t.snapshots.c.stream_id).where(t.snapshots.c.stream_id == user_id)
        )
    assert key.wrapped_key is None
    assert key.destroyed_at is not None
    assert snap is None

    page = await container.reader.events(EventFilter(aggregate_id=user_id), 10, None)
    assert [(e["data"]["name"], e["data"]["email"]) for e in page.items] == [
        (ERASED, ERASED),  # UserCreated: sealed with the destroyed key
        (None, None),  # the age update
        (ERASED, ERASED),  # UserForgotten
    ]
    for type_, data in (
        ("UpdateUser", {"id": user_id, "age": 41}),
        ("DeleteUser", {"id": user_id}),
        ("ForgetUser", {"id": user_id}),
        ("CreateOrder", {"user_id": user_id, "amount": "10.00", "currency": "USD"}),
    ):
        refused = await send(container, type_, data, admin=True)
        assert (refused.http_status, refused.body["error"]["code"]) == (410, "user_forgotten")
    # the email is free again
    await accepted(container, "CreateUser", {"name": "New Owner", "email": email, "age": 30})


async def test_a_failure_after_the_key_is_destroyed_rolls_the_key_and_the_event_back(
    container: Container,
) -> None:
    user_id = (
        await accepted(
            container, "CreateUser", {"name": "Kept", "email": unique_email(), "age": 30}
        )
    )["aggregate_id"]
    used = str(uuid.uuid4())
    await accepted(container, "UpdateUser", {"id": user_id, "age": 31}, id=used)
    # the same command id: the command log refuses it after the append and the destroy
    clash = await send(container, "ForgetUser", {"id": user_id}, admin=True, id=used)
    assert clash.http_status == 409, clash.body

    async with container.engine.connect() as conn:
        key = (
            await conn.execute(select(t.data_keys).where(t.data_keys.c.subject == user_id))
        ).one()
        types = (
            await conn.scalars(select(t.events.c.type).where(t.events.c.stream_id == user_id))
        ).all()
    assert key.wrapped_key is not None
    assert "UserForgotten" not in types
    await accepted(container, "UpdateUser", {"id": user_id, "name": "Still Here"})


async def test_the_store_rolls_back_a_destroyed_key_with_its_event(
    container: Container,
) -> None:
    store: SqlWriteStore = container.commands.store  # type: ignore[assignment]
    user_id = (
        await accepted(
            container, "CreateUser", {"name": "Kept", "email": unique_email(), "age": 30}
        )
    )["aggregate_id"]
    now = datetime.now(UTC)

    async def forget_then_clash() -> None:
        async with store.session() as session:
            user = await session.load("user", user_id)
            assert isinstance(user, User)
            decision = d.forget_user(cmd.ForgetUser(user_id=user_id), user, d.Context(now, ""))
            await session.append(decision.changes, EventMetadata(), now)
            raise VersionConflictError(user_id, 1)  # as a clash after the append would

    with pytest.raises(VersionConflictError):
        await forget_then_clash()
    page = await container.reader.events(EventFilter(aggregate_id=user_id), 10, None)
    assert [e["data"]["name"] for e in page.items] == ["Kept"]


async def test_create_then_update_of_one_user_in_one_batch_seal_with_one_new_key(
    container: Container,
) -> None:
    store: SqlWriteStore = container.commands.store  # type: ignore[assignment]
    user_id, now = str(uuid.uuid4()), datetime.now(UTC)
    create = d.create_user(
        cmd.CreateUser(name="Batch", email=unique_email()), d.Context(now, user_id)
    )
    async with store.batch() as batch:
        await batch.claim(create.claims, create.releases)
        await batch.append(create.changes, EventMetadata(), now)
        user = await batch.load("user", user_id)
        assert isinstance(user, User)
        update = d.update_user(
            cmd.UpdateUser(user_id=user_id, name="Batched"), user, d.Context(now, "")
        )
        await batch.append(update.changes, EventMetadata(), now)
        stored = await batch.flush(now)
    assert [e.data["name"] for e in stored.values()] == ["Batch", "Batched"]  # as decided
    async with container.engine.connect() as conn:
        keys = (
            await conn.execute(select(t.data_keys).where(t.data_keys.c.subject == user_id))
        ).all()
        data = (
            await conn.scalars(select(t.events.c.data).where(t.events.c.stream_id == user_id))
        ).all()
    assert len(keys) == 1
    assert all(d_["name"]["$enc"].split(":")[1] == keys[0].key_id for d_ in data)
    page = await container.reader.events(EventFilter(aggregate_id=user_id), 10, None)
    assert [e["data"]["name"] for e in page.items] == ["Batch", "Batched"]


async def test_two_transactions_creating_one_subjects_key_leave_the_loser_a_retryable_clash(
    container: Container,
) -> None:
    store: SqlWriteStore = container.commands.store  # type: ignore[assignment]
    subject, now = str(uuid.uuid4()), datetime.now(UTC)
    async with container.engine.begin() as first:
        await store.keys.session(first).for_subject(subject, now)

        async def second() -> None:
            async with container.engine.begin() as conn:
                await store.keys.session(conn).for_subject(subject, now)

        racing = asyncio.create_task(second())
        await asyncio.sleep(0.5)  # it waits on the first's row lock
        assert not racing.done()
    with pytest.raises(VersionConflictError):
        await racing
    async with container.engine.connect() as conn:  # a retry reads the winner's key
        key = await store.keys.session(conn).for_subject(subject, now)
    assert key.subject == subject
