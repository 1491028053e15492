"""POST /events (admin import) meets the rules a command meets: the email claims, a
creation event only on an empty stream, any other event only on an existing one. A
refused import is a 409 (404) with its stable code and appends nothing."""

import uuid
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cqrs_event_store.tables import events
from tests.integration.command_service.helpers import (
    COMMANDS,
    EVENTS,
    accept,
    create_user,
    error_of,
    unique_email,
)


def user_created(user_id: str, email: str) -> dict[str, Any]:
    return {
        "type": "UserCreated",
        "data": {
            "user_id": user_id,
            "name": "Imported",
            "email": email,
            "created_at": "2023-01-01T00:00:00Z",
        },
    }


async def versions(engine: AsyncEngine, stream_id: str) -> int:
    async with engine.connect() as conn:
        query = select(func.count()).select_from(events).where(events.c.stream_id == stream_id)
        return int(await conn.scalar(query) or 0)


async def test_an_imported_user_with_a_held_email_is_refused(
    client: AsyncTestClient, mysql_engine: AsyncEngine
) -> None:
    email = unique_email()
    await create_user(client, email=email)
    user_id = f"user-{uuid.uuid4().hex[:12]}"
    refused = await client.post(EVENTS, json=user_created(user_id, email.upper()))
    assert error_of(refused, 409)["code"] == "email_taken"
    assert await versions(mysql_engine, user_id) == 0


async def test_a_creation_event_on_an_existing_stream_is_refused(
    client: AsyncTestClient, mysql_engine: AsyncEngine
) -> None:
    user_id = f"user-{uuid.uuid4().hex[:12]}"
    first = await client.post(EVENTS, json=user_created(user_id, unique_email()))
    assert first.status_code == 201, first.text
    again = await client.post(EVENTS, json=user_created(user_id, unique_email()))
    error = error_of(again, 409)
    assert error["code"] == "stream_exists"
    assert error["details"]["current_version"] == 1
    assert await versions(mysql_engine, user_id) == 1


async def test_an_event_for_a_stream_that_does_not_exist_is_404(
    client: AsyncTestClient, mysql_engine: AsyncEngine
) -> None:
    user_id = f"user-{uuid.uuid4().hex[:12]}"
    update = {
        "type": "UserUpdated",
        "data": {"user_id": user_id, "age": 40, "updated_at": "2023-01-02T00:00:00Z"},
    }
    assert error_of(await client.post(EVENTS, json=update), 404)["code"] == "not_found"
    assert await versions(mysql_engine, user_id) == 0


async def test_imported_events_take_and_release_email_claims(client: AsyncTestClient) -> None:
    user_id, old, new = f"user-{uuid.uuid4().hex[:12]}", unique_email(), unique_email()
    assert (await client.post(EVENTS, json=user_created(user_id, old))).status_code == 201
    taken = await client.post(
        COMMANDS, json={"type": "CreateUser", "data": {"name": "Late", "email": old, "age": 30}}
    )
    assert error_of(taken, 409)["code"] == "email_taken"  # the import claimed it

    update = {
        "type": "UserUpdated",
        "data": {"user_id": user_id, "email": new, "updated_at": "2023-01-02T00:00:00Z"},
    }
    assert (await client.post(EVENTS, json=update)).status_code == 201
    await accept(client, "CreateUser", {"name": "Now", "email": old, "age": 30})  # released

    deleted = {
        "type": "UserDeleted",
        "data": {"user_id": user_id, "deleted_at": "2023-01-03T00:00:00Z"},
    }
    assert (await client.post(EVENTS, json=deleted)).status_code == 201
    await accept(client, "CreateUser", {"name": "Now", "email": new, "age": 30})  # released
