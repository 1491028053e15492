"""A command id (the request's `id`) names one command: a second request under an id
already in the command log is refused with a 409 naming the field, and changes nothing
(before, the command log's primary key made it a 500 after the events were decided)."""

import uuid

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cqrs_event_store.tables import command_log, events
from tests.integration.command_service.helpers import COMMANDS, error_of, unique_email


async def test_a_command_id_used_before_is_refused_and_writes_nothing(
    client: AsyncTestClient, mysql_engine: AsyncEngine
) -> None:
    command_id = str(uuid.uuid4())

    def body() -> dict[str, object]:
        data = {"name": "Once", "email": unique_email(), "age": 30}
        return {"id": command_id, "type": "CreateUser", "data": data}

    first = await client.post(COMMANDS, json=body())
    assert first.status_code == 200, first.text
    again = await client.post(COMMANDS, json=body())
    error = error_of(again, 409)
    assert error["code"] == "conflict"
    assert error["details"] == {"field": "id"}
    async with mysql_engine.connect() as conn:
        logged = await conn.scalar(
            select(func.count())
            .select_from(command_log)
            .where(command_log.c.command_id == command_id)
        )
        appended = await conn.scalar(
            select(func.count())
            .select_from(events)
            .where(events.c.metadata["command_id"].as_string() == command_id)
        )
    assert (logged, appended) == (1, 1)
