"""An envelope stored with `event_row` reads back the same through `envelope_from_row`,
in real MariaDB (JSON columns, DATETIME(6) as naive UTC); old schema versions are lifted
on read and stay as they were in the row."""

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cqrs_contracts.envelopes import EventEnvelope, EventMetadata
from cqrs_contracts.events import EVENT_TYPES
from cqrs_contracts.upcasting import UnknownSchemaVersionError
from cqrs_event_store.event_codec import envelope_from_row, event_row
from cqrs_event_store.tables import events


def envelope(type_: str = "UserCreated", **changes: Any) -> EventEnvelope:
    stream = str(uuid.uuid4())
    fields: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "stream_type": "user",
        "stream_id": stream,
        "version": 1,
        "type": type_,
        "schema_version": EVENT_TYPES[type_].SCHEMA_VERSION if type_ in EVENT_TYPES else 1,
        "data": {
            "user_id": stream,
            "name": "Zoë «Ada»",
            "email": f"{stream}@example.com",
            "age": 36,
            "created_at": "2024-05-01T10:00:00.123456Z",
        },
        "metadata": EventMetadata(
            command_id="c-1", actor="ops@example.com", traceparent="00-ab-cd-01", tenant="t1"
        ),
        "occurred_at": datetime(2024, 5, 1, 12, 0, 0, 654321, tzinfo=UTC),
    }
    return EventEnvelope(**(fields | changes))


async def stored(engine: AsyncEngine, *envelopes: EventEnvelope) -> list[Any]:
    """Insert each envelope's row; the rows as the table gives them back."""
    ids = [e.event_id for e in envelopes]
    async with engine.begin() as conn:
        for e in envelopes:
            await conn.execute(insert(events).values(**event_row(e)))
        rows = (await conn.execute(select(events).where(events.c.event_id.in_(ids)))).all()
    return sorted(rows, key=lambda r: ids.index(r.event_id))


async def test_a_current_envelope_round_trips(store: AsyncEngine) -> None:
    sent = envelope()
    [row] = await stored(store, sent)
    back = envelope_from_row(row)
    assert back == sent.model_copy(update={"position": row.position})
    assert back.metadata.model_extra == {"tenant": "t1"}
    assert back.occurred_at.tzinfo is UTC


async def test_an_aware_time_in_another_zone_is_stored_as_naive_utc(store: AsyncEngine) -> None:
    at = datetime(2024, 5, 1, 14, 30, 0, 1, tzinfo=timezone(timedelta(hours=2)))
    [row] = await stored(store, envelope(occurred_at=at))
    assert row.occurred_at == datetime(2024, 5, 1, 12, 30, 0, 1)
    assert envelope_from_row(row).occurred_at == at


async def test_unset_metadata_fields_are_not_stored(store: AsyncEngine) -> None:
    [row] = await stored(store, envelope(metadata=EventMetadata(command_id="c-2")))
    assert row.metadata == {"command_id": "c-2"}
    assert envelope_from_row(row).metadata == EventMetadata(command_id="c-2")


async def test_an_old_schema_version_is_lifted_on_read_and_left_as_stored(
    store: AsyncEngine,
) -> None:
    v1 = envelope(schema_version=1)
    v1.data.pop("age")
    [row] = await stored(store, v1)
    assert (row.schema_version, "age" in row.data) == (1, False)

    read = envelope_from_row(row)
    assert read.schema_version == EVENT_TYPES["UserCreated"].SCHEMA_VERSION == 2
    assert read.data == {**v1.data, "age": None}


async def test_a_type_this_code_does_not_know_is_given_as_stored(store: AsyncEngine) -> None:
    foreign = envelope("PartnerImported", schema_version=7, data={"anything": [1, "two"]})
    [row] = await stored(store, foreign)
    assert envelope_from_row(row) == foreign.model_copy(update={"position": row.position})


async def test_a_schema_version_newer_than_this_code_is_refused(store: AsyncEngine) -> None:
    [row] = await stored(store, envelope(schema_version=3))
    with pytest.raises(UnknownSchemaVersionError, match="newer"):
        envelope_from_row(row)
