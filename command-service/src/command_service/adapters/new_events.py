"""A decided change's events as envelopes to append: one definition for the MySQL and the
in-memory stores."""

import uuid
from datetime import datetime

from command_service.domain.decisions import StreamChange
from cqrs_contracts.envelopes import EventEnvelope, EventMetadata


def change_envelopes(
    change: StreamChange, start: int, metadata: EventMetadata, now: datetime
) -> list[EventEnvelope]:
    """The change's events as envelopes, numbered after version `start` (no position yet:
    the store gives it)."""
    return [
        EventEnvelope(
            event_id=str(uuid.uuid4()),
            stream_type=change.stream_type,
            stream_id=change.stream_id,
            version=start + offset,
            type=event.event_type(),
            schema_version=event.SCHEMA_VERSION,
            data=event.model_dump(mode="json"),
            metadata=metadata,
            occurred_at=now,
        )
        for offset, event in enumerate(change.events, start=1)
    ]
