"""Concurrent commands against one MariaDB event store: optimistic concurrency with
retries, the expected_version guard, unique emails and idempotency keys under races.

The app runs in this event loop behind httpx's ASGI transport so that the requests of
one `asyncio.gather` really overlap (see helpers.concurrent_client)."""

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cqrs_contracts.settings import Settings
from cqrs_event_store.tables import events
from tests.integration.command_service.helpers import (
    COMMANDS,
    command,
    concurrent_client,
    create_user,
    unique_email,
    users_created_with,
)

Racing = AbstractAsyncContextManager[httpx.AsyncClient]


@pytest.fixture
def racing(make_settings: Callable[..., Settings]) -> Racing:
    """The app with room for many retries; entered inside each test (its lifespan must
    start and end in one task)."""
    return concurrent_client(make_settings(CQRS__COMMAND_SERVICE__MAX_APPEND_RETRIES="60"))


async def stream_rows(engine: AsyncEngine, stream_id: str) -> list:
    query = (
        select(events.c.event_id, events.c.version, events.c.type)
        .where(events.c.stream_id == stream_id)
        .order_by(events.c.position)
    )
    async with engine.connect() as conn:
        return list((await conn.execute(query)).all())


async def test_40_concurrent_updates_of_one_user_all_land(
    racing: Racing, mysql_engine: AsyncEngine
) -> None:
    async with racing as c:
        user_id = (await create_user(c, age=100))["aggregate_id"]
        responses = await asyncio.gather(
            *(command(c, "UpdateUser", {"id": user_id, "age": age}) for age in range(20, 60))
        )
    assert [r.status_code for r in responses] == [200] * 40, [r.text for r in responses]

    rows = await stream_rows(mysql_engine, user_id)
    assert sorted(r.version for r in rows) == list(range(1, 42))
    answered = {e["event_id"] for r in responses for e in r.json()["events"]}
    assert len(answered) == 40
    assert answered <= {r.event_id for r in rows}
    # each answer reports the version its event really got
    stored = {r.event_id: r.version for r in rows}
    assert all(r.json()["version"] == stored[r.json()["events"][0]["event_id"]] for r in responses)


async def test_same_expected_version_lets_exactly_one_win(racing: Racing) -> None:
    async with racing as c:
        user_id = (await create_user(c))["aggregate_id"]
        responses = await asyncio.gather(
            *(
                command(c, "UpdateUser", {"id": user_id, "age": age}, expected_version=1)
                for age in (40, 41)
            )
        )
    assert sorted(r.status_code for r in responses) == [200, 409]
    [loser] = [r.json()["error"] for r in responses if r.status_code == 409]
    assert loser["code"] == "version_conflict"
    assert loser["details"] == {"stream_id": user_id, "expected_version": 1, "current_version": 2}


async def test_clashes_beyond_the_retry_bound_are_409_and_nothing_is_half_written(
    make_settings: Callable[..., Settings], mysql_engine: AsyncEngine
) -> None:
    # one command per transaction, 20 at once: group commit would decide these 20 updates
    # one after another in one batch and never clash (test_group_commit.py shows that)
    no_retries = make_settings(
        CQRS__COMMAND_SERVICE__MAX_APPEND_RETRIES="0",
        CQRS__COMMAND_SERVICE__GROUP_COMMIT_MAX="1",
        CQRS__COMMAND_SERVICE__GROUP_COMMIT_BATCHES="20",
    )
    async with concurrent_client(no_retries) as c:
        user_id = (await create_user(c, age=100))["aggregate_id"]
        responses = await asyncio.gather(
            *(command(c, "UpdateUser", {"id": user_id, "age": age}) for age in range(20, 40))
        )
    by_status = Counter(r.status_code for r in responses)
    assert set(by_status) <= {200, 409}, [r.text for r in responses]
    assert by_status[409] >= 1, "20 updates at once never clashed"
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {
        "version_conflict"
    }

    rows = await stream_rows(mysql_engine, user_id)
    assert [r.version for r in rows] == list(range(1, 2 + by_status[200]))  # dense
    accepted = [r.json() for r in responses if r.status_code == 200]
    answered = {e["event_id"] for a in accepted for e in a["events"]}
    assert answered == {r.event_id for r in rows[1:]}  # only the accepted ones were written


async def test_same_email_at_once_lets_exactly_one_win(racing: Racing) -> None:
    email = unique_email()
    bodies = [{"name": name, "email": email, "age": 30} for name in ("Ann", "Bob")]
    async with racing as c:
        responses = await asyncio.gather(*(command(c, "CreateUser", b) for b in bodies))
    assert sorted(r.status_code for r in responses) == [200, 409]
    [loser] = [r for r in responses if r.status_code == 409]
    assert loser.json()["error"]["code"] == "email_taken"


async def test_one_idempotency_key_sent_10_times_at_once_creates_one_user(
    racing: Racing, mysql_engine: AsyncEngine
) -> None:
    email, key = unique_email(), uuid.uuid4().hex
    body = {"type": "CreateUser", "data": {"name": "Idem", "email": email, "age": 33}}
    async with racing as c:
        responses = await asyncio.gather(
            *(c.post(COMMANDS, json=body, headers={"Idempotency-Key": key}) for _ in range(10))
        )
    assert [r.status_code for r in responses] == [200] * 10, [r.text for r in responses]
    assert len(Counter(r.text for r in responses)) == 1  # ten identical answers

    streams = await users_created_with(mysql_engine, email)
    assert streams == [responses[0].json()["aggregate_id"]]
