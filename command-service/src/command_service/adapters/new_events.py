"""A decided change's events as envelopes to append, and the same envelopes as stored:
personal fields sealed with their subject's data key. One definition for the MySQL and
the in-memory stores."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from command_service.domain.decisions import StreamChange
from cqrs_contracts.envelopes import EventEnvelope, EventMetadata
from cqrs_contracts.events import PERSONAL_FIELDS
from cqrs_contracts.privacy import ERASED, SUBJECT_FIELD
from cqrs_event_store.privacy.cipher import DataKey, is_sealed
from cqrs_event_store.privacy.sealing import seal_fields
from cqrs_event_store.shards import id_beside


def change_envelopes(
    change: StreamChange, start: int, metadata: EventMetadata, now: datetime
) -> list[EventEnvelope]:
    """The change's events as envelopes, numbered after version `start` (no position yet:
    the store gives it)."""
    return [
        EventEnvelope(
            event_id=id_beside(change.stream_id),  # on its stream's shard
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


def subject_to_seal(event_type: str, data: Mapping[str, Any]) -> str | None:
    """Whose key must seal this payload: its subject, when it holds a personal value in
    plain text (None, the erased placeholder and sealed values need no key)."""
    fields = PERSONAL_FIELDS.get(event_type, frozenset())
    if not any(_plain(data.get(name)) for name in fields):
        return None
    subject = data.get(SUBJECT_FIELD)
    return subject if isinstance(subject, str) and subject else None


def sealed_data(event_type: str, data: Mapping[str, Any], key: DataKey | None) -> dict[str, Any]:
    """The payload as stored: its personal fields sealed by `key` (as is without one)."""
    fields = PERSONAL_FIELDS.get(event_type, frozenset())
    return seal_fields(data, fields, key) if key is not None and fields else dict(data)


def sealed_envelope(envelope: EventEnvelope, key: DataKey | None) -> EventEnvelope:
    if key is None:
        return envelope
    return envelope.model_copy(update={"data": sealed_data(envelope.type, envelope.data, key)})


def _plain(value: Any) -> bool:
    return value is not None and value != ERASED and not is_sealed(value)
