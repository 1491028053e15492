"""A row of `events` <-> an EventEnvelope. Reading lifts the payload to the current
schema version of its type (the upcasters of `cqrs_contracts.upcasting`), so no reader
ever sees an old shape; writing stores the envelope as it is."""

from typing import Any

from cqrs_contracts.envelopes import EventEnvelope, EventMetadata
from cqrs_contracts.events import EVENT_TYPES
from cqrs_contracts.upcasting import upcast
from cqrs_event_store.timestamps import naive_utc, utc


def envelope_from_row(row: Any) -> EventEnvelope:
    """The stored event at the current schema version of its type (a type this code does
    not know is given as stored); raises UnknownSchemaVersionError for a newer one."""
    schema_version, data = row.schema_version, row.data
    if row.type in EVENT_TYPES:
        schema_version, data = upcast(row.type, schema_version, data)
    return EventEnvelope(
        event_id=row.event_id,
        position=row.position,
        stream_type=row.stream_type,
        stream_id=row.stream_id,
        version=row.version,
        type=row.type,
        schema_version=schema_version,
        data=data,
        metadata=EventMetadata.model_validate(row.metadata or {}),
        occurred_at=utc(row.occurred_at),
    )


def event_row(envelope: EventEnvelope) -> dict[str, Any]:
    """The values of the `events` row that stores `envelope` (its position is assigned
    by the database)."""
    return {
        "event_id": envelope.event_id,
        "stream_type": envelope.stream_type,
        "stream_id": envelope.stream_id,
        "version": envelope.version,
        "type": envelope.type,
        "schema_version": envelope.schema_version,
        "data": envelope.data,
        "metadata": envelope.metadata.model_dump(exclude_none=True),
        "occurred_at": naive_utc(envelope.occurred_at),
    }
