"""Idempotency keys beyond the happy path: a refused first answer is the answer for good
(the retry is not run again, even once it would succeed), and a key that has expired
(`command_service.idempotency_ttl`) lets the same request run anew."""

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from command_service.entrypoints.http.app import create_app
from cqrs_contracts.settings import Settings
from cqrs_event_store.tables import idempotency_keys
from tests.integration.command_service.helpers import (
    COMMANDS,
    accept,
    create_user,
    error_of,
    unique_email,
    users_created_with,
)
from tests.support.polling import eventually


async def test_a_refused_first_answer_is_replayed_even_once_the_command_could_pass(
    client: AsyncTestClient, mysql_engine: AsyncEngine
) -> None:
    email = unique_email()
    holder = (await create_user(client, email=email))["aggregate_id"]
    key = uuid.uuid4().hex
    body = {"type": "CreateUser", "data": {"name": "Late", "email": email, "age": 30}}
    first = await client.post(COMMANDS, json=body, headers={"Idempotency-Key": key})
    assert error_of(first, 409)["code"] == "email_taken"

    await accept(client, "DeleteUser", {"id": holder})  # the email is free again
    again = await client.post(COMMANDS, json=body, headers={"Idempotency-Key": key})
    assert (again.status_code, again.json()) == (409, first.json())

    assert await users_created_with(mysql_engine, email) == [holder]
    # without the key the same body now passes: the replay above was the stored answer
    assert (await client.post(COMMANDS, json=body)).status_code == 200


async def test_an_expired_key_runs_the_command_anew(
    make_settings: Callable[..., Settings], mysql_engine: AsyncEngine
) -> None:
    settings = make_settings(CQRS__COMMAND_SERVICE__IDEMPOTENCY_TTL="1s")
    async with AsyncTestClient(app=create_app(settings)) as c:
        user_id = (await create_user(c, age=30))["aggregate_id"]
        key = uuid.uuid4().hex
        body = {"type": "UpdateUser", "data": {"id": user_id, "age": 31}, "idempotency_key": key}
        first = await c.post(COMMANDS, json=body)
        assert first.status_code == 200, first.text

        expiry = select(idempotency_keys.c.expires_at).where(
            idempotency_keys.c.idempotency_key == key
        )
        async with mysql_engine.connect() as conn:
            expires_at = await conn.scalar(expiry)
        assert expires_at is not None

        async def expired() -> bool:
            return datetime.now(UTC).replace(tzinfo=None) > expires_at

        await eventually(expired, timeout=10, what="the idempotency key to expire")
        # age 31 again: run anew, it finds nothing to change (a replay would be the 200)
        again = await c.post(COMMANDS, json=body)
    assert error_of(again, 409)["code"] == "nothing_to_change"


async def test_a_key_reused_for_another_request_is_422_and_appends_nothing(
    client: AsyncTestClient, mysql_engine: AsyncEngine
) -> None:
    key = uuid.uuid4().hex
    first_body = {"name": "First", "email": unique_email(), "age": 30}
    first = await client.post(
        COMMANDS, json={"type": "CreateUser", "data": first_body}, headers={"Idempotency-Key": key}
    )
    assert first.status_code == 200, first.text

    other_email = unique_email()
    other = {"type": "CreateUser", "data": {"name": "Other", "email": other_email, "age": 30}}
    reused = await client.post(COMMANDS, json=other, headers={"Idempotency-Key": key})
    error = error_of(reused, 422)
    assert error["code"] == "idempotency_key_reused"
    assert error["details"]["command_id"] == first.json()["command_id"]
    assert await users_created_with(mysql_engine, other_email) == []
    # the key still replays its first answer for the request it answered
    again = await client.post(
        COMMANDS, json={"type": "CreateUser", "data": first_body}, headers={"Idempotency-Key": key}
    )
    assert (again.status_code, again.json()) == (200, first.json())


async def test_one_key_sent_at_once_with_two_requests_runs_only_one(
    client: AsyncTestClient, mysql_engine: AsyncEngine
) -> None:
    """Concurrent first uses (one batch, then one by one): one runs, the other is 422."""
    key = uuid.uuid4().hex
    emails = [unique_email(), unique_email()]
    sent = [
        client.post(
            COMMANDS,
            json={"type": "CreateUser", "data": {"name": "Race", "email": e, "age": 30}},
            headers={"Idempotency-Key": key},
        )
        for e in emails
    ]
    answers = await asyncio.gather(*sent)
    assert sorted(a.status_code for a in answers) == [200, 422], [a.text for a in answers]
    assert len(await users_created_with(mysql_engine, *emails)) == 1
