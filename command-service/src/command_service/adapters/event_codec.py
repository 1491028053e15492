"""Stored event rows <-> envelopes and domain events (with upcasting on read)."""

from datetime import UTC, datetime
from typing import Any

from cqrs_contracts.envelopes import EventEnvelope, EventMetadata
from cqrs_contracts.events import EventData
from cqrs_contracts.upcasting import decode_event, upcast_envelope


def utc(value: datetime) -> datetime:
    """MySQL DATETIME holds naive UTC; give it back its zone."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def envelope_from_row(row: Any) -> EventEnvelope:
    """The stored event lifted to the current schema version of its type."""
    return upcast_envelope(
        EventEnvelope(
            event_id=row.event_id,
            position=row.position,
            stream_type=row.stream_type,
            stream_id=row.stream_id,
            version=row.version,
            type=row.type,
            schema_version=row.schema_version,
            data=row.data,
            metadata=EventMetadata.model_validate(row.metadata or {}),
            occurred_at=utc(row.occurred_at),
        )
    )


def domain_event(envelope: EventEnvelope) -> EventData | None:
    """The typed event, or None for a type this code does not know."""
    return decode_event(envelope)


def event_row(envelope: EventEnvelope) -> dict[str, Any]:
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
