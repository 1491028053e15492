"""What the projector does that the query-side contracts observe, in one place, through
the read-store package's own writer and announcement."""

import uuid
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from redis.asyncio import Redis

from cqrs_contracts.envelopes import EventEnvelope
from cqrs_contracts.read_models import ChangeNotification, ReadModel
from cqrs_read_store.announce import RedisNotifier
from cqrs_read_store.writer import ViewStore


async def store_document(db: AsyncDatabase[dict[str, Any]], doc: ReadModel) -> None:
    """Write a new read-model document as the projector does."""
    await ViewStore(db).save(doc, 0)


async def announce_change(redis: Redis, prefix: str, read_model: str, doc_id: str) -> None:
    """The projector's announcement of a changed document: its cached copy dropped, its
    read model's generation bumped (and the change published)."""
    note = ChangeNotification(read_model=read_model, id=doc_id, version=1, position=0, data=None)
    await RedisNotifier(redis, prefix).published_many([note], [])


async def record_applied(redis: Redis, prefix: str, stream_id: str, version: int) -> None:
    """The projector's record that `version` of the stream is in every read model."""
    event = EventEnvelope(
        event_id=str(uuid.uuid4()),
        stream_type="contract",
        stream_id=stream_id,
        version=version,
        type="ContractEvent",
        schema_version=1,
        data={},
        occurred_at=datetime.now(UTC),
    )
    await RedisNotifier(redis, prefix).published_many([], [event])
