"""How an event becomes an outbox row (and, later, a Kafka message)."""

import zlib
from datetime import datetime
from typing import Any

from cqrs_contracts import topics
from cqrs_contracts.envelopes import EventEnvelope

OUTBOX_SHARDS = 16  # relays split the outbox by shard; one stream always maps to one shard


def shard_of(stream_id: str) -> int:
    return zlib.crc32(stream_id.encode()) % OUTBOX_SHARDS


def outbox_row(envelope: EventEnvelope, topic: str, now: datetime) -> dict[str, Any]:
    headers = {
        topics.HEADER_EVENT_TYPE: envelope.type,
        topics.HEADER_EVENT_ID: envelope.event_id,
        topics.HEADER_SCHEMA_VERSION: str(envelope.schema_version),
    }
    if envelope.metadata.traceparent:
        headers[topics.HEADER_TRACEPARENT] = envelope.metadata.traceparent
    return {
        "shard": shard_of(envelope.stream_id),
        "event_id": envelope.event_id,
        "topic": topic,
        "message_key": envelope.stream_id,
        "payload": envelope.model_dump_json(),
        "headers": headers,
        "created_at": now,
    }
