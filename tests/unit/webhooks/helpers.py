"""Envelopes and handlers for the webhook unit tests."""

import uuid
from datetime import UTC, datetime, timedelta

from cqrs_contracts.envelopes import EventEnvelope
from projector.webhooks.application.handlers import EventHandler

T0 = datetime(2024, 5, 17, 12, 0, 0, tzinfo=UTC)


def envelope(type_: str = "UserCreated", at: datetime = T0, version: int = 1) -> EventEnvelope:
    stream = str(uuid.uuid4())
    return EventEnvelope(
        event_id=str(uuid.uuid4()),
        position=7,
        stream_type="user",
        stream_id=stream,
        version=version,
        type=type_,
        schema_version=2,
        data={"user_id": stream, "name": "Ada"},
        occurred_at=at,
    )


def handler(
    *types: str, url: str = "http://127.0.0.1:9/hook", since: datetime = T0 - timedelta(seconds=1)
) -> EventHandler:
    return EventHandler(
        id=uuid.uuid4().hex,
        event_types=types,
        url=url,
        secrets=("s3cret-s3cret-s3cret",),
        created_at=since,
    )
