"""Group commit against the real MariaDB: commands sent at once share one transaction,
each is still decided on the state the ones before it leave, and any clash sends the
batch back command by command, where it is refused or retried alone."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from command_service.adapters.batch_session import position_step
from command_service.application.ports import StoredAnswer
from command_service.application.service import Caller, CommandService
from command_service.bootstrap import Container, build
from cqrs_contracts.envelopes import CommandRequest
from cqrs_contracts.settings import PrivacySettings
from cqrs_event_store import tables as t
from cqrs_event_store.privacy.master_key import ClaimHasher, master_key_from
from tests.integration.command_service.conftest import PrivateStore
from tests.integration.command_service.helpers import unique_email


@pytest.fixture
async def container(private_store: PrivateStore) -> AsyncIterator[Container]:
    built = build(private_store.settings())
    yield built
    await built.engine.dispose()
    await built.redis.aclose()


def send(commands: CommandService, type_: str, data: dict[str, Any], **envelope: Any):
    request = CommandRequest.model_validate({"type": type_, "data": data, **envelope})
    return commands.execute(request, Caller(actor="test"))


def new_user(email: str | None = None) -> dict[str, Any]:
    return {"name": "Group Commit", "email": email or unique_email(), "age": 30}


def hashed(email: str) -> str:
    """An email's claim as stored: the keyed hash of its normal form."""
    return ClaimHasher(master_key_from(PrivacySettings())).digest(email.strip().lower())


async def rows(container: Container, table: Any, *where: Any) -> list[Any]:
    async with container.engine.connect() as conn:
        return list((await conn.execute(select(table).where(*where))).all())


async def test_twenty_commands_sent_at_once_are_one_transaction(container: Container) -> None:
    commands = container.commands
    answers: list[StoredAnswer] = await asyncio.gather(
        *(send(commands, "CreateUser", new_user()) for _ in range(20))
    )
    assert [a.http_status for a in answers] == [200] * 20
    assert commands.group_commit_stats() == {"batches": 1, "commands": 20, "clashed": 0}
    ids = [a.body["aggregate_id"] for a in answers]
    stored = await rows(container, t.events, t.events.c.stream_id.in_(ids))
    assert sorted(r.stream_id for r in stored) == sorted(ids)
    # each answer names the position its event really got, and its outbox row carries it
    by_event = {r.event_id: r.position for r in stored}
    for answer in answers:
        [event] = answer.body["events"]
        assert event["position"] == by_event[event["event_id"]]
    outbox = await rows(container, t.outbox, t.outbox.c.message_key.in_(ids))
    assert len(outbox) == 20
    assert {r.event_id for r in outbox} == set(by_event)
    logged = await rows(container, t.command_log, t.command_log.c.aggregate_id.in_(ids))
    assert {r.status for r in logged} == {"accepted"}
    assert len(logged) == 20


async def test_commands_on_one_stream_in_one_batch_each_see_the_one_before(
    container: Container,
) -> None:
    commands = container.commands
    created = await send(commands, "CreateUser", new_user())
    user_id = created.body["aggregate_id"]
    answers = await asyncio.gather(
        *(send(commands, "UpdateUser", {"id": user_id, "age": age}) for age in range(20, 40))
    )
    assert [a.http_status for a in answers] == [200] * 20
    assert commands.group_commit_stats()["clashed"] == 0
    versions = sorted(a.body["version"] for a in answers)
    assert versions == list(range(2, 22))  # dense, no clash: decided on staged state
    stored = await rows(container, t.events, t.events.c.stream_id == user_id)
    assert sorted(r.version for r in stored) == list(range(1, 22))


async def test_a_refused_command_in_a_batch_leaves_the_others_accepted(
    container: Container,
) -> None:
    commands = container.commands
    unknown = str(uuid.uuid4())
    answers = await asyncio.gather(
        send(commands, "CreateUser", new_user()),
        send(commands, "UpdateUser", {"id": unknown, "age": 50}),
        send(commands, "CreateUser", new_user()),
    )
    assert [a.http_status for a in answers] == [200, 404, 200]
    assert commands.group_commit_stats() == {"batches": 1, "commands": 3, "clashed": 0}
    [refused] = await rows(
        container, t.command_log, t.command_log.c.command_id == answers[1].command_id
    )
    assert (refused.status, refused.http_status) == ("rejected", 404)
    assert await rows(container, t.events, t.events.c.stream_id == unknown) == []


async def test_one_email_twice_in_a_batch_is_given_to_exactly_one(container: Container) -> None:
    commands = container.commands
    email = unique_email()
    answers = await asyncio.gather(
        send(commands, "CreateUser", new_user(email)),
        send(commands, "CreateUser", new_user()),
        send(commands, "CreateUser", new_user(email.upper())),
    )
    statuses = [a.http_status for a in answers]
    assert sorted(statuses) == [200, 200, 409], [a.body for a in answers]
    assert commands.group_commit_stats()["clashed"] == 1  # then one by one
    [loser] = [a for a in answers if a.http_status == 409]
    assert loser.body["error"]["code"] == "email_taken"
    [claim] = await rows(container, t.unique_claims, t.unique_claims.c.value == hashed(email))
    winner = next(a for a in answers if a.http_status == 200 and a is not answers[1])
    assert claim.owner == winner.body["aggregate_id"]
    users = [a.body["aggregate_id"] for a in answers if a.http_status == 200]
    stored = await rows(container, t.events, t.events.c.stream_id.in_(users))
    assert len(stored) == 2  # nothing of the loser, nothing twice


async def test_an_email_held_in_the_database_refuses_only_its_command(
    container: Container,
) -> None:
    commands = container.commands
    email = unique_email()
    holder = await send(commands, "CreateUser", new_user(email))
    answers = await asyncio.gather(
        send(commands, "CreateUser", new_user()),
        send(commands, "CreateUser", new_user(email)),
        send(commands, "CreateUser", new_user()),
    )
    assert [a.http_status for a in answers] == [200, 409, 200]
    [claim] = await rows(container, t.unique_claims, t.unique_claims.c.value == hashed(email))
    assert claim.owner == holder.body["aggregate_id"]


async def test_one_idempotency_key_in_a_batch_creates_one_user(container: Container) -> None:
    commands = container.commands
    key = f"k-{uuid.uuid4().hex}"
    data = new_user()
    answers = await asyncio.gather(
        *(send(commands, "CreateUser", data, idempotency_key=key) for _ in range(5))
    )
    assert {a.http_status for a in answers} == {200}
    assert len({a.body["aggregate_id"] for a in answers}) == 1
    async with container.engine.connect() as conn:
        created = await conn.scalar(
            select(func.count())
            .select_from(t.events)
            .where(t.events.c.stream_id == answers[0].body["aggregate_id"])
        )
    assert created == 1


async def test_a_version_written_by_another_writer_sends_the_batch_back_one_by_one(
    container: Container, private_store: PrivateStore
) -> None:
    """A second command-service (another engine on the same database) appends to the
    stream between our load and our insert: the batch clashes and is retried alone.
    Twenty writers race on one stream, so both services get retries enough to finish
    (with the default 5, one update in a few runs lost every race and got its 409)."""
    retries = {"CQRS__COMMAND_SERVICE__MAX_APPEND_RETRIES": "40"}
    mine = build(private_store.settings(**retries))
    commands = mine.commands
    user_id = (await send(commands, "CreateUser", new_user())).body["aggregate_id"]
    other = build(private_store.settings(**retries))
    try:
        answers = await asyncio.gather(
            *(send(commands, "UpdateUser", {"id": user_id, "age": a}) for a in range(20, 30)),
            *(send(other.commands, "UpdateUser", {"id": user_id, "age": a}) for a in range(60, 70)),
        )
    finally:
        for built in (mine, other):
            await built.engine.dispose()
            await built.redis.aclose()
    assert [a.http_status for a in answers] == [200] * 20, [a.body for a in answers]
    stored = await rows(container, t.events, t.events.c.stream_id == user_id)
    assert sorted(r.version for r in stored) == list(range(1, 22))


async def test_positions_are_read_back_where_the_server_may_interleave_them(
    container: Container,
) -> None:
    """MySQL 8 (innodb_autoinc_lock_mode 2) does not promise consecutive positions to a
    multi-row INSERT: the batch then reads them back."""
    assert await position_step_of(container) == 1  # MariaDB's default mode 1
    container.commands.store._position_step = None  # type: ignore[attr-defined]
    answers = await asyncio.gather(
        *(send(container.commands, "CreateUser", new_user()) for _ in range(8))
    )
    stored = await rows(
        container, t.events, t.events.c.stream_id.in_([a.body["aggregate_id"] for a in answers])
    )
    by_event = {r.event_id: r.position for r in stored}
    assert [a.body["events"][0]["position"] for a in answers] == [
        by_event[a.body["events"][0]["event_id"]] for a in answers
    ]


async def position_step_of(container: Container) -> int | None:
    async with container.engine.connect() as conn:
        return await position_step(conn)
