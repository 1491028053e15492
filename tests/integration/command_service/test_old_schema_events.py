"""An event stored under an old schema version (a UserCreated v1 row, which had no
`age`) is lifted by the upcasters when it is read: by the events API and by the
command side when it loads the aggregate to decide."""

import uuid
from datetime import UTC, datetime

from litestar.testing import AsyncTestClient
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from cqrs_event_store.tables import events
from tests.integration.command_service.helpers import (
    EVENTS,
    accept,
    command,
    error_of,
    unique_email,
)


async def store_v1_user_created(engine: AsyncEngine, user_id: str, email: str) -> str:
    """A UserCreated v1 row written straight into the events table; its event id."""
    event_id = str(uuid.uuid4())
    row = {
        "event_id": event_id,
        "stream_type": "user",
        "stream_id": user_id,
        "version": 1,
        "type": "UserCreated",
        "schema_version": 1,
        "data": {
            "user_id": user_id,
            "name": "Old Schema",
            "email": email,
            "created_at": "2023-01-01T00:00:00Z",
        },
        "metadata": {},
        "occurred_at": datetime.now(UTC).replace(tzinfo=None),
    }
    async with engine.begin() as conn:
        await conn.execute(insert(events).values(**row))
    return event_id


async def test_a_stored_v1_user_created_is_upcast_when_the_command_side_loads_it(
    client: AsyncTestClient, mysql_engine: AsyncEngine
) -> None:
    user_id, email = str(uuid.uuid4()), unique_email()
    event_id = await store_v1_user_created(mysql_engine, user_id, email)

    read = (await client.get(f"{EVENTS}/{event_id}")).json()
    assert (read["schema_version"], read["data"]["age"]) == (2, None)

    # the loaded state holds the v1 row's name and email
    same = {"id": user_id, "name": "Old Schema", "email": email}
    assert error_of(await command(client, "UpdateUser", same), 409)["code"] == "nothing_to_change"
    answer = await accept(client, "UpdateUser", {"id": user_id, "age": 30})
    assert answer["version"] == 2
    [updated] = answer["events"]
    assert updated["data"] | {"updated_at": None} == {
        "user_id": user_id,
        "name": None,
        "email": None,
        "age": 30,
        "updated_at": None,
    }
